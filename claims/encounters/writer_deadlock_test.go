package encounters_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/trcledger/trcledger/claims/encounters"
)

// TestWritersTakeExternalIDsInOneOrder: two writer calls (two groups, or chunks of two
// uploads) with the same external ids in opposite orders must not deadlock on the unique index
// (they did when the insert took them in job order: both stalled for deadlock_timeout). A third
// transaction holding DL-Z only makes the interleaving deterministic.
func TestWritersTakeExternalIDsInOneOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.Svc.PostEncounter(f.Clinic, visit("TPL"), key("tpl")); err != nil {
		t.Fatal(err)
	}
	jobs := func(exts ...string) []encounters.WriteTest {
		var out []encounters.WriteTest
		for _, e := range exts {
			out = append(out, encounters.WriteTest{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit(e)}})
		}
		return out
	}
	hold := holdExternalID(t, f, "DL-Z")
	var wg sync.WaitGroup
	outs := make([][]encounters.WriteResult, 2)
	errs := make([]error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		outs[0], errs[0] = f.Svc.Write(context.Background(), jobs("DL-X", "DL-Z", "DL-Y"))
	}()
	waitBlocked(t, f) // A has DL-X, waits on DL-Z
	wg.Add(1)
	go func() { defer wg.Done(); outs[1], errs[1] = f.Svc.Write(context.Background(), jobs("DL-Y", "DL-X")) }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		_ = f.DB.Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO encounters%'`)
		if n >= 2 || time.Now().After(deadline) {
			break
		}
	}
	start := time.Now()
	_ = hold.Rollback() // A goes on to DL-Y, which B holds; B waits on DL-X, which A holds
	wg.Wait()
	took := time.Since(start)
	t.Logf("after the release: %v; errs %v", took, errs)
	for i, o := range outs {
		for j, r := range o {
			t.Logf("call %d job %d: %s", i, j, r.Outcome)
		}
	}
	if took > 900*time.Millisecond {
		t.Errorf("the two calls deadlocked (%v: deadlock_timeout, then pg.WithTx's retry)", took)
	}
}
