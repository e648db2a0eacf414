package api_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestWrongMethodIs405WithAllow: a path of the route table asked with a method it does not
// take answers 405 with the methods it takes in Allow, for every path; the fixed paths under
// /v1/encounters are not read as an encounter id.
func TestWrongMethodIs405WithAllow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/v1/encounters/batch", "/v1/encounters/import"} {
		res := e.do("GET", path, "clinic", "")
		res.isProblem(t, 405)
		if got := res.header.Get("Allow"); got != "POST" {
			t.Errorf("GET %s: Allow %q, want POST", path, got)
		}
		if strings.Contains(res.raw, "not found") {
			t.Errorf("GET %s: %s", path, res.raw)
		}
	}
	// Every path of the route table, every method it does not take.
	methods := map[string][]string{}
	param := regexp.MustCompile(`:[a-z_]+`)
	for _, r := range e.srv.App.GetRoutes(true) {
		if r.Method == "HEAD" || r.Path == "/" {
			continue
		}
		methods[r.Path] = append(methods[r.Path], r.Method)
	}
	if len(methods) < 20 {
		t.Fatalf("only %d paths", len(methods))
	}
	for path, allowed := range methods {
		concrete := param.ReplaceAllString(path, "x-1")
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if slices.Contains(allowed, m) {
				continue
			}
			res := e.do(m, concrete, "admin", "")
			if res.status != 405 {
				t.Errorf("%s %s: %d, want 405", m, concrete, res.status)
				continue
			}
			res.isProblem(t, 405)
			got := strings.Split(res.header.Get("Allow"), ", ")
			if !sameSet(got, allowed) {
				t.Errorf("%s %s: Allow %v, want %v", m, concrete, got, allowed)
			}
		}
	}
	// A method the path takes still reaches its handler.
	if res := e.do("GET", "/v1/encounters/00000000-0000-0000-0000-000000000000", "clinic", ""); res.status != 404 {
		t.Errorf("GET an unknown encounter: %d %s", res.status, res.raw)
	}
}
