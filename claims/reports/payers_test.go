package reports_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/internal/claimstest"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

func TestNearestRank(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		values      []int
		p, want     int
		wantMissing bool
	}{
		{values: nil, p: 50, wantMissing: true},
		{values: []int{7}, p: 50, want: 7},
		{values: []int{7}, p: 90, want: 7},
		{values: []int{4, 1, 3, 2}, p: 50, want: 2}, // rank ⌈2⌉ = 2
		{values: []int{4, 1, 3, 2}, p: 90, want: 4}, // rank ⌈3.6⌉ = 4
		{values: []int{5, 1, 9}, p: 50, want: 5},    // rank ⌈1.5⌉ = 2
		{values: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, p: 90, want: 9},
		{values: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, p: 90, want: 10}, // rank ⌈9.9⌉ = 10
	} {
		got := reports.NearestRank(append([]int{}, c.values...), c.p)
		if (got == nil) != c.wantMissing || (got != nil && *got != c.want) {
			t.Errorf("NearestRank(%v, %d) = %v, want %d", c.values, c.p, got, c.want)
		}
	}
}

// clock is a settable clock for a statements service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(day string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = date(day).Time().Add(10 * time.Hour) // 11:00 or 12:00 in Sarajevo: the same day
}

// daysBetween counts calendar days from a to b, independently of the report's SQL.
func daysBetween(a, b string) int {
	return int(date(b).Time().Sub(date(a).Time()).Hours() / 24)
}

// TestPayerReport drives five monthly statements of DZ Bihać on ZZO USK through submission,
// review and payment on chosen days, and checks every figure against values computed here.
func TestPayerReport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	clk := &clock{}
	sm := statements.NewService(f.DB, clk.now, claimstest.TestKey, f.Journal)
	finance, reviewer := claimstest.Finance, claimstest.Reviewer
	admin := as(access.RoleAdmin, "")

	// February's rejections for not_eligible go to IOM (the fallback payer).
	iom := demo.PayerIOM
	if _, err := contracts.NewStore(f.DB, time.Now).AddCostShareRule(admin, demo.ContractDZBihac, contracts.CostShareRule{
		EffectiveFrom: date("2025-02-01"), EffectiveTo: decDate("2025-03-01"),
		ServiceCategory: claimstest.Sp("primary_care"), BeneficiaryCategory: claimstest.Sp("irregular_migrant"), SiteCode: claimstest.Sp("TRC-LIPA"),
		Shares: []contracts.Share{{PayerCode: demo.PayerZZOUSK, BasisPoints: 6000, FallbackPayerCode: &iom}, {PayerCode: demo.PayerIOM, BasisPoints: 4000}},
	}); err != nil {
		t.Fatal(err)
	}
	// A monthly warn ceiling of 30.00 on ZZO USK: each month's two lines use 24.00 of it.
	if _, err := f.Svc.AddCap(admin, demo.ContractDZBihac, encounters.CapInput{PayerCode: demo.PayerZZOUSK, Period: "month",
		Amount: dec("30.00"), EffectiveFrom: date("2025-01-01"), Mode: "warn"}); err != nil {
		t.Fatal(err)
	}

	type plan struct {
		month, submit, review, paidOn string // review "" : not reviewed; paidOn "": not paid
		decide                        func(lines []statements.StatementLine) []statements.Decision
		pay                           string // the amount paid on paidOn
	}
	approveAll := func(ls []statements.StatementLine) []statements.Decision {
		var ds []statements.Decision
		for _, l := range ls {
			ds = append(ds, statements.Decision{LineID: l.ID, Decision: "approve"})
		}
		return ds
	}
	plans := []plan{
		{month: "2025-01", submit: "2025-02-03", review: "2025-02-06", paidOn: "2025-02-20", pay: "24.00", decide: approveAll},
		{month: "2025-02", submit: "2025-03-02", review: "2025-03-12", paidOn: "2025-04-11", pay: "12.00", decide: func(ls []statements.StatementLine) []statements.Decision {
			return []statements.Decision{{LineID: ls[0].ID, Decision: "reject", ReasonCode: "not_eligible"}, {LineID: ls[1].ID, Decision: "approve"}}
		}},
		{month: "2025-03", submit: "2025-04-01", review: "2025-04-06", paidOn: "2025-04-08", pay: "5.00", decide: func(ls []statements.StatementLine) []statements.Decision {
			return []statements.Decision{{LineID: ls[0].ID, Decision: "adjust", ApprovedAmount: decp("10.00"), ReasonCode: "tariff_error"}, {LineID: ls[1].ID, Decision: "approve"}}
		}},
		{month: "2025-04", submit: "2025-05-04", review: "2025-06-13", decide: approveAll},
		{month: "2025-05", submit: "2025-06-02"},
	}
	for i, p := range plans {
		for j := range 2 {
			f.PostOn(t, fmt.Sprintf("PR-%d-%d", i, j), fmt.Sprintf("PP-%d-%d", i, j), p.month+fmt.Sprintf("-1%d", j))
		}
		clk.set(p.submit)
		st, err := sm.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, p.month)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sm.SubmitStatement(finance, st.ID); err != nil {
			t.Fatal(err)
		}
		if p.review == "" {
			continue
		}
		clk.set(p.review)
		full, err := sm.FindStatementByID(finance, st.ID)
		if err != nil || len(full.Lines) != 2 {
			t.Fatalf("statement %s: %d lines, %v", p.month, len(full.Lines), err)
		}
		if _, err := sm.Decide(reviewer, st.ID, p.decide(full.Lines)); err != nil {
			t.Fatal(err)
		}
		if _, err := sm.CompleteReview(reviewer, st.ID); err != nil {
			t.Fatal(err)
		}
		if p.paidOn == "" {
			continue
		}
		clk.set(p.paidOn)
		if _, err := sm.RecordPayment(finance, st.ID, statements.PaymentInput{Amount: dec(p.pay), PaidOn: date(p.paidOn), Reference: "BT-" + p.month},
			claims.Idempotency{Key: "pay-" + p.month, RequestHash: []byte(p.month)}); err != nil {
			t.Fatal(err)
		}
	}

	asOf := date("2025-08-01")
	rep, err := f.Svc.PayerReport(finance, reports.PayerFilter{From: "2025-01", To: "2025-06", AsOf: &asOf})
	if err != nil {
		t.Fatal(err)
	}
	var zzo, iomRow *reports.PayerRow
	for i := range rep.Items {
		switch rep.Items[i].PayerCode {
		case demo.PayerZZOUSK:
			zzo = &rep.Items[i]
		case demo.PayerIOM:
			iomRow = &rep.Items[i]
		}
	}
	if zzo == nil || iomRow == nil || len(rep.Items) < 4 {
		t.Fatalf("payers = %+v", rep.Items)
	}
	if zzo.StatementsReceived != 5 {
		t.Errorf("received = %d, want 5", zzo.StatementsReceived)
	}
	// Review days: 3, 10, 5, 40 → sorted 3, 5, 10, 40: median the 2nd, p90 the 4th.
	var review, payment []int
	for _, p := range plans {
		if p.review != "" {
			review = append(review, daysBetween(p.submit, p.review))
		}
		if p.paidOn != "" && p.pay != "5.00" { // March is only partly paid
			payment = append(payment, daysBetween(p.review, p.paidOn))
		}
	}
	wantTurn := func(what string, got reports.Turnaround, days []int, median, p90 int) {
		t.Helper()
		if got.Count != len(days) || got.MedianDays == nil || *got.MedianDays != median || got.P90Days == nil || *got.P90Days != p90 {
			t.Errorf("%s = %+v (days %v), want median %d, p90 %d", what, got, days, median, p90)
		}
	}
	wantTurn("review", zzo.Review, review, 5, 40)
	wantTurn("payment", zzo.Payment, payment, 14, 30)
	// Reviewed: four statements of 24.00; taken off 12.00 (not_eligible) and 2.00 (tariff_error).
	if zzo.Claimed.String() != "96.00" || zzo.Rejected.String() != "14.00" || zzo.RejectionRate != "14.58" {
		t.Errorf("claimed %s rejected %s rate %s", zzo.Claimed, zzo.Rejected, zzo.RejectionRate)
	}
	if len(zzo.Rejections) != 2 || zzo.Rejections[0].ReasonCode != "not_eligible" || zzo.Rejections[0].Amount.String() != "12.00" ||
		zzo.Rejections[0].Rate != "12.50" || zzo.Rejections[1].ReasonCode != "tariff_error" || zzo.Rejections[1].Rate != "2.08" || zzo.Rejections[1].Lines != 1 {
		t.Errorf("rejections = %+v", zzo.Rejections)
	}
	if zzo.ReroutedAway.String() != "12.00" || zzo.ReroutedIn.String() != "0.00" || iomRow.ReroutedIn.String() != "12.00" {
		t.Errorf("re-routed: ZZO away %s in %s, IOM in %s", zzo.ReroutedAway, zzo.ReroutedIn, iomRow.ReroutedIn)
	}
	if len(zzo.Budget) != 5 {
		t.Fatalf("budget = %+v", zzo.Budget)
	}
	for _, b := range zzo.Budget {
		if b.Amount.String() != "30.00" || b.Used.String() != "24.00" || b.Left.String() != "6.00" || b.UsePercent != "80.00" || b.ContractCode != demo.ContractDZBihac {
			t.Errorf("budget %+v", b)
		}
	}
	// Outstanding at 2025-08-01: March 22.00 − 5.00 (122 days), April 24.00 (89 days), May
	// 24.00 claimed, not reviewed (60 days).
	ages := map[string]int{"2025-03": daysBetween("2025-04-01", "2025-08-01"), "2025-04": daysBetween("2025-05-04", "2025-08-01"), "2025-05": daysBetween("2025-06-02", "2025-08-01")}
	if ages["2025-03"] <= 90 || ages["2025-04"] <= 60 || ages["2025-04"] > 90 || ages["2025-05"] <= 30 || ages["2025-05"] > 60 {
		t.Fatalf("the plan's ages are %v", ages)
	}
	o := zzo.Outstanding
	if o.Days0To30.String() != "0.00" || o.Days31To60.String() != "24.00" || o.Days61To90.String() != "24.00" || o.Over90.String() != "17.00" || o.Total.String() != "65.00" {
		t.Errorf("outstanding = %+v", o)
	}
	// IOM received no statement: no turnaround.
	if iomRow.StatementsReceived != 0 || iomRow.Review.MedianDays != nil || iomRow.Review.Count != 0 {
		t.Errorf("IOM = %+v", iomRow)
	}

	// ZZO USK's reviewer sees its own fund only; clinic staff nothing.
	own, err := f.Svc.PayerReport(reviewer, reports.PayerFilter{From: "2025-01", To: "2025-06", AsOf: &asOf})
	if err != nil || len(own.Items) != 1 || own.Items[0].PayerCode != demo.PayerZZOUSK || own.Items[0].Outstanding.Total.String() != "65.00" {
		t.Errorf("reviewer's report = %+v, %v", own, err)
	}
	wantCode(t, errOf(f.Svc.PayerReport(f.Clinic, reports.PayerFilter{From: "2025-01", To: "2025-06"})), trcledger.EFORBIDDEN, "")
	e := wantError(t, errOf(f.Svc.PayerReport(finance, reports.PayerFilter{From: "2025-13", To: ""})), trcledger.EINVALID, "")
	if fs := fieldSet(e); !fs["from"] || !fs["to"] {
		t.Errorf("fields = %v", fs)
	}
	// A range that leaves the early months out.
	late, err := f.Svc.PayerReport(finance, reports.PayerFilter{From: "2025-04", To: "2025-05", AsOf: &asOf})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range late.Items {
		if r.PayerCode == demo.PayerZZOUSK && (r.StatementsReceived != 2 || r.Review.Count != 1 || *r.Review.MedianDays != 40 || r.Outstanding.Total.String() != "48.00" || len(r.Budget) != 2) {
			t.Errorf("April–May = %+v", r)
		}
	}
}

func decDate(s string) *trcledger.Date { d := date(s); return &d }
