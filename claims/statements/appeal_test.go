package statements_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/internal/claimstest"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

var admin = claimstest.As(access.RoleAdmin, "")

// addFallbackRule adds, for primary care of irregular migrants at Lipa in March 2025, the
// schedule's 60/40 split with IOM as ZZO USK's fallback payer (more specific than any demo rule).
func addFallbackRule(t *testing.T, f *fixture) {
	t.Helper()
	iom := demo.PayerIOM
	_, err := contracts.NewStore(f.DB, time.Now).AddCostShareRule(admin, demo.ContractDZBihac, contracts.CostShareRule{
		EffectiveFrom: date("2025-03-01"), EffectiveTo: datePtr("2025-04-01"),
		ServiceCategory: claimstest.Sp("primary_care"), BeneficiaryCategory: claimstest.Sp("irregular_migrant"), SiteCode: claimstest.Sp("TRC-LIPA"),
		Shares: []contracts.Share{{PayerCode: demo.PayerZZOUSK, BasisPoints: 6000, FallbackPayerCode: &iom}, {PayerCode: demo.PayerIOM, BasisPoints: 4000}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func datePtr(s string) *trcledger.Date { d := date(s); return &d }

// reviewedMarch posts three 20.00 consultations in March 2025 (ZZO USK 12.00 / IOM 8.00 each),
// builds ZZO USK's statement and decides its lines in order with ds (line ids filled in), then
// completes the review. It returns the statement and its lines in posting order.
func reviewedMarch(t *testing.T, f *fixture, ds ...statements.Decision) (*statements.Statement, []statements.StatementLine) {
	t.Helper()
	for i, ext := range []string{"AP-1", "AP-2", "AP-3"} {
		f.PostOn(t, ext, "SFA-AP-"+ext, "2025-03-1"+string(rune('0'+i)))
	}
	st, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.SubmitStatement(finance, st.ID); err != nil {
		t.Fatal(err)
	}
	full, err := f.Svc.FindStatementByID(finance, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Lines) != 3 {
		t.Fatalf("%d lines, want 3", len(full.Lines))
	}
	for i := range ds {
		ds[i].LineID = full.Lines[i].ID
		if !full.Lines[i].Amount.Equal(dec("12.00")) {
			t.Fatalf("line %d claims %s, want 12.00", i, full.Lines[i].Amount)
		}
	}
	if _, err := f.Svc.Decide(reviewer, st.ID, ds); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.CompleteReview(reviewer, st.ID); err != nil {
		t.Fatal(err)
	}
	full, err = f.Svc.FindStatementByID(finance, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	return full, full.Lines
}

// consistent fails unless the reconciliation is consistent and the ledger verifies.
func consistent(t *testing.T, f *fixture) {
	t.Helper()
	rec, err := f.Svc.Reconciliation(finance, reports.ReconciliationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Consistent {
		t.Errorf("reconciliation differences: %+v", rec.Differences)
	}
	v, err := f.Journal.Verify(context.Background())
	if err != nil || !v.OK {
		t.Errorf("verify: %+v %v", v, err)
	}
}

func TestRejectedShareIsReroutedToTheFallbackPayer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addFallbackRule(t, f)
	// Line 1 rejected not_eligible (12.00 re-routed), line 2 adjusted to 5.00 not_covered (7.00
	// re-routed), line 3 rejected documentation_missing (not re-routable: stays rejected).
	st, lines := reviewedMarch(t, f,
		statements.Decision{Decision: "reject", ReasonCode: "not_eligible"},
		statements.Decision{Decision: "adjust", ApprovedAmount: claimstest.Decp("5.00"), ReasonCode: "not_covered"},
		statements.Decision{Decision: "reject", ReasonCode: "documentation_missing"})
	if st.Approved.String() != "5.00" || st.Rejected.String() != "31.00" {
		t.Fatalf("ZZO USK approved %s rejected %s, want 5.00 and 31.00", st.Approved, st.Rejected)
	}
	// By hand: ZZO USK owes 36.00 - 31.00; IOM owes its three shares (24.00) and the re-routed
	// 12.00 + 7.00; the provider is owed 5.00 + 43.00 = 48.00 of the 60.00 posted, the 12.00 of line 3 rejected.
	for account, want := range map[string]string{
		"payable:ZZO-USK:DZ-BIHAC": "-5.00", "expense:ZZO-USK": "5.00",
		"payable:IOM:DZ-BIHAC": "-43.00", "expense:IOM": "43.00",
	} {
		if got := balance(t, f.Journal, account); got != want {
			t.Errorf("%s = %s, want %s", account, got, want)
		}
	}
	iom, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerIOM, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if iom.Claimed.String() != "43.00" {
		t.Errorf("IOM claims %s, want 43.00", iom.Claimed)
	}
	if _, err := f.Svc.SubmitStatement(finance, iom.ID); err != nil {
		t.Fatal(err)
	}
	full, err := f.Svc.FindStatementByID(as(access.RoleReviewer, demo.PayerIOM), iom.ID)
	if err != nil {
		t.Fatal(err)
	}
	rerouted := map[string]bool{}
	for _, l := range full.Lines {
		isRerouted := false
		for _, fl := range l.Flags {
			isRerouted = isRerouted || fl == "rerouted"
		}
		if !isRerouted {
			if l.RerouteID != nil || !l.Amount.Equal(dec("8.00")) {
				t.Errorf("IOM's own line %d: %s, reroute %v", l.ID, l.Amount, l.RerouteID)
			}
			continue
		}
		if l.RerouteID == nil || l.ReroutedFrom == nil || *l.ReroutedFrom != demo.PayerZZOUSK {
			t.Errorf("re-routed line %d does not say where it comes from: %+v", l.ID, l)
		}
		rerouted[l.Amount.String()+" "+l.ServiceDate.String()] = true
	}
	if len(rerouted) != 2 || !rerouted["12.00 2025-03-10"] || !rerouted["7.00 2025-03-11"] {
		t.Errorf("IOM's re-routed lines: %v, want 12.00 of 2025-03-10 and 7.00 of 2025-03-11", rerouted)
	}
	// Linked to the decisions that rejected them.
	if n := f.Count(t, `SELECT count(*) FROM rerouted_shares rs JOIN statement_decisions d ON d.id = rs.decision_id
		WHERE d.line_id = rs.line_id AND rs.line_id = ANY($1)`, []int64{lines[0].ID, lines[1].ID}); n != 2 {
		t.Errorf("%d re-routed shares linked to their decisions, want 2", n)
	}
	// The transition report keeps the schedule's split and shows the re-routed 19.00 beside it.
	rep, err := f.Svc.TransitionReport(finance, reports.TransitionFilter{From: "2025-03", To: "2025-03"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Items) != 1 || rep.Items[0].Total.String() != "60.00" || rep.Items[0].Rerouted.String() != "19.00" ||
		rep.Items[0].ReroutedFrom.StateFund.String() != "19.00" || rep.Items[0].ReroutedTo.International.String() != "19.00" {
		t.Errorf("transition report: %+v", rep.Items)
	}
	usk, err := f.Svc.TransitionReport(reviewer, reports.TransitionFilter{From: "2025-03", To: "2025-03", By: reports.ByServiceCategory})
	if err != nil {
		t.Fatal(err)
	}
	if len(usk.Items) != 1 || usk.Items[0].Rerouted.String() != "19.00" || usk.Items[0].Total.String() != "36.00" {
		t.Errorf("ZZO USK's transition report: %+v", usk.Items)
	}
	if lines[0].ReroutedTo == nil || *lines[0].ReroutedTo != demo.PayerIOM || lines[2].ReroutedTo != nil {
		t.Errorf("ZZO USK's lines do not say where the rejected amount went: %v %v", lines[0].ReroutedTo, lines[2].ReroutedTo)
	}
	// What was re-routed is paid by the fallback: it is not appealed. Line 3 is.
	_, _, err = f.Svc.FileAppeal(f.Clinic, st.ID, statements.AppealInput{LineID: lines[0].ID, Reason: "eligibility_confirmed"}, claimstest.Key(""))
	wantCode(t, err, trcledger.ESTATE, "line_rerouted")
	if _, _, err := f.Svc.FileAppeal(f.Clinic, st.ID, statements.AppealInput{LineID: lines[2].ID, Reason: "documentation_added"}, claimstest.Key("")); err != nil {
		t.Fatal(err)
	}
	consistent(t, f)
	// Cancelling IOM's draft-to-be puts the re-routed claims back in the queue (CheckUnclaimed at the end).
}

func TestReroutedClaimsReturnToTheQueueWhenADraftIsCancelled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addFallbackRule(t, f)
	reviewedMarch(t, f,
		statements.Decision{Decision: "reject", ReasonCode: "not_eligible"},
		statements.Decision{Decision: "approve"},
		statements.Decision{Decision: "approve"})
	iom, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerIOM, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerIOM, "2025-03"); err != nil { // refresh
		t.Fatal(err)
	}
	if _, err := f.Svc.CancelStatement(finance, iom.ID); err != nil {
		t.Fatal(err)
	}
	again, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerIOM, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if again.Claimed.String() != "36.00" { // 3 × 8.00 + 12.00
		t.Errorf("IOM claims %s after cancel and rebuild, want 36.00", again.Claimed)
	}
	consistent(t, f)
}

func TestAppealsRaiseWhatThePayerOwes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// Demo schedule, no fallback: line 1 rejected, line 2 adjusted to 5.00, line 3 approved.
	st, lines := reviewedMarch(t, f,
		statements.Decision{Decision: "reject", ReasonCode: "not_eligible"},
		statements.Decision{Decision: "adjust", ApprovedAmount: claimstest.Decp("5.00"), ReasonCode: "tariff_error"},
		statements.Decision{Decision: "approve"})
	if st.Approved.String() != "17.00" || st.Rejected.String() != "19.00" {
		t.Fatalf("approved %s rejected %s, want 17.00 and 19.00", st.Approved, st.Rejected)
	}
	if err := f.Act(st, statements.ActionPay); err != nil { // pays the 17.00
		t.Fatal(err)
	}
	file := func(ctx context.Context, line int64, reason string, key string) (*statements.Appeal, error) {
		a, _, err := f.Svc.FileAppeal(ctx, st.ID, statements.AppealInput{LineID: line, Reason: reason, Note: "see the attached card"}, claimstest.Key(key))
		return a, err
	}
	_, err := file(f.Clinic, lines[2].ID, "documentation_added", "")
	wantCode(t, err, trcledger.ESTATE, "line_not_appealable")
	_, err = file(as(access.RoleClinic, demo.ProviderDZKS), lines[0].ID, "documentation_added", "")
	wantCode(t, err, trcledger.ENOTFOUND, "")
	_, err = file(reviewer, lines[0].ID, "documentation_added", "")
	wantCode(t, err, trcledger.EFORBIDDEN, "")
	_, err = file(f.Clinic, lines[0].ID, "because", "")
	if e := wantError(t, err, trcledger.EINVALID, ""); e != nil && !fieldSet(e)["reason"] {
		t.Errorf("fields %v, want reason", fieldSet(e))
	}
	// After the window (60 days after the review) the appeal is refused.
	late := statements.NewService(f.DB, func() time.Time { return claimstest.Today.AddDate(0, 0, 61) }, claimstest.TestKey, nil)
	_, _, err = late.FileAppeal(f.Clinic, st.ID, statements.AppealInput{LineID: lines[0].ID, Reason: "eligibility_confirmed"}, claimstest.Key(""))
	wantCode(t, err, trcledger.ESTATE, "appeal_window_closed")

	a1, err := file(f.Clinic, lines[0].ID, "eligibility_confirmed", "")
	if err != nil {
		t.Fatal(err)
	}
	if a1.Status != "open" || a1.ApprovedBefore.String() != "0.00" || a1.ClaimedAmount.String() != "12.00" {
		t.Errorf("appeal: %+v", a1)
	}
	_, err = file(f.Clinic, lines[0].ID, "eligibility_confirmed", "")
	wantCode(t, err, trcledger.ECONFLICT, "appeal_open")
	// Keyed: the same key and request answer the first answer again.
	key := claimstest.IdemOf("appeal-2", "line 2")
	_, r1, err := f.Svc.FileAppeal(f.Clinic, st.ID, statements.AppealInput{LineID: lines[1].ID, Reason: "tariff_correct"}, key)
	if err != nil {
		t.Fatal(err)
	}
	_, r2, err := f.Svc.FileAppeal(f.Clinic, st.ID, statements.AppealInput{LineID: lines[1].ID, Reason: "tariff_correct"}, key)
	if err != nil || !r2.Replayed || string(r1.Body) != string(r2.Body) {
		t.Fatalf("replay: %v %v", err, r2)
	}
	var a2 statements.Appeal
	if err := json.Unmarshal(r1.Body, &a2); err != nil {
		t.Fatal(err)
	}

	decide := func(ctx context.Context, id, outcome, amount string) (*statements.Appeal, error) {
		d := statements.AppealDecision{Outcome: outcome, Note: "checked"}
		if amount != "" {
			d.ApprovedAmount = claimstest.Decp(amount)
		}
		a, _, err := f.Svc.DecideAppeal(ctx, id, d, claimstest.Key(""))
		return a, err
	}
	_, err = decide(as(access.RoleReviewer, demo.PayerZZOKS), a1.ID, "overturned", "")
	wantCode(t, err, trcledger.ENOTFOUND, "")
	_, err = decide(f.Clinic, a1.ID, "overturned", "")
	wantCode(t, err, trcledger.EFORBIDDEN, "")
	_, err = decide(reviewer, a2.ID, "partial", "12.00")
	wantCode(t, err, trcledger.EINVALID, "")

	// Overturned: 12.00 more is owed; the paid statement owes again.
	d1, err := decide(reviewer, a1.ID, "overturned", "")
	if err != nil {
		t.Fatal(err)
	}
	if d1.Status != "overturned" || d1.Difference.String() != "12.00" || d1.LedgerTransactionID == nil {
		t.Errorf("decided: %+v", d1)
	}
	_, err = decide(reviewer, a1.ID, "upheld", "")
	wantCode(t, err, trcledger.ESTATE, "invalid_state")
	after, _ := f.Svc.FindStatementByID(finance, st.ID)
	if after.Status != "partially_paid" || after.Approved.String() != "29.00" || after.Rejected.String() != "7.00" || after.Outstanding.String() != "12.00" {
		t.Errorf("statement after the appeal: %s approved %s rejected %s outstanding %s", after.Status, after.Approved, after.Rejected, after.Outstanding)
	}
	// Partial: 5.00 approved becomes 9.50.
	if _, err := decide(reviewer, a2.ID, "partial", "9.50"); err != nil {
		t.Fatal(err)
	}
	after, _ = f.Svc.FindStatementByID(finance, st.ID)
	if after.Approved.String() != "33.50" || after.Rejected.String() != "2.50" || after.Outstanding.String() != "16.50" {
		t.Errorf("statement after the partial appeal: approved %s rejected %s outstanding %s", after.Approved, after.Rejected, after.Outstanding)
	}
	// By hand: posted 36.00, review took back 19.00, paid 17.00, appeals gave back 12.00 + 4.50.
	for account, want := range map[string]string{"payable:ZZO-USK:DZ-BIHAC": "-16.50", "expense:ZZO-USK": "33.50", "cash:ZZO-USK": "-17.00"} {
		if got := balance(t, f.Journal, account); got != want {
			t.Errorf("%s = %s, want %s", account, got, want)
		}
	}
	// A partial appeal may be appealed again, from what it approved.
	a3, err := file(f.Clinic, lines[1].ID, "other", "")
	if err != nil {
		t.Fatal(err)
	}
	if a3.ApprovedBefore.String() != "9.50" {
		t.Errorf("second appeal starts from %s, want 9.50", a3.ApprovedBefore)
	}
	if _, err := decide(reviewer, a3.ID, "upheld", ""); err != nil {
		t.Fatal(err)
	}
	// Paying the rest settles it again.
	if err := f.Act(after, statements.ActionPay); err != nil {
		t.Fatal(err)
	}
	if final, _ := f.Svc.FindStatementByID(finance, st.ID); final.Status != "paid" || final.Paid.String() != "33.50" {
		t.Errorf("final: %s paid %s", final.Status, final.Paid)
	}
	// Lists per role.
	for _, c := range []struct {
		ctx    context.Context
		status string
		want   int
	}{{f.Clinic, "", 3}, {reviewer, "", 3}, {finance, "", 3}, {as(access.RoleReviewer, demo.PayerZZOKS), "", 0},
		{as(access.RoleClinic, demo.ProviderDZKS), "", 0}, {reviewer, "open", 0}, {reviewer, "upheld", 1}} {
		got, err := f.Svc.FindAppeals(c.ctx, statements.AppealFilter{Status: c.status})
		if err != nil || len(got) != c.want {
			t.Errorf("appeals (%s): %d, %v; want %d", c.status, len(got), err, c.want)
		}
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_log WHERE action IN ('file_appeal', 'decide_appeal')`); n != 6 {
		t.Errorf("%d audit rows of appeals, want 6", n)
	}
	// Appeal rows are never edited.
	if _, err := f.DB.Exec(`UPDATE appeals SET reason = 'other' WHERE id = $1`, a1.ID); err == nil {
		t.Error("an appeal row was edited")
	}
	consistent(t, f)
}

func TestAppealWindowIsTheContracts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	st, lines := reviewedMarch(t, f,
		statements.Decision{Decision: "reject", ReasonCode: "duplicate"},
		statements.Decision{Decision: "approve"},
		statements.Decision{Decision: "approve"})
	days := 90
	if _, err := contracts.NewStore(f.DB, time.Now).UpdateContract(admin, demo.ContractDZBihac, contracts.ContractChange{AppealWindowDays: &days}); err != nil {
		t.Fatal(err)
	}
	late := statements.NewService(f.DB, func() time.Time { return claimstest.Today.AddDate(0, 0, 61) }, claimstest.TestKey, nil)
	if _, _, err := late.FileAppeal(f.Clinic, st.ID, statements.AppealInput{LineID: lines[0].ID, Reason: "not_duplicate"}, claimstest.Key("")); err != nil {
		t.Fatalf("appeal within the contract's 90 days: %v", err)
	}
	// Before the review there is nothing to appeal.
	f.PostOn(t, "AP-9", "SFA-AP-9", "2025-04-02")
	apr := f.StatementIn(t, "submitted", "2025-04")
	full, _ := f.Svc.FindStatementByID(finance, apr.ID)
	_, _, err := f.Svc.FileAppeal(f.Clinic, apr.ID, statements.AppealInput{LineID: full.Lines[0].ID, Reason: "not_duplicate"}, claimstest.Key(""))
	wantCode(t, err, trcledger.ESTATE, "invalid_state")
}
