package statements_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/internal/claimstest"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/internal/demo"
)

// TestSampleDecidedBeforeItsDrawIsRefused: the draw of a seed is public, so a reviewer could
// reject costly lines first and then pick a seed whose sample holds them. Only decisions taken
// after the sample was first drawn count: an undrawn sample, or one whose lines were decided
// before its draw, is refused; deciding them again after the draw makes it good.
func TestSampleDecidedBeforeItsDrawIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 10 {
		f.PostOn(t, fmt.Sprintf("O-%d", i), fmt.Sprintf("PO-%d", i), fmt.Sprintf("2025-03-%02d", 1+i),
			encounters.LineInput{ServiceCode: "PZZ-02", Quantity: decimal.New(100+int64(i), -2)})
	}
	st, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if st, err = f.Svc.SubmitStatement(f.Clinic, st.ID); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, l := range st.Lines {
		ids = append(ids, l.ID)
	}
	percent, seed := 20, int64(11)
	sample := wantSample(ids, seed, percent)
	x := statements.BulkDecision{Decision: statements.Extrapolate, SamplePercent: &percent, Seed: &seed}

	// Decided an hour before anything was drawn (another service on an earlier clock).
	early := statements.NewService(f.DB, func() time.Time { return claimstest.Today.Add(-time.Hour) }, claimstest.TestKey, f.Journal)
	var ds []statements.Decision
	for _, id := range sample {
		ds = append(ds, statements.Decision{LineID: id, Decision: "reject", ReasonCode: "not_covered"})
	}
	if _, err := early.Decide(reviewer, st.ID, ds); err != nil {
		t.Fatal(err)
	}
	_, err = f.Svc.DecideBulk(reviewer, st.ID, x)
	wantCode(t, err, trcledger.ESTATE, "sample_not_drawn")
	if _, err := f.Svc.FindSample(reviewer, st.ID, &percent, &seed); err != nil {
		t.Fatal(err)
	}
	_, err = f.Svc.DecideBulk(reviewer, st.ID, x)
	wantCode(t, err, trcledger.ESTATE, "sample_predecided")
	// Decided again after the draw, the sample's rate is applied to the other 8 lines.
	if _, err := f.Svc.Decide(reviewer, st.ID, ds); err != nil {
		t.Fatal(err)
	}
	d, err := f.Svc.DecideBulk(reviewer, st.ID, x)
	if err != nil || d.Decided != len(ids)-len(sample) {
		t.Fatalf("after deciding again: %+v %v", d, err)
	}
}
