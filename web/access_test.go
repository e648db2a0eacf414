package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/web"
)

// TestPageAccessMatrix opens every page of the web application as every role and as a visitor:
// a role the page is not for gets 403 before the page's handler runs, a visitor is sent to the
// login page, and nobody gets a 5xx. (What a page shows inside a role, such as another
// provider's encounter, is decided by the same services as the API and tested with each page.)
func TestPageAccessMatrix(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	visitors := map[string]*visitor{}
	homes := map[string]page{}
	for name := range demoLogins {
		visitors[name] = s.visitor()
		homes[name] = visitors[name].signIn(name)
	}
	anon := s.visitor()
	param := regexp.MustCompile(`:[a-z_]+|\*`)
	for _, r := range web.PageRoutes() {
		path := param.ReplaceAllString(r.Path, "1")
		if r.Roles == nil || r.Path == "/logout" {
			continue // login, language: open to everyone; sign-out: TestSignOutEndsTheSession...
		}
		name := r.Method + " " + r.Path
		var p page
		if r.Method == "GET" {
			p = anon.get(path)
		} else {
			p = anon.post(path, anon.get("/login"), url.Values{})
		}
		if !strings.HasPrefix(p.url, "/login") {
			t.Errorf("%s as a visitor ended at %s (%d)", name, p.url, p.status)
		}
		for user, v := range visitors {
			role := demoLogins[user][0]
			if r.Method == "GET" {
				p = v.get(path)
			} else {
				p = v.post(path, homes[user], url.Values{})
			}
			allowed := slices.Contains(r.Roles, role)
			switch {
			case p.status >= 500:
				t.Errorf("%s as %s: %d", name, role, p.status)
			case !allowed && p.status != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want 403", name, role, p.status)
			case allowed && strings.HasPrefix(p.url, "/login"):
				t.Errorf("%s as %s: sent to sign in", name, role)
			case allowed && strings.Contains(p.body, `name="_csrf" value=""`):
				t.Errorf("%s as %s: a form without its CSRF token (it would be refused without JavaScript)", name, role)
			case allowed && p.status == http.StatusForbidden:
				t.Errorf("%s as %s: 403, want it allowed", name, role)
			}
		}
	}
}
