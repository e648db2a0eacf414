package statements_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

func amountsOf(st *statements.Statement) string {
	var parts []string
	for _, l := range st.Lines {
		parts = append(parts, l.Amount.String()+"["+strings.Join(l.Flags, ",")+"]")
	}
	return strings.Join(parts, " ")
}

func TestStatementLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.PostOn(t, "FEB-1", "P1", "2025-02-20")                                                                  // late in March: 12.00
	f.PostOn(t, "MAR-1", "P2", "2025-03-03")                                                                  // 12.00
	f.PostOn(t, "MAR-2", "P3", "2025-03-04", encounters.LineInput{ServiceCode: "PZZ-04", Quantity: dec("5")}) // 50.00 at the max: 30.00
	f.PostOn(t, "MAR-3", "P4", "2025-03-05")                                                                  // duplicate of MAR-4
	f.PostOn(t, "MAR-4", "P4", "2025-03-05")
	f.PostOn(t, "APR-1", "P5", "2025-04-01") // after the period: not on the March statement

	_, err := f.Svc.CreateStatement(reviewer, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	wantCode(t, err, trcledger.EFORBIDDEN, "")
	_, err = f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-13")
	wantCode(t, err, trcledger.EINVALID, "")
	_, err = f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2027-01")
	wantCode(t, err, trcledger.EINVALID, "")
	_, err = f.Svc.CreateStatement(finance, demo.PayerIOM, demo.ProviderDZBihac, "2025-03")
	if fs := fieldSet(wantError(t, err, trcledger.EINVALID, "")); !fs["provider_code"] || !fs["payer_code"] {
		t.Errorf("fields %v", fs)
	}
	_, err = f.Svc.CreateStatement(finance, demo.ProviderDZKS, demo.PayerZZOUSK, "2025-03")
	wantCode(t, err, trcledger.EINVALID, "nothing_to_claim")

	st, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if st.LineCount != 5 || st.Lines != nil {
		t.Errorf("the answer to create holds %d lines, line_count %d", len(st.Lines), st.LineCount)
	}
	st, _ = f.Svc.FindStatementByID(finance, st.ID)
	if st.Number != "ST-2025-03-DZBIHAC-ZZOUSK" || st.Status != "draft" || st.Claimed.String() != "78.00" || len(st.Lines) != 5 {
		t.Fatalf("statement = %s %s %s %d lines", st.Number, st.Status, st.Claimed, len(st.Lines))
	}
	if amountsOf(st) != "12.00[late] 12.00[] 30.00[] 12.00[] 12.00[]" {
		t.Errorf("lines = %s", amountsOf(st))
	}
	// Refreshing the draft picks up a line posted since; voiding takes a line off the draft.
	late := f.PostOn(t, "MAR-5", "P6", "2025-03-30")
	if _, err := f.Svc.VoidEncounter(f.Clinic, late.ID, "posted twice"); err != nil {
		t.Fatal(err)
	}
	f.PostOn(t, "MAR-6", "P7", "2025-03-31")
	st, err = f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err == nil {
		st, err = f.Svc.FindStatementByID(finance, st.ID)
	}
	if err != nil || st.Claimed.String() != "90.00" || len(st.Lines) != 6 {
		t.Fatalf("refresh: %v %s %d", err, st.Claimed, len(st.Lines))
	}
	mar6 := st.Lines[5].EncounterID
	// Another payer's reviewer and another clinic do not see it.
	_, err = f.Svc.FindStatementByID(as(access.RoleReviewer, demo.PayerZZOKS), st.ID)
	wantCode(t, err, trcledger.ENOTFOUND, "")
	_, err = f.Svc.FindStatementByID(as(access.RoleClinic, demo.ProviderDZKS), st.ID)
	wantCode(t, err, trcledger.ENOTFOUND, "")
	if list, _ := f.Svc.FindStatements(as(access.RoleReviewer, demo.PayerZZOKS), statements.StatementFilter{}); len(list) != 0 {
		t.Errorf("ZZO KS lists %d statements", len(list))
	}

	// Submit: checks flag lines, the content is hashed and frozen.
	_, err = f.Svc.SubmitStatement(reviewer, st.ID)
	wantCode(t, err, trcledger.EFORBIDDEN, "")
	st, err = f.Svc.SubmitStatement(f.Clinic, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "submitted" || st.ContentHash == nil || len(*st.ContentHash) != 64 {
		t.Errorf("submitted = %s %v", st.Status, st.ContentHash)
	}
	if got := amountsOf(st); got != "12.00[late] 12.00[] 30.00[quantity_limit] 12.00[duplicate] 12.00[duplicate] 12.00[]" {
		t.Errorf("flags = %s", got)
	}
	if _, err := f.DB.Exec(`UPDATE statement_lines SET amount = 1 WHERE statement_id = $1`, st.ID); err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("a submitted line was changed: %v", err)
	}
	_, err = f.Svc.VoidEncounter(f.Clinic, mar6, "too late")
	wantCode(t, err, trcledger.ECONFLICT, "on_submitted_statement")
	_, err = f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	wantCode(t, err, trcledger.ESTATE, "invalid_state")

	// Review: bad decisions are all named; then approve, reject, adjust.
	ids := make([]int64, len(st.Lines))
	for i, l := range st.Lines {
		ids[i] = l.ID
	}
	_, err = f.Svc.CompleteReview(reviewer, st.ID)
	wantCode(t, err, trcledger.ESTATE, "invalid_state")
	over := dec("12.00")
	_, err = f.Svc.Decide(reviewer, st.ID, []statements.Decision{
		{LineID: ids[0], Decision: "reject"},
		{LineID: ids[1], Decision: "adjust", ApprovedAmount: &over, ReasonCode: "tariff_error"},
		{LineID: ids[2], Decision: "reject", ReasonCode: "other"},
		{LineID: 999999, Decision: "approve"},
		{LineID: ids[3], Decision: "maybe"},
	})
	fs := fieldSet(wantError(t, err, trcledger.EINVALID, ""))
	for _, want := range []string{"decisions[0].reason_code", "decisions[1].approved_amount", "decisions[2].note", "decisions[3].line_id", "decisions[4].decision"} {
		if !fs[want] {
			t.Errorf("no error for %s: %v", want, fs)
		}
	}
	ten := dec("10.00")
	st, err = f.Svc.Decide(reviewer, st.ID, []statements.Decision{
		{LineID: ids[0], Decision: "reject", ReasonCode: "not_eligible"},
		{LineID: ids[1], Decision: "approve"},
		{LineID: ids[2], Decision: "adjust", ApprovedAmount: &ten, ReasonCode: "quantity_exceeded"},
		{LineID: ids[3], Decision: "approve"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "under_review" {
		t.Errorf("status = %s", st.Status)
	}
	_, err = f.Svc.CompleteReview(reviewer, st.ID)
	e := wantError(t, err, trcledger.ESTATE, "invalid_state")
	if e.Extra["undecided"] != 2 {
		t.Errorf("undecided = %v", e.Extra["undecided"])
	}
	if want := []trcledger.FieldError{
		{Field: fmt.Sprintf("lines[id=%d].decision", ids[4]), Message: fmt.Sprintf("line %d is not decided yet", ids[4])},
		{Field: fmt.Sprintf("lines[id=%d].decision", ids[5]), Message: fmt.Sprintf("line %d is not decided yet", ids[5])},
	}; !slices.EqualFunc(e.Fields, want, func(a, b trcledger.FieldError) bool { return a.Field == b.Field && a.Message == b.Message }) || e.Truncated() {
		t.Errorf("undecided lines named %v, want %v", e.Fields, want)
	}
	// A decision may change until the review is complete.
	st, err = f.Svc.Decide(reviewer, st.ID, []statements.Decision{
		{LineID: ids[3], Decision: "reject", ReasonCode: "duplicate"},
		{LineID: ids[4], Decision: "approve"},
		{LineID: ids[5], Decision: "approve"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var history int
	_ = f.DB.Get(&history, `SELECT count(*) FROM statement_decisions WHERE statement_id = $1`, st.ID)
	if history != 7 {
		t.Errorf("%d decisions kept, want 7", history)
	}
	// approved = 12 + 10 + 12 + 12 = 46.00; rejected = 90 - 46 = 44.00
	st, err = f.Svc.CompleteReview(reviewer, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "reviewed" || st.Approved.String() != "46.00" || st.Rejected.String() != "44.00" || st.Outstanding.String() != "46.00" {
		t.Fatalf("reviewed = %s approved %v rejected %v outstanding %s", st.Status, st.Approved, st.Rejected, st.Outstanding)
	}
	// ZZO USK owed 6 × 12.00 + 30.00 (every live posted share, April's too) = 102.00; 44.00 came off.
	if got := balance(t, f.Journal, "payable:ZZO-USK:DZ-BIHAC"); got != "-58.00" {
		t.Errorf("payable after review = %s", got)
	}

	// Payments: partial, over, the rest; a retry with the same key changes nothing.
	pay := func(amount, k string) (*claims.PostResult, error) {
		return f.Svc.RecordPayment(finance, st.ID, statements.PaymentInput{Amount: dec(amount), PaidOn: date("2025-05-10"), Reference: "BT-" + k},
			claims.Idempotency{Key: k, RequestHash: []byte(amount)})
	}
	_, err = f.Svc.RecordPayment(reviewer, st.ID, statements.PaymentInput{Amount: dec("1"), PaidOn: date("2025-05-10"), Reference: "x"}, claims.Idempotency{Key: "r", RequestHash: []byte("1")})
	wantCode(t, err, trcledger.EFORBIDDEN, "")
	first, err := pay("30.00", "pay-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := pay("30.00", "pay-1")
	if err != nil || !again.Replayed || !bytes.Equal(again.Body, first.Body) {
		t.Errorf("payment replay: %v %s", err, again.Body)
	}
	_, err = pay("16.01", "pay-2")
	wantCode(t, err, trcledger.EINVALID, "overpayment")
	if _, err := pay("16.00", "pay-3"); err != nil {
		t.Fatal(err)
	}
	st, _ = f.Svc.FindStatementByID(finance, st.ID)
	if st.Status != "paid" || st.Paid.String() != "46.00" || st.Outstanding.String() != "0.00" || len(st.Payments) != 2 {
		t.Errorf("paid = %s %s %s %d", st.Status, st.Paid, st.Outstanding, len(st.Payments))
	}
	if got := balance(t, f.Journal, "payable:ZZO-USK:DZ-BIHAC"); got != "-12.00" {
		t.Errorf("payable after payment = %s, want April's unclaimed -12.00", got)
	}
	if got := balance(t, f.Journal, "cash:ZZO-USK"); got != "-46.00" {
		t.Errorf("cash = %s", got)
	}
	_, err = pay("1.00", "pay-4")
	wantCode(t, err, trcledger.ESTATE, "invalid_state")
	if v, err := f.Journal.Verify(ctx); err != nil || !v.OK {
		t.Errorf("verify: %+v %v", v, err)
	}
	// Finance does not see diagnoses on statement lines; the payer's reviewer does.
	if st.Lines[0].Diagnoses != nil {
		t.Errorf("finance sees diagnoses")
	}
	if rs, _ := f.Svc.FindStatementByID(reviewer, st.ID); rs.Lines[0].Diagnoses == nil {
		t.Errorf("the reviewer does not see diagnoses")
	}
	var csv, pdf bytes.Buffer
	if err := f.Svc.ExportCSV(reviewer, st.ID, &csv); err != nil || strings.Count(csv.String(), "\n") != 7 || !strings.Contains(csv.String(), "not_eligible") {
		t.Errorf("csv: %v\n%s", err, csv.String())
	}
	if err := f.Svc.ExportPDF(finance, st.ID, &pdf); err != nil || !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) || pdf.Len() < 2000 {
		t.Errorf("pdf: %v, %d bytes", err, pdf.Len())
	}
}

// TestStatementStateMachine tries every action in every state: only the moves of DESIGN.md
// section 5 are allowed, every other is 409 invalid_state.
func TestStatementStateMachine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	states := []string{"draft", "submitted", "under_review", "reviewed", "partially_paid", "paid", "cancelled"}
	allowed := map[string][]string{
		"draft":          {statements.ActionSubmit, statements.ActionCancel},
		"submitted":      {statements.ActionDecide},
		"under_review":   {statements.ActionDecide, statements.ActionComplete},
		"reviewed":       {statements.ActionPay},
		"partially_paid": {statements.ActionPay},
	}
	actions := []string{statements.ActionSubmit, statements.ActionCancel, statements.ActionDecide, statements.ActionComplete, statements.ActionPay}
	for i, state := range states {
		month := fmt.Sprintf("2025-%02d", i+1)
		f.PostOn(t, "SM-"+month, "P-"+month, month+"-10")
		for _, action := range actions {
			want := false
			for _, a := range allowed[state] {
				want = want || a == action
			}
			if got := statements.Allowed(state, action); got != want {
				t.Errorf("Allowed(%s, %s) = %v, want %v", state, action, got, want)
			}
			if want {
				continue // the lifecycle test takes every allowed move
			}
			st := f.StatementIn(t, state, month)
			err := f.Act(st, action)
			if e, ok := errors.AsType[*trcledger.Error](err); !ok || e.Code != trcledger.ESTATE || e.Reason != "invalid_state" {
				t.Errorf("%s on %s: %v, want 409 invalid_state", action, state, err)
			}
		}
	}
}

// statementIn brings the month's statement of DZ Bihać on ZZO USK into the state.

func TestFullyRejectedStatementIsSettled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.PostOn(t, "R-1", "P1", "2025-06-02")
	st, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-06")
	if err != nil {
		t.Fatal(err)
	}
	if st, err = f.Svc.SubmitStatement(finance, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.Decide(reviewer, st.ID, nil); err == nil {
		t.Error("an empty list of decisions was accepted")
	}
	zero := dec("1.00")
	_, err = f.Svc.Decide(reviewer, st.ID, []statements.Decision{{LineID: st.Lines[0].ID, Decision: "reject", ReasonCode: "not_covered", ApprovedAmount: &zero}})
	wantCode(t, err, trcledger.EINVALID, "")
	if _, err := f.Svc.Decide(reviewer, st.ID, []statements.Decision{{LineID: st.Lines[0].ID, Decision: "reject", ReasonCode: "not_covered"}}); err != nil {
		t.Fatal(err)
	}
	st, err = f.Svc.CompleteReview(reviewer, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "paid" || st.Approved.String() != "0.00" || st.Rejected.String() != "12.00" || st.Outstanding.String() != "0.00" {
		t.Errorf("fully rejected: %s %v %v %s", st.Status, st.Approved, st.Rejected, st.Outstanding)
	}
	if got := balance(t, f.Journal, "payable:ZZO-USK:DZ-BIHAC"); got != "0.00" {
		t.Errorf("payable = %s", got)
	}
}

func TestStatementsBuiltAtOnceNeverClaimALineTwice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.PostOn(t, "C-MAR", "P1", "2025-03-10")
	f.PostOn(t, "C-APR", "P2", "2025-04-10")
	errs := make(chan error, 4)
	for _, month := range []string{"2025-03", "2025-04", "2025-03", "2025-04"} {
		go func(month string) {
			_, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, month)
			errs <- err
		}(month)
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil && trcledger.ErrorCode(err) == trcledger.EINTERNAL {
			t.Errorf("concurrent statements: %v", err)
		}
	}
	var claimed, shares int
	_ = f.DB.Get(&claimed, `SELECT count(*) FROM statement_lines WHERE live`)
	_ = f.DB.Get(&shares, `SELECT count(*) FROM line_shares WHERE payer_code = 'ZZO-USK'`)
	if claimed != shares {
		t.Errorf("%d live statement lines for %d shares", claimed, shares)
	}
}
