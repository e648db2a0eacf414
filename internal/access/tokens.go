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
	"sync/atomic"
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

	// live holds the digests of the tokens that were live when it was loaded, so that a
	// well-formed but unknown token is refused without a query (see Authenticate).
	liveMu   sync.Mutex
	live     map[[sha256.Size]byte]struct{}
	loadedAt time.Time
	lookups  atomic.Int64

	// known holds, for a second at most, what a live token's row said, so that a client making
	// many requests costs one query a second, not one a request (see Authenticate).
	knownMu sync.Mutex
	known   map[[sha256.Size]byte]knownToken
	// revocations counts the tokens revoked through this service (under knownMu): Authenticate
	// reads it before it reads a row and caches the row only if it has not changed since, so
	// that a row read just before a revocation committed is not kept after it.
	revocations uint64

	// afterRead, when set (tests), runs between reading a token's row and caching it.
	afterRead func()
}

// knownToken is a live token's row as Authenticate read it, and when.
type knownToken struct {
	p         Principal
	expiresAt *time.Time
	readAt    time.Time
}

// knownTTL is how long Authenticate trusts a token's row before reading it again: a token
// revoked by another server process is refused here within knownTTL; one revoked through this
// process at once.
const knownTTL = time.Second

// liveSetTTL is how old the set of live digests may be before a token missing from it makes
// Authenticate reload it: at most one reload per second, however many unknown tokens arrive.
const liveSetTTL = time.Second

// NewTokens returns the token service over db.
func NewTokens(db *sqlx.DB, now func() time.Time) *Tokens {
	return &Tokens{db: db, now: now, lastSeen: map[string]time.Time{}, known: map[[sha256.Size]byte]knownToken{}}
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

// tokenLen is the length of every token CreateToken has ever issued: the prefix and 32
// random bytes in unpadded base64url.
var tokenLen = len(tokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

// wellFormed reports whether secret has the shape of an issued token; anything else cannot be
// one and is refused without asking the database.
func wellFormed(secret string) bool {
	if len(secret) != tokenLen || !strings.HasPrefix(secret, tokenPrefix) {
		return false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(secret[len(tokenPrefix):])
	return err == nil && len(raw) == 32
}

// Lookups returns how many database round trips Authenticate has made (token rows read and
// reloads of the live set), for tests and metrics.
func (s *Tokens) Lookups() int64 { return s.lookups.Load() }

// mayBeLive reports whether the digest d can belong to a live token. It answers from the set
// of live digests, reloading it first when d is missing and the set is older than liveSetTTL
// (or was never loaded); concurrent callers share one reload. Tokens this service issues or
// revokes update the set at once; one issued by another process (trcledger token create) is
// seen at the first reload after it, so at most liveSetTTL late.
func (s *Tokens) mayBeLive(ctx context.Context, d [sha256.Size]byte) (bool, error) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if _, ok := s.live[d]; ok {
		return true, nil
	}
	if s.live != nil && time.Since(s.loadedAt) < liveSetTTL {
		return false, nil
	}
	var digests [][]byte
	s.lookups.Add(1)
	started := time.Now()
	if err := s.db.SelectContext(ctx, &digests, `
		SELECT digest FROM api_tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)`, s.now()); err != nil {
		return false, fmt.Errorf("load live tokens: %w", err)
	}
	live := make(map[[sha256.Size]byte]struct{}, len(digests))
	for _, b := range digests {
		if len(b) == sha256.Size {
			live[[sha256.Size]byte(b)] = struct{}{}
		}
	}
	s.live, s.loadedAt = live, started
	_, ok := live[d]
	return ok, nil
}

// remember adds (or with live false removes) a digest in the set of live ones, if it is loaded.
func (s *Tokens) remember(d []byte, live bool) {
	if !live && len(d) == sha256.Size {
		s.knownMu.Lock()
		s.revocations++
		delete(s.known, [sha256.Size]byte(d))
		s.knownMu.Unlock()
	}
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	if s.live == nil || len(d) != sha256.Size {
		return
	}
	if live {
		s.live[[sha256.Size]byte(d)] = struct{}{}
	} else {
		delete(s.live, [sha256.Size]byte(d))
	}
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
	s.remember(digest(secret), true)
	return &t, secret, nil
}

// RevokeToken revokes the token; it returns ENOTFOUND for an unknown or already revoked token.
func (s *Tokens) RevokeToken(ctx context.Context, id string) error {
	var revoked []byte
	err := pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &revoked, `
			UPDATE api_tokens SET revoked_at = $2
			WHERE id::text = $1 AND revoked_at IS NULL
			RETURNING digest`, id, s.now())
		if errors.Is(err, sql.ErrNoRows) {
			return trcledger.Errorf(trcledger.ENOTFOUND, "no active token %s", id)
		}
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		return Record(ctx, tx, "revoke", "token", id, nil)
	})
	if err != nil {
		return err
	}
	s.remember(revoked, false)
	return nil
}

// Authenticate returns the principal of a live token. It returns EUNAUTHORIZED for an
// unknown, revoked or expired one. A secret that does not have the shape of an issued token,
// or whose digest is not among the live ones (see mayBeLive), is refused without reading its
// row, so that guessing costs no query.
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
	if !wellFormed(secret) {
		return Principal{}, unauthorized
	}
	d := digest(secret)
	now := s.now()
	if p, ok := s.knownLive([sha256.Size]byte(d), now); ok {
		s.touch(p.TokenID, now)
		return p, nil
	}
	if ok, err := s.mayBeLive(ctx, [sha256.Size]byte(d)); err != nil || !ok {
		if err != nil {
			return Principal{}, err
		}
		return Principal{}, unauthorized
	}
	s.knownMu.Lock()
	generation := s.revocations
	s.knownMu.Unlock()
	s.lookups.Add(1)
	err := s.db.GetContext(ctx, &row, `
		SELECT id, name, role, org_code, expires_at, revoked_at FROM api_tokens WHERE digest = $1`, d)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, unauthorized
	}
	if err != nil {
		return Principal{}, fmt.Errorf("find token: %w", err)
	}
	if row.RevokedAt != nil || (row.ExpiresAt != nil && !row.ExpiresAt.After(now)) {
		return Principal{}, unauthorized
	}
	s.touch(row.ID, now)
	p := Principal{TokenID: row.ID, Name: row.Name, Role: row.Role}
	if row.OrgCode != nil {
		p.OrgCode = *row.OrgCode
	}
	if s.afterRead != nil {
		s.afterRead()
	}
	s.knownMu.Lock()
	// A token revoked since the row was read may be this one: this request was decided before
	// the revocation, but its row must not be kept for the next ones.
	if s.revocations == generation {
		if len(s.known) >= maxKnownTokens { // a bound on memory; entries live a second anyway
			clear(s.known)
		}
		s.known[[sha256.Size]byte(d)] = knownToken{p: p, expiresAt: row.ExpiresAt, readAt: time.Now()}
	}
	s.knownMu.Unlock()
	return p, nil
}

// KnownLive reports, without a query, whether secret is a token this service already knows to
// be live: its digest is in the loaded set of live digests or its row was read less than
// knownTTL ago. False says nothing (the set may be stale); Authenticate still decides.
func (s *Tokens) KnownLive(secret string) bool {
	if !wellFormed(secret) {
		return false
	}
	d := [sha256.Size]byte(digest(secret))
	if _, ok := s.knownLive(d, s.now()); ok {
		return true
	}
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	_, ok := s.live[d]
	return ok
}

// maxKnownTokens bounds the rows Authenticate keeps (far more than live tokens in practice).
const maxKnownTokens = 10000

// knownLive returns the principal of a token whose row was read less than knownTTL ago and has
// not expired since.
func (s *Tokens) knownLive(d [sha256.Size]byte, now time.Time) (Principal, bool) {
	s.knownMu.Lock()
	defer s.knownMu.Unlock()
	k, ok := s.known[d]
	if !ok || time.Since(k.readAt) >= knownTTL || (k.expiresAt != nil && !k.expiresAt.After(now)) {
		return Principal{}, false
	}
	return k.p, true
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
