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
