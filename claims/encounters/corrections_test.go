package encounters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/internal/claimstest"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// Issue 13 items 1 and 6 (docs/corrections.md): repricing under a retroactive amendment, and
// closed months. Every expected amount below is worked out by hand from the demo contract:
// PZZ-01 costs 20.00 on IOM-DZBIH-2024 in 2025; primary care in 2025 H1 is ZZO USK 60% / IOM 40%.

var admin = claimstest.As(access.RoleAdmin, "")

// amendPZZ adds, retroactively, a tariff version of the demo contract from 2025-01-01 to
// 2026-01-01 with PZZ-01 at price.
func amendPZZ(t *testing.T, f *fixture, price string) {
	t.Helper()
	st := contracts.NewStore(f.DB, claimstestNow)
	v := contracts.TariffVersion{EffectiveFrom: date("2025-01-01"), EffectiveTo: datep("2026-01-01"), Retroactive: true,
		Items: []contracts.TariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: decp(price)}}}
	if _, err := st.AddTariffVersion(admin, demo.ContractDZBihac, v); err != nil {
		t.Fatalf("retroactive tariff: %v", err)
	}
}

func claimstestNow() time.Time { return claimstest.Today }

func datep(s string) *trcledger.Date {
	d := date(s)
	return &d
}

func deltas(r *encounters.RepricingResult) string {
	var parts []string
	for _, d := range r.DeltaByPayer {
		parts = append(parts, d.PayerCode+"="+d.Amount.String())
	}
	return strings.Join(parts, " ")
}

func (f *fixture) ledgerCount(t *testing.T) int {
	return f.Count(t, `SELECT count(*) FROM ledger_transactions`)
}

// checkBooks verifies the hash chain and the reconciliation's ledger check.
func (f *fixture) checkBooks(t *testing.T) {
	t.Helper()
	if v, err := f.Journal.Verify(context.Background()); err != nil || !v.OK {
		t.Fatalf("verify: %+v %v", v, err)
	}
	rec, err := f.Svc.Reconciliation(claimstest.Finance, reports.ReconciliationFilter{})
	if err != nil || !rec.Consistent {
		t.Fatalf("reconciliation: %+v %v", rec, err)
	}
}

func TestRetroactiveTariffRepricesEncounters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	one := encounters.LineInput{ServiceCode: "PZZ-01", Quantity: dec("1")}
	two := encounters.LineInput{ServiceCode: "PZZ-01", Quantity: dec("2")}
	a := f.PostOn(t, "R-1", "SFA-1", "2025-03-03", one)
	f.PostOn(t, "R-2", "SFA-2", "2025-03-04", one)
	f.PostOn(t, "R-3", "SFA-3", "2025-04-10", two)
	f.PostOn(t, "R-4", "SFA-4", "2024-12-10", one) // outside the range: 2024 H2, ZZO USK 30%

	// Without the flag the version the encounters were priced with cannot be closed before them.
	st := contracts.NewStore(f.DB, claimstestNow)
	_, err := st.AddTariffVersion(admin, demo.ContractDZBihac, contracts.TariffVersion{EffectiveFrom: date("2025-01-01"), EffectiveTo: datep("2026-01-01"),
		Items: []contracts.TariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("23")}}})
	wantCode(t, err, trcledger.ECONFLICT, "")
	amendPZZ(t, f, "23")
	if n := f.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'close' AND object_type = 'tariff_version' AND detail->>'retroactive' = 'true'`); n != 1 {
		t.Fatalf("retroactive close audited %d times", n)
	}
	// The encounters keep their prices until a repricing.
	if e, _ := f.Svc.FindEncounterByID(admin, a.ID); e.Total.String() != "20.00" {
		t.Fatalf("before repricing: %s", e.Total)
	}

	before := f.ledgerCount(t)
	in := encounters.RepricingInput{From: date("2025-01-01"), To: date("2025-06-30"), DryRun: true}
	dry, _, err := f.Svc.Reprice(admin, demo.ContractDZBihac, in, encounters.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	// 20.00 → 23.00 at 60/40: ZZO USK 12.00 → 13.80 (+1.80), IOM 8.00 → 9.20 (+1.20) per visit;
	// the double visit 40.00 → 46.00: +3.60 and +2.40. Two single visits and one double.
	if dry.Encounters != 3 || dry.Lines != 3 || deltas(dry) != "IOM=4.80 ZZO-USK=7.20" || len(dry.OnSubmittedStatements) != 0 || dry.ID != nil {
		t.Fatalf("dry run: %+v (%s)", dry, deltas(dry))
	}
	if n := f.ledgerCount(t); n != before {
		t.Fatalf("a dry run wrote %d ledger transactions", n-before)
	}

	in.DryRun = false
	done, res, err := f.Svc.Reprice(admin, demo.ContractDZBihac, in, key("reprice-1"))
	if err != nil {
		t.Fatal(err)
	}
	if done.Encounters != 3 || done.Lines != 3 || deltas(done) != "IOM=4.80 ZZO-USK=7.20" || done.ID == nil {
		t.Fatalf("applied: %+v", done)
	}
	if n := f.ledgerCount(t); n != before+3 {
		t.Fatalf("%d ledger transactions, want 3", n-before)
	}
	if n := f.Count(t, `SELECT count(*) FROM ledger_transactions WHERE kind = 'reprice' AND effective_date = '2025-03-03' AND reference = $1`, "encounter:"+a.ID); n != 1 {
		t.Fatal("the reprice transaction is not dated on the service date")
	}
	e, _ := f.Svc.FindEncounterByID(admin, a.ID)
	if e.Total.String() != "23.00" || sharesOf(e.Lines[0]) != "ZZO-USK=13.80 IOM=9.20" || e.Lines[0].TariffVersion != 3 {
		t.Fatalf("repriced encounter: %s %s v%d", e.Total, sharesOf(e.Lines[0]), e.Lines[0].TariffVersion)
	}
	// The old rows stay; the new ones name the repricing that wrote them.
	if n := f.Count(t, `SELECT count(*) FROM encounter_lines WHERE encounter_id = $1`, a.ID); n != 2 {
		t.Fatalf("%d line rows, want the old and the new", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM line_shares sh JOIN encounter_repricings r ON r.id = sh.repriced_by
		WHERE sh.encounter_id = $1 AND r.from_revision = 1 AND sh.revision = 2`, a.ID); n != 2 {
		t.Fatalf("%d new shares name the repricing", n)
	}
	// ZZO USK owes DZ Bihać 13.80 + 13.80 + 27.60 (2025) + 6.00 (2024-12, 30% of 20.00).
	if got := balance(t, f.Journal, "payable:ZZO-USK:DZ-BIHAC"); got != "-61.20" {
		t.Fatalf("ZZO USK payable %s", got)
	}
	// IOM: 9.20 + 9.20 + 18.40 (2025) + 14.00 (70% of 20.00 in 2024-12).
	if got := balance(t, f.Journal, "payable:IOM:DZ-BIHAC"); got != "-50.80" {
		t.Fatalf("IOM payable %s", got)
	}

	// The same key again: the first answer, nothing acted twice.
	again, res2, err := f.Svc.Reprice(admin, demo.ContractDZBihac, in, key("reprice-1"))
	if err != nil || again != nil || !res2.Replayed || string(res2.Body) != string(res.Body) {
		t.Fatalf("replay: %v %v", res2, err)
	}
	// Another repricing finds nothing to change.
	if r, _, err := f.Svc.Reprice(admin, demo.ContractDZBihac, in, encounters.Idempotency{}); err != nil || r.Encounters != 0 {
		t.Fatalf("second repricing: %+v %v", r, err)
	}
	if n := f.ledgerCount(t); n != before+3 {
		t.Fatalf("the replay or second run wrote %d transactions", n-before-3)
	}
	// The reports follow: March 2025 is 23.00 + 23.00.
	if _, err := f.Svc.RefreshReports(context.Background(), 0, 0); err != nil {
		t.Fatal(err)
	}
	rep, err := f.Svc.TransitionReport(claimstest.Finance, reports.TransitionFilter{From: "2025-03", To: "2025-04"})
	if err != nil || len(rep.Items) != 2 || rep.Items[0].Total.String() != "46.00" || rep.Items[1].Total.String() != "46.00" {
		t.Fatalf("report: %+v %v", rep, err)
	}
	// A void of a repriced encounter reverses what it holds now.
	if _, err := f.Svc.VoidEncounter(f.Clinic, a.ID, "typo"); err != nil {
		t.Fatal(err)
	}
	if got := balance(t, f.Journal, "payable:ZZO-USK:DZ-BIHAC"); got != "-47.40" {
		t.Fatalf("ZZO USK payable after void %s", got)
	}
	f.checkBooks(t)
}

func TestRepricingLeavesSubmittedLines(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.PostOn(t, "S-1", "SFA-1", "2025-03-03")
	b := f.PostOn(t, "S-2", "SFA-2", "2025-03-04")
	st := f.StatementIn(t, "submitted", "2025-03") // holds a's and b's ZZO USK shares
	c := f.PostOn(t, "S-3", "SFA-3", "2025-03-05")
	draft := f.StatementIn(t, "draft", "2025-04") // holds c's ZZO USK share (late, from March)
	amendPZZ(t, f, "25")
	r, _, err := f.Svc.Reprice(admin, demo.ContractDZBihac, encounters.RepricingInput{From: date("2025-03-01"), To: date("2025-03-31")}, encounters.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	// Only c is repriced: 20.00 → 25.00 gives ZZO USK +3.00, IOM +2.00.
	if r.Encounters != 1 || r.HeldEncounters != 2 || len(r.OnSubmittedStatements) != 2 || deltas(r) != "IOM=2.00 ZZO-USK=3.00" {
		t.Fatalf("repricing: %+v", r)
	}
	for _, h := range r.OnSubmittedStatements {
		if h.StatementID != st.ID || (h.EncounterID != a.ID && h.EncounterID != b.ID) {
			t.Fatalf("held line %+v", h)
		}
	}
	if e, _ := f.Svc.FindEncounterByID(admin, a.ID); e.Total.String() != "20.00" {
		t.Fatal("an encounter on a submitted statement was repriced")
	}
	// c's old share came off the draft; refreshing the draft claims the new one.
	d, err := f.Svc.FindStatementByID(claimstest.Finance, draft.ID)
	if err != nil || d.Claimed.String() != "0.00" {
		t.Fatalf("draft after repricing: %v %v", d.Claimed, err)
	}
	if e, _ := f.Svc.FindEncounterByID(admin, c.ID); e.Total.String() != "25.00" {
		t.Fatal("c was not repriced")
	}
	f.checkBooks(t)
}

func TestRepricingAgainstConcurrentPosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const before, during = 12, 24
	for i := range before {
		f.PostOn(t, fmt.Sprintf("C-%d", i), fmt.Sprintf("SFA-%d", i), fmt.Sprintf("2025-02-%02d", i+1))
	}
	amendPZZ(t, f, "23")
	var wg sync.WaitGroup
	errs := make(chan error, during+1)
	for i := range during {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := claimstest.Visit(fmt.Sprintf("D-%d", i))
			in.PatientID, in.ServiceDate = fmt.Sprintf("SFA-D%d", i), date(fmt.Sprintf("2025-02-%02d", i%28+1))
			if _, err := f.Svc.PostEncounter(f.Clinic, in, key(fmt.Sprintf("D-%d", i))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, _, err := f.Svc.Reprice(admin, demo.ContractDZBihac, encounters.RepricingInput{From: date("2025-02-01"), To: date("2025-02-28")}, key("conc")); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Every encounter is priced under the amended tariff, once: 23.00 = 13.80 + 9.20.
	var wrong []string
	if err := f.DB.Select(&wrong, `SELECT e.external_id FROM encounters e
		JOIN encounter_lines l ON l.encounter_id = e.id AND l.revision = e.revision
		WHERE e.status = 'posted' AND (l.amount <> 23.00 OR e.total <> 23.00
			OR (SELECT count(*) FROM line_shares sh WHERE sh.encounter_id = e.id AND sh.revision = e.revision) <> 2
			OR (SELECT sum(amount) FILTER (WHERE payer_code = 'ZZO-USK') FROM line_shares sh WHERE sh.encounter_id = e.id AND sh.revision = e.revision) <> 13.80)`); err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Fatalf("priced under another regime: %v", wrong)
	}
	n := before + during
	if got := balance(t, f.Journal, "payable:ZZO-USK:DZ-BIHAC"); got != fmt.Sprintf("-%d.%02d", n*1380/100, n*1380%100) {
		t.Fatalf("ZZO USK payable %s for %d visits", got, n)
	}
	if got := balance(t, f.Journal, "payable:IOM:DZ-BIHAC"); got != fmt.Sprintf("-%d.%02d", n*920/100, n*920%100) {
		t.Fatalf("IOM payable %s for %d visits", got, n)
	}
	f.checkBooks(t)
}

func TestClosedMonth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fin := claimstest.Finance
	e := f.PostOn(t, "M-1", "SFA-1", "2025-03-10")
	f.PostOn(t, "M-2", "SFA-2", "2025-03-11")
	f.PostOn(t, "M-3", "SFA-3", "2025-04-11")
	p, err := f.Svc.ClosePeriod(fin, "2025-03")
	if err != nil || p.Status != "closed" || p.ChangedBy == "" {
		t.Fatalf("close: %+v %v", p, err)
	}
	_, err = f.Svc.ClosePeriod(fin, "2025-03")
	wantCode(t, err, trcledger.ESTATE, "invalid_state")
	_, err = f.Svc.ClosePeriod(fin, "2099-01")
	wantCode(t, err, trcledger.EINVALID, "")

	// Nothing dated in March is posted, in a single post, a batch or an import.
	in := claimstest.Visit("M-4")
	in.PatientID, in.ServiceDate = "SFA-4", date("2025-03-12")
	_, err = f.Svc.PostEncounter(f.Clinic, in, key("M-4"))
	wantCode(t, err, trcledger.ECONFLICT, "period_closed")
	ok := claimstest.Visit("M-5")
	ok.PatientID, ok.ServiceDate = "SFA-5", date("2025-04-12")
	_, err = f.Svc.PostBatch(f.Clinic, []encounters.EncounterInput{ok, in}, key("batch"))
	if terr := wantError(t, err, trcledger.ECONFLICT, "period_closed"); !fieldSet(terr)["encounters[1].service_date"] {
		t.Fatalf("batch error names %v", terr.Fields)
	}
	csv := "external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,diagnoses,service_code,quantity\n" +
		"I-1,IOM-DZBIH-2024,TRC-LIPA,SFA-7,irregular_migrant,2025-03-20,consultation,J06.9,PZZ-01,1\n" +
		"I-2,IOM-DZBIH-2024,TRC-LIPA,SFA-8,irregular_migrant,2025-04-20,consultation,J06.9,PZZ-01,1\n"
	imp, err := f.Svc.Import(f.Clinic, strings.NewReader(csv))
	if err != nil || imp.Accepted != 1 || imp.Rejected != 1 || imp.Errors[0].Code != "period_closed" || imp.Errors[0].Row != 2 {
		t.Fatalf("import: %+v %v", imp, err)
	}
	// Nor repriced.
	_, _, err = f.Svc.Reprice(admin, demo.ContractDZBihac, encounters.RepricingInput{From: date("2025-02-01"), To: date("2025-04-30")}, encounters.Idempotency{})
	wantCode(t, err, trcledger.ECONFLICT, "period_closed")

	if _, err := f.Svc.RefreshReports(context.Background(), 0, 0); err != nil {
		t.Fatal(err)
	}
	march := func() string {
		t.Helper()
		rep, err := f.Svc.TransitionReport(fin, reports.TransitionFilter{From: "2025-03", To: "2025-03"})
		if err != nil || len(rep.Items) != 1 {
			t.Fatalf("march: %+v %v", rep, err)
		}
		return rep.Items[0].Total.String()
	}
	if got := march(); got != "40.00" {
		t.Fatalf("march at close %s", got)
	}

	// A plain void is refused; booked in the first open month, it is done, and so is its
	// correction, both dated 2025-04-01 in the ledger.
	_, err = f.Svc.VoidEncounter(f.Clinic, e.ID, "wrong patient")
	wantCode(t, err, trcledger.ECONFLICT, "period_closed")
	if _, err := f.Svc.VoidEncounterWith(f.Clinic, e.ID, "wrong patient", encounters.VoidOptions{InOpenMonth: true}, encounters.Idempotency{}); err != nil {
		t.Fatal(err)
	}
	corr := claimstest.Visit("M-1")
	corr.PatientID, corr.ServiceDate, corr.Corrects = "SFA-9", date("2025-03-10"), &e.ID
	corr.Lines = []encounters.LineInput{{ServiceCode: "PZZ-01", Quantity: dec("2")}}
	cres, err := f.Svc.PostEncounter(f.Clinic, corr, key("M-1-corr"))
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Count(t, `SELECT count(*) FROM ledger_transactions WHERE effective_date = '2025-04-01' AND reference IN ($1, $2)`,
		"encounter:"+e.ID, "encounter:"+cres.Encounters[0].ID); n != 2 {
		t.Fatalf("%d late corrections dated 2025-04-01", n)
	}
	// One voided encounter has one live correction: naming it again (a way to post anything into
	// the closed month) is refused, in a single post and twice within one batch.
	again := corr
	again.ExternalID = "M-1-again"
	_, err = f.Svc.PostEncounter(f.Clinic, again, key("M-1-again"))
	wantCode(t, err, trcledger.EINVALID, "")
	twice := corr
	twice.ExternalID = "M-1-twice"
	_, err = f.Svc.PostBatch(f.Clinic, []encounters.EncounterInput{again, twice}, key("M-1-batch"))
	wantCode(t, err, trcledger.EINVALID, "")
	if n := f.Count(t, `SELECT count(*) FROM encounters WHERE corrects = $1`, e.ID); n != 1 {
		t.Fatalf("%d corrections of one voided encounter", n)
	}
	// March's report does not change while it is closed.
	if _, err := f.Svc.RefreshReports(context.Background(), 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := march(); got != "40.00" {
		t.Fatalf("march changed while closed: %s", got)
	}
	// Reopened (with a reason), it takes the correction in: 20.00 + 40.00.
	_, err = f.Svc.ReopenPeriod(fin, "2025-03", " ")
	wantCode(t, err, trcledger.EINVALID, "")
	if p, err := f.Svc.ReopenPeriod(fin, "2025-03", "late correction from the clinic"); err != nil || p.Status != "open" {
		t.Fatalf("reopen: %+v %v", p, err)
	}
	if _, err := f.Svc.RefreshReports(context.Background(), 0, 0); err != nil {
		t.Fatal(err)
	}
	if got := march(); got != "60.00" {
		t.Fatalf("march after reopening %s", got)
	}
	list, err := f.Svc.ListPeriods(fin)
	if err != nil || len(list) != 1 || len(list[0].Events) != 2 || list[0].Events[1].Reason == nil {
		b, _ := json.Marshal(list)
		t.Fatalf("periods: %s %v", b, err)
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_log WHERE object_type = 'period' AND object_id = '2025-03' AND action IN ('close', 'reopen')`); n != 2 {
		t.Fatalf("%d audit rows for close and reopen", n)
	}
	f.checkBooks(t)
}
