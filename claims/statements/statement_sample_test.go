package statements_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// cents is an amount in whole cents.
func cents(d decimal.Decimal) int64 { return d.Shift(2).IntPart() }

// wantSample draws the sample as docs/review-sampling.md describes it, without the service:
// the unflagged line ids ordered by the hex SHA-256 of "<seed>:<id>", the first ⌈n × p / 100⌉.
func wantSample(ids []int64, seed int64, percent int) []int64 {
	type keyed struct {
		key string
		id  int64
	}
	ks := make([]keyed, len(ids))
	for i, id := range ids {
		sum := sha256.Sum256(fmt.Appendf(nil, "%d:%d", seed, id))
		ks[i] = keyed{hex.EncodeToString(sum[:]), id}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].key < ks[j].key })
	k := (len(ids)*percent + 99) / 100
	out := make([]int64, k)
	for i := range out {
		out[i] = ks[i].id
	}
	return out
}

// wantRate is rejected ÷ sampled in millionths, rounded half up, from whole cents.
func wantRate(rejected, sampled int64) int64 { return (2*rejected*1_000_000 + sampled) / (2 * sampled) }

// wantApproved is amount × (1 − rate) in cents, rounded half up, from cents and millionths.
func wantApproved(amount, rateMicro int64) int64 {
	return (2*amount*(1_000_000-rateMicro) + 1_000_000) / 2_000_000
}

func rateString(micro int64) string { return fmt.Sprintf("%d.%06d", micro/1_000_000, micro%1_000_000) }

// TestReviewSampling: the sample of a seed is the same lines every time and for every reader,
// drawn as documented; extrapolating is refused while the sample is not decided by hand; then it
// applies the sample's rejected share by amount to the other unflagged lines, rounded half up
// to the cent, marks them extrapolated with seed, percent and rate, and the totals, the ledger
// and the reconciliation add up.
func TestReviewSampling(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	// 30 follow-up visits with quantities 1.00, 1.37, 1.74, ... (12.00 each, ZZO USK 60%) and a
	// wound dressing at its maximum quantity, which the submit checks flag.
	for i := range 30 {
		q := decimal.New(100+37*int64(i), -2)
		f.PostOn(t, fmt.Sprintf("S-%d", i), fmt.Sprintf("P-%d", i), fmt.Sprintf("2025-03-%02d", 1+i%28),
			encounters.LineInput{ServiceCode: "PZZ-02", Quantity: q})
	}
	f.PostOn(t, "S-FLAG", "P-FLAG", "2025-03-10", encounters.LineInput{ServiceCode: "PZZ-04", Quantity: dec("5")})
	st, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	st, err = f.Svc.SubmitStatement(f.Clinic, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	amount := map[int64]int64{}
	var unflagged []int64
	var flaggedID int64
	for _, l := range st.Lines {
		amount[l.ID] = cents(l.Amount.Decimal)
		if len(l.Flags) == 0 {
			unflagged = append(unflagged, l.ID)
		} else {
			flaggedID = l.ID
		}
	}
	if len(unflagged) != 30 || flaggedID == 0 {
		t.Fatalf("%d unflagged lines, flagged %d", len(unflagged), flaggedID)
	}
	ip := func(n int) *int { return &n }
	i64 := func(n int64) *int64 { return &n }

	// The sample: as documented, the same every time and for every reader of the statement.
	s1, err := f.Svc.FindSample(reviewer, st.ID, ip(10), i64(7))
	if err != nil {
		t.Fatal(err)
	}
	want := wantSample(unflagged, 7, 10)
	if !slices.Equal(s1.LineIDs, want) || s1.Size != 3 || s1.Population != 30 || len(s1.Lines) != 3 || s1.Rate != nil || s1.Decided != 0 || s1.Rest != 27 {
		t.Fatalf("sample = %v (size %d of %d, %d lines, rate %v), want %v", s1.LineIDs, s1.Size, s1.Population, len(s1.Lines), s1.Rate, want)
	}
	s2, err := f.Svc.FindSample(finance, st.ID, ip(10), i64(7))
	if err != nil || !slices.Equal(s2.LineIDs, s1.LineIDs) {
		t.Errorf("the same seed drew %v, then %v (%v)", s1.LineIDs, s2.LineIDs, err)
	}
	other, _ := f.Svc.FindSample(reviewer, st.ID, ip(10), i64(8))
	if slices.Equal(other.LineIDs, s1.LineIDs) || !slices.Equal(other.LineIDs, wantSample(unflagged, 8, 10)) {
		t.Errorf("seed 8 drew %v, seed 7 %v", other.LineIDs, s1.LineIDs)
	}
	if all, _ := f.Svc.FindSample(reviewer, st.ID, ip(100), i64(7)); all.Size != 30 || all.Rest != 0 {
		t.Errorf("100%%: size %d rest %d", all.Size, all.Rest)
	}
	_, err = f.Svc.FindSample(as(access.RoleReviewer, demo.PayerZZOKS), st.ID, ip(10), i64(7))
	wantCode(t, err, trcledger.ENOTFOUND, "")
	for _, c := range []struct {
		percent *int
		seed    *int64
		fields  []string
	}{{ip(0), i64(1), []string{"percent"}}, {ip(101), i64(1), []string{"percent"}}, {nil, nil, []string{"percent", "seed"}},
		{ip(5), i64(-1), []string{"seed"}}, {ip(5), i64(0), []string{"seed"}}, {ip(5), i64(statements.MaxSampleSeed + 1), []string{"seed"}}} {
		_, err := f.Svc.FindSample(reviewer, st.ID, c.percent, c.seed)
		if fs := fieldSet(wantError(t, err, trcledger.EINVALID, "")); len(fs) != len(c.fields) || !fs[c.fields[0]] || !fs[c.fields[len(c.fields)-1]] {
			t.Errorf("%v %v: fields %v, want %v", c.percent, c.seed, fs, c.fields)
		}
	}

	x := statements.BulkDecision{Decision: statements.Extrapolate, SamplePercent: ip(10), Seed: i64(7)}
	// Refused while the sample is undecided, naming its lines; nothing is decided.
	_, err = f.Svc.DecideBulk(reviewer, st.ID, x)
	e := wantError(t, err, trcledger.ESTATE, "sample_undecided")
	if fs := fieldSet(e); len(fs) != 3 || !fs[fmt.Sprintf("lines[id=%d].decision", want[0])] {
		t.Errorf("undecided fields %v", fs)
	}
	_, err = f.Svc.DecideBulk(as(access.RoleReviewer, demo.PayerZZOKS), st.ID, x)
	wantCode(t, err, trcledger.ENOTFOUND, "")
	_, err = f.Svc.DecideBulk(f.Clinic, st.ID, x)
	wantCode(t, err, trcledger.EFORBIDDEN, "")
	for _, bad := range []statements.BulkDecision{
		{Decision: statements.Extrapolate, SamplePercent: ip(0), Seed: i64(7)},
		{Decision: statements.Extrapolate, SamplePercent: ip(101), Seed: i64(7)},
		{Decision: statements.Extrapolate, Where: "flagged", SamplePercent: ip(10), Seed: i64(7)},
		{Decision: statements.Extrapolate, SamplePercent: ip(10)},
		{Decision: "approve", Where: "unflagged", Seed: i64(7)},
	} {
		_, err := f.Svc.DecideBulk(reviewer, st.ID, bad)
		wantCode(t, err, trcledger.EINVALID, "")
	}

	// The reviewer decides the sample: a rejection, an adjustment and an approval.
	half := decimal.New(amount[want[1]]/2, -2)
	if _, err := f.Svc.Decide(reviewer, st.ID, []statements.Decision{
		{LineID: want[0], Decision: "reject", ReasonCode: "not_covered"},
		{LineID: want[1], Decision: "adjust", ApprovedAmount: &half, ReasonCode: "tariff_error"},
		{LineID: want[2], Decision: "approve"},
	}); err != nil {
		t.Fatal(err)
	}
	sampled := amount[want[0]] + amount[want[1]] + amount[want[2]]
	rejected := amount[want[0]] + amount[want[1]] - amount[want[1]]/2
	rate := wantRate(rejected, sampled)
	s3, err := f.Svc.FindSample(reviewer, st.ID, ip(10), i64(7))
	if err != nil || s3.Rate == nil || *s3.Rate != rateString(rate) || s3.Decided != 3 || !s3.CanExtrapolate {
		t.Fatalf("decided sample: rate %v, want %s (%v)", s3.Rate, rateString(rate), err)
	}

	d, err := f.Svc.DecideBulk(reviewer, st.ID, x)
	if err != nil {
		t.Fatal(err)
	}
	if d.Decided != 27 || d.Extrapolation == nil || d.Extrapolation.Rate != rateString(rate) || d.Extrapolation.Seed != 7 ||
		d.Extrapolation.SamplePercent != 10 || !slices.Equal(d.Extrapolation.SampleLineIDs, want) ||
		cents(d.Extrapolation.SampledAmount.Decimal) != sampled || cents(d.Extrapolation.SampledRejected.Decimal) != rejected {
		t.Fatalf("extrapolate = %d lines, %+v", d.Decided, d.Extrapolation)
	}
	check := func(st *statements.Statement, hand map[int64]bool) int64 {
		t.Helper()
		var approvedTotal int64
		for _, l := range st.Lines {
			switch {
			case l.ID == flaggedID:
				if l.Extrapolated || (l.Decision != nil) != hand[l.ID] {
					t.Errorf("the flagged line: %v extrapolated %v", l.Decision, l.Extrapolated)
				}
				continue
			case slices.Contains(want, l.ID) || hand[l.ID]:
				if l.Extrapolated || l.Extrapolation != nil {
					t.Errorf("line %d decided by hand is marked extrapolated", l.ID)
				}
			default:
				a := wantApproved(amount[l.ID], rate)
				decision := "adjust"
				if a == amount[l.ID] {
					decision = "approve"
				}
				if !l.Extrapolated || l.Extrapolation == nil || l.Extrapolation.Rate != rateString(rate) || l.Extrapolation.Seed != 7 ||
					l.Extrapolation.SamplePercent != 10 || l.ApprovedAmount == nil || cents(l.ApprovedAmount.Decimal) != a || *l.Decision != decision ||
					(decision == "adjust" && (l.ReasonCode == nil || *l.ReasonCode != "other" || l.Note == nil)) {
					t.Errorf("line %d of %d: %v %v approved %v, want %s %d extrapolated", l.ID, amount[l.ID], l.Decision, l.Extrapolation, l.ApprovedAmount, decision, a)
				}
			}
			approvedTotal += cents(l.ApprovedAmount.Decimal)
		}
		return approvedTotal
	}
	if d.Lines == nil {
		t.Fatal("the answer has no lines")
	}
	check(&d.Statement, nil)

	// A line decided by hand afterwards is no longer extrapolated; extrapolating again leaves it
	// and re-applies the (unchanged) rate to the others.
	var handID int64
	for _, id := range unflagged {
		if !slices.Contains(want, id) {
			handID = id
			break
		}
	}
	if _, err := f.Svc.Decide(reviewer, st.ID, []statements.Decision{{LineID: handID, Decision: "approve"}}); err != nil {
		t.Fatal(err)
	}
	d, err = f.Svc.DecideBulk(reviewer, st.ID, x)
	if err != nil || d.Decided != 26 {
		t.Fatalf("second extrapolation: %v, %d lines", err, d.Decided)
	}
	check(&d.Statement, map[int64]bool{handID: true})
	if xs, err := f.Svc.FindExtrapolations(finance, st.ID); err != nil || len(xs) != 2 || xs[1].Lines != 26 {
		t.Errorf("extrapolations: %v %+v", err, xs)
	}

	// Completing the review fixes totals that add up, to the cent.
	if _, err := f.Svc.Decide(reviewer, st.ID, []statements.Decision{{LineID: flaggedID, Decision: "reject", ReasonCode: "quantity_exceeded"}}); err != nil {
		t.Fatal(err)
	}
	st, err = f.Svc.CompleteReview(reviewer, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	approved := check(st, map[int64]bool{handID: true, flaggedID: true})
	var claimed int64
	for _, a := range amount {
		claimed += a
	}
	if cents(st.Approved.Decimal) != approved || cents(st.Rejected.Decimal) != claimed-approved || cents(st.Claimed.Decimal) != claimed {
		t.Errorf("totals %s + %s of %s, want approved %d of %d", st.Approved, st.Rejected, st.Claimed, approved, claimed)
	}
	// The ledger took the difference off what ZZO USK owes: nothing else of March is unclaimed.
	if got := balance(t, f.Journal, "payable:ZZO-USK:DZ-BIHAC"); got != decimal.New(-approved, -2).StringFixed(2) {
		t.Errorf("payable = %s, want -%d cents", got, approved)
	}
	if v, err := f.Journal.Verify(ctx); err != nil || !v.OK {
		t.Errorf("verify: %+v %v", v, err)
	}
	rec, err := f.Svc.Reconciliation(finance, reports.ReconciliationFilter{})
	if err != nil || !rec.Consistent {
		t.Errorf("reconciliation: %v %+v", err, rec)
	}
	// The extrapolation is never changed; an extrapolated line stays so once reviewed.
	if _, err := f.DB.Exec(`UPDATE statement_extrapolations SET rate = 0`); err == nil {
		t.Error("an extrapolation was changed")
	}
	if _, err := f.DB.Exec(`UPDATE statement_lines SET extrapolation_id = NULL WHERE statement_id = $1`, st.ID); err == nil {
		t.Error("a reviewed line's extrapolation was changed")
	}
	// Every draw and every extrapolation is audited.
	if n := f.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'extrapolate' AND object_id = $1`, st.ID); n != 2 {
		t.Errorf("extrapolate audit entries: %d", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'sample' AND object_id = $1`, st.ID); n < 5 {
		t.Errorf("sample audit entries: %d", n)
	}
}
