package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger/internal/access"
)

func TestSignInLandsOnTheRolesPageInTheUsersLanguage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for name, want := range map[string]struct{ path, lang, text string }{
		"clinic":   {"/clinic", `lang="bs"`, "Klinika"},
		"reviewer": {"/review", `lang="hr"`, "Revizija"},
		"finance":  {"/finance", `lang="sr-Cyrl"`, "Финансије"},
		"admin":    {"/admin", `lang="en"`, "Administration"},
	} {
		v := s.visitor()
		v.lang = "de" // the browser's language does not matter once the user has one
		p := v.signIn(name)
		if p.url != want.path || !strings.Contains(p.body, want.lang) || !strings.Contains(p.body, want.text) {
			t.Errorf("%s: landed on %s, want %s with %s and %q", name, p.url, want.path, want.lang, want.text)
		}
	}
}

func TestSessionCookieIsHttpOnlyAndStrict(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	login := v.get("/login")
	form := url.Values{"username": {"clinic"}, "password": {passwordOf("clinic")}, "_csrf": {csrfOf(login)}}
	req, _ := http.NewRequest("POST", s.base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	v.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := v.do(req)
	set := strings.Join(p.header.Values("Set-Cookie"), "\n")
	if p.status != http.StatusSeeOther || !strings.Contains(set, "trc_session=") || !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Strict") {
		t.Fatalf("status %d, cookies %s", p.status, set)
	}
	if strings.Contains(set, "Secure") {
		t.Error("Secure set over plain HTTP: the browser would drop the cookie")
	}
	csp := p.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
}

func TestWrongPasswordsAreRefusedThenThrottled(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	v.lang = "bs"
	for i := range 5 {
		p := v.post("/login", v.get("/login"), url.Values{"username": {"clinic"}, "password": {"wrong-password"}})
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Pogrešno korisničko ime ili lozinka") || !strings.Contains(p.body, `value="clinic"`) {
			t.Fatalf("attempt %d: %d %s", i, p.status, p.body)
		}
	}
	// The sixth attempt is refused even with the right password.
	p := v.post("/login", v.get("/login"), url.Values{"username": {"clinic"}, "password": {passwordOf("clinic")}})
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Previše neuspjelih prijava") {
		t.Fatalf("after 5 failures: %d %s", p.status, p.body)
	}
	// Another user from the same address still signs in.
	v2 := s.visitor()
	v2.signIn("finance")
	// An unknown username gets the same answer as a wrong password.
	p = v2.post("/login", s.visitor().get("/login"), url.Values{"username": {"nobody"}, "password": {"x"}})
	if p.status != http.StatusForbidden { // the form was from another visitor: its CSRF token is not ours
		t.Fatalf("foreign CSRF token: %d", p.status)
	}
}

func TestFormsWithoutTheirTokenAreRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	p := v.post("/login", page{}, url.Values{"username": {"clinic"}, "password": {passwordOf("clinic")}})
	if p.status != http.StatusForbidden {
		t.Fatalf("login without token: %d", p.status)
	}
	v.signIn("clinic")
	p = v.post("/logout", page{}, url.Values{"_csrf": {"forged"}})
	if p.status != http.StatusForbidden || v.get("/clinic").url != "/clinic" {
		t.Fatalf("logout with a forged token: %d", p.status)
	}
}

func TestPagesNeedTheRightRole(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	anon := s.visitor()
	if p := anon.get("/finance"); !strings.HasPrefix(p.url, "/login?next=%2Ffinance") {
		t.Errorf("anonymous /finance ended at %s", p.url)
	}
	v := s.visitor()
	v.signIn("clinic")
	for _, path := range []string{"/finance", "/admin", "/review"} {
		if p := v.get(path); p.status != http.StatusForbidden {
			t.Errorf("clinic user on %s: %d", path, p.status)
		}
	}
	if p := v.get("/no/such/page"); p.status != http.StatusNotFound || !strings.Contains(p.body, `<html lang="bs">`) {
		t.Errorf("unknown page: %d", p.status)
	}
}

func TestNextNeverLeavesTheSite(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "/\t/evil.example",
		"/x\r\nSet-Cookie: trc_session=attacker; Path=/", "/%0d%0aX: y"} {
		v := s.visitor()
		p := v.post("/login", v.get("/login?next="+url.QueryEscape(next)), url.Values{"username": {"admin"}, "password": {passwordOf("admin")}, "next": {next}})
		if p.url != "/admin" && !strings.HasPrefix(strings.ToLower(p.url), "/%0d%0a") { // encoded: harmless, on this site
			t.Errorf("next %q led to %s", next, p.url)
		}
	}
}

func TestSignOutEndsTheSessionAndEverywhereEndsAll(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	a, b := s.visitor(), s.visitor()
	pa, pb := a.signIn("reviewer"), b.signIn("reviewer")
	_ = pb
	p := a.post("/logout", pa, url.Values{})
	if !strings.HasPrefix(p.url, "/login") || a.cookie("trc_session") != nil {
		t.Fatalf("after sign-out: %s, cookie %v", p.url, a.cookie("trc_session"))
	}
	if p := a.get("/review"); !strings.HasPrefix(p.url, "/login") {
		t.Fatalf("signed out but %s opens", p.url)
	}
	if p := b.get("/review"); p.url != "/review" {
		t.Fatal("the other device was signed out too")
	}
	c := s.visitor()
	pc := c.signIn("reviewer")
	c.post("/logout", pc, url.Values{"everywhere": {"1"}})
	if p := b.get("/review"); !strings.HasPrefix(p.url, "/login") {
		t.Fatal("sign out everywhere left a session open")
	}
}

func TestIdleSessionsExpire(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	var users *access.Users
	s := newSite(t)
	users = access.NewUsers(s.db, clock)
	s2 := newSiteOver(t, s, users)
	v := s2.visitor()
	v.signIn("finance")
	now = now.Add(29 * time.Minute)
	if p := v.get("/finance"); p.url != "/finance" {
		t.Fatalf("29 minutes idle: %s", p.url)
	}
	now = now.Add(31 * time.Minute)
	p := v.get("/finance")
	if !strings.HasPrefix(p.url, "/login") || !strings.Contains(p.body, "Ваша сесија је истекла") && !strings.Contains(p.body, "Vaša sesija je istekla") {
		t.Fatalf("31 minutes idle: %s", p.url)
	}
}

func TestLanguageSwitchIsKeptForTheUser(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	anon := s.visitor()
	anon.lang = "hr-HR,hr;q=0.9"
	login := anon.get("/login")
	if !strings.Contains(login.body, `<html lang="hr">`) {
		t.Fatal("the login page does not follow Accept-Language")
	}
	p := anon.post("/language", login, url.Values{"locale": {"sr-Cyrl"}, "next": {"/login"}})
	if !strings.Contains(p.body, `<html lang="sr-Cyrl">`) || !strings.Contains(p.body, "Пријава") {
		t.Fatalf("visitor's switch: %s", p.body[:200])
	}
	v := s.visitor()
	home := v.signIn("admin")
	v.post("/language", home, url.Values{"locale": {"bs"}, "next": {"/admin"}})
	w := s.visitor()
	if p := w.signIn("admin"); !strings.Contains(p.body, `<html lang="bs">`) {
		t.Fatal("the user's choice was not kept")
	}
	if p := v.post("/language", home, url.Values{"locale": {"de"}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("unknown locale: %d", p.status)
	}
}

// TestNextCannotAddHeaders: a signed-in user following a crafted /login?next= link (or a visitor
// posting the language form) is never answered with a header the link chose.
func TestNextCannotAddHeaders(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	v.signIn("admin")
	v.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, next := range []string{"/x%0D%0ASet-Cookie:%20trc_session=attacker;%20Path=/", "/%09/evil.example", "/%5Cevil.example"} {
		p := v.get("/login?next=" + next)
		loc := p.header.Get("Location")
		if p.status != http.StatusSeeOther || loc != "/" || strings.Contains(strings.Join(p.header.Values("Set-Cookie"), ";"), "attacker") {
			t.Errorf("next=%s: %d Location %q cookies %q", next, p.status, loc, p.header.Values("Set-Cookie"))
		}
	}
}
