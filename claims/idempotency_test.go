package claims_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/migrations"
)

// TestLegacyIdempotencyKeysAreRekeyed takes a key recorded the way posts recorded them before
// migration 0013 (the plain SHA-256 of the body) through the migration: it still replays, the
// rekeying leaves no plain digest in the table, and it replays and refuses another body after.
func TestLegacyIdempotencyKeysAreRekeyed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	in := visit("V-1")
	body := postBody(in.PatientID)
	plain := sha256.Sum256([]byte(body))
	idem := claims.Idempotency{Key: "old-1", RequestHash: plain[:]}
	first, err := f.svc.PostEncounter(f.clinic, in, idem)
	if err != nil {
		t.Fatal(err)
	}

	provider, err := goose.NewProvider(goose.DialectPostgres, f.db.DB, migrations.FS, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.DownTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	// What the code before 0013 stored for this post.
	if _, err := f.db.Exec(`UPDATE idempotency_keys SET request_hash = $1 WHERE key = 'old-1'`, plain[:]); err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx, f.db); err != nil {
		t.Fatal(err)
	}
	var keyed bool
	if err := f.db.Get(&keyed, `SELECT keyed FROM idempotency_keys WHERE key = 'old-1'`); err != nil || keyed {
		t.Fatalf("the old row is keyed = %v after migrating (%v)", keyed, err)
	}

	replays := func(when string) {
		t.Helper()
		again, err := f.svc.PostEncounter(f.clinic, in, idem)
		if err != nil || !again.Replayed || !bytes.Equal(again.Body, first.Body) {
			t.Fatalf("%s: the same key and body: %v, replayed %v", when, err, again != nil && again.Replayed)
		}
		other := sha256.Sum256([]byte(body + " "))
		_, err = f.svc.PostEncounter(f.clinic, visit("V-9"), claims.Idempotency{Key: "old-1", RequestHash: other[:]})
		wantCode(t, err, trcledger.ECONFLICT, "idempotency_key_reused")
	}
	replays("before rekeying")

	n, err := f.svc.RekeyLegacyIdempotencyKeys(ctx)
	if err != nil || n != 1 {
		t.Fatalf("rekeyed %d keys (%v), want 1", n, err)
	}
	if n, err := f.svc.RekeyLegacyIdempotencyKeys(ctx); err != nil || n != 0 {
		t.Fatalf("rekeyed %d keys a second time (%v)", n, err)
	}
	var stored []byte
	if err := f.db.Get(&stored, `SELECT request_hash FROM idempotency_keys WHERE key = 'old-1' AND keyed`); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stored, plain[:]) {
		t.Fatal("the plain digest is still stored")
	}
	replays("after rekeying")
	var posted int
	if err := f.db.Get(&posted, `SELECT count(*) FROM encounters`); err != nil || posted != 1 {
		t.Errorf("%d encounters posted, want 1 (%v)", posted, err)
	}
}
