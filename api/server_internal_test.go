package api

import "testing"

// routeKey matches a request target the way the router does, so that the import gets its long
// body timeout however its path is spelled, and nothing else does.
func TestRouteKey(t *testing.T) {
	for uri, want := range map[string]string{
		"/v1/encounters/import":                     "/v1/encounters/import",
		"/V1/Encounters/Import/?x=1":                "/v1/encounters/import",
		"http://host:8080/v1/encounters/import?a=b": "/v1/encounters/import",
		"/v1/sites":   "/v1/sites",
		"/":           "/",
		"http://host": "/",
	} {
		if got := routeKey([]byte(uri)); got != want {
			t.Errorf("routeKey(%q) = %q, want %q", uri, got, want)
		}
	}
}
