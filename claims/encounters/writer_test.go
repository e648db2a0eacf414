package encounters_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/background"
	"github.com/trcledger/trcledger/claims/encounters"
)

// TestWriterAnswersEveryOutcomeInOneCall hands the writer one call of mixed jobs and checks
// that each gets its own outcome, that only the stored ones are written, and that the keys of
// the others are given back.
func TestWriterAnswersEveryOutcomeInOneCall(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	first, err := f.Svc.PostEncounter(f.Clinic, visit("W-REPLAY"), key("w-replay"))
	if err != nil {
		t.Fatal(err)
	}
	taken, err := f.Svc.PostEncounter(f.Clinic, visit("W-TAKEN"), claims.Idempotency{})
	if err != nil {
		t.Fatal(err)
	}
	var posted encounters.Encounter
	if err := json.Unmarshal(taken.Body, &posted); err != nil {
		t.Fatal(err)
	}
	correction := visit("W-CORRECTS")
	correction.Corrects = sp(posted.ID) // still posted: not a correction yet
	badBatch := visit("W-BATCH-2")
	badBatch.Corrects = sp(posted.ID)
	jobs := []encounters.WriteTest{
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("W-NEW")}, Idem: key("w-new")},                          // 0 stored
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("W-REPLAY")}, Idem: key("w-replay")},                    // 1 replayed
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("W-OTHER")}, Idem: idemOf("w-replay", "W-OTHER")},       // 2 replayed: 409
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("W-TAKEN")}, Idem: key("w-taken")},                      // 3 duplicate
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("W-STALE")}, Idem: key("w-stale"), Stale: true},         // 4 stale
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{correction}, Idem: key("w-corrects")},                         // 5 invalid
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("W-BATCH-1"), badBatch}, Idem: key("w-b"), Batch: true}, // 6 invalid
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("W-BS-1"), visit("W-BS-2")}, Batch: true, Stale: true},  // 7 stale
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("W-SAME")}, Idem: key("w-same")},                        // 8 stored
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("W-SAME")}, Idem: key("w-same")},                        // 9 replays 8
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("W-NEW")}},                                              // 10 duplicate of 0
	}
	got, err := f.Svc.Write(ctx, jobs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"stored", "replayed", "replayed", "duplicate_external_id", "stale_price", "invalid", "invalid", "stale_price", "stored", "replayed", "duplicate_external_id"}
	for i, w := range want {
		if got[i].Outcome != w {
			t.Errorf("job %d: outcome %s (%v), want %s", i, got[i].Outcome, got[i].Err, w)
		}
	}
	if string(got[1].Result.Body) != string(first.Body) || !got[1].Result.Replayed {
		t.Errorf("job 1 replayed another answer")
	}
	wantCode(t, got[2].Err, trcledger.ECONFLICT, "idempotency_key_reused")
	if e := wantError(t, got[3].Err, trcledger.ECONFLICT, "duplicate_external_id"); e.Extra["existing_id"] != posted.ID {
		t.Errorf("duplicate names %v, want %s", e.Extra["existing_id"], posted.ID)
	}
	if e := wantError(t, got[5].Err, trcledger.EINVALID, ""); !fieldSet(e)["corrects"] {
		t.Errorf("invalid names %v", e.Fields)
	}
	if e := wantError(t, got[6].Err, trcledger.EINVALID, ""); !fieldSet(e)["encounters[1].corrects"] {
		t.Errorf("invalid batch names %v", e.Fields)
	}
	if string(got[9].Result.Body) != string(got[8].Result.Body) || !got[9].Result.Replayed {
		t.Errorf("the second job with one key did not replay the first")
	}
	wantCode(t, got[10].Err, trcledger.ECONFLICT, "duplicate_external_id")

	// Written: the two before, W-NEW and W-SAME, each with its ledger transaction and audit row.
	if n := f.Count(t, `SELECT count(*) FROM encounters`); n != 4 {
		t.Errorf("%d encounters, want 4", n)
	}
	for _, ext := range []string{"W-STALE", "W-CORRECTS", "W-BATCH-1", "W-BATCH-2", "W-BS-1", "W-BS-2", "W-OTHER"} {
		if n := f.Count(t, `SELECT count(*) FROM encounters WHERE external_id = $1`, ext); n != 0 {
			t.Errorf("%s was written", ext)
		}
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'post'`); n != 4 {
		t.Errorf("%d post audit rows, want 4", n)
	}
	if v, err := f.Journal.Verify(ctx); err != nil || !v.OK || v.TransactionsChecked != 4 {
		t.Errorf("verify %+v %v", v, err)
	}
	// The keys of jobs that were not stored are free again; stored ones keep their answer.
	if n := f.Count(t, `SELECT count(*) FROM idempotency_keys`); n != 3 {
		t.Errorf("%d keys kept, want 3 (w-replay, w-new, w-same)", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM idempotency_keys WHERE response IS NULL`); n != 0 {
		t.Errorf("%d keys without their answer", n)
	}
	// The stale batch, priced again by its policy, is written whole.
	res, err := f.Svc.PostBatch(f.Clinic, []encounters.EncounterInput{visit("W-BS-1"), visit("W-BS-2")}, key("w-bs"))
	if err != nil || res.Replayed {
		t.Fatalf("batch again: %v", err)
	}
}

// TestConcurrentPostsWithOneKeyPostOnce: a clinic's retries of one post, sent at once, post
// one encounter and all get its answer.
func TestConcurrentPostsWithOneKeyPostOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	concurrently(t, 40, func() (*claims.PostResult, error) {
		res, err := f.Svc.PostEncounter(f.Clinic, visit("K-ONCE"), key("k-once"))
		if err != nil {
			return nil, err
		}
		return &res.PostResult, nil
	})
	if n := f.Count(t, `SELECT count(*) FROM encounters`); n != 1 {
		t.Errorf("%d encounters, want 1", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM ledger_transactions`); n != 1 {
		t.Errorf("%d ledger transactions, want 1", n)
	}
}

// TestShutdownAnswersAcceptedPosts: posts the committer has accepted when the server shuts
// down are all written and answered before Stop returns, and the chain covers them; a post
// after Stop is refused and writes nothing.
func TestShutdownAnswersAcceptedPosts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bg := background.New(f.Svc.Encounters, f.Svc.Reports, f.Journal, slog.New(slog.NewTextHandler(io.Discard, nil)))
	bg.Start(context.Background())
	const n = 150
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.Svc.PostEncounter(f.Clinic, visit(fmt.Sprintf("S-%d", i)), key(fmt.Sprintf("s-%d", i)))
		}()
	}
	for deadline := time.Now().Add(30 * time.Second); f.Svc.AcceptedPosts() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d posts accepted", f.Svc.AcceptedPosts())
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("post %d: %v", i, err)
		}
	}
	if got := f.Count(t, `SELECT count(*) FROM encounters`); got != n {
		t.Errorf("%d encounters, want %d", got, n)
	}
	if got := f.Count(t, `SELECT count(*) FROM idempotency_keys WHERE response IS NOT NULL`); got != n {
		t.Errorf("%d answered keys, want %d", got, n)
	}
	if got := f.Count(t, `SELECT count(*) FROM ledger_transactions WHERE id NOT IN (SELECT transaction_id FROM ledger_chain)`); got != 0 {
		t.Errorf("%d ledger transactions left unsealed", got)
	}
	if v, err := f.Journal.Verify(ctx); err != nil || !v.OK || v.TransactionsChecked != n {
		t.Errorf("verify %+v %v", v, err)
	}
	_, err := f.Svc.PostEncounter(f.Clinic, visit("S-LATE"), key("s-late"))
	wantCode(t, err, trcledger.EUNAVAILABLE, "") // a 503: retry with the same key elsewhere or later
	if got := f.Count(t, `SELECT count(*) FROM encounters`); got != n {
		t.Errorf("%d encounters after a late post, want %d", got, n)
	}
}
