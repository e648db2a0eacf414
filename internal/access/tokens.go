package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/pg"
)

// tokenPrefix marks trcledger tokens so that they are easy to spot in a secret scanner.
const tokenPrefix = "trc_"

// Token is a stored API token; the secret itself is never stored, only its SHA-256 digest.
type Token struct {
	ID         string          `json:"id" db:"id"`
	Name       string          `json:"name" db:"name"`
	Role       string          `json:"role" db:"role"`
	OrgCode    *string         `json:"org_code" db:"org_code"`
	CreatedAt  trcledger.Time  `json:"created_at" db:"created_at"`
	ExpiresAt  *trcledger.Time `json:"expires_at" db:"expires_at"`
	RevokedAt  *trcledger.Time `json:"revoked_at" db:"revoked_at"`
	LastUsedAt *trcledger.Time `json:"last_used_at" db:"last_used_at"`
}

// NewToken is the input of CreateToken.
type NewToken struct {
	Name      string
	Role      string
	OrgCode   string
	ExpiresAt *time.Time
}

// Tokens issues, revokes and checks API tokens.
type Tokens struct {
	db  *sqlx.DB
	now func() time.Time

	mu       sync.Mutex
	lastSeen map[string]time.Time
}

// NewTokens returns the token service over db.
func NewTokens(db *sqlx.DB, now func() time.Time) *Tokens {
	return &Tokens{db: db, now: now, lastSeen: map[string]time.Time{}}
}

func digest(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// BindingProblem says what is wrong with binding a token of role to the organization org, or ""
// when nothing is (or when the role takes no organization). It writes nothing.
func (s *Tokens) BindingProblem(ctx context.Context, role, org string) (string, error) {
	if role != RoleClinic && role != RoleReviewer || org == "" {
		return "", nil
	}
	return s.bindingProblem(ctx, s.db, role, org)
}

func (s *Tokens) bindingProblem(ctx context.Context, q sqlx.QueryerContext, role, org string) (string, error) {
	var kind string
	err := sqlx.GetContext(ctx, q, &kind, `SELECT kind FROM organizations WHERE code = $1`, org)
	if errors.Is(err, sql.ErrNoRows) {
		return "unknown organization", nil
	}
	if err != nil {
		return "", fmt.Errorf("find organization: %w", err)
	}
	if want := map[string]string{RoleClinic: "provider", RoleReviewer: "payer"}[role]; kind != want {
		return fmt.Sprintf("role %s must be bound to a %s, %s is a %s", role, want, org, kind), nil
	}
	return "", nil
}

// CreateToken issues a token and returns it with its secret, which is shown this once.
// It returns EINVALID for an unknown role, a missing or wrong binding (clinic to a provider,
// reviewer to a payer, none for admin and finance) or an expiry in the past.
func (s *Tokens) CreateToken(ctx context.Context, in NewToken) (*Token, string, error) {
	var fields trcledger.Fields
	if strings.TrimSpace(in.Name) == "" {
		fields.Add("name", "is required")
	}
	bound := in.Role == RoleClinic || in.Role == RoleReviewer
	switch {
	case !slices.Contains(Roles, in.Role):
		fields.Add("role", "must be one of admin, clinic, reviewer, finance")
	case bound && in.OrgCode == "":
		fields.Add("org_code", "is required for role %s", in.Role)
	case !bound && in.OrgCode != "":
		fields.Add("org_code", "must be empty for role %s", in.Role)
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		fields.Add("expires_at", "must be in the future")
	}
	if fields.Len() > 0 {
		if bound && in.OrgCode != "" { // one answer names a wrong binding with the other errors
			if msg, err := s.bindingProblem(ctx, s.db, in.Role, in.OrgCode); err == nil && msg != "" {
				fields.Add("org_code", "%s", msg)
			}
		}
		return nil, "", fields.Err()
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", fmt.Errorf("read random: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	var org *string
	if in.OrgCode != "" {
		org = &in.OrgCode
	}
	var t Token
	err := pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if org != nil {
			msg, err := s.bindingProblem(ctx, tx, in.Role, *org)
			if err != nil {
				return err
			}
			if msg != "" {
				return (&trcledger.Fields{}).AddErr("org_code", "%s", msg)
			}
		}
		err := tx.GetContext(ctx, &t, `
			INSERT INTO api_tokens (name, role, org_code, digest, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING id, name, role, org_code, created_at, expires_at, revoked_at, last_used_at`,
			strings.TrimSpace(in.Name), in.Role, org, digest(secret), s.now(), in.ExpiresAt)
		if err != nil {
			return pg.Translate(err)
		}
		return Record(ctx, tx, "create", "token", t.ID, map[string]any{"name": t.Name, "role": t.Role, "org_code": t.OrgCode})
	})
	if err != nil {
		return nil, "", err
	}
	return &t, secret, nil
}

// RevokeToken revokes the token; it returns ENOTFOUND for an unknown or already revoked token.
func (s *Tokens) RevokeToken(ctx context.Context, id string) error {
	return pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE api_tokens SET revoked_at = $2
			WHERE id::text = $1 AND revoked_at IS NULL`, id, s.now())
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return trcledger.Errorf(trcledger.ENOTFOUND, "no active token %s", id)
		}
		return Record(ctx, tx, "revoke", "token", id, nil)
	})
}

// Authenticate returns the principal of a live token. It returns EUNAUTHORIZED for an
// unknown, revoked or expired one.
func (s *Tokens) Authenticate(ctx context.Context, secret string) (Principal, error) {
	var row struct {
		ID        string     `db:"id"`
		Name      string     `db:"name"`
		Role      string     `db:"role"`
		OrgCode   *string    `db:"org_code"`
		ExpiresAt *time.Time `db:"expires_at"`
		RevokedAt *time.Time `db:"revoked_at"`
	}
	unauthorized := trcledger.Errorf(trcledger.EUNAUTHORIZED, "the token is missing, unknown, revoked or expired")
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 100 {
		return Principal{}, unauthorized
	}
	err := s.db.GetContext(ctx, &row, `
		SELECT id, name, role, org_code, expires_at, revoked_at FROM api_tokens WHERE digest = $1`, digest(secret))
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, unauthorized
	}
	if err != nil {
		return Principal{}, fmt.Errorf("find token: %w", err)
	}
	now := s.now()
	if row.RevokedAt != nil || (row.ExpiresAt != nil && !row.ExpiresAt.After(now)) {
		return Principal{}, unauthorized
	}
	s.touch(row.ID, now)
	p := Principal{TokenID: row.ID, Name: row.Name, Role: row.Role}
	if row.OrgCode != nil {
		p.OrgCode = *row.OrgCode
	}
	return p, nil
}

// touch records the token's last use, at most once a minute per token and off the request path.
func (s *Tokens) touch(id string, now time.Time) {
	s.mu.Lock()
	last, ok := s.lastSeen[id]
	if ok && now.Sub(last) < time.Minute {
		s.mu.Unlock()
		return
	}
	s.lastSeen[id] = now
	s.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, now)
	}()
}

// ListTokens returns every token, newest first, without secrets.
func (s *Tokens) ListTokens(ctx context.Context) ([]Token, error) {
	out := []Token{}
	err := s.db.SelectContext(ctx, &out, `
		SELECT id, name, role, org_code, created_at, expires_at, revoked_at, last_used_at
		FROM api_tokens ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// ReadAudit returns the audit log as ReadAudit does, over the token service's database.
func (s *Tokens) ReadAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, string, error) {
	return ReadAudit(ctx, s.db, f)
}
