package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/api"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/imports"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/internal/pgtest"
	"github.com/trcledger/trcledger/ledger"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// env is a server over a fresh database with the demo data, and a token per demo role.
type env struct {
	t      *testing.T
	srv    *api.Server
	tokens map[string]string // role -> secret; "clinic" is DZ Bihać's, "reviewer" ZZO USK's
	logs   *strings.Builder
	db     *sqlx.DB
}

func newEnv(t *testing.T, options ...func(*api.Config)) *env {
	t.Helper()
	db := pgtest.NewDB(t)
	st := contracts.NewStore(db, time.Now)
	tok := access.NewTokens(db, time.Now)
	seeded, err := demo.Seed(context.Background(), st, tok)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, tokens: map[string]string{}, logs: &strings.Builder{}, db: db}
	for _, s := range seeded {
		e.tokens[s.Role] = s.Secret
	}
	journal := ledger.New(db)
	enc := encounters.NewService(db, time.Now, []byte("api-test-pseudonym-key"), journal)
	cfg := api.Config{
		Contracts: st, Tokens: tok, Users: access.NewUsers(db, time.Now), Ready: db.PingContext, Journal: journal,
		Encounters: enc,
		Imports:    imports.NewService(db, enc, time.Now, slog.New(slog.DiscardHandler)),
		Statements: statements.NewService(db, time.Now, []byte("api-test-pseudonym-key"), journal),
		Reports:    reports.NewService(db),
		Logger:     slog.New(slog.NewJSONHandler(e.logs, nil)),
	}
	for _, o := range options {
		o(&cfg)
	}
	e.srv = api.NewServer(cfg)
	return e
}

// token issues a token for another binding (e.g. clinic staff of another provider).
func (e *env) token(role, org string) string {
	e.t.Helper()
	res := e.do("POST", "/v1/tokens", "admin", `{"name":"test","role":"`+role+`","org_code":"`+org+`"}`)
	if res.status != 201 {
		e.t.Fatalf("create token: %d %s", res.status, res.raw)
	}
	return res.json["token"].(string)
}

type result struct {
	status int
	header http.Header
	raw    string
	json   map[string]any
}

// do sends a request as the demo role (or with a raw "Bearer ..." value, or "" for none); the
// response is checked against the OpenAPI document (env.test).
func (e *env) do(method, path, who, body string, headers ...string) result {
	e.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case who == "":
	case strings.HasPrefix(who, "Bearer ") || strings.HasPrefix(who, "trc_"):
		req.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(who, "Bearer "))
	default:
		req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return readResult(e.t, e.test(req))
}

func readResult(t *testing.T, resp *http.Response) result {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := result{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &res.json)
	return res
}

// fields returns the field names of a problem document's errors.
func (r result) fields() []string {
	var out []string
	errs, _ := r.json["errors"].([]any)
	for _, e := range errs {
		out = append(out, e.(map[string]any)["field"].(string))
	}
	return out
}

// isProblem checks the shape every error response must have.
func (r result) isProblem(t *testing.T, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("content type = %q", ct)
	}
	for _, k := range []string{"type", "title", "status", "detail", "code", "errors", "request_id"} {
		if _, ok := r.json[k]; !ok {
			t.Errorf("problem document lacks %q: %s", k, r.raw)
		}
	}
	if r.json["request_id"] != r.header.Get("X-Request-Id") || r.json["request_id"] == "" {
		t.Errorf("request_id %v does not match X-Request-Id %q", r.json["request_id"], r.header.Get("X-Request-Id"))
	}
}
