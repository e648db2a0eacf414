package api_test

import (
	"regexp"
	"strings"
	"testing"
)

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do("GET", "/v1/openapi.json", "", "")
	if res.status != 200 || res.json["openapi"] != "3.0.3" {
		t.Fatalf("openapi: %d %.200s", res.status, res.raw)
	}
	paths := res.json["paths"].(map[string]any)
	param := regexp.MustCompile(`:([a-z_]+)`)
	n := 0
	for _, r := range e.srv.App.GetRoutes(true) {
		if r.Method == "HEAD" || r.Path == "/" {
			continue
		}
		p := param.ReplaceAllString(r.Path, "{$1}")
		ops, ok := paths[p].(map[string]any)
		if !ok || ops[strings.ToLower(r.Method)] == nil {
			t.Errorf("%s %s is not in the OpenAPI document", r.Method, p)
			continue
		}
		op := ops[strings.ToLower(r.Method)].(map[string]any)
		if op["responses"] == nil || op["summary"] == "" {
			t.Errorf("%s %s has no responses or summary", r.Method, p)
		}
		n++
	}
	if n < 20 {
		t.Errorf("only %d routes checked", n)
	}
	// Request bodies are described field by field.
	schemas := res.json["components"].(map[string]any)["schemas"].(map[string]any)
	tariff := schemas["TariffRequest"].(map[string]any)
	if props := tariff["properties"].(map[string]any); props["items"] == nil || props["point_value"] == nil {
		t.Errorf("TariffRequest schema: %v", tariff)
	}
}
