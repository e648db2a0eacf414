package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// submittedStatement posts three encounters of DZ Bihać in March 2025 (one with a wound
// dressing at the tariff's maximum quantity, which the submit check flags quantity_limit; ZZO USK
// bears a share of the primary-care lines only), builds
// the ZZO USK statement and submits it. It returns the statement's id and its lines by id.
func submittedStatement(t *testing.T, e *env) (string, map[string]map[string]any) {
	t.Helper()
	for i, lines := range []string{
		`{"service_code":"PZZ-01","quantity":"1"},{"service_code":"LAB-01","quantity":"2"}`,
		`{"service_code":"PZZ-04","quantity":"5"}`,
		`{"service_code":"PZZ-02","quantity":"1"}`,
	} {
		body := fmt.Sprintf(`{"contract_code":"IOM-DZBIH-2024","site_code":"TRC-LIPA","external_id":"BULK-%d","patient_id":"SFA-BULK-%d",
			"beneficiary_category":"irregular_migrant","service_date":"2025-03-1%d","kind":"consultation","diagnoses":["J06.9"],"lines":[%s]}`, i, i, i, lines)
		if r := e.do("POST", "/v1/encounters", "clinic", body, "Idempotency-Key", fmt.Sprintf("bulk-%d", i)); r.status != 201 {
			t.Fatalf("post %d: %s", i, r.raw)
		}
	}
	st := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	if st.status != 201 {
		t.Fatalf("statement: %s", st.raw)
	}
	id := st.json["id"].(string)
	sub := e.do("POST", "/v1/statements/"+id+"/submit", "clinic", "")
	if sub.status != 200 {
		t.Fatalf("submit: %s", sub.raw)
	}
	return id, linesOf(sub)
}

func linesOf(r result) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, l := range r.json["lines"].([]any) {
		line := l.(map[string]any)
		out[jsonNumber(line["id"])] = line
	}
	return out
}

func flagged(line map[string]any) bool { return len(line["flags"].([]any)) > 0 }

// TestBulkApprovalOfUnflaggedLines: {"bulk": {"decision": "approve", "where": "unflagged"}}
// approves every undecided line without a flag in one request, recorded as approvals one by one
// are (who decided, the decisions trail, one audit entry), answers the statement with how many
// lines it decided, leaves flagged lines undecided, and is refused once the review is complete.
func TestBulkApprovalOfUnflaggedLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id, lines := submittedStatement(t, e)
	path := "/v1/statements/" + id + "/decisions"
	var flaggedIDs, plainIDs []string
	for lid, l := range lines {
		if flagged(l) {
			flaggedIDs = append(flaggedIDs, lid)
		} else {
			plainIDs = append(plainIDs, lid)
		}
	}
	if len(flaggedIDs) != 1 || len(plainIDs) != 2 {
		t.Fatalf("want 1 flagged and 2 unflagged lines, got %v and %v", flaggedIDs, plainIDs)
	}

	// The request's shape: decisions or bulk, and only approve on unflagged lines.
	for body, fields := range map[string][]string{
		`{}`: {"decisions"},
		`{"decisions":[{"line_id":` + plainIDs[0] + `,"decision":"approve"}],"bulk":{"decision":"approve","where":"unflagged"}}`: {"bulk"},
		`{"bulk":{"decision":"reject","where":"unflagged"}}`:                                                                     {"bulk.decision"},
		`{"bulk":{"decision":"approve","where":"flagged"}}`:                                                                      {"bulk.where"},
		`{"bulk":{}}`: {"bulk.decision", "bulk.where"},
		`{"bulk":{"decision":"approve","where":"unflagged","note":"x"}}`: {"bulk.note"},
	} {
		r := e.do("POST", path, "reviewer", body)
		r.isProblem(t, 422)
		if got := r.fields(); !sameSet(got, fields) {
			t.Errorf("%s: fields %v, want %v", body, got, fields)
		}
	}
	bulk := `{"bulk":{"decision":"approve","where":"unflagged"}}`
	// Another payer's reviewer does not see the statement; clinic staff may not decide.
	e.do("POST", path, e.token("reviewer", "ZZO-KS"), bulk).isProblem(t, 404)
	e.do("POST", path, "clinic", bulk).isProblem(t, 403)

	r := e.do("POST", path, "reviewer", bulk, "Idempotency-Key", "bulk-approve-1")
	if r.status != 200 || r.json["decided"] != 2.0 || r.json["status"] != "under_review" || r.json["decided_count"] != 2.0 {
		t.Fatalf("bulk: %d %.300s", r.status, r.raw)
	}
	again := e.do("POST", path, "reviewer", bulk, "Idempotency-Key", "bulk-approve-1")
	if again.raw != r.raw || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay of the bulk approval: %d %.200s", again.status, again.raw)
	}
	after := linesOf(r)
	for _, lid := range plainIDs {
		l := after[lid]
		if l["decision"] != "approve" || l["approved_amount"] != l["amount"] || l["decided_by"] == nil || l["reason_code"] != nil {
			t.Errorf("line %s after bulk: %v", lid, l)
		}
	}
	if l := after[flaggedIDs[0]]; l["decision"] != nil || l["decided_by"] != nil {
		t.Errorf("the flagged line was decided: %v", l)
	}
	// Nothing is left to approve: a second bulk decides nothing.
	if r := e.do("POST", path, "reviewer", bulk); r.status != 200 || r.json["decided"] != 0.0 {
		t.Errorf("second bulk: %d %.200s", r.status, r.raw)
	}
	// The same trail as one-by-one decisions: the flagged line rejected on its own names the
	// same decider, and each request is one audit entry.
	rej := e.do("POST", path, "reviewer", `{"decisions":[{"line_id":`+flaggedIDs[0]+`,"decision":"reject","reason_code":"quantity_exceeded"}]}`)
	if rej.status != 200 || rej.json["decided"] != 1.0 {
		t.Fatalf("reject: %s", rej.raw)
	}
	final := linesOf(rej)
	if final[flaggedIDs[0]]["decided_by"] != final[plainIDs[0]]["decided_by"] {
		t.Errorf("decided_by %v (one by one) and %v (bulk) differ", final[flaggedIDs[0]]["decided_by"], final[plainIDs[0]]["decided_by"])
	}
	audit := e.do("GET", "/v1/audit?action=decide&object="+id, "admin", "")
	if items, _ := audit.json["items"].([]any); len(items) != 3 {
		t.Errorf("decide audit entries: %d, want 3 (bulk, empty bulk, reject): %.300s", len(items), audit.raw)
	}
	var trail int
	if err := e.db.Get(&trail, `SELECT count(*) FROM statement_decisions WHERE statement_id = $1`, id); err != nil || trail != 3 {
		t.Errorf("statement_decisions rows: %d (%v), want 3", trail, err)
	}
	if r := e.do("POST", "/v1/statements/"+id+"/complete-review", "reviewer", ""); r.status != 200 || r.json["status"] != "reviewed" {
		t.Fatalf("complete: %.300s", r.raw)
	}
	done := e.do("POST", path, "reviewer", bulk)
	done.isProblem(t, 409)
	if !strings.Contains(done.raw, "invalid_state") {
		t.Errorf("bulk after the review: %s", done.raw)
	}
}
