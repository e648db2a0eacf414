package api_test

import (
	"strings"
	"testing"
)

// TestStatementWithAnEmojiPrints: a record number beyond the Basic Multilingual Plane made the
// PDF export answer 500, and a submitted statement holding it could never be printed.
func TestStatementWithAnEmojiPrints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	enc := e.do("POST", "/v1/encounters", "clinic", strings.Replace(consultation, "LIPA-0001", "EMOJI-😀", 1), "Idempotency-Key", "emoji-1")
	if enc.status != 201 || enc.json["external_id"] != "EMOJI-😀" {
		t.Fatalf("post: %d %s", enc.status, enc.raw)
	}
	st := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	if st.status != 201 {
		t.Fatalf("statement: %s", st.raw)
	}
	id := st.json["id"].(string)
	if res := e.do("POST", "/v1/statements/"+id+"/submit", "clinic", ""); res.status != 200 {
		t.Fatalf("submit: %d %s", res.status, res.raw)
	}
	for _, who := range []string{"clinic", "reviewer", "finance", "admin"} {
		res := e.do("GET", "/v1/statements/"+id+"/export.pdf", who, "")
		if res.status != 200 || res.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(res.raw, "%PDF-") {
			t.Errorf("%s: %d %q %.80q", who, res.status, res.header.Get("Content-Type"), res.raw)
		}
	}
	if res := e.do("GET", "/v1/statements/"+id+"/export.csv", "clinic", ""); res.status != 200 || !strings.Contains(res.raw, "EMOJI-😀") {
		t.Errorf("csv: %d %s", res.status, res.raw)
	}
}

// TestStatementPDFLanguage: the PDF is printed in the language lang names, else the one
// Accept-Language prefers, else bs; an unknown lang is a 422 naming it.
func TestStatementPDFLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if enc := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "lang-1"); enc.status != 201 {
		t.Fatalf("post: %d %s", enc.status, enc.raw)
	}
	st := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	if st.status != 201 {
		t.Fatalf("statement: %s", st.raw)
	}
	path := "/v1/statements/" + st.json["id"].(string) + "/export.pdf"
	for _, c := range []struct {
		query, accept, want string
	}{
		{"", "", "bs"},
		{"?lang=sr-Cyrl", "", "sr-Cyrl"},
		{"?lang=en", "hr-HR,hr;q=0.9", "en"},
		{"", "hr-HR,hr;q=0.9,en;q=0.8", "hr"},
		{"", "sr-Cyrl-BA", "sr-Cyrl"},
		{"", "de-DE", "bs"},
	} {
		var hdr []string
		if c.accept != "" {
			hdr = []string{"Accept-Language", c.accept}
		}
		res := e.do("GET", path+c.query, "reviewer", "", hdr...)
		if res.status != 200 || !strings.HasPrefix(res.raw, "%PDF-") || res.header.Get("Content-Language") != c.want {
			t.Errorf("%s with Accept-Language %q: %d, Content-Language %q, want %q", c.query, c.accept, res.status, res.header.Get("Content-Language"), c.want)
		}
	}
	res := e.do("GET", path+"?lang=de", "reviewer", "")
	if res.status != 422 || !strings.Contains(res.raw, `"field":"lang"`) || !strings.Contains(res.raw, "sr-Cyrl") {
		t.Errorf("lang=de: %d %s", res.status, res.raw)
	}
}
