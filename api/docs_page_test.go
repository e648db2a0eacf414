package api_test

import (
	"strings"
	"testing"
)

// TestDocsPageListsEveryOperation: /docs is public, loads nothing from another host, and shows
// every operation of the OpenAPI document with its parameters and schemas.
func TestDocsPageListsEveryOperation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do("GET", "/docs", "", "")
	if res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %s", res.status, res.header.Get("Content-Type"))
	}
	csp := res.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") || strings.Contains(res.raw, "<script") {
		t.Errorf("CSP %q or a script on the page", csp)
	}
	for _, host := range []string{"http://", "https://", "//cdn"} {
		if strings.Contains(strings.ReplaceAll(res.raw, "https://trcledger.example", ""), "src=\""+host) || strings.Contains(res.raw, "href=\""+host) {
			t.Errorf("the page loads something from another host (%s)", host)
		}
	}
	doc := e.do("GET", "/v1/openapi.json", "", "")
	paths, _ := doc.json["paths"].(map[string]any)
	if len(paths) < 40 {
		t.Fatalf("only %d paths in the document", len(paths))
	}
	for path, ops := range paths {
		for method, op := range ops.(map[string]any) {
			id := op.(map[string]any)["operationId"].(string)
			if !strings.Contains(res.raw, `id="`+id+`"`) {
				t.Errorf("/docs lacks %s %s (%s)", strings.ToUpper(method), path, id)
			}
		}
	}
	for _, want := range []string{"idempotency", "Idempotency-Key", `id="schema-`, "lines_cursor"} {
		if !strings.Contains(res.raw, want) {
			t.Errorf("/docs lacks %q", want)
		}
	}
}
