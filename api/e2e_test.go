package api_test

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// TestMonthEndToEnd runs a month of DZ Bihać through the HTTP API: a clinic posts March 2025,
// finance builds a statement per payer, the clinic submits, each payer's reviewer rejects some
// lines and adjusts others, finance pays in two parts; at the end reconciliation is consistent,
// the ledger verifies, and every total equals a sum computed here from what was posted.
func TestMonthEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rng := rand.New(rand.NewSource(7))
	services := []string{"PZZ-01", "PZZ-02", "PZZ-03", "PZZ-04", "LAB-01", "TRN-01"}
	benef := []string{"irregular_migrant", "asylum_seeker", "refugee", "unknown"}
	expected := map[string]decimal.Decimal{} // payer -> sum of its shares
	for i := 0; i < 40; i++ {
		var lines []string
		for j := 0; j <= rng.Intn(3); j++ {
			qty := fmt.Sprint(1 + rng.Intn(2))
			lines = append(lines, fmt.Sprintf(`{"service_code":%q,"quantity":%q}`, services[rng.Intn(len(services))], qty))
		}
		body := fmt.Sprintf(`{"contract_code":"IOM-DZBIH-2024","site_code":"TRC-LIPA","external_id":"M-%d","patient_id":"SFA-%d",
			"beneficiary_category":%q,"service_date":"2025-03-%02d","kind":"consultation","diagnoses":["J06.9"],"lines":[%s]}`,
			i, rng.Intn(12), benef[rng.Intn(len(benef))], 1+rng.Intn(31), strings.Join(lines, ","))
		res := e.do("POST", "/v1/encounters", "clinic", body, "Idempotency-Key", fmt.Sprintf("m-%d", i))
		if res.status != 201 {
			t.Fatalf("post %d: %s", i, res.raw)
		}
		for _, l := range res.json["lines"].([]any) {
			for _, s := range l.(map[string]any)["shares"].([]any) {
				sh := s.(map[string]any)
				expected[sh["payer_code"].(string)] = expected[sh["payer_code"].(string)].Add(decimal.RequireFromString(sh["amount"].(string)))
			}
		}
	}
	reviewerOf := map[string]string{"ZZO-USK": e.tokens["reviewer"], "IOM": e.token("reviewer", "IOM")}
	approvedTotal := map[string]decimal.Decimal{}
	for payer, reviewer := range reviewerOf {
		st := e.do("POST", "/v1/statements", "finance", fmt.Sprintf(`{"provider_code":"DZ-BIHAC","payer_code":%q,"period":"2025-03"}`, payer))
		if st.status != 201 {
			t.Fatalf("statement %s: %s", payer, st.raw)
		}
		id := st.json["id"].(string)
		if got := st.json["claimed"]; got != expected[payer].StringFixed(2) {
			t.Errorf("%s claimed %v, want %s", payer, got, expected[payer].StringFixed(2))
		}
		if r := e.do("POST", "/v1/statements/"+id+"/submit", "clinic", ""); r.status != 200 || r.json["content_hash"] == nil {
			t.Fatalf("submit: %s", r.raw)
		}
		lines := e.do("GET", "/v1/statements/"+id, reviewer, "").json["lines"].([]any)
		var decisions []string
		approved := decimal.Zero
		for i, l := range lines {
			line := l.(map[string]any)
			amount := decimal.RequireFromString(line["amount"].(string))
			switch i % 4 {
			case 0:
				decisions = append(decisions, fmt.Sprintf(`{"line_id":%v,"decision":"reject","reason_code":"not_eligible"}`, line["id"]))
			case 1:
				half := amount.Div(decimal.NewFromInt(2)).RoundDown(2)
				approved = approved.Add(half)
				decisions = append(decisions, fmt.Sprintf(`{"line_id":%v,"decision":"adjust","approved_amount":%q,"reason_code":"other","note":"half"}`, line["id"], half.StringFixed(2)))
			default:
				approved = approved.Add(amount)
				decisions = append(decisions, fmt.Sprintf(`{"line_id":%v,"decision":"approve"}`, line["id"]))
			}
		}
		if r := e.do("POST", "/v1/statements/"+id+"/decisions", reviewer, `{"decisions":[`+strings.Join(decisions, ",")+`]}`); r.status != 200 {
			t.Fatalf("decisions: %s", r.raw)
		}
		done := e.do("POST", "/v1/statements/"+id+"/complete-review", reviewer, "")
		if done.status != 200 || done.json["approved"] != approved.StringFixed(2) ||
			done.json["rejected"] != expected[payer].Sub(approved).StringFixed(2) {
			t.Fatalf("complete %s: approved %v rejected %v, want %s and %s", payer, done.json["approved"], done.json["rejected"],
				approved.StringFixed(2), expected[payer].Sub(approved).StringFixed(2))
		}
		approvedTotal[payer] = approved
		part := approved.Div(decimal.NewFromInt(3)).RoundDown(2)
		for i, amount := range []decimal.Decimal{part, approved.Sub(part)} {
			r := e.do("POST", "/v1/statements/"+id+"/payments", "finance",
				fmt.Sprintf(`{"amount":%q,"paid_on":"2025-05-%02d","reference":"BT-%s-%d"}`, amount.StringFixed(2), 10+i, payer, i),
				"Idempotency-Key", fmt.Sprintf("pay-%s-%d", payer, i))
			wantStatus := []string{"partially_paid", "paid"}[i]
			if r.status != 201 || r.json["statement_status"] != wantStatus {
				t.Fatalf("payment %d of %s: %s", i, payer, r.raw)
			}
		}
	}
	rec := e.do("GET", "/v1/reports/reconciliation?period=2025-03&provider_code=DZ-BIHAC", "finance", "")
	if rec.status != 200 || rec.json["consistent"] != true {
		t.Fatalf("reconciliation: %s", rec.raw)
	}
	for _, it := range rec.json["items"].([]any) {
		item := it.(map[string]any)
		payer := item["payer_code"].(string)
		if item["claimed"] != expected[payer].StringFixed(2) || item["paid"] != approvedTotal[payer].StringFixed(2) || item["outstanding"] != "0.00" {
			t.Errorf("reconciliation of %s: %v", payer, item)
		}
	}
	for payer := range reviewerOf {
		// Everything claimed was either rejected (taken off) or paid: nothing is owed.
		bal := e.do("GET", "/v1/ledger/balances?account=payable:"+payer+":DZ-BIHAC", "finance", "")
		if !strings.Contains(bal.raw, `"balance":"0.00"`) {
			t.Errorf("%s still owes: %s", payer, bal.raw)
		}
		cash := e.do("GET", "/v1/ledger/balances?account=cash:"+payer, "finance", "")
		if !strings.Contains(cash.raw, `"balance":"-`+approvedTotal[payer].StringFixed(2)+`"`) {
			t.Errorf("cash of %s: %s", payer, cash.raw)
		}
	}
	if v := e.do("GET", "/v1/ledger/verify", "admin", ""); v.json["ok"] != true {
		t.Errorf("verify: %s", v.raw)
	}
	rep := e.do("GET", "/v1/reports/transition?from=2025-03&to=2025-03", "finance", "")
	if rep.status != 200 {
		t.Fatalf("transition: %s", rep.raw)
	}
	row := rep.json["items"].([]any)[0].(map[string]any)
	total := expected["ZZO-USK"].Add(expected["IOM"])
	if row["total"] != total.StringFixed(2) || row["by_payer_type"].(map[string]any)["state_fund"] != expected["ZZO-USK"].StringFixed(2) {
		t.Errorf("transition row %v, want total %s state_fund %s", row, total.StringFixed(2), expected["ZZO-USK"].StringFixed(2))
	}
	logs := e.logs.String()
	for _, secret := range []string{"SFA-1", "J06.9", e.tokens["clinic"], e.tokens["finance"]} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}
