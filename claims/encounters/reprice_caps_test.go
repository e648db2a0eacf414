package encounters_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/internal/claimstest"
	"github.com/trcledger/trcledger/internal/demo"
)

// Repricing under budget ceilings (docs/caps.md, docs/corrections.md). The money is worked out
// here by hand: PZZ-01 costs 20.00 on IOM-DZBIH-2024, 23.00 after the retroactive amendment;
// primary care in 2025 H1 is ZZO USK 60% / IOM 40%.

// capTrail is what a repricing may write: ledger transactions, cap uses, the cap-periods' used
// amounts, and the encounters' revisions.
func (f *fixture) capTrail(t *testing.T) string {
	t.Helper()
	var used, revs string
	if err := f.DB.Get(&used, `SELECT coalesce(string_agg(used::text, ',' ORDER BY cap_id, period_start), '') FROM cap_periods`); err != nil {
		t.Fatal(err)
	}
	if err := f.DB.Get(&revs, `SELECT coalesce(sum(revision), 0)::text FROM encounters`); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("ledger %d, uses %d (%d released), used %s, revisions %s", f.ledgerCount(t),
		f.Count(t, `SELECT count(*) FROM cap_uses`), f.Count(t, `SELECT count(*) FROM cap_uses WHERE released_at IS NOT NULL`), used, revs)
}

func (f *fixture) repriceMarch(t *testing.T, to string, dry bool) *encounters.RepricingResult {
	const from = "2025-03-01"
	t.Helper()
	r, _, err := f.Svc.Reprice(admin, demo.ContractDZBihac, encounters.RepricingInput{From: date(from), To: date(to), DryRun: dry}, encounters.Idempotency{})
	if err != nil {
		t.Fatalf("reprice %s..%s (dry run %v): %v", from, to, dry, err)
	}
	return r
}

// wantShares compares the stored shares of an encounter's first line (ZZO USK, IOM).
func wantShares(t *testing.T, f *fixture, e *encounters.Encounter, usk, iom string) {
	t.Helper()
	got, err := f.Svc.FindEncounterByID(admin, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	addsUp(t, got)
	if shareOf(got, demo.PayerZZOUSK) != usk || shareOf(got, demo.PayerIOM) != iom {
		t.Errorf("%s: USK %s IOM %s, want %s %s", e.ExternalID, shareOf(got, demo.PayerZZOUSK), shareOf(got, demo.PayerIOM), usk, iom)
	}
}

// TestRepricingGivesBackAndChargesCaps: ZZO USK is capped at 100.00 a month, overflowing to IOM.
// March fills it: 60.00 + 30.00 + 10.00 (14.00 of the third routed). A repricing with nothing
// changed writes nothing, though the third encounter's split (24.00/16.00) is not what it
// stores. PZZ-01 goes to 23.00 retroactively; the repricing gives back the 100.00 of March and
// charges the new shares in posting order: 69.00, then 31.00 of 34.50 (3.50 routed), then none
// of 27.60. April's 12.00 becomes 13.80. The dry run answers the delta the apply makes.
func TestRepricingGivesBackAndChargesCaps(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addCap(t, f, "month", "100.00", "2025-01-01", "route")
	e1 := gp(t, f, "P-1", "2025-03-03", "5")   // 100.00: USK 60.00, IOM 40.00
	e2 := gp(t, f, "P-2", "2025-03-04", "2.5") // 50.00: USK 30.00, IOM 20.00
	e3 := gp(t, f, "P-3", "2025-03-05", "2")   // 40.00: USK 24.00 → 10.00, 14.00 to IOM
	e4 := gp(t, f, "P-4", "2025-04-02", "1")   // 20.00: USK 12.00, IOM 8.00
	wantShares(t, f, e3, "10.00", "30.00")
	wantPeriod(t, f, "2025-03", "100.00", "0.00", "14.00")

	// Nothing changed: not even the routed encounter is repriced, dry run or applied.
	trail := f.capTrail(t)
	for _, dry := range []bool{true, false} {
		if r := f.repriceMarch(t, "2025-04-30", dry); r.Encounters != 0 || r.Lines != 0 || len(r.DeltaByPayer) != 0 || r.Examined != 4 {
			t.Fatalf("repricing without an amendment (dry run %v): %+v", dry, r)
		}
	}
	if got := f.capTrail(t); got != trail {
		t.Fatalf("a repricing without change wrote: %s, was %s", got, trail)
	}

	amendPZZ(t, f, "23")
	// New splits: 115.00 = 69.00 + 46.00; 57.50 = 34.50 + 23.00; 46.00 = 27.60 + 18.40;
	// 23.00 = 13.80 + 9.20. After caps, in March: USK 69.00, 31.00, 0.00 (100.00 as before);
	// IOM 46.00, 26.50, 46.00 (118.50 for 90.00). April: USK +1.80, IOM +1.20.
	const wantDelta = "IOM=29.70 ZZO-USK=1.80"
	dry := f.repriceMarch(t, "2025-04-30", true)
	if dry.Encounters != 4 || dry.Lines != 4 || deltas(dry) != wantDelta || dry.ID != nil {
		t.Fatalf("dry run: %+v (%s)", dry, deltas(dry))
	}
	if got := f.capTrail(t); got != trail {
		t.Fatalf("the dry run wrote: %s, was %s", got, trail)
	}
	done := f.repriceMarch(t, "2025-04-30", false)
	if done.Encounters != dry.Encounters || done.Lines != dry.Lines || deltas(done) != deltas(dry) || done.ID == nil {
		t.Fatalf("applied %+v (%s), the dry run said %+v (%s)", done, deltas(done), dry, deltas(dry))
	}
	wantShares(t, f, e1, "69.00", "46.00")
	wantShares(t, f, e2, "31.00", "26.50")
	wantShares(t, f, e3, "0.00", "46.00")
	wantShares(t, f, e4, "13.80", "9.20")
	wantPeriod(t, f, "2025-03", "100.00", "0.00", "31.10") // 3.50 + 27.60
	wantPeriod(t, f, "2025-04", "13.80", "86.20", "0.00")
	// Each old use is given back (4) and each new share charged (4).
	if n, m := f.Count(t, `SELECT count(*) FROM cap_uses WHERE released_at IS NOT NULL`), f.Count(t, `SELECT count(*) FROM cap_uses WHERE released_at IS NULL`); n != 4 || m != 4 {
		t.Errorf("%d uses released, %d live; want 4 and 4", n, m)
	}
	// The ledger: USK 69.00 + 31.00 + 0.00 + 13.80; IOM 46.00 + 26.50 + 46.00 + 9.20.
	for acct, want := range map[string]string{
		"payable:ZZO-USK:DZ-BIHAC": "-113.80", "expense:ZZO-USK": "113.80",
		"payable:IOM:DZ-BIHAC": "-127.70", "expense:IOM": "127.70",
	} {
		if got := balance(t, f.Journal, acct); got != want {
			t.Errorf("%s %s, want %s", acct, got, want)
		}
	}
	wantConsistent(t, f)

	// Again: the stored shares are the capped ones, and nothing has changed.
	trail = f.capTrail(t)
	if r := f.repriceMarch(t, "2025-04-30", false); r.Encounters != 0 || len(r.DeltaByPayer) != 0 {
		t.Fatalf("second repricing: %+v", r)
	}
	if got := f.capTrail(t); got != trail {
		t.Fatalf("the second repricing wrote: %s, was %s", got, trail)
	}

	// A void gives back what the repriced shares consumed (31.00), and the next post uses it.
	if _, err := f.Svc.VoidEncounter(f.Clinic, e2.ID, "wrong patient"); err != nil {
		t.Fatal(err)
	}
	wantPeriod(t, f, "2025-03", "69.00", "31.00", "27.60")
	e5 := gp(t, f, "P-5", "2025-03-20", "1") // 23.00: USK 13.80 fits
	wantShares(t, f, e5, "13.80", "9.20")
	wantPeriod(t, f, "2025-03", "82.80", "17.20", "27.60")
	// The claims follow: USK claims 69.00 + 13.80 for March (P-3's 0.00 is no share), IOM
	// 46.00 + 46.00 + 9.20.
	for payer, want := range map[string]string{demo.PayerZZOUSK: "82.80", demo.PayerIOM: "101.20"} {
		st, err := f.Svc.CreateStatement(claimstest.Finance, demo.ProviderDZBihac, payer, "2025-03")
		if err != nil {
			t.Fatal(err)
		}
		if st.Claimed.String() != want {
			t.Errorf("%s claims %s for March, want %s", payer, st.Claimed, want)
		}
	}
	wantConsistent(t, f)
}

// TestRepricingWarnCapFlagsOverCap: a warn cap of 25.00 a month. Two visits of 20.00 charge USK
// 12.00 each, within the ceiling, and sit on a draft statement. At 23.00 they charge 13.80
// each: the second goes 2.60 beyond. The shares do not move; the repricing takes the lines off
// the draft, and when the statement is built again and submitted, the second line is flagged
// over_cap, as a post beyond the ceiling would be. Flags are worked out at submit only.
func TestRepricingWarnCapFlagsOverCap(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addCap(t, f, "month", "25.00", "2025-01-01", "warn")
	a := gp(t, f, "W-1", "2025-03-03", "1")
	b := gp(t, f, "W-2", "2025-03-04", "1")
	wantPeriod(t, f, "2025-03", "24.00", "1.00", "0.00")
	draft, err := f.Svc.CreateStatement(claimstest.Finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil || draft.Claimed.String() != "24.00" {
		t.Fatalf("draft: %+v %v", draft, err)
	}
	amendPZZ(t, f, "23")
	dry := f.repriceMarch(t, "2025-03-31", true)
	done := f.repriceMarch(t, "2025-03-31", false)
	if done.Encounters != 2 || deltas(done) != "IOM=2.40 ZZO-USK=3.60" || deltas(dry) != deltas(done) {
		t.Fatalf("repricing %+v (%s), dry run %s", done, deltas(done), deltas(dry))
	}
	wantShares(t, f, a, "13.80", "9.20")
	wantShares(t, f, b, "13.80", "9.20")
	p := capPeriod(t, f, "2025-03")
	if p.Used.String() != "27.60" || p.Left.String() != "0.00" || p.Over.String() != "2.60" {
		t.Errorf("period %+v, want used 27.60 left 0.00 over 2.60", p)
	}
	if n := f.Count(t, `SELECT count(*) FROM cap_uses WHERE encounter_id = $1 AND released_at IS NULL AND over = 2.60`, b.ID); n != 1 {
		t.Errorf("W-2's live use is not 2.60 over")
	}
	st, err := f.Svc.CreateStatement(claimstest.Finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil || st.ID != draft.ID || st.Claimed.String() != "27.60" {
		t.Fatalf("the draft built again: %+v %v", st, err)
	}
	if _, err := f.Svc.SubmitStatement(claimstest.Finance, st.ID); err != nil {
		t.Fatal(err)
	}
	full, err := f.Svc.FindStatementByID(claimstest.Finance, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	flagged := map[string]bool{}
	for _, l := range full.Lines {
		flagged[l.EncounterID] = slices.Contains(l.Flags, "over_cap")
	}
	if len(full.Lines) != 2 || flagged[a.ID] || !flagged[b.ID] {
		t.Errorf("over_cap on W-1 %v, W-2 %v (%d lines); want only W-2", flagged[a.ID], flagged[b.ID], len(full.Lines))
	}
	wantConsistent(t, f)
}

// TestRepricingWithCapsAgainstConcurrentPosts: ZZO USK is capped at 100.00 a month. Ten visits
// of early February (120.00 of demand) are repriced at 23.00 while new visits are posted inside
// and outside the range and two February encounters are voided, all at once. Every encounter
// ends priced under the amendment, USK carries exactly what February's cap-period has used,
// never more than 100.00, IOM the rest, and no transaction deadlocked.
func TestRepricingWithCapsAgainstConcurrentPosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addCap(t, f, "month", "100.00", "2025-01-01", "route")
	var early []*encounters.Encounter
	for i := range 10 {
		early = append(early, gp(t, f, fmt.Sprintf("E-%d", i), fmt.Sprintf("2025-02-%02d", i+1), "1"))
	}
	late := gp(t, f, "L-0", "2025-02-20", "1") // outside the range, in the same cap-period
	wantPeriod(t, f, "2025-02", "100.00", "0.00", "32.00")
	amendPZZ(t, f, "23")
	var deadlocksBefore int
	if err := f.DB.Get(&deadlocksBefore, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	run := func(do func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := do(); err != nil {
				errs <- err
			}
		}()
	}
	for i := range 16 {
		run(func() error {
			day := fmt.Sprintf("2025-02-%02d", 11+i) // the 11th to the 14th are in the range
			in := visit(fmt.Sprintf("N-%d", i), encounters.LineInput{ServiceCode: "PZZ-01", Quantity: dec("1")})
			in.PatientID, in.ServiceDate = fmt.Sprintf("SFA-N-%d", i), date(day)
			_, err := f.Svc.PostEncounter(f.Clinic, in, key(fmt.Sprintf("N-%d", i)))
			return err
		})
	}
	run(func() error {
		_, _, err := f.Svc.Reprice(admin, demo.ContractDZBihac, encounters.RepricingInput{From: date("2025-02-01"), To: date("2025-02-14")}, key("caps-conc"))
		return err
	})
	for _, e := range []*encounters.Encounter{early[0], late} {
		run(func() error {
			_, err := f.Svc.VoidEncounter(f.Clinic, e.ID, "wrong patient")
			return err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	var wrong []string
	if err := f.DB.Select(&wrong, `SELECT e.external_id FROM encounters e
		JOIN encounter_lines l ON l.encounter_id = e.id AND l.revision = e.revision
		WHERE e.status = 'posted' AND (l.amount <> 23.00 OR e.total <> 23.00
			OR l.amount <> (SELECT sum(amount) FROM line_shares sh WHERE sh.encounter_id = e.id AND sh.revision = e.revision)
			OR EXISTS (SELECT 1 FROM line_shares sh WHERE sh.encounter_id = e.id AND sh.revision = e.revision AND sh.amount < 0))`); err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Fatalf("not priced under the amendment, or not adding up: %v", wrong)
	}
	var sums struct {
		USK   decimal.Decimal `db:"usk"`
		IOM   decimal.Decimal `db:"iom"`
		Total decimal.Decimal `db:"total"`
		N     int             `db:"n"`
	}
	if err := f.DB.Get(&sums, `SELECT
			coalesce(sum(sh.amount) FILTER (WHERE sh.payer_code = 'ZZO-USK'), 0) AS usk,
			coalesce(sum(sh.amount) FILTER (WHERE sh.payer_code = 'IOM'), 0) AS iom,
			coalesce(sum(sh.amount), 0) AS total, count(DISTINCT e.id) AS n
		FROM encounters e JOIN line_shares sh ON sh.encounter_id = e.id AND sh.revision = e.revision
		WHERE e.status = 'posted' AND e.service_date BETWEEN '2025-02-01' AND '2025-02-28'`); err != nil {
		t.Fatal(err)
	}
	// 9 early visits (E-1 to E-9) and 16 new ones are posted, 23.00 each.
	if sums.N != 25 || sums.Total.StringFixed(2) != "575.00" || !sums.USK.Add(sums.IOM).Equal(sums.Total) {
		t.Fatalf("February: %+v", sums)
	}
	p := capPeriod(t, f, "2025-02")
	if !p.Used.Equal(sums.USK) || p.Used.GreaterThan(decimal.NewFromInt(100)) {
		t.Errorf("USK carries %s; the cap-period used %s of 100.00", sums.USK, p.Used)
	}
	// The repricing fills the period again (110.40 of demand besides E-0's); only E-0's void,
	// if it comes last, leaves room unused: at most its 13.80.
	if p.Used.LessThan(dec("86.20")) {
		t.Errorf("the cap-period used only %s", p.Used)
	}
	if got := balance(t, f.Journal, "expense:ZZO-USK"); got != sums.USK.StringFixed(2) {
		t.Errorf("expense:ZZO-USK %s, want %s", got, sums.USK.StringFixed(2))
	}
	var deadlocks int
	if err := f.DB.Get(&deadlocks, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`); err != nil {
		t.Fatal(err)
	}
	if deadlocks != deadlocksBefore {
		t.Errorf("%d deadlocks (retried by pg.WithTx, but the lock order is wrong)", deadlocks-deadlocksBefore)
	}
	wantConsistent(t, f)
}

// TestRepricingLocksCapsAfterClaims: a repricing takes the cap-periods only after the claims
// locks, as a void does (claims, then the cap-periods it gives back), so that a void of another
// encounter of the same cap-period never waits for it in the other order. The test holds IOM's
// claims lock as a void would; the repricing waits for it holding no lock on cap_periods.
func TestRepricingLocksCapsAfterClaims(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	addCap(t, f, "month", "100.00", "2025-01-01", "route")
	gp(t, f, "K-1", "2025-03-03", "5")
	gp(t, f, "K-2", "2025-03-04", "2")
	amendPZZ(t, f, "23")
	ctx := context.Background()
	void, err := f.DB.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = void.Rollback() }()
	if err := claims.LockClaims(ctx, void, demo.ProviderDZBihac, []string{demo.PayerIOM}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := f.Svc.Reprice(admin, demo.ContractDZBihac, encounters.RepricingInput{From: date("2025-03-01"), To: date("2025-03-31")}, encounters.Idempotency{})
		done <- err
	}()
	var pid int
	for deadline := time.Now().Add(10 * time.Second); pid == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the repricing never waited for the claims lock")
		}
		if err := void.Get(&pid, `SELECT coalesce(max(l.pid), 0) FROM pg_locks l
			WHERE l.locktype = 'advisory' AND NOT l.granted AND l.pid <> pg_backend_pid()`); err != nil {
			t.Fatal(err)
		}
	}
	var held []string
	if err := void.Select(&held, `SELECT mode FROM pg_locks WHERE pid = $1 AND relation = 'cap_periods'::regclass`, pid); err != nil {
		t.Fatal(err)
	}
	if len(held) > 0 {
		t.Errorf("the repricing holds %v on cap_periods while it waits for the claims lock", held)
	}
	if err := void.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantPeriod(t, f, "2025-03", "96.60", "3.40", "0.00") // USK 60.00 + 24.00 becomes 69.00 + 27.60
	wantConsistent(t, f)
}
