package api_test

import (
	"strings"
	"testing"
)

// Issue 13 items 1 and 6 through the API: a retroactive tariff, a dry run and an applied
// repricing with its key replayed, and a closed month refusing a post and a void.
func TestRepricingAndClosedMonthsThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	post := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "c-1")
	if post.status != 201 {
		t.Fatalf("post: %s", post.raw)
	}
	id := post.json["id"].(string)
	// The amendment prices both services of the encounter (PZZ-01 20.00 → 23.00, LAB-01 6.00 → 8.00).
	amend := `{"effective_from":"2025-01-01","effective_to":"2026-01-01","retroactive":true,
		"items":[{"service_code":"PZZ-01","method":"fixed","price":"23"},{"service_code":"LAB-01","method":"fixed","price":"8"}]}`
	if r := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/tariffs", "admin", strings.Replace(amend, `"retroactive":true,`, "", 1)); r.status != 409 {
		t.Fatalf("amendment without the flag: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/tariffs", "admin", amend); r.status != 201 {
		t.Fatalf("retroactive amendment: %s", r.raw)
	}
	dry := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/repricings", "admin", `{"from":"2025-03-01","to":"2025-03-31","dry_run":true}`)
	if dry.status != 200 || dry.json["encounters"].(float64) != 1 || dry.json["id"] != nil {
		t.Fatalf("dry run: %s", dry.raw)
	}
	body := `{"from":"2025-03-01","to":"2025-03-31"}`
	applied := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/repricings", "admin", body, "Idempotency-Key", "rp-1")
	if applied.status != 200 || applied.json["encounters"].(float64) != 1 || applied.json["id"] == nil {
		t.Fatalf("apply: %s", applied.raw)
	}
	again := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/repricings", "admin", body, "Idempotency-Key", "rp-1")
	if again.status != 200 || again.raw != applied.raw {
		t.Fatalf("replay: %s", again.raw)
	}
	if r := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/repricings", "finance", body); r.status != 403 {
		t.Fatalf("finance reprices: %d", r.status)
	}

	if r := e.do("POST", "/v1/periods/2025-03/close", "finance", ""); r.status != 200 || r.json["status"] != "closed" {
		t.Fatalf("close: %s", r.raw)
	}
	other := strings.Replace(strings.Replace(consultation, "LIPA-0001", "LIPA-0002", 1), "2025-03-15", "2025-03-16", 1)
	if r := e.do("POST", "/v1/encounters", "clinic", other, "Idempotency-Key", "c-2"); r.status != 409 || r.json["code"] != "period_closed" {
		t.Fatalf("post into a closed month: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/v1/encounters/"+id+"/void", "clinic", `{"reason":"typo"}`); r.status != 409 || r.json["code"] != "period_closed" {
		t.Fatalf("void in a closed month: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/v1/encounters/"+id+"/void", "clinic", `{"reason":"typo","book_in_open_month":true}`); r.status != 200 || r.json["status"] != "voided" {
		t.Fatalf("void booked in the open month: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/v1/periods/2025-03/reopen", "finance", `{}`); r.status != 422 {
		t.Fatalf("reopen without reason: %d", r.status)
	}
	if r := e.do("POST", "/v1/periods/2025-03/reopen", "finance", `{"reason":"late invoice"}`); r.status != 200 || r.json["status"] != "open" {
		t.Fatalf("reopen: %s", r.raw)
	}
	list := e.do("GET", "/v1/periods", "admin", "")
	if list.status != 200 || len(list.json["items"].([]any)) != 1 {
		t.Fatalf("periods: %s", list.raw)
	}
	if v := e.do("GET", "/v1/ledger/verify", "finance", ""); v.json["ok"] != true {
		t.Fatalf("verify: %s", v.raw)
	}
	if r := e.do("GET", "/v1/reports/reconciliation", "finance", ""); r.json["consistent"] != true {
		t.Fatalf("reconciliation: %s", r.raw)
	}
}
