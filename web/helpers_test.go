package web_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/imports"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/icd10"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/internal/pgtest"
	"github.com/trcledger/trcledger/ledger"
	"github.com/trcledger/trcledger/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// site is the web application over a fresh database with the demo data, served on a loopback
// port, and one user per role whose password is "<role>-password-1".
type site struct {
	t     *testing.T
	base  string
	db    *sqlx.DB
	users *access.Users
	cfg   web.Config
}

// demoLogins are the test users: username -> role, organization, locale.
var demoLogins = map[string][3]string{
	"admin":    {access.RoleAdmin, "", "en"},
	"clinic":   {access.RoleClinic, demo.ProviderDZBihac, "bs"},
	"reviewer": {access.RoleReviewer, demo.PayerZZOUSK, "hr"},
	"finance":  {access.RoleFinance, "", "sr-Cyrl"},
}

func passwordOf(username string) string { return username + "-password-1" }

func newSite(t *testing.T) *site {
	t.Helper()
	db := pgtest.NewDB(t)
	ctx := context.Background()
	st := contracts.NewStore(db, time.Now)
	tok := access.NewTokens(db, time.Now)
	if _, err := demo.Seed(ctx, st, tok); err != nil {
		t.Fatal(err)
	}
	users := access.NewUsers(db, time.Now)
	for name, u := range demoLogins {
		if _, _, err := users.CreateUser(ctx, access.NewUser{Username: name, DisplayName: "Test " + name, Role: u[0], OrgCode: u[1], Locale: u[2], Password: passwordOf(name)}); err != nil {
			t.Fatal(err)
		}
	}
	journal := ledger.New(db)
	key := []byte("web-test-pseudonym-key")
	enc := encounters.NewService(db, time.Now, key, journal)
	cfg := web.Config{
		Contracts: st, Tokens: tok, Users: users, Journal: journal,
		Encounters: enc,
		Imports:    imports.NewService(db, enc, time.Now, slog.New(slog.DiscardHandler)),
		Statements: statements.NewService(db, time.Now, key, journal),
		Reports:    reports.NewService(db),
		ICD10:      icd10.NewStore(db, time.Now),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return serve(t, &site{t: t, db: db, users: users, cfg: cfg})
}

// newSiteOver serves the same database again with another account service (a test clock).
func newSiteOver(t *testing.T, s *site, users *access.Users) *site {
	cfg := s.cfg
	cfg.Users = users
	return serve(t, &site{t: t, db: s.db, users: users, cfg: cfg})
}

func serve(t *testing.T, s *site) *site {
	t.Helper()
	fa := fiber.New(fiber.Config{DisableStartupMessage: true, StreamRequestBody: true, DisablePreParseMultipartForm: true})
	web.Register(fa, s.cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = fa.Listener(ln) }()
	t.Cleanup(func() { _ = fa.ShutdownWithTimeout(5 * time.Second) })
	s.base = "http://" + ln.Addr().String()
	return s
}

// visitor is a browser without JavaScript: a cookie jar that follows redirects.
type visitor struct {
	s      *site
	client *http.Client
	lang   string
}

func (s *site) visitor() *visitor {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &visitor{s: s, client: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

type page struct {
	status int
	url    string
	body   string
	header http.Header
}

func (v *visitor) do(req *http.Request) page {
	v.s.t.Helper()
	if v.lang != "" {
		req.Header.Set("Accept-Language", v.lang)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		v.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		v.s.t.Fatal(err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL.RequestURI(), body: string(b), header: resp.Header}
}

func (v *visitor) get(path string) page {
	v.s.t.Helper()
	req, err := http.NewRequest("GET", v.s.base+path, nil)
	if err != nil {
		v.s.t.Fatal(err)
	}
	return v.do(req)
}

// post sends a form; the CSRF token is taken from the page the form is on unless form sets one.
func (v *visitor) post(path string, from page, form url.Values) page {
	v.s.t.Helper()
	if !form.Has("_csrf") {
		form.Set("_csrf", csrfOf(from))
	}
	req, err := http.NewRequest("POST", v.s.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		v.s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return v.do(req)
}

var csrfPattern = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func csrfOf(p page) string {
	if m := csrfPattern.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return ""
}

// signIn signs in as one of demoLogins and returns the page it lands on.
func (v *visitor) signIn(username string) page {
	v.s.t.Helper()
	p := v.post("/login", v.get("/login"), url.Values{"username": {username}, "password": {passwordOf(username)}})
	if p.status != 200 || strings.HasPrefix(p.url, "/login") {
		v.s.t.Fatalf("sign in as %s: %d at %s", username, p.status, p.url)
	}
	return p
}

func (v *visitor) cookie(name string) *http.Cookie {
	u, _ := url.Parse(v.s.base)
	for _, c := range v.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}
