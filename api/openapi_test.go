package api_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/api"
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

// TestOpenAPIDocumentIsValid loads the served document with kin-openapi, which refuses what
// `redocly lint` reports as errors (duplicate operationIds, undeclared path parameters,
// responses without descriptions, broken $refs, examples that break their schema), and checks
// the rest of redocly's recommended rules that the library does not.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	doc, _, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	if doc.Info.License == nil || doc.Info.License.Name == "" {
		t.Error("info.license is missing")
	}
	if len(doc.Servers) == 0 {
		t.Error("servers is missing")
	}
	tags := map[string]bool{}
	for _, tag := range doc.Tags {
		if tag.Description == "" {
			t.Errorf("tag %s has no description", tag.Name)
		}
		tags[tag.Name] = true
	}
	if len(doc.Security) == 0 || doc.Components.SecuritySchemes["bearer"] == nil {
		t.Error("no global security requirement")
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.Summary == "" || op.OperationID == "" {
				t.Errorf("%s: no summary or operationId", where)
			}
			if len(op.Tags) != 1 || !tags[op.Tags[0]] {
				t.Errorf("%s: tags %v are not the document's", where, op.Tags)
			}
			var ok2, has4xx bool
			for code := range op.Responses.Map() {
				ok2 = ok2 || code[0] == '2'
				has4xx = has4xx || code[0] == '4'
			}
			if !ok2 || !has4xx {
				t.Errorf("%s: needs a 2xx and a 4xx response", where)
			}
			for _, code := range []string{"400", "405", "413", "431", "500"} {
				if op.Responses.Value(code) == nil {
					t.Errorf("%s: %s is not documented", where, code)
				}
			}
			if strings.HasPrefix(path, "/v1/") && op.Responses.Value("429") == nil {
				t.Errorf("%s: 429 is not documented", where)
			}
			public := op.Security != nil && len(*op.Security) == 0
			if public == (op.Responses.Value("401") != nil) {
				t.Errorf("%s: public %v, but 401 documented %v", where, public, op.Responses.Value("401") != nil)
			}
			seen := map[string]bool{}
			for _, p := range op.Parameters {
				key := p.Value.In + ":" + p.Value.Name
				if seen[key] {
					t.Errorf("%s: parameter %s twice", where, key)
				}
				seen[key] = true
			}
		}
	}
	for _, path := range []string{"/healthz", "/readyz", "/v1/openapi.json"} {
		if op := doc.Paths.Value(path).Get; op.Security == nil || len(*op.Security) != 0 {
			t.Errorf("GET %s is public but does not say security: []", path)
		}
	}
	// Every component schema is used.
	for name := range doc.Components.Schemas {
		if !bytes.Contains(contract.raw, []byte(`"#/components/schemas/`+name+`"`)) {
			t.Errorf("schema %s is never used", name)
		}
	}
}

// TestOpenAPISaysWhatTheServerTakes: every enumeration is an enum with the vocabulary's values,
// required request fields are not nullable, dates, months and decimals carry patterns (none
// that admits a negative decimal the server refuses), Idempotency-Key is a header parameter
// where the server reads it, the upload and the exports name their content types, and the
// statuses every route can answer are documented.
func TestOpenAPISaysWhatTheServerTakes(t *testing.T) {
	t.Parallel()
	doc, _, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	vocab := api.Vocabularies()
	enumFields := map[string]bool{"kind": true, "status": true, "role": true, "method": true, "currency": true,
		"beneficiary_category": true, "category": true, "service_category": true, "payer_type": true, "level": true,
		"unit": true, "sex": true, "flags": true, "to_level": true, "decision": true, "reason_code": true,
		"statement_status": true, "by": true}
	notEnums := map[string]bool{"Health.status": true, "LedgerTransaction.kind": true}
	dateFields := regexp.MustCompile(`(^|_)(date|from|to|on|as_of)$|^period$`)
	isVocabulary := func(values []any) bool {
		for _, v := range vocab {
			if len(v) == len(values) {
				same := true
				for i := range v {
					same = same && values[i] == v[i]
				}
				if same {
					return true
				}
			}
		}
		return false
	}
	for name, ref := range doc.Components.Schemas {
		received := ref.Value.AdditionalProperties.Has != nil && !*ref.Value.AdditionalProperties.Has
		required := map[string]bool{}
		for _, r := range ref.Value.Required {
			required[r] = true
		}
		for prop, pref := range ref.Value.Properties {
			where := name + "." + prop
			p := pref.Value
			if len(p.AllOf) == 1 {
				p = p.AllOf[0].Value
			}
			if required[prop] && received && pref.Value.Nullable {
				t.Errorf("%s is required but nullable", where)
			}
			if enumFields[prop] && !notEnums[where] && !p.Type.Is("integer") {
				values := p.Enum
				if p.Type.Is("array") {
					values = p.Items.Value.Enum
				}
				if !isVocabulary(values) {
					t.Errorf("%s: enum %v is not one of the vocabularies", where, values)
				}
			}
			if p.Type.Is("string") && dateFields.MatchString(prop) && p.Pattern == "" && p.Enum == nil {
				t.Errorf("%s is a date or month without a pattern", where)
			}
			if received && strings.Contains(p.Pattern, "-?") {
				t.Errorf("%s admits a negative decimal: %s", where, p.Pattern)
			}
		}
	}
	// Idempotency-Key where the server reads it.
	idem := map[string]bool{ // operation -> required
		"POST /v1/encounters": true, "POST /v1/encounters/batch": true, "POST /v1/statements/{id}/payments": true,
		"POST /v1/encounters/{id}/void": false, "POST /v1/statements": false, "POST /v1/statements/{id}/submit": false,
		"POST /v1/statements/{id}/cancel": false, "POST /v1/statements/{id}/decisions": false, "POST /v1/statements/{id}/complete-review": false,
		"POST /v1/statements/{id}/appeals": false, "POST /v1/appeals/{id}/decision": false,
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			p := op.Parameters.GetByInAndName("header", "Idempotency-Key")
			want, takes := idem[where]
			switch {
			case takes && p == nil:
				t.Errorf("%s: Idempotency-Key is not documented", where)
			case takes && p.Required != want:
				t.Errorf("%s: Idempotency-Key required %v, want %v", where, p.Required, want)
			case !takes && p != nil:
				t.Errorf("%s documents an Idempotency-Key it ignores", where)
			}
			for _, p := range op.Parameters {
				if p.Value.In != "query" {
					continue
				}
				sch := p.Value.Schema.Value
				if enumFields[p.Value.Name] && !isVocabulary(sch.Enum) {
					t.Errorf("%s: query %s has no enum", where, p.Value.Name)
				}
				if dateFields.MatchString(p.Value.Name) && sch.Pattern == "" {
					t.Errorf("%s: query %s is a date or month without a pattern", where, p.Value.Name)
				}
			}
			if r := op.Responses.Value("429"); r != nil && r.Value.Headers["Retry-After"] == nil {
				t.Errorf("%s: 429 without Retry-After", where)
			}
			if r := op.Responses.Value("405"); r == nil || r.Value.Headers["Allow"] == nil {
				t.Errorf("%s: 405 without Allow", where)
			}
		}
	}
	imp := doc.Paths.Value("/v1/encounters/import").Post
	if c := imp.RequestBody.Value.Content; c.Get("text/csv") == nil || c.Get("multipart/form-data") == nil ||
		c.Get("multipart/form-data").Schema.Value.Properties["file"] == nil {
		t.Errorf("import body: %v", c)
	}
	if imp.Responses.Value("415") == nil {
		t.Error("import: 415 is not documented")
	}
	for path, ct := range map[string]string{"/v1/statements/{id}/export.csv": "text/csv", "/v1/statements/{id}/export.pdf": "application/pdf"} {
		if c := doc.Paths.Value(path).Get.Responses.Value("200").Value.Content; c.Get(ct) == nil || len(c) != 1 {
			t.Errorf("%s: content %v, want %s", path, c, ct)
		}
	}
}
