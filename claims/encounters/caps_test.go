package encounters_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// The money of these tests is computed here from the demo tariff and schedule, never by the
// code under test: PZZ-01 costs 20.00 on IOM-DZBIH-2024; primary care is ZZO USK 30% / IOM 70%
// in 2024 H2 and ZZO USK 60% / IOM 40% in 2025 H1.

var capAdmin = as(access.RoleAdmin, "")

// addCap adds a cap of ZZO USK on DZ Bihać's contract, overflowing to IOM unless mode is warn.
func addCap(t *testing.T, f *fixture, period, amount, from, mode string) *encounters.Cap {
	t.Helper()
	in := encounters.CapInput{PayerCode: demo.PayerZZOUSK, Period: period, Amount: dec(amount), EffectiveFrom: date(from), Mode: mode}
	if mode == "route" {
		in.OverflowPayerCode = sp(demo.PayerIOM)
	}
	c, err := f.Svc.AddCap(capAdmin, demo.ContractDZBihac, in)
	if err != nil {
		t.Fatalf("add cap: %v", err)
	}
	return c
}

// gp posts a PZZ-01 consultation of quantity qty on day.
func gp(t *testing.T, f *fixture, ext, day, qty string) *encounters.Encounter {
	t.Helper()
	return f.PostOn(t, ext, "SFA-"+ext, day, encounters.LineInput{ServiceCode: "PZZ-01", Quantity: dec(qty)})
}

// shareOf is payer's share of the encounter's first line, "0.00" without one.
func shareOf(e *encounters.Encounter, payer string) string {
	sum := decimal.Zero
	for _, s := range e.Lines[0].Shares {
		if s.PayerCode == payer {
			sum = sum.Add(s.Amount.Decimal)
		}
	}
	return sum.StringFixed(2)
}

// addsUp fails unless every line's shares add up to its amount.
func addsUp(t *testing.T, e *encounters.Encounter) {
	t.Helper()
	for _, l := range e.Lines {
		sum := decimal.Zero
		for _, s := range l.Shares {
			if s.Amount.IsNegative() {
				t.Errorf("%s line %d: negative share %s", e.ExternalID, l.LineNo, s.Amount)
			}
			sum = sum.Add(s.Amount.Decimal)
		}
		if !sum.Equal(l.Amount.Decimal) {
			t.Errorf("%s line %d: shares add up to %s, the line is %s", e.ExternalID, l.LineNo, sum, l.Amount)
		}
	}
}

// capPeriod is the period label of the contract's only cap, as GET caps answers it.
func capPeriod(t *testing.T, f *fixture, label string) encounters.CapPeriod {
	t.Helper()
	caps, err := f.Svc.Caps(as(access.RoleFinance, ""), demo.ContractDZBihac)
	if err != nil {
		t.Fatal(err)
	}
	if len(caps) != 1 {
		t.Fatalf("%d caps, want 1", len(caps))
	}
	for _, p := range caps[0].Periods {
		if p.Label == label {
			return p
		}
	}
	t.Fatalf("no period %s in %+v", label, caps[0].Periods)
	return encounters.CapPeriod{}
}

// wantPeriod compares a period's used, left and routed with the expected figures.
func wantPeriod(t *testing.T, f *fixture, label, used, left, routed string) {
	t.Helper()
	p := capPeriod(t, f, label)
	if p.Used.String() != used || p.Left.String() != left || p.Routed.String() != routed {
		t.Errorf("%s: used %s left %s routed %s, want %s %s %s", label, p.Used, p.Left, p.Routed, used, left, routed)
	}
}

// wantConsistent checks what every scenario must leave: the ledger verifies, the reconciliation
// is consistent, and each cap-period's used is what its live uses consumed.
func wantConsistent(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	v, err := f.Journal.Verify(ctx)
	if err != nil || !v.OK {
		t.Errorf("verify: %+v %v", v, err)
	}
	r, err := f.Svc.Reconciliation(as(access.RoleFinance, ""), reports.ReconciliationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Consistent {
		t.Errorf("reconciliation: %+v", r.Differences)
	}
	if n := f.Count(t, `SELECT count(*) FROM cap_periods p WHERE used <> (SELECT coalesce(sum(consumed), 0) FROM cap_uses u
		WHERE u.cap_id = p.cap_id AND u.period_start = p.period_start AND u.released_at IS NULL)`); n != 0 {
		t.Errorf("%d cap periods' used differs from their uses", n)
	}
}

// TestCapRoutesTheShareBeyondTheCeiling: a cap of 100.00 a month for ZZO USK, overflowing to
// IOM. USK's shares of 60.00 and 30.00 fit; of the third, 24.00, 10.00 fits and 14.00 goes to IOM.
// April starts again. A void gives its 30.00 back and the next post uses it. The ledger, the
// claims queue, the statement and the transition report follow the routed shares.
func TestCapRoutesTheShareBeyondTheCeiling(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addCap(t, f, "month", "100.00", "2025-01-01", "route")

	e1 := gp(t, f, "C-1", "2025-03-03", "5")   // 100.00: USK 60.00, IOM 40.00
	e2 := gp(t, f, "C-2", "2025-03-04", "2.5") // 50.00: USK 30.00, IOM 20.00
	e3 := gp(t, f, "C-3", "2025-03-05", "2")   // 40.00: USK 24.00 → 10.00 USK, 14.00 IOM
	for _, c := range []struct {
		e        *encounters.Encounter
		usk, iom string
	}{{e1, "60.00", "40.00"}, {e2, "30.00", "20.00"}, {e3, "10.00", "30.00"}} {
		addsUp(t, c.e)
		if got := shareOf(c.e, demo.PayerZZOUSK) + "/" + shareOf(c.e, demo.PayerIOM); got != c.usk+"/"+c.iom {
			t.Errorf("%s: USK/IOM %s, want %s/%s", c.e.ExternalID, got, c.usk, c.iom)
		}
	}
	wantPeriod(t, f, "2025-03", "100.00", "0.00", "14.00")
	// The stored encounter says the same as the answer.
	got, err := f.Svc.FindEncounterByID(as(access.RoleClinic, demo.ProviderDZBihac), e3.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sharesOf(got.Lines[0]) != "ZZO-USK=10.00 IOM=30.00" {
		t.Errorf("stored shares %s", sharesOf(got.Lines[0]))
	}
	if b := balance(t, f.Journal, "expense:ZZO-USK"); b != "100.00" {
		t.Errorf("expense:ZZO-USK %s, want 100.00", b)
	}
	if b := balance(t, f.Journal, "payable:IOM:DZ-BIHAC"); b != "-90.00" { // 40 + 20 + 30
		t.Errorf("payable:IOM:DZ-BIHAC %s, want -90.00", b)
	}

	e4 := gp(t, f, "C-4", "2025-04-01", "1") // a new month: USK 12.00, IOM 8.00
	if shareOf(e4, demo.PayerZZOUSK) != "12.00" {
		t.Errorf("April: USK %s, want 12.00", shareOf(e4, demo.PayerZZOUSK))
	}
	wantPeriod(t, f, "2025-04", "12.00", "88.00", "0.00")

	if _, err := f.Svc.VoidEncounter(f.Clinic, e2.ID, "wrong patient"); err != nil {
		t.Fatal(err)
	}
	wantPeriod(t, f, "2025-03", "70.00", "30.00", "14.00")
	e5 := gp(t, f, "C-5", "2025-03-20", "5") // 100.00: USK 60.00 → 30.00 USK, 30.00 → IOM (70.00)
	addsUp(t, e5)
	if shareOf(e5, demo.PayerZZOUSK) != "30.00" || shareOf(e5, demo.PayerIOM) != "70.00" {
		t.Errorf("after the void: USK %s IOM %s, want 30.00 70.00", shareOf(e5, demo.PayerZZOUSK), shareOf(e5, demo.PayerIOM))
	}
	wantPeriod(t, f, "2025-03", "100.00", "0.00", "44.00")

	// USK's March statement claims 60 + 10 + 30 = 100.00; IOM's 40 + 30 + 70 = 140.00.
	st, err := f.Svc.CreateStatement(as(access.RoleFinance, ""), demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if st.Claimed.String() != "100.00" {
		t.Errorf("USK claims %s, want 100.00", st.Claimed)
	}
	st, err = f.Svc.CreateStatement(as(access.RoleFinance, ""), demo.ProviderDZBihac, demo.PayerIOM, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if st.Claimed.String() != "140.00" {
		t.Errorf("IOM claims %s, want 140.00", st.Claimed)
	}
	rep, err := f.Svc.TransitionReport(as(access.RoleFinance, ""), reports.TransitionFilter{From: "2025-03", To: "2025-03"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Items) != 1 || rep.Items[0].ByPayerType.StateFund.String() != "100.00" || rep.Items[0].Total.String() != "240.00" {
		t.Errorf("transition report %+v, want state_fund 100.00 of 240.00", rep.Items)
	}
	wantConsistent(t, f)
}

// TestCapQuarterAndYear: a quarter's ceiling spans its three months and the next quarter starts
// again; so does a year's, and a share that finds nothing left goes to the overflow payer whole.
func TestCapQuarterAndYear(t *testing.T) {
	t.Parallel()
	t.Run("quarter", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		addCap(t, f, "quarter", "50.00", "2025-01-01", "route")
		// 40.00 each: USK 24.00; the third finds 2.00 left.
		want := []struct{ day, usk, iom string }{
			{"2025-01-15", "24.00", "16.00"}, {"2025-02-15", "24.00", "16.00"}, {"2025-03-15", "2.00", "38.00"}, {"2025-04-15", "24.00", "16.00"},
		}
		for i, w := range want {
			e := gp(t, f, fmt.Sprintf("Q-%d", i), w.day, "2")
			addsUp(t, e)
			if shareOf(e, demo.PayerZZOUSK) != w.usk || shareOf(e, demo.PayerIOM) != w.iom {
				t.Errorf("%s: USK %s IOM %s, want %s %s", w.day, shareOf(e, demo.PayerZZOUSK), shareOf(e, demo.PayerIOM), w.usk, w.iom)
			}
		}
		wantPeriod(t, f, "2025-Q1", "50.00", "0.00", "22.00")
		wantPeriod(t, f, "2025-Q2", "24.00", "26.00", "0.00")
		p := capPeriod(t, f, "2025-Q1")
		if p.From.String() != "2025-01-01" || p.To.String() != "2025-03-31" {
			t.Errorf("Q1 runs %s..%s", p.From, p.To)
		}
		wantConsistent(t, f)
	})
	t.Run("year", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		addCap(t, f, "year", "30.00", "2024-07-01", "route")
		// 2024 H2 is USK 30%: 100.00 gives USK 30.00, which fills the year; 20.00 in December
		// gives USK 6.00, none of which fits; 2025 (60%) starts again.
		e1 := gp(t, f, "Y-1", "2024-07-10", "5")
		e2 := gp(t, f, "Y-2", "2024-12-10", "1")
		e3 := gp(t, f, "Y-3", "2025-01-10", "1")
		for _, c := range []struct {
			e        *encounters.Encounter
			usk, iom string
		}{{e1, "30.00", "70.00"}, {e2, "0.00", "20.00"}, {e3, "12.00", "8.00"}} {
			addsUp(t, c.e)
			if shareOf(c.e, demo.PayerZZOUSK) != c.usk || shareOf(c.e, demo.PayerIOM) != c.iom {
				t.Errorf("%s: USK %s IOM %s, want %s %s", c.e.ExternalID, shareOf(c.e, demo.PayerZZOUSK), shareOf(c.e, demo.PayerIOM), c.usk, c.iom)
			}
		}
		wantPeriod(t, f, "2024", "30.00", "0.00", "6.00")
		wantPeriod(t, f, "2025", "12.00", "18.00", "0.00")
		// The share of 0.00 is no share: ZZO USK's reviewer does not see Y-2.
		if _, err := f.Svc.FindEncounterByID(as(access.RoleReviewer, demo.PayerZZOUSK), e2.ID); err == nil {
			t.Error("ZZO USK's reviewer sees an encounter it pays nothing of")
		}
		wantConsistent(t, f)
	})
}

// TestCapWarnFlagsTheLine: with mode warn nothing moves; the share that goes beyond the ceiling
// is flagged over_cap when the statement is submitted, and GET caps shows how far over.
func TestCapWarnFlagsTheLine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addCap(t, f, "month", "20.00", "2025-01-01", "warn")
	a := gp(t, f, "W-1", "2025-03-03", "1") // USK 12.00: fits
	b := gp(t, f, "W-2", "2025-03-04", "1") // USK 12.00: 4.00 beyond
	for _, e := range []*encounters.Encounter{a, b} {
		if shareOf(e, demo.PayerZZOUSK) != "12.00" || shareOf(e, demo.PayerIOM) != "8.00" {
			t.Errorf("%s moved: %s", e.ExternalID, sharesOf(e.Lines[0]))
		}
	}
	p := capPeriod(t, f, "2025-03")
	if p.Used.String() != "24.00" || p.Left.String() != "0.00" || p.Over.String() != "4.00" {
		t.Errorf("period %+v, want used 24.00 left 0.00 over 4.00", p)
	}
	st, err := f.Svc.CreateStatement(as(access.RoleFinance, ""), demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.SubmitStatement(as(access.RoleFinance, ""), st.ID); err != nil {
		t.Fatal(err)
	}
	full, err := f.Svc.FindStatementByID(as(access.RoleFinance, ""), st.ID)
	if err != nil {
		t.Fatal(err)
	}
	flagged := map[string]bool{}
	for _, l := range full.Lines {
		flagged[l.EncounterID] = slices.Contains(l.Flags, "over_cap")
	}
	if flagged[a.ID] || !flagged[b.ID] {
		t.Errorf("over_cap on W-1 %v, W-2 %v; want only W-2", flagged[a.ID], flagged[b.ID])
	}
	if !slices.Contains(statements.LineFlags, "over_cap") {
		t.Error("over_cap is not a line flag")
	}
	wantConsistent(t, f)
}

// TestCapCountsWhatWasPostedBefore: a cap added after posts counts their shares as used without
// moving them, and routes from then on.
func TestCapCountsWhatWasPostedBefore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	gp(t, f, "B-1", "2025-03-03", "5") // USK 60.00
	addCap(t, f, "month", "70.00", "2025-01-01", "route")
	wantPeriod(t, f, "2025-03", "60.00", "10.00", "0.00")
	e := gp(t, f, "B-2", "2025-03-04", "2") // USK 24.00 → 10.00, 14.00 → IOM
	if shareOf(e, demo.PayerZZOUSK) != "10.00" || shareOf(e, demo.PayerIOM) != "30.00" {
		t.Errorf("B-2: %s", sharesOf(e.Lines[0]))
	}
	// A cap on IOM added now counts IOM's own shares of March (40.00 + 16.00), not the 14.00
	// the USK cap routed to it: posting never charges routed amounts to the overflow payer.
	iom, err := f.Svc.AddCap(capAdmin, demo.ContractDZBihac, encounters.CapInput{PayerCode: demo.PayerIOM, Period: "month",
		Amount: dec("1000"), EffectiveFrom: date("2025-01-01"), Mode: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	var march string
	for _, p := range iom.Periods {
		if p.Label == "2025-03" {
			march = p.Used.String()
		}
	}
	if march != "56.00" {
		t.Errorf("IOM's cap counts %q used in March, want 56.00 (its own shares, not what was routed to it)", march)
	}
	_, err = f.Svc.AddCap(capAdmin, demo.ContractDZBihac, encounters.CapInput{PayerCode: demo.PayerZZOUSK, Period: "year",
		Amount: dec("1"), EffectiveFrom: date("2025-06-01"), Mode: "warn"})
	wantCode(t, err, trcledger.ECONFLICT, "cap_overlap")
	_, err = f.Svc.AddCap(capAdmin, demo.ContractDZBihac, encounters.CapInput{PayerCode: demo.PayerZZOUSK, Period: "week",
		Amount: dec("0.001"), Mode: "route"})
	e2 := wantError(t, err, trcledger.EINVALID, "")
	if fs := fieldSet(e2); !fs["period"] || !fs["amount"] || !fs["effective_from"] || !fs["overflow_payer_code"] {
		t.Errorf("fields %v", fs)
	}
	wantConsistent(t, f)
}

// TestCapsUnderConcurrentPosts: single posts, batches and imports of one month, all at once,
// against a cap of 1000.00. ZZO USK carries exactly min(cap, demand) and IOM the rest, to the
// cent; every line adds up; at most one line is split between the two by the cap (the one that
// crossed it, in posting order); and the period's used is what USK carries.
func TestCapsUnderConcurrentPosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addCap(t, f, "month", "1000.00", "2025-01-01", "route")
	qty := func(i int) int64 { return int64(i%3 + 1) } // 20.00, 40.00 or 60.00: USK 12.00, 24.00, 36.00
	var mu sync.Mutex
	demand, total := decimal.Zero, decimal.Zero
	count := func(q int64) {
		mu.Lock()
		defer mu.Unlock()
		amount := decimal.NewFromInt(20 * q)
		total = total.Add(amount)
		demand = demand.Add(amount.Mul(decimal.NewFromInt(60)).Div(decimal.NewFromInt(100)))
	}
	in := func(ext string, q int64) encounters.EncounterInput {
		v := visit(ext, encounters.LineInput{ServiceCode: "PZZ-01", Quantity: decimal.NewFromInt(q)})
		v.PatientID, v.ServiceDate = "SFA-"+ext, date("2025-05-12")
		return v
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 12 { // single posts, through the group committer
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				ext := fmt.Sprintf("S-%d-%d", g, i)
				if _, err := f.Svc.PostEncounter(f.Clinic, in(ext, qty(g+i)), key(ext)); err != nil {
					errs <- err
					return
				}
				count(qty(g + i))
			}
		}()
	}
	for g := range 3 { // batches
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ins []encounters.EncounterInput
			for i := range 10 {
				ins = append(ins, in(fmt.Sprintf("B-%d-%d", g, i), qty(g+i)))
			}
			if _, err := f.Svc.PostBatch(f.Clinic, ins, key(fmt.Sprintf("batch-%d", g))); err != nil {
				errs <- err
				return
			}
			for i := range 10 {
				count(qty(g + i))
			}
		}()
	}
	for g := range 2 { // imports
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			b.WriteString("external_id,contract_code,site_code,patient_id,beneficiary_category,sex,birth_year,service_date,kind,diagnoses,referral_number,referral_to_level,referral_to_provider_code,practitioner_ref,corrects,service_code,quantity\n")
			for i := range 15 {
				fmt.Fprintf(&b, "I-%d-%d,%s,TRC-LIPA,SFA-I-%d-%d,irregular_migrant,,,2025-05-12,consultation,J06.9,,,,,,PZZ-01,%d\n", g, i, demo.ContractDZBihac, g, i, qty(g+i))
			}
			res, err := f.Svc.Import(f.Clinic, strings.NewReader(b.String()))
			if err != nil || res.Accepted != 15 {
				errs <- fmt.Errorf("import: %+v %w", res, err)
				return
			}
			for i := range 15 {
				count(qty(g + i))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	capped := decimal.Min(demand, decimal.NewFromInt(1000))
	if !demand.GreaterThan(decimal.NewFromInt(1000)) {
		t.Fatalf("demand %s does not reach the cap: the test proves nothing", demand)
	}
	var sums []struct {
		Payer string          `db:"payer_code"`
		Sum   decimal.Decimal `db:"sum"`
	}
	if err := f.DB.Select(&sums, `SELECT sh.payer_code, sum(sh.amount) AS sum FROM line_shares sh JOIN encounters e ON e.id = sh.encounter_id
		WHERE e.status = 'posted' AND sh.service_date = '2025-05-12' GROUP BY 1 ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	got := map[string]decimal.Decimal{}
	for _, s := range sums {
		got[s.Payer] = s.Sum
	}
	if !got[demo.PayerZZOUSK].Equal(capped) {
		t.Errorf("ZZO USK carries %s, want min(1000.00, %s) = %s", got[demo.PayerZZOUSK], demand, capped)
	}
	if want := total.Sub(capped); !got[demo.PayerIOM].Equal(want) {
		t.Errorf("IOM carries %s, want %s of %s", got[demo.PayerIOM], want, total)
	}
	if n := f.Count(t, `SELECT count(*) FROM encounter_lines el WHERE el.amount <> (SELECT sum(amount) FROM line_shares sh
		WHERE sh.encounter_id = el.encounter_id AND sh.line_no = el.line_no)`); n != 0 {
		t.Errorf("%d lines whose shares do not add up", n)
	}
	// USK's share of a line is 60%; a line where it is neither that nor 0.00 is split by the cap.
	if n := f.Count(t, `SELECT count(*) FROM line_shares sh JOIN encounter_lines el USING (encounter_id, line_no)
		WHERE sh.payer_code = 'ZZO-USK' AND sh.amount > 0 AND sh.amount <> el.amount * 0.6`); n > 1 {
		t.Errorf("%d lines split by the cap, want at most 1", n)
	}
	// In posting order, once a line was routed no later line of USK got anything.
	if n := f.Count(t, `SELECT count(*) FROM cap_uses a JOIN cap_uses b ON b.id > a.id
		WHERE a.routed > 0 AND b.consumed > 0 AND a.released_at IS NULL AND b.released_at IS NULL`); n != 0 {
		t.Errorf("%d uses consumed after a routed one", n)
	}
	wantPeriod(t, f, "2025-05", capped.StringFixed(2), "0.00", total.Mul(decimal.NewFromInt(60)).Div(decimal.NewFromInt(100)).Sub(capped).StringFixed(2))
	if b := balance(t, f.Journal, "expense:ZZO-USK"); b != capped.StringFixed(2) {
		t.Errorf("expense:ZZO-USK %s, want %s", b, capped.StringFixed(2))
	}
	wantConsistent(t, f)
}
