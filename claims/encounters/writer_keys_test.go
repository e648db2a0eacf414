package encounters_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
)

// TestKeyRecordedWhileTheClaimWaitsReplays: a post whose key another transaction records while
// the writer's claim waits for it replays that answer (not 409 idempotency_key_in_progress) and
// writes nothing. The keys' answers must be read by a statement that sees that commit: a
// statement that claims the keys and reads their answers in one snapshot does not (tried on
// 2026-12-01, docs/benchmark.md), and needs to read them again.
func TestKeyRecordedWhileTheClaimWaitsReplays(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	idem := func(k string) claims.Idempotency {
		return claims.Idempotency{Key: k, RequestHash: []byte("the body of KR-1")}
	}
	first, err := f.Svc.PostEncounter(f.Clinic, visit("KR-1"), idem("kr-1"))
	if err != nil {
		t.Fatal(err)
	}
	// Another transaction records key kr-2 with kr-1's request and answer, and holds it.
	hold, err := f.DB.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hold.Rollback() }()
	if _, err := hold.Exec(`INSERT INTO idempotency_keys (scope, key, request_hash, status, response, keyed)
		SELECT scope, 'kr-2', request_hash, status, response, keyed FROM idempotency_keys WHERE key = 'kr-1'`); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		res *encounters.PostResult
		err error
	}
	got := make(chan answer, 1)
	go func() {
		res, err := f.Svc.PostEncounter(f.Clinic, visit("KR-1"), idem("kr-2"))
		got <- answer{res, err}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		if err := f.DB.Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO idempotency_keys%'`); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer's claim never waited for the held key")
		}
	}
	if err := hold.Commit(); err != nil {
		t.Fatal(err)
	}
	a := <-got
	if a.err != nil {
		t.Fatalf("post with the key recorded meanwhile: %v", a.err)
	}
	if !a.res.Replayed || !bytes.Equal(a.res.Body, first.Body) {
		t.Fatalf("post with the key recorded meanwhile: replayed %v, body %s; want the answer of kr-1 %s", a.res.Replayed, a.res.Body, first.Body)
	}
	var n int
	if err := f.DB.Get(&n, `SELECT count(*) FROM encounters WHERE external_id = 'KR-1'`); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d encounters KR-1, want 1", n)
	}
}
