package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// reviewedStatement posts two 20.00 consultations of DZ Bihać in March 2025 (ZZO USK 12.00
// each), and has ZZO USK's reviewer reject the first (not_eligible) and approve the second.
func reviewedStatement(t *testing.T, s *site) (*statements.Statement, int64) {
	t.Helper()
	ctx := context.Background()
	clinic := access.WithPrincipal(ctx, access.Principal{TokenID: "t-c", Name: "clinic", Role: access.RoleClinic, OrgCode: demo.ProviderDZBihac})
	finance := access.WithPrincipal(ctx, access.Principal{TokenID: "t-f", Name: "finance", Role: access.RoleFinance})
	rev := access.WithPrincipal(ctx, access.Principal{TokenID: "t-r", Name: "reviewer", Role: access.RoleReviewer, OrgCode: demo.PayerZZOUSK})
	day, _ := trcledger.ParseDate("2025-03-14")
	for _, ext := range []string{"WA-1", "WA-2"} {
		in := encounters.EncounterInput{ContractCode: demo.ContractDZBihac, SiteCode: "TRC-LIPA", ExternalID: ext, PatientID: "SFA-" + ext,
			BeneficiaryCategory: "irregular_migrant", ServiceDate: day, Kind: "consultation", Diagnoses: []string{"J06.9"},
			Lines: []encounters.LineInput{{ServiceCode: "PZZ-01", Quantity: decimal.NewFromInt(1)}}}
		if _, err := s.cfg.Encounters.PostEncounter(clinic, in, claims.Idempotency{Key: ext, RequestHash: []byte(ext)}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.cfg.Statements.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.cfg.Statements.SubmitStatement(finance, st.ID); err != nil {
		t.Fatal(err)
	}
	full, err := s.cfg.Statements.FindStatementByID(finance, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	rejected := full.Lines[0].ID
	if _, err := s.cfg.Statements.Decide(rev, st.ID, []statements.Decision{
		{LineID: rejected, Decision: "reject", ReasonCode: "not_eligible"}, {LineID: full.Lines[1].ID, Decision: "approve"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cfg.Statements.CompleteReview(rev, st.ID); err != nil {
		t.Fatal(err)
	}
	return st, rejected
}

func TestAppealPagesFileAndDecide(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	st, line := reviewedStatement(t, s)
	finance := access.WithPrincipal(context.Background(), access.Principal{TokenID: "t-f", Name: "finance", Role: access.RoleFinance})

	clinic := s.visitor() // Bosnian
	clinic.signIn("clinic")
	list := clinic.get("/clinic/appeals")
	if list.status != 200 || !strings.Contains(list.body, "/clinic/appeals/statements/"+st.ID) {
		t.Fatalf("clinic's appeals page: %d\n%s", list.status, list.body)
	}
	page := clinic.get("/clinic/appeals/statements/" + st.ID)
	if page.status != 200 || !strings.Contains(page.body, `name="line_id" value="`+itoa(line)+`"`) || !strings.Contains(page.body, "Uloži žalbu") {
		t.Fatalf("statement page: %d\n%s", page.status, page.body)
	}
	if strings.Count(page.body, `name="line_id"`) != 1 {
		t.Errorf("the approved line has an appeal form too")
	}
	// Without a reason: 422, the message beside the field.
	bad := clinic.post("/clinic/appeals/statements/"+st.ID, page, url.Values{"line_id": {itoa(line)}, "reason": {""}})
	if bad.status != 422 || !strings.Contains(bad.body, `id="err-reason"`) {
		t.Errorf("appeal without a reason: %d\n%s", bad.status, bad.body)
	}
	done := clinic.post("/clinic/appeals/statements/"+st.ID, page, url.Values{"line_id": {itoa(line)}, "reason": {"eligibility_confirmed"}, "note": {"SFA card renewed"}})
	if done.status != 200 || !strings.HasPrefix(done.url, "/clinic/appeals") || !strings.Contains(done.body, "Žalba je uložena.") || !strings.Contains(done.body, "Otvorena") {
		t.Fatalf("appeal filed: %d at %s\n%s", done.status, done.url, done.body)
	}
	// A second one on the same line: refused with the reason, 409.
	again := clinic.post("/clinic/appeals/statements/"+st.ID, page, url.Values{"line_id": {itoa(line)}, "reason": {"other"}, "note": {"x"}})
	if again.status != 409 {
		t.Errorf("second appeal: %d", again.status)
	}

	reviewer := s.visitor() // Croatian
	reviewer.signIn("reviewer")
	queue := reviewer.get("/review/appeals")
	m := regexp.MustCompile(`href="/review/appeals/([0-9a-f-]{36})"`).FindStringSubmatch(queue.body)
	if queue.status != 200 || m == nil {
		t.Fatalf("reviewer's appeals: %d\n%s", queue.status, queue.body)
	}
	form := reviewer.get("/review/appeals/" + m[1])
	if form.status != 200 || !strings.Contains(form.body, `name="outcome" value="partial"`) {
		t.Fatalf("decision form: %d\n%s", form.status, form.body)
	}
	// An amount that is not one, then one above the claim: 422 beside the field.
	for _, amount := range []string{"devet", "12,50"} {
		p := reviewer.post("/review/appeals/"+m[1], form, url.Values{"outcome": {"partial"}, "approved_amount": {amount}})
		if p.status != 422 || !strings.Contains(p.body, `id="err-approved_amount"`) {
			t.Errorf("partial %s: %d\n%s", amount, p.status, p.body)
		}
	}
	// 1.234,56-style input in a local locale: 9,50 of the 12.00 rejected.
	ok := reviewer.post("/review/appeals/"+m[1], form, url.Values{"outcome": {"partial"}, "approved_amount": {"9,50"}, "note": {"djelomično"}})
	if ok.status != 200 || !strings.Contains(ok.body, "Odluka je zabilježena.") {
		t.Fatalf("decision: %d at %s\n%s", ok.status, ok.url, ok.body)
	}
	after, err := s.cfg.Statements.FindStatementByID(finance, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Approved.String() != "21.50" || after.Rejected.String() != "2.50" || after.Outstanding.String() != "21.50" {
		t.Errorf("statement after the decision: approved %s rejected %s outstanding %s, want 21.50, 2.50, 21.50", after.Approved, after.Rejected, after.Outstanding)
	}
	if p := reviewer.post("/review/appeals/"+m[1], form, url.Values{"outcome": {"upheld"}}); p.status != 409 {
		t.Errorf("deciding twice: %d", p.status)
	}
	// The clinic sees the outcome, in its money format.
	mine := clinic.get("/clinic/appeals")
	if !strings.Contains(mine.body, "Djelimično usvojena") || !strings.Contains(mine.body, "9,50") {
		t.Errorf("clinic's list after the decision:\n%s", mine.body)
	}
}

func itoa(n int64) string { return strings.TrimSpace(decimal.NewFromInt(n).String()) }
