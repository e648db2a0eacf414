package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/pg"
)

// Locales are the languages of the web application (DESIGN.md section 11), a user's locale.
var Locales = []string{"bs", "hr", "sr-Latn", "sr-Cyrl", "en"}

// User is a person's account for the web application (not an API token).
type User struct {
	ID                string          `json:"id" db:"id"`
	Username          string          `json:"username" db:"username"`
	DisplayName       string          `json:"display_name" db:"display_name"`
	Role              string          `json:"role" db:"role"`
	OrgCode           *string         `json:"org_code" db:"org_code"`
	Locale            string          `json:"locale" db:"locale"`
	CreatedAt         trcledger.Time  `json:"created_at" db:"created_at"`
	PasswordChangedAt trcledger.Time  `json:"password_changed_at" db:"password_changed_at"`
	DisabledAt        *trcledger.Time `json:"disabled_at" db:"disabled_at"`
}

// Principal is the caller a user's session acts as: the same roles and bindings as a token, with
// "user:<id>" where a token has its id (audit actor, idempotency scope, rate limit).
func (u User) Principal() Principal {
	p := Principal{TokenID: "user:" + u.ID, Name: u.DisplayName, Role: u.Role}
	if u.OrgCode != nil {
		p.OrgCode = *u.OrgCode
	}
	return p
}

// NewUser is what CreateUser takes. Without a Password one is generated and returned once.
type NewUser struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	OrgCode     string `json:"org_code"`
	Locale      string `json:"locale"`
	Password    string `json:"password"`
}

// MinPasswordLength is the shortest password a person may set (NIST SP 800-63B's floor is 8;
// we ask for 10 because these accounts see health data).
const MinPasswordLength = 10

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

const userColumns = `id, username, display_name, role, org_code, locale, created_at, password_changed_at, disabled_at`

// Users keeps people's accounts and their sessions.
type Users struct {
	db  *sqlx.DB
	now func() time.Time
	// IdleTimeout ends a session not used for this long; MaxAge ends any session this old.
	IdleTimeout, MaxAge time.Duration
	tokens              *Tokens
	throttle            *loginThrottle
	// hashing bounds the password checks running at once: each takes 19 MiB and ~50 ms of a
	// core, and a burst of sign-ins must not take the server's memory.
	hashing chan struct{}
}

// DefaultLoginAddressLimit is how many sign-ins that did not succeed one client address (IPv6:
// one /64) may make in 15 minutes before it must wait: enough for a clinic's staff behind one
// address, too few to try passwords across many accounts.
const DefaultLoginAddressLimit = 100

// SetLoginAddressLimit sets the per-address limit of DefaultLoginAddressLimit; 0 turns it off
// (behind a proxy whose client addresses the server cannot see). Call it before serving.
func (s *Users) SetLoginAddressLimit(n int) { s.throttle.addressLimit = n }

// NewUsers returns the account service. Sessions end after 30 minutes without a request and
// after 12 hours in any case.
func NewUsers(db *sqlx.DB, now func() time.Time) *Users {
	return &Users{db: db, now: now, IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour,
		tokens: NewTokens(db, now), throttle: newLoginThrottle(5, DefaultLoginAddressLimit, 15*time.Minute),
		hashing: make(chan struct{}, max(4, 2*runtime.NumCPU()))}
}

func checkPasswordRule(f *trcledger.Fields, password string) {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		f.Add("password", "must be at least %d characters", MinPasswordLength)
	case len(password) > 256:
		f.Add("password", "must be at most 256 bytes")
	}
}

// CreateUser adds an account and returns it with its password (the one given, or a generated
// one, shown this once). It returns EINVALID for a bad username, role, binding, locale or a
// short password, and ECONFLICT when the username is taken.
func (s *Users) CreateUser(ctx context.Context, in NewUser) (*User, string, error) {
	var f trcledger.Fields
	in.Username = strings.ToLower(strings.TrimSpace(in.Username))
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	if !usernamePattern.MatchString(in.Username) {
		f.Add("username", "must be 2 to 64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if in.DisplayName == "" {
		f.Add("display_name", "is required")
	} else if utf8.RuneCountInString(in.DisplayName) > 200 {
		f.Add("display_name", "must be at most 200 characters")
	}
	bound := in.Role == RoleClinic || in.Role == RoleReviewer
	switch {
	case !slices.Contains(Roles, in.Role):
		f.Add("role", "must be one of admin, clinic, reviewer, finance")
	case bound && in.OrgCode == "":
		f.Add("org_code", "is required for role %s", in.Role)
	case !bound && in.OrgCode != "":
		f.Add("org_code", "must be empty for role %s", in.Role)
	}
	if !slices.Contains(Locales, in.Locale) {
		f.Add("locale", "must be one of %s", strings.Join(Locales, ", "))
	}
	password := in.Password
	if password == "" {
		var err error
		if password, err = GeneratePassword(); err != nil {
			return nil, "", err
		}
	} else {
		checkPasswordRule(&f, password)
	}
	if bound && in.OrgCode != "" && slices.Contains(Roles, in.Role) {
		msg, err := s.tokens.bindingProblem(ctx, s.db, in.Role, in.OrgCode)
		if err != nil {
			return nil, "", err
		}
		if msg != "" {
			f.Add("org_code", "%s", msg)
		}
	}
	if err := f.Err(); err != nil {
		return nil, "", err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return nil, "", err
	}
	var org *string
	if in.OrgCode != "" {
		org = &in.OrgCode
	}
	var u User
	err = pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		now := s.now()
		err := tx.GetContext(ctx, &u, `
			INSERT INTO users (username, display_name, role, org_code, locale, password_hash, created_at, password_changed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
			RETURNING `+userColumns, in.Username, in.DisplayName, in.Role, org, in.Locale, hash, now)
		if err != nil {
			return pg.Translate(err)
		}
		return Record(ctx, tx, "create", "user", u.ID, map[string]any{"username": u.Username, "role": u.Role, "org_code": u.OrgCode, "locale": u.Locale})
	})
	if err != nil {
		return nil, "", err
	}
	return &u, password, nil
}

// ListUsers returns every account, by username.
func (s *Users) ListUsers(ctx context.Context) ([]User, error) {
	out := []User{}
	if err := s.db.SelectContext(ctx, &out, `SELECT `+userColumns+` FROM users ORDER BY username`); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// FindUser returns the account with this username; ENOTFOUND when there is none.
func (s *Users) FindUser(ctx context.Context, username string) (*User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE username = $1`, strings.ToLower(username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, trcledger.Errorf(trcledger.ENOTFOUND, "no user %q", username)
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	return &u, nil
}

// SetPassword sets (or, without password, generates) the user's password, ends every session
// of the user and returns the new password. It returns ENOTFOUND for an unknown username and
// EINVALID for a short password.
func (s *Users) SetPassword(ctx context.Context, username, password string) (string, error) {
	if password == "" {
		var err error
		if password, err = GeneratePassword(); err != nil {
			return "", err
		}
	} else {
		var f trcledger.Fields
		checkPasswordRule(&f, password)
		if err := f.Err(); err != nil {
			return "", err
		}
	}
	hash, err := hashPassword(password)
	if err != nil {
		return "", err
	}
	err = pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		now := s.now()
		var id string
		err := tx.GetContext(ctx, &id, `UPDATE users SET password_hash = $2, password_changed_at = $3
			WHERE username = $1 RETURNING id`, strings.ToLower(username), hash, now)
		if errors.Is(err, sql.ErrNoRows) {
			return trcledger.Errorf(trcledger.ENOTFOUND, "no user %q", username)
		}
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE user_sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL`, id, now); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return Record(ctx, tx, "set_password", "user", id, nil)
	})
	if err != nil {
		return "", err
	}
	return password, nil
}

// SetLocale changes the user's language; EINVALID for an unknown locale.
func (s *Users) SetLocale(ctx context.Context, userID, locale string) error {
	if !slices.Contains(Locales, locale) {
		return (&trcledger.Fields{}).AddErr("locale", "must be one of %s", strings.Join(Locales, ", "))
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET locale = $2 WHERE id = $1`, userID, locale); err != nil {
		return fmt.Errorf("set locale: %w", err)
	}
	return nil
}

// Session is a signed-in user's session: Secret goes in the cookie (shown once), CSRF in every
// form the session's pages render.
type Session struct {
	Secret string
	CSRF   string
	User   User
}

func randomText(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func sessionDigest(secret string) []byte {
	d := sha256.Sum256([]byte("session\x00" + secret))
	return d[:]
}

// Login checks a username and password from the client address addr and opens a session. It
// returns EUNAUTHORIZED for a wrong pair (the same answer for an unknown user, after the same
// work) and ERATELIMIT after too many failures for the username or the address. Every attempt
// is audited (never the password).
func (s *Users) Login(ctx context.Context, username, password, addr string) (*Session, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if len(username) > 64 || len(password) > 256 {
		return nil, trcledger.Errorf(trcledger.EUNAUTHORIZED, "wrong username or password")
	}
	if wait := s.throttle.reserve(username, addr, s.now()); wait > 0 {
		minutes := int(wait.Minutes()) + 1
		return nil, trcledger.Errorf(trcledger.ERATELIMIT, "too many failed sign-ins; try again in %d minutes", minutes).With("retry_after_minutes", minutes)
	}
	var row struct {
		User
		Hash string `db:"password_hash"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT `+userColumns+`, password_hash FROM users WHERE username = $1`, username)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("find user: %w", err)
	}
	hash := dummyHash
	if found {
		hash = row.Hash
	}
	select {
	case s.hashing <- struct{}{}:
	case <-time.After(2 * time.Second):
		return nil, trcledger.Errorf(trcledger.EUNAVAILABLE, "too many sign-ins at once; try again in a moment")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ok := checkPassword(hash, password) && found && row.DisabledAt == nil
	<-s.hashing
	if !ok {
		actx := WithPrincipal(ctx, Principal{TokenID: "anonymous", Role: "none"})
		_ = Record(actx, s.db, "login_failed", "user", username, map[string]any{"known": found})
		return nil, trcledger.Errorf(trcledger.EUNAUTHORIZED, "wrong username or password")
	}
	s.throttle.succeed(username, addr)
	secret, err := randomText(32)
	if err != nil {
		return nil, err
	}
	csrf, err := randomText(24)
	if err != nil {
		return nil, err
	}
	u := row.User
	err = pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_sessions (digest, user_id, csrf, created_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $4)`, sessionDigest(secret), u.ID, csrf, now); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return Record(WithPrincipal(ctx, u.Principal()), tx, "login", "user", u.ID, nil)
	})
	if err != nil {
		return nil, err
	}
	return &Session{Secret: secret, CSRF: csrf, User: u}, nil
}

// ResumeSession returns the live session whose cookie value is secret and marks it used. It
// returns EUNAUTHORIZED when it is unknown, ended, idle too long, too old, or its user is
// disabled.
func (s *Users) ResumeSession(ctx context.Context, secret string) (*Session, error) {
	unauthorized := trcledger.Errorf(trcledger.EUNAUTHORIZED, "not signed in, or the session has ended")
	if len(secret) != base64.RawURLEncoding.EncodedLen(32) {
		return nil, unauthorized
	}
	var row struct {
		User
		CSRF      string    `db:"csrf"`
		Created   time.Time `db:"session_created_at"`
		LastSeen  time.Time `db:"last_seen_at"`
		SessionID []byte    `db:"digest"`
	}
	now := s.now()
	err := s.db.GetContext(ctx, &row, `
		SELECT u.id, u.username, u.display_name, u.role, u.org_code, u.locale, u.created_at,
		       u.password_changed_at, u.disabled_at, s.csrf, s.created_at AS session_created_at,
		       s.last_seen_at, s.digest
		FROM user_sessions s JOIN users u ON u.id = s.user_id
		WHERE s.digest = $1 AND s.ended_at IS NULL`, sessionDigest(secret))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, unauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	if row.DisabledAt != nil || now.Sub(row.LastSeen) > s.IdleTimeout || now.Sub(row.Created) > s.MaxAge {
		_, _ = s.db.ExecContext(ctx, `UPDATE user_sessions SET ended_at = $2 WHERE digest = $1 AND ended_at IS NULL`, row.SessionID, now)
		return nil, unauthorized
	}
	if now.Sub(row.LastSeen) > 30*time.Second {
		if _, err := s.db.ExecContext(ctx, `UPDATE user_sessions SET last_seen_at = $2 WHERE digest = $1`, row.SessionID, now); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
	}
	return &Session{Secret: secret, CSRF: row.CSRF, User: row.User}, nil
}

// Logout ends the session whose cookie value is secret; everywhere ends every session of its
// user. Ending a session that has already ended is not an error.
func (s *Users) Logout(ctx context.Context, secret string, everywhere bool) error {
	now := s.now()
	q := `UPDATE user_sessions SET ended_at = $2 WHERE digest = $1 AND ended_at IS NULL`
	if everywhere {
		q = `UPDATE user_sessions SET ended_at = $2 WHERE ended_at IS NULL
			AND user_id = (SELECT user_id FROM user_sessions WHERE digest = $1)`
	}
	if _, err := s.db.ExecContext(ctx, q, sessionDigest(secret), now); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}
