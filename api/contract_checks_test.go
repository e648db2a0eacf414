package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStatementAnswersAndAuditDetailFitTheSchema: the statement list and the answer to create
// send no null where the document says array (lines and payments are absent, and optional
// there), the full statement sends both as arrays, and the audit log's detail is documented as
// the object it is, not as the array of bytes a reflected json.RawMessage would be.
func TestStatementAnswersAndAuditDetailFitTheSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if res := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "shape-1"); res.status != 201 {
		t.Fatal(res.raw)
	}
	created := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	if created.status != 201 {
		t.Fatal(created.raw)
	}
	listed := e.do("GET", "/v1/statements", "finance", "")
	for _, res := range []result{created, listed} {
		if strings.Contains(res.raw, `"lines":null`) || strings.Contains(res.raw, `"payments":null`) {
			t.Errorf("null where the schema says array: %.300s", res.raw)
		}
	}
	full := e.do("GET", "/v1/statements/"+created.json["id"].(string), "finance", "")
	if _, ok := full.json["lines"].([]any); !ok {
		t.Errorf("the full statement has no lines array: %.300s", full.raw)
	}
	if _, ok := full.json["payments"].([]any); !ok {
		t.Errorf("the full statement has no payments array: %.300s", full.raw)
	}
	audit := e.do("GET", "/v1/audit?action=create", "admin", "")
	items, _ := audit.json["items"].([]any)
	if len(items) == 0 {
		t.Fatalf("no audit entries: %s", audit.raw)
	}
	if _, ok := items[0].(map[string]any)["detail"].(map[string]any); !ok {
		t.Errorf("audit detail is not an object: %.300s", audit.raw)
	}
	doc, _, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	detail := doc.Components.Schemas["AccessAuditEntry"].Value.Properties["detail"].Value
	if !detail.Type.Is("object") {
		t.Errorf("the document says audit detail is %v", detail.Type)
	}
	st := doc.Components.Schemas["ClaimsStatement"].Value
	for _, name := range []string{"lines", "payments"} {
		if p := st.Properties[name].Value; !p.Type.Is("array") || p.Nullable {
			t.Errorf("statement %s: %v nullable %v", name, p.Type, p.Nullable)
		}
		for _, r := range st.Required {
			if r == name {
				t.Errorf("statement %s is required but lists and create omit it", name)
			}
		}
	}
}

// TestContractCheckerCatchesDrift: the check every api test runs on its responses reports a
// body that breaks its schema, an undocumented status, a wrong content type, a 405 without
// Allow and a 429 without Retry-After; it passes a response that fits. The check of accepted
// requests reports a body the document refuses.
func TestContractCheckerCatchesDrift(t *testing.T) {
	t.Parallel()
	json := http.Header{"Content-Type": {"application/json"}}
	problem := http.Header{"Content-Type": {"application/problem+json"}}
	okProblem := `{"type":"/problems/x","title":"T","status":429,"detail":"d","code":"x","errors":[],"request_id":"r"}`
	cases := []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		want               string // "" when the response fits
	}{
		{"fits", "GET", "/healthz", 200, json, `{"status":"ok"}`, ""},
		{"null array", "GET", "/v1/statements", 200, json, `{"items":[{"id":"x","lines":null}],"next_cursor":null}`, "doesn't match schema"},
		{"unknown enum", "GET", "/v1/sites", 200, json, `{"items":[{"code":"S","name":"n","kind":"boat","jurisdiction_code":"BA","created_at":"2025-01-01T00:00:00Z"}],"next_cursor":null}`, "doesn't match schema"},
		{"undocumented status", "GET", "/healthz", 418, json, `{}`, "status is not supported"},
		{"wrong content type", "GET", "/v1/statements/x/export.pdf", 200, http.Header{"Content-Type": {"text/html"}}, `<p>`, "Content-Type"},
		{"429 without Retry-After", "GET", "/v1/sites", 429, problem, okProblem, "Retry-After"},
		{"429 with Retry-After", "GET", "/v1/sites", 429, http.Header{"Content-Type": {"application/problem+json"}, "Retry-After": {"1"}}, okProblem, ""},
		{"405 without Allow", "PUT", "/v1/sites", 405, problem, okProblem, "Allow"},
		{"problem without request_id", "GET", "/v1/nothing", 404, problem, `{"type":"t","title":"T","status":404,"detail":"d","code":"x","errors":[]}`, "request_id"},
	}
	accepted := []struct {
		name, path, body, want string
	}{
		{"fits, a number as a decimal", "/v1/contracts/C/tariffs", `{"effective_from":"2025-01-01","items":[{"service_code":"S","method":"points","points":13}]}`, ""},
		{"missing field", "/v1/sites", `{"code":"X"}`, "required"},
		{"unknown field", "/v1/sites", `{"code":"X","name":"n","kind":"trc","jurisdiction_code":"BA","colour":"red"}`, "colour"},
		{"negative decimal", "/v1/contracts/C/tariffs", `{"effective_from":"2025-01-01","items":[{"service_code":"S","method":"fixed","price":"-1"}]}`, "price"},
	}
	for _, c := range accepted {
		req := httptest.NewRequest("POST", c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		got := strings.Join(checkAccepted(req, []byte(c.body)), "; ")
		switch {
		case c.want == "" && got != "":
			t.Errorf("request %s: reported %s", c.name, got)
		case c.want != "" && !strings.Contains(got, c.want):
			t.Errorf("request %s: reported %q, want a mention of %q", c.name, got, c.want)
		}
	}
	for _, c := range cases {
		got := strings.Join(checkResponse(httptest.NewRequest(c.method, c.path, nil), c.status, c.header, []byte(c.body)), "; ")
		switch {
		case c.want == "" && got != "":
			t.Errorf("%s: reported %s", c.name, got)
		case c.want != "" && !strings.Contains(got, c.want):
			t.Errorf("%s: reported %q, want a mention of %q", c.name, got, c.want)
		}
	}
}
