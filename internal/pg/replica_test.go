package pg_test

import (
	"context"
	"testing"
	"time"

	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/internal/pgtest"
)

// TestReplicaReadDB: a nil replica reads the primary; a replica is used only once a check has
// found it caught up, and its pool refuses writes (default_transaction_read_only). A "replica"
// that is a primary (no replay position) counts as caught up at every check. The streaming case,
// lag and fallback, is TestReplicaAnswersAsThePrimary (cmd/trcledger).
func TestReplicaReadDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	primary, err := pg.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	var none *pg.Replica
	if none.ReadDB(primary) != primary {
		t.Error("a nil replica did not answer the primary")
	}
	r, err := pg.OpenReplica(ctx, url, primary, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.ReadDB(primary) != primary {
		t.Error("a replica never checked was used")
	}
	if err := r.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if r.ReadDB(primary) != r.DB() {
		t.Error("a caught-up replica was not used")
	}
	if lag, ok := r.Lag(); !ok || lag > time.Second {
		t.Errorf("lag %s, used %v", lag, ok)
	}
	if _, err := r.DB().ExecContext(ctx, `CREATE TABLE replica_probe (n int)`); err == nil {
		t.Error("the replica's pool took a write")
	}
}
