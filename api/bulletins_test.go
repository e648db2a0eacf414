package api_test

import (
	"strings"
	"testing"
)

// TestBulletinsAPI publishes March 2025, reads it back, sees a late line restate it, verifies
// it up to its chain head and prints it; the payer report answers per payer.
func TestBulletinsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "b-1"); r.status != 201 {
		t.Fatalf("post: %s", r.raw)
	}
	pub := e.do("POST", "/v1/bulletins", "finance", `{"period":"2025-03"}`)
	if pub.status != 201 || pub.json["chain_head"] == nil || len(pub.json["chain_head"].(string)) != 64 {
		t.Fatalf("publish: %d %s", pub.status, pub.raw)
	}
	if r := e.do("POST", "/v1/bulletins", "finance", `{"period":"2025-03"}`); r.status != 409 || r.json["code"] != "bulletin_exists" {
		t.Errorf("second publication: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/v1/bulletins", "finance", `{"period":"March"}`); r.status != 422 {
		t.Errorf("bad period: %d %s", r.status, r.raw)
	}
	got := e.do("GET", "/v1/bulletins/2025-03", "finance", "")
	if got.status != 200 || got.json["restated"] != nil || !strings.Contains(got.raw, `"published_at"`) || !strings.Contains(got.raw, `"items":[{"grouping":""`) {
		t.Fatalf("get: %d %s", got.status, got.raw)
	}
	late := strings.Replace(strings.Replace(consultation, "LIPA-0001", "LIPA-LATE", 1), "2025-03-15", "2025-03-28", 1)
	if r := e.do("POST", "/v1/encounters", "clinic", late, "Idempotency-Key", "b-2"); r.status != 201 {
		t.Fatalf("late post: %s", r.raw)
	}
	got = e.do("GET", "/v1/bulletins/2025-03", "admin", "")
	restated, _ := got.json["restated"].(map[string]any)
	if got.status != 200 || restated == nil || restated["difference"] == nil {
		t.Fatalf("restated: %d %s", got.status, got.raw)
	}
	v := e.do("GET", "/v1/bulletins/2025-03/verify", "finance", "")
	if v.status != 200 || v.json["ok"] != true || v.json["items_intact"] != true {
		t.Errorf("verify: %d %s", v.status, v.raw)
	}
	pdf := e.do("GET", "/v1/bulletins/2025-03/export.pdf?lang=sr-Cyrl", "finance", "")
	if pdf.status != 200 || !strings.HasPrefix(pdf.raw, "%PDF-") || pdf.header.Get("Content-Language") != "sr-Cyrl" {
		t.Errorf("pdf: %d %.80s", pdf.status, pdf.raw)
	}
	if r := e.do("GET", "/v1/bulletins/2025-04", "finance", ""); r.status != 404 {
		t.Errorf("unpublished month: %d", r.status)
	}
	if r := e.do("GET", "/v1/bulletins", "finance", ""); r.status != 200 || !strings.Contains(r.raw, `"period":"2025-03"`) {
		t.Errorf("list: %d %s", r.status, r.raw)
	}

	rep := e.do("GET", "/v1/reports/payers?from=2025-01&to=2025-12&as_of=2025-12-31", "finance", "")
	if rep.status != 200 || !strings.Contains(rep.raw, `"payer_code":"ZZO-USK"`) || !strings.Contains(rep.raw, `"payer_code":"IOM"`) {
		t.Errorf("payer report: %d %s", rep.status, rep.raw)
	}
	own := e.do("GET", "/v1/reports/payers?from=2025-01&to=2025-12", "reviewer", "")
	if own.status != 200 || strings.Contains(own.raw, `"payer_code":"IOM"`) {
		t.Errorf("reviewer's payer report: %d %s", own.status, own.raw)
	}
	if r := e.do("GET", "/v1/reports/payers?from=2025-01", "finance", ""); r.status != 422 {
		t.Errorf("missing to: %d %s", r.status, r.raw)
	}
}
