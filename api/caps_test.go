package api_test

import (
	"testing"
)

// TestCapsThroughTheAPI: an admin adds a cap of 10.00 a month for ZZO USK on DZ Bihać's contract,
// overflowing to IOM; the consultation's PZZ-01 line (20.00: USK 12.00, IOM 8.00) is split
// 10.00 / 10.00, and GET caps shows March used 10.00, left 0.00, routed 2.00.
func TestCapsThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bad := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/caps", "admin", `{"payer_code":"ZZO-USK","period":"week","amount":"-1","mode":"route"}`)
	bad.isProblem(t, 422)
	if !sameSet(bad.fields(), []string{"period", "amount", "effective_from", "overflow_payer_code"}) {
		t.Errorf("fields %v: %s", bad.fields(), bad.raw)
	}
	if r := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/caps", "admin", `{"payer_code":"DZ-BIHAC","period":"month","amount":"10","effective_from":"2025-01-01","mode":"warn"}`); r.status != 422 {
		t.Errorf("a provider as payer: %d %s", r.status, r.raw)
	}
	res := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/caps", "admin",
		`{"payer_code":"ZZO-USK","period":"month","amount":"10.00","effective_from":"2025-01-01","overflow_payer_code":"IOM","mode":"route"}`)
	if res.status != 201 || res.json["amount"] != "10.00" || res.json["currency"] != "BAM" {
		t.Fatalf("add cap: %d %s", res.status, res.raw)
	}
	again := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/caps", "admin",
		`{"payer_code":"ZZO-USK","period":"year","amount":"10.00","effective_from":"2025-06-01","mode":"warn"}`)
	again.isProblem(t, 409)
	if again.json["code"] != "cap_overlap" {
		t.Errorf("overlap: %s", again.raw)
	}
	enc := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "cap-1")
	if enc.status != 201 {
		t.Fatalf("post: %s", enc.raw)
	}
	line := enc.json["lines"].([]any)[0].(map[string]any)
	got := map[string]string{}
	for _, s := range line["shares"].([]any) {
		sh := s.(map[string]any)
		got[sh["payer_code"].(string)] = sh["amount"].(string)
	}
	if got["ZZO-USK"] != "10.00" || got["IOM"] != "10.00" {
		t.Errorf("shares %v, want ZZO-USK 10.00 and IOM 10.00", got)
	}
	for _, who := range []string{"admin", "finance", "clinic"} {
		list := e.do("GET", "/v1/contracts/IOM-DZBIH-2024/caps", who, "")
		if list.status != 200 {
			t.Fatalf("%s: %d %s", who, list.status, list.raw)
		}
		caps := list.json["items"].([]any)
		periods := caps[0].(map[string]any)["periods"].([]any)
		p := periods[0].(map[string]any)
		if p["label"] != "2025-03" || p["used"] != "10.00" || p["left"] != "0.00" || p["routed"] != "2.00" || p["to"] != "2025-03-31" {
			t.Errorf("%s: period %v", who, p)
		}
	}
}
