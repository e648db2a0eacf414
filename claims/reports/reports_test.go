package reports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/ledger"
)

// seedTransition posts encounters across the phases of the demo schedule (primary care in
// Una-Sana: 2024 H1 IOM, 2024 H2 ZZO USK 30%, 2025 H1 60%, from 2025-07 100%), plus an
// emergency line, a Sarajevo visit and a hospital case shared with the Ministry of Security:
//
//	2024-03  DZ-BIHAC Lipa    P1  PZZ-01 20.00            IOM 20
//	2024-09  DZ-BIHAC Lipa    P1  PZZ-01 20.00            ZZO-USK 6, IOM 14
//	2025-03  DZ-BIHAC Lipa    P1  PZZ-01 20 + PZZ-03 35   ZZO-USK 12, IOM 8 + 35
//	2025-03  DZ-BIHAC Lipa    P2, P3      PZZ-01 20.00    ZZO-USK 12, IOM 8 each
//	2025-03  DZ-BIHAC Borići  P4, P5      PZZ-01 20.00    ZZO-USK 12, IOM 8 each
//	2025-03  DZ-BIHAC Lipa    P1  PZZ-01, voided          (left out)
//	2025-03  DZ-KS    Blažuj  P6  PZZ-01 20.00            ZZO-KS 12, IOM 8
//	2025-03  KB-BIHAC Lipa    P7  BOL-01 1200.00          MSB 600, IOM 600
//	2025-09  DZ-BIHAC Lipa    P2  PZZ-01 20.00            ZZO-USK 20
func seedTransition(t *testing.T, f *fixture) {
	t.Helper()
	post := func(ctx context.Context, contract, site, ext, patient, day string, lines ...encounters.LineInput) string {
		t.Helper()
		in := visit(ext, lines...)
		in.ContractCode, in.SiteCode, in.PatientID, in.ServiceDate = contract, site, patient, date(day)
		if contract == demo.ContractKBBihac {
			in.Referral = &encounters.Referral{Number: "UP-" + ext, ToLevel: "secondary"}
		}
		res, err := f.Svc.PostEncounter(ctx, in, key(ext))
		if err != nil {
			t.Fatalf("post %s: %v", ext, err)
		}
		return res.Encounters[0].ID
	}
	pzz01 := encounters.LineInput{ServiceCode: "PZZ-01", Quantity: dec("1")}
	dz := demo.ContractDZBihac
	post(f.Clinic, dz, "TRC-LIPA", "R-1", "P1", "2024-03-10")
	post(f.Clinic, dz, "TRC-LIPA", "R-2", "P1", "2024-09-10")
	post(f.Clinic, dz, "TRC-LIPA", "R-3", "P1", "2025-03-03", pzz01, encounters.LineInput{ServiceCode: "PZZ-03", Quantity: dec("1")})
	post(f.Clinic, dz, "TRC-LIPA", "R-4", "P2", "2025-03-04")
	post(f.Clinic, dz, "TRC-LIPA", "R-5", "P3", "2025-03-05")
	post(f.Clinic, dz, "TRC-BORICI", "R-6", "P4", "2025-03-06")
	post(f.Clinic, dz, "TRC-BORICI", "R-7", "P5", "2025-03-07")
	voided := post(f.Clinic, dz, "TRC-LIPA", "R-8", "P1", "2025-03-08")
	if _, err := f.Svc.VoidEncounter(f.Clinic, voided, "posted twice"); err != nil {
		t.Fatal(err)
	}
	post(as(access.RoleClinic, demo.ProviderDZKS), demo.ContractDZKS, "TRC-BLAZUJ", "R-10", "P6", "2025-03-12")
	post(as(access.RoleClinic, demo.ProviderKBBihac), demo.ContractKBBihac, "TRC-LIPA", "R-11", "P7", "2025-03-20",
		encounters.LineInput{ServiceCode: "BOL-01", Quantity: dec("1")})
	post(f.Clinic, dz, "TRC-LIPA", "R-9", "P2", "2025-09-10")
}

// rowsOf writes each row on one line: period, group, amounts, state share, counts.
func rowsOf(r *reports.TransitionReport) []string {
	out := []string{}
	for _, it := range r.Items {
		group, patients, encounters := "-", "null", "null"
		if it.Group != nil {
			group = *it.Group
		}
		if it.Patients != nil {
			patients = fmt.Sprint(*it.Patients)
		}
		if it.Encounters != nil {
			encounters = fmt.Sprint(*it.Encounters)
		}
		share := it.StateShare
		if it.StateSharePercent != it.StateShare { // the same percentage under both names
			share += "/state_share_percent=" + it.StateSharePercent
		}
		b := it.ByPayerType
		out = append(out, fmt.Sprintf("%s %s %s total=%s int=%s donor=%s state=%s gov=%s share=%s enc=%s pat=%s supp=%v",
			it.Period, group, it.Currency, it.Total.String(), b.International.String(), b.Donor.String(), b.StateFund.String(), b.Government.String(), share,
			encounters, patients, it.Suppressed))
	}
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot\n\t%s\nwant\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func TestTransitionReport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedTransition(t, f)
	report := func(ctx context.Context, from, to, by string) []string {
		t.Helper()
		r, err := f.Svc.TransitionReport(ctx, reports.TransitionFilter{From: from, To: to, By: by})
		if err != nil {
			t.Fatalf("%s..%s by %q: %v", from, to, by, err)
		}
		return rowsOf(r)
	}
	// Every month is first aggregated live (marked as changed), then read from the kept rows.
	if n := countMarked(t, f); n == 0 {
		t.Fatal("posting marked no report month")
	}
	checkTransitionReport(t, f, report)
	if _, err := f.Svc.RefreshReports(context.Background(), 0, 0); err != nil {
		t.Fatal(err)
	}
	if n := countMarked(t, f); n != 0 {
		t.Fatalf("%d report marks left after a refresh", n)
	}
	checkTransitionReport(t, f, report)
}

// countMarked counts the report changes and marks not yet folded in or recomputed.
func countMarked(t *testing.T, f *fixture) int {
	t.Helper()
	var n int
	if err := f.DB.Get(&n, `SELECT (SELECT count(*) FROM report_dirty) + (SELECT count(*) FROM report_changes)`); err != nil {
		t.Fatal(err)
	}
	return n
}

func checkTransitionReport(t *testing.T, f *fixture, report func(ctx context.Context, from, to, by string) []string) {
	t.Helper()
	fin := as(access.RoleFinance, "")
	// 2025-03: 1355.00 of which 72.00 with the funds and 600.00 with the ministry: 49.59%.
	sameLines(t, "by month", report(fin, "2024-01", "2025-12", ""), []string{
		"2024-03 - BAM total=20.00 int=20.00 donor=0.00 state=0.00 gov=0.00 share=0.00 enc=null pat=null supp=true",
		"2024-09 - BAM total=20.00 int=14.00 donor=0.00 state=6.00 gov=0.00 share=30.00 enc=null pat=null supp=true",
		"2025-03 - BAM total=1355.00 int=683.00 donor=0.00 state=72.00 gov=600.00 share=49.59 enc=7 pat=7 supp=false",
		"2025-09 - BAM total=20.00 int=0.00 donor=0.00 state=20.00 gov=0.00 share=100.00 enc=null pat=null supp=true",
	})
	// Primary care moves onto the funds: 0 -> 30 -> 60 -> 100%. (March's six primary care
	// patients are hidden: emergency and hospital hold one patient each, 2 = 1 + 1.)
	sameLines(t, "by service category", report(fin, "2024-01", "2025-12", reports.ByServiceCategory), []string{
		"2024-03 primary_care BAM total=20.00 int=20.00 donor=0.00 state=0.00 gov=0.00 share=0.00 enc=null pat=null supp=true",
		"2024-09 primary_care BAM total=20.00 int=14.00 donor=0.00 state=6.00 gov=0.00 share=30.00 enc=null pat=null supp=true",
		"2025-03 emergency BAM total=35.00 int=35.00 donor=0.00 state=0.00 gov=0.00 share=0.00 enc=null pat=null supp=true",
		"2025-03 hospital BAM total=1200.00 int=600.00 donor=0.00 state=0.00 gov=600.00 share=50.00 enc=null pat=null supp=true",
		"2025-03 primary_care BAM total=120.00 int=48.00 donor=0.00 state=72.00 gov=0.00 share=60.00 enc=null pat=null supp=true",
		"2025-09 primary_care BAM total=20.00 int=0.00 donor=0.00 state=20.00 gov=0.00 share=100.00 enc=null pat=null supp=true",
	})
	// Lipa: 1295.00 with 36.00 + 600.00 public = 49.11%; four patients are too few to show.
	sameLines(t, "by site", report(fin, "2025-03", "2025-03", reports.BySite), []string{
		"2025-03 TRC-BLAZUJ BAM total=20.00 int=8.00 donor=0.00 state=12.00 gov=0.00 share=60.00 enc=null pat=null supp=true",
		"2025-03 TRC-BORICI BAM total=40.00 int=16.00 donor=0.00 state=24.00 gov=0.00 share=60.00 enc=null pat=null supp=true",
		"2025-03 TRC-LIPA BAM total=1295.00 int=659.00 donor=0.00 state=36.00 gov=600.00 share=49.11 enc=null pat=null supp=true",
	})
	// Una-Sana's six patients would give Sarajevo's one away (the month's 7 minus 6): hidden too.
	sameLines(t, "by canton", report(fin, "2025-03", "2025-03", reports.ByCanton), []string{
		"2025-03 BA-FBIH-KS BAM total=20.00 int=8.00 donor=0.00 state=12.00 gov=0.00 share=60.00 enc=null pat=null supp=true",
		"2025-03 BA-FBIH-USK BAM total=1335.00 int=675.00 donor=0.00 state=60.00 gov=600.00 share=49.44 enc=null pat=null supp=true",
	})
	// DZ Bihać's five would leave 7 - 5 = 2 for two providers, one patient each: hidden too.
	// (Exactly five patients are shown: ZZO USK's reviewer's March below.)
	sameLines(t, "by provider", report(as(access.RoleAdmin, ""), "2025-03", "2025-04", reports.ByProvider), []string{
		"2025-03 DZ-BIHAC BAM total=135.00 int=75.00 donor=0.00 state=60.00 gov=0.00 share=44.44 enc=null pat=null supp=true",
		"2025-03 DZ-KS BAM total=20.00 int=8.00 donor=0.00 state=12.00 gov=0.00 share=60.00 enc=null pat=null supp=true",
		"2025-03 KB-BIHAC BAM total=1200.00 int=600.00 donor=0.00 state=0.00 gov=600.00 share=50.00 enc=null pat=null supp=true",
	})
	// Months outside the range are left out.
	sameLines(t, "2024 only", report(fin, "2024-04", "2024-12", ""), []string{
		"2024-09 - BAM total=20.00 int=14.00 donor=0.00 state=6.00 gov=0.00 share=30.00 enc=null pat=null supp=true",
	})

	// The JSON clients rely on.
	r, err := f.Svc.TransitionReport(fin, reports.TransitionFilter{From: "2024-03", To: "2024-03"})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(r)
	want := `{"items":[{"period":"2024-03","group":null,"currency":"BAM","total":"20.00","by_payer_type":{"international":"20.00","donor":"0.00","state_fund":"0.00","government":"0.00"},"state_share":"0.00","encounters":null,"patients":null,"suppressed":true,"state_share_percent":"0.00"}]}`
	if string(body) != want {
		t.Errorf("json\n%s\nwant\n%s", body, want)
	}
	r, err = f.Svc.TransitionReport(fin, reports.TransitionFilter{From: "2023-01", To: "2023-12", By: reports.BySite})
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := json.Marshal(r); string(body) != `{"items":[]}` {
		t.Errorf("empty report = %s", body)
	}

	// A reviewer sees their own payer's shares only.
	sameLines(t, "ZZO USK's reviewer", report(as(access.RoleReviewer, demo.PayerZZOUSK), "2024-01", "2025-12", ""), []string{
		"2024-09 - BAM total=6.00 int=0.00 donor=0.00 state=6.00 gov=0.00 share=100.00 enc=null pat=null supp=true",
		"2025-03 - BAM total=60.00 int=0.00 donor=0.00 state=60.00 gov=0.00 share=100.00 enc=5 pat=5 supp=false",
		"2025-09 - BAM total=20.00 int=0.00 donor=0.00 state=20.00 gov=0.00 share=100.00 enc=null pat=null supp=true",
	})
	sameLines(t, "the ministry's reviewer", report(as(access.RoleReviewer, demo.PayerMinSecurity), "2024-01", "2025-12", reports.ByProvider), []string{
		"2025-03 KB-BIHAC BAM total=600.00 int=0.00 donor=0.00 state=0.00 gov=600.00 share=100.00 enc=null pat=null supp=true",
	})
}

func TestTransitionReportRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fin := as(access.RoleFinance, "")
	for _, tt := range []struct {
		filter reports.TransitionFilter
		fields []string
	}{
		{reports.TransitionFilter{}, []string{"from", "to"}},
		{reports.TransitionFilter{From: "2024-13", To: "2024-1", By: "month"}, []string{"from", "to", "by"}},
		{reports.TransitionFilter{From: "2024-01-01", To: "24-01", By: "Site"}, []string{"from", "to", "by"}},
		{reports.TransitionFilter{From: "2025-03", To: "2025-02"}, []string{"to"}},
		{reports.TransitionFilter{From: "2015-01", To: "2025-01"}, []string{"to"}}, // 121 months
	} {
		_, err := f.Svc.TransitionReport(fin, tt.filter)
		e := wantError(t, err, trcledger.EINVALID, "validation_failed")
		fs := fieldSet(e)
		if len(fs) != len(tt.fields) {
			t.Errorf("%+v: fields %v, want %v", tt.filter, e.Fields, tt.fields)
		}
		for _, name := range tt.fields {
			if !fs[name] {
				t.Errorf("%+v: no error for %s in %v", tt.filter, name, e.Fields)
			}
		}
	}
	if _, err := f.Svc.TransitionReport(fin, reports.TransitionFilter{From: "2016-01", To: "2025-12", By: reports.ByCanton}); err != nil {
		t.Errorf("120 months: %v", err)
	}
	_, err := f.Svc.TransitionReport(f.Clinic, reports.TransitionFilter{From: "2025-01", To: "2025-12"})
	wantCode(t, err, trcledger.EFORBIDDEN, "")
	_, err = f.Svc.TransitionReport(f.Clinic, reports.TransitionFilter{From: "bad"})
	wantCode(t, err, trcledger.EFORBIDDEN, "")
	_, err = f.Svc.TransitionReport(as(access.RoleReviewer, ""), reports.TransitionFilter{From: "2025-01", To: "2025-12"})
	wantCode(t, err, trcledger.EFORBIDDEN, "")
}

// itemsOf writes each reconciliation item on one line.
func itemsOf(r *reports.Reconciliation) []string {
	out := []string{}
	opt := func(a *trcledger.Amount) string {
		if a == nil {
			return "null"
		}
		return a.String()
	}
	for _, it := range r.Items {
		out = append(out, fmt.Sprintf("%s %s/%s %s %s claimed=%s approved=%s rejected=%s paid=%s outstanding=%s",
			it.Number, it.ProviderCode, it.PayerCode, it.Period, it.Status, it.Claimed.String(), opt(it.Approved), opt(it.Rejected), it.Paid.String(), it.Outstanding.String()))
	}
	return out
}

func differencesOf(r *reports.Reconciliation) []string {
	out := []string{}
	for _, d := range r.Differences {
		out = append(out, fmt.Sprintf("%s %s expected=%s actual=%s", d.Account, d.Currency, d.Expected.String(), d.Actual.String()))
	}
	return out
}

func unclaimedOf(r *reports.Reconciliation) []string {
	out := []string{}
	for _, u := range r.Unclaimed {
		out = append(out, fmt.Sprintf("%s/%s %s %d lines %s", u.PayerCode, u.ProviderCode, u.Currency, u.Lines, u.Amount.String()))
	}
	return out
}

func TestReconciliation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	seedTransition(t, f)
	// The encounters' transactions are sealed (daily totals), what follows is not yet: the
	// check reads both.
	if _, err := f.Journal.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	fin := as(access.RoleFinance, "")
	rev := as(access.RoleReviewer, demo.PayerZZOUSK)

	// ZZO USK's March statement: the late 2024-09 line (6.00) and five March lines (12.00 each).
	st, err := f.Svc.CreateStatement(fin, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	// IOM's stays a draft: 20 + 14 + 43 + 4 × 8 = 109.00.
	if _, err := f.Svc.CreateStatement(fin, demo.ProviderDZBihac, demo.PayerIOM, "2025-03"); err != nil {
		t.Fatal(err)
	}
	if st, err = f.Svc.SubmitStatement(fin, st.ID); err != nil {
		t.Fatal(err)
	}
	if st.Claimed.String() != "66.00" || len(st.Lines) != 6 {
		t.Fatalf("statement claims %s in %d lines", st.Claimed, len(st.Lines))
	}
	var ds []statements.Decision
	adjusted := false
	for _, l := range st.Lines {
		switch {
		case l.ServiceDate.String() == "2024-09-10":
			ds = append(ds, statements.Decision{LineID: l.ID, Decision: "reject", ReasonCode: "not_eligible"})
		case !adjusted:
			adjusted = true
			ds = append(ds, statements.Decision{LineID: l.ID, Decision: "adjust", ApprovedAmount: decp("10.00"), ReasonCode: "tariff_error"})
		default:
			ds = append(ds, statements.Decision{LineID: l.ID, Decision: "approve"})
		}
	}
	if _, err := f.Svc.Decide(rev, st.ID, ds); err != nil {
		t.Fatal(err)
	}
	if st, err = f.Svc.CompleteReview(rev, st.ID); err != nil {
		t.Fatal(err)
	}
	if st.Approved == nil || st.Approved.String() != "58.00" || st.Rejected.String() != "8.00" {
		t.Fatalf("reviewed: approved %v rejected %v", st.Approved, st.Rejected)
	}
	if _, err := f.Svc.RecordPayment(fin, st.ID, statements.PaymentInput{Amount: dec("30.00"), PaidOn: date("2025-05-02"), Reference: "BT-1"},
		claims.Idempotency{Key: "p1", RequestHash: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	// -(6 + 60 + 20) posted shares + 8.00 not approved + 30.00 paid.
	if got := balance(t, f.Journal, "payable:ZZO-USK:DZ-BIHAC"); got != "-48.00" {
		t.Fatalf("payable = %s", got)
	}

	rec := func(ctx context.Context, filter reports.ReconciliationFilter) *reports.Reconciliation {
		t.Helper()
		r, err := f.Svc.Reconciliation(ctx, filter)
		if err != nil {
			t.Fatalf("%+v: %v", filter, err)
		}
		return r
	}
	r := rec(fin, reports.ReconciliationFilter{})
	sameLines(t, "items", itemsOf(r), []string{
		"ST-2025-03-DZBIHAC-IOM DZ-BIHAC/IOM 2025-03 draft claimed=109.00 approved=null rejected=null paid=0.00 outstanding=109.00",
		"ST-2025-03-DZBIHAC-ZZOUSK DZ-BIHAC/ZZO-USK 2025-03 partially_paid claimed=66.00 approved=58.00 rejected=8.00 paid=30.00 outstanding=28.00",
	})
	if !r.Consistent || len(r.Differences) != 0 {
		t.Errorf("consistent %v, differences %v", r.Consistent, differencesOf(r))
	}
	sameLines(t, "unclaimed", unclaimedOf(r), []string{
		"IOM/DZ-KS BAM 1 lines 8.00",
		"IOM/KB-BIHAC BAM 1 lines 600.00",
		"MSB/KB-BIHAC BAM 1 lines 600.00",
		"ZZO-KS/DZ-KS BAM 1 lines 12.00",
		"ZZO-USK/DZ-BIHAC BAM 1 lines 20.00",
	})
	body, _ := json.Marshal(r.Items[0])
	if !strings.Contains(string(body), `"approved":null,"rejected":null,"paid":"0.00","outstanding":"109.00"`) ||
		!strings.Contains(string(body), `"statement_id":"`) {
		t.Errorf("item json %s", body)
	}
	// The period narrows the statements, never the ledger check.
	r = rec(fin, reports.ReconciliationFilter{Period: "2024-09"})
	if len(r.Items) != 0 || !r.Consistent || len(r.Unclaimed) != 5 {
		t.Errorf("2024-09: %v %v %v", itemsOf(r), r.Consistent, unclaimedOf(r))
	}
	r = rec(fin, reports.ReconciliationFilter{Period: "2025-03", PayerCode: demo.PayerZZOUSK, ProviderCode: demo.ProviderDZBihac})
	if len(r.Items) != 1 || r.Items[0].StatementID != st.ID || !r.Consistent || len(r.Unclaimed) != 1 {
		t.Errorf("one pair: %v %v %v", itemsOf(r), r.Consistent, unclaimedOf(r))
	}

	// A transaction that touches the payable account behind the claims' back.
	tx, err := f.DB.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = ledger.Append(ctx, tx, []*ledger.Transaction{{Kind: "bogus", Reference: "test:bogus", EffectiveDate: date("2025-04-01"),
		Postings: []ledger.Posting{
			{Account: "payable:ZZO-USK:DZ-BIHAC", Currency: "BAM", Amount: dec("1.00")},
			{Account: "cash:ZZO-USK", Currency: "BAM", Amount: dec("-1.00")},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, seal := range []bool{false, true} {
		if seal {
			if _, err := f.Journal.Seal(ctx); err != nil {
				t.Fatal(err)
			}
		}
		r = rec(fin, reports.ReconciliationFilter{})
		if r.Consistent {
			t.Errorf("sealed %v: consistent after a bogus posting", seal)
		}
		sameLines(t, fmt.Sprintf("differences (sealed %v)", seal), differencesOf(r), []string{
			"payable:ZZO-USK:DZ-BIHAC BAM expected=-48.00 actual=-47.00",
		})
	}
	// A claims queue that lost a share (say, restored from an older backup) is a difference.
	var lost struct {
		ShareID int64  `db:"share_id"`
		Enc     string `db:"encounter_id"`
		Payer   string `db:"payer_code"`
		Prov    string `db:"provider_code"`
		Day     string `db:"service_date"`
		Amount  string `db:"amount"`
	}
	if err := f.DB.Get(&lost, `DELETE FROM unclaimed_shares WHERE payer_code = 'IOM' AND provider_code = 'KB-BIHAC'
		RETURNING share_id, encounter_id, payer_code, provider_code, service_date::text, amount::text`); err != nil {
		t.Fatal(err)
	}
	sameLines(t, "a lost share", differencesOf(rec(fin, reports.ReconciliationFilter{})), []string{
		"payable:ZZO-USK:DZ-BIHAC BAM expected=-48.00 actual=-47.00",
		"unclaimed_shares:IOM:KB-BIHAC BAM expected=600.00 actual=0.00",
	})
	// Another payer's reviewer is not told about IOM's queue.
	sameLines(t, "a lost share, ZZO USK's reviewer", differencesOf(rec(rev, reports.ReconciliationFilter{})), []string{
		"payable:ZZO-USK:DZ-BIHAC BAM expected=-48.00 actual=-47.00",
	})
	sameLines(t, "a lost share, the ministry's reviewer", differencesOf(rec(as(access.RoleReviewer, demo.PayerMinSecurity), reports.ReconciliationFilter{})), []string{})
	if _, err := f.DB.Exec(`INSERT INTO unclaimed_shares (share_id, encounter_id, payer_code, provider_code, service_date, amount)
		VALUES ($1, $2, $3, $4, $5, $6)`, lost.ShareID, lost.Enc, lost.Payer, lost.Prov, lost.Day, lost.Amount); err != nil {
		t.Fatal(err)
	}
	// Filters that leave the account out see a consistent ledger.
	for _, filter := range []reports.ReconciliationFilter{{PayerCode: demo.PayerIOM}, {ProviderCode: demo.ProviderKBBihac}, {PayerCode: "ZZO_USK"}} {
		if r = rec(fin, filter); !r.Consistent {
			t.Errorf("%+v: %v", filter, differencesOf(r))
		}
	}
	if r = rec(as(access.RoleAdmin, ""), reports.ReconciliationFilter{ProviderCode: demo.ProviderDZBihac}); r.Consistent || len(r.Differences) != 1 {
		t.Errorf("admin, DZ-BIHAC: %v", differencesOf(r))
	}

	// Scope: a reviewer sees their own payer only.
	r = rec(rev, reports.ReconciliationFilter{})
	if len(r.Items) != 1 || r.Items[0].PayerCode != demo.PayerZZOUSK || r.Consistent || len(r.Unclaimed) != 1 {
		t.Errorf("ZZO USK's reviewer: %v %v %v", itemsOf(r), differencesOf(r), unclaimedOf(r))
	}
	ks := as(access.RoleReviewer, demo.PayerZZOKS)
	r = rec(ks, reports.ReconciliationFilter{})
	sameLines(t, "ZZO KS's reviewer", append(itemsOf(r), unclaimedOf(r)...), []string{"ZZO-KS/DZ-KS BAM 1 lines 12.00"})
	if !r.Consistent {
		t.Errorf("ZZO KS's reviewer sees %v", differencesOf(r))
	}
	r = rec(ks, reports.ReconciliationFilter{PayerCode: demo.PayerZZOUSK, ProviderCode: demo.ProviderDZBihac})
	if len(r.Items) != 0 || !r.Consistent || len(r.Differences) != 0 || len(r.Unclaimed) != 0 {
		t.Errorf("ZZO KS's reviewer asking for ZZO USK: %v %v %v", itemsOf(r), differencesOf(r), unclaimedOf(r))
	}
	if body, _ := json.Marshal(r); string(body) != `{"items":[],"consistent":true,"differences":[],"unclaimed":[]}` {
		t.Errorf("empty reconciliation = %s", body)
	}
	_, err = f.Svc.Reconciliation(f.Clinic, reports.ReconciliationFilter{})
	wantCode(t, err, trcledger.EFORBIDDEN, "")
	_, err = f.Svc.Reconciliation(fin, reports.ReconciliationFilter{Period: "2025-3"})
	if fs := fieldSet(wantError(t, err, trcledger.EINVALID, "validation_failed")); !fs["period"] || len(fs) != 1 {
		t.Errorf("fields %v", fs)
	}
}

// TestKeptReportMonthsFollowEveryChange posts and voids in several months while the refresher
// runs, then compares, for every grouping and every payer's reviewer, the report as it stands
// (kept rows and marked months mixed), the report aggregated live (every month marked) and
// the report read from kept rows alone (after a last refresh).
func TestKeptReportMonthsFollowEveryChange(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedTransition(t, f)
	ctx := context.Background()
	if _, err := f.Svc.RefreshReports(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	refreshed := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				refreshed <- nil
				return
			default:
			}
			if _, err := f.Svc.RefreshReports(ctx, 0, 0); err != nil {
				refreshed <- err
				return
			}
		}
	}()
	errs := make(chan error, 6)
	for w := 0; w < 6; w++ {
		go func(w int) {
			for i := 0; i < 8; i++ {
				ext := fmt.Sprintf("K-%d-%d", w, i)
				in := visit(ext, encounters.LineInput{ServiceCode: "PZZ-01", Quantity: dec("1")})
				in.PatientID, in.ServiceDate = fmt.Sprintf("KP-%d", (w*8+i)%11), date(fmt.Sprintf("2025-%02d-%02d", 1+(w+i)%6, 1+i))
				res, err := f.Svc.PostEncounter(f.Clinic, in, key(ext))
				if err == nil && i%3 == 0 {
					_, err = f.Svc.VoidEncounter(f.Clinic, res.Encounters[0].ID, "wrong patient")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < 6; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}

	live, kept, mixed := keptAndLive(t, f, "2024-01", "2025-12")
	for k, want := range live {
		if len(want) == 0 && !strings.HasPrefix(k, "reviewer of "+demo.PayerZZOKS) {
			t.Errorf("%s: an empty report", k)
		}
		sameLines(t, k+" (mixed)", mixed[k], want)
		sameLines(t, k+" (kept)", kept[k], want)
	}
}

// keptAndLive returns the transition reports from..to for finance and every payer's reviewer
// under every grouping: live (every month marked), kept (after a refresh) and as they stood
// before (mixed).
func keptAndLive(t *testing.T, f *fixture, from, to string) (live, kept, mixed map[string][]string) {
	t.Helper()
	ctx := context.Background()
	viewers := map[string]context.Context{"finance": as(access.RoleFinance, "")}
	for _, p := range []string{demo.PayerIOM, demo.PayerZZOUSK, demo.PayerZZOKS, demo.PayerMinSecurity} {
		viewers["reviewer of "+p] = as(access.RoleReviewer, p)
	}
	reports := func() map[string][]string {
		out := map[string][]string{}
		for who, ctx := range viewers {
			for _, by := range []string{"", reports.ByCanton, reports.BySite, reports.ByProvider, reports.ByServiceCategory} {
				r, err := f.Svc.TransitionReport(ctx, reports.TransitionFilter{From: from, To: to, By: by})
				if err != nil {
					t.Fatal(err)
				}
				out[who+" by "+by] = rowsOf(r)
			}
		}
		return out
	}
	mixed = reports()
	if _, err := f.DB.Exec(`INSERT INTO report_dirty (period) SELECT DISTINCT to_char(service_date, 'YYYY-MM') FROM encounters`); err != nil {
		t.Fatal(err)
	}
	live = reports()
	if _, err := f.Svc.RefreshReports(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	kept = reports()
	return live, kept, mixed
}

// TestOtherCurrenciesAndZeroShares posts on a contract in EUR and on one whose price splits into
// a zero share: neither waits for a statement (statements claim positive BAM shares), and the
// transition report keeps a row per currency, the same live and kept.
func TestOtherCurrenciesAndZeroShares(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	store := contracts.NewStore(f.DB, func() time.Time { return today })
	cent := dec("0.01")
	for _, c := range []struct{ code, currency string }{{"TEST-EUR", "EUR"}, {"TEST-CENT", "BAM"}} {
		valid := date("2026-12-31")
		if _, err := store.CreateContract(ctx, contracts.Contract{Code: c.code, ProviderCode: demo.ProviderDZBihac, Currency: c.currency,
			ValidFrom: date("2025-01-01"), ValidTo: &valid, Status: "active"}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.AddTariffVersion(ctx, c.code, contracts.TariffVersion{EffectiveFrom: date("2025-01-01"),
			Items: []contracts.TariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: &cent}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.AddCostShareRule(ctx, c.code, contracts.CostShareRule{EffectiveFrom: date("2025-01-01"),
			Shares: []contracts.Share{{PayerCode: demo.PayerZZOUSK, BasisPoints: 6000}, {PayerCode: demo.PayerIOM, BasisPoints: 4000}}}); err != nil {
			t.Fatal(err)
		}
	}
	for i, code := range []string{"TEST-EUR", "TEST-CENT", "TEST-CENT", "TEST-EUR"} {
		in := visit(fmt.Sprintf("X-%d", i))
		in.ContractCode, in.ServiceDate, in.PatientID = code, date("2025-05-0"+fmt.Sprint(i+1)), fmt.Sprintf("XP-%d", i)
		res, err := f.Svc.PostEncounter(f.Clinic, in, key(fmt.Sprintf("X-%d", i)))
		if err != nil {
			t.Fatalf("post on %s: %v", code, err)
		}
		// 0.01 split 60/40: the fund's share rounds up to the cent, IOM's is zero.
		if got := sharesOf(res.Encounters[0].Lines[0]); got != "ZZO-USK=0.01 IOM=0.00" {
			t.Fatalf("shares on %s: %s", code, got)
		}
	}
	var queued int
	if err := f.DB.Get(&queued, `SELECT count(*) FROM unclaimed_shares`); err != nil || queued != 2 {
		t.Fatalf("%d shares wait for a statement (%v), want the fund's two BAM cents", queued, err)
	}
	fin := as(access.RoleFinance, "")
	st, err := f.Svc.CreateStatement(fin, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-05")
	if err != nil {
		t.Fatal(err)
	}
	if st.Claimed.String() != "0.02" || st.LineCount != 2 {
		t.Errorf("the fund's statement claims %s in %d lines, want 0.02 in 2", st.Claimed, st.LineCount)
	}
	_, err = f.Svc.CreateStatement(fin, demo.ProviderDZBihac, demo.PayerIOM, "2025-05")
	wantCode(t, err, trcledger.EINVALID, "nothing_to_claim")

	live, kept, _ := keptAndLive(t, f, "2025-05", "2025-05")
	sameLines(t, "finance", live["finance by "], []string{
		"2025-05 - BAM total=0.02 int=0.00 donor=0.00 state=0.02 gov=0.00 share=100.00 enc=null pat=null supp=true",
		"2025-05 - EUR total=0.02 int=0.00 donor=0.00 state=0.02 gov=0.00 share=100.00 enc=null pat=null supp=true",
	})
	for k, want := range live {
		sameLines(t, k+" (kept)", kept[k], want)
	}
}
