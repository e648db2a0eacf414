package pg

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// DefaultReplicaMaxLag is how stale a read from the replica may be before reads go back to the
// primary (REPLICA_MAX_LAG).
const DefaultReplicaMaxLag = 10 * time.Second

// Replica is a read-only connection pool to a streaming replica (a hot standby) of the primary,
// and a watch on how far behind it is. Services that may answer from a slightly older state
// (reports, exports, ledger reads) take their pool from ReadDB: the replica while it is known to
// hold everything the primary had committed at most MaxLag ago, else the primary.
//
// The watch (Run) reads, every MaxLag/4, the primary's WAL position (pg_current_wal_insert_lsn:
// past every commit record, even one of an asynchronous commit not yet written) and then the
// replica's replayed position (pg_last_wal_replay_lsn). Once the replica has replayed
// the position the primary had at time T, it holds every transaction committed before T: the
// replica is "caught up to T". ReadDB answers the replica while now − T ≤ MaxLag. Before the
// first check, or when either side cannot be read, the replica is not used.
//
// A nil *Replica is valid: ReadDB then always answers the primary.
type Replica struct {
	db      *sqlx.DB
	primary *sqlx.DB
	maxLag  time.Duration
	now     func() time.Time

	mu       sync.Mutex
	samples  []lsnSample // primary positions not yet known to be replayed, oldest first
	caughtUp time.Time   // the replica holds everything committed on the primary before this
}

type lsnSample struct {
	at  time.Time
	lsn string
}

// OpenReplica opens a read-only pool (default_transaction_read_only=on) to the replica at url;
// primary is the pool of the primary, whose WAL position the watch compares with. maxLag ≤ 0
// means DefaultReplicaMaxLag. It returns a wrapped error if the replica cannot be reached.
func OpenReplica(ctx context.Context, url string, primary *sqlx.DB, maxLag time.Duration) (*Replica, error) {
	db, err := Open(ctx, readOnly(url))
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	return NewReplica(db, primary, maxLag), nil
}

// NewReplica watches db, an open pool to a replica of primary; see OpenReplica.
func NewReplica(db, primary *sqlx.DB, maxLag time.Duration) *Replica {
	if maxLag <= 0 {
		maxLag = DefaultReplicaMaxLag
	}
	return &Replica{db: db, primary: primary, maxLag: maxLag, now: time.Now}
}

// readOnly asks the server to make every transaction of the pool read-only, so that a write
// sent to the replica by mistake fails even when the URL names a primary.
func readOnly(url string) string {
	const opt = "default_transaction_read_only=on"
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		if strings.Contains(url, "?") {
			return url + "&" + opt
		}
		return url + "?" + opt
	}
	return url + " " + opt
}

// DB is the replica's pool (nil for a nil Replica).
func (r *Replica) DB() *sqlx.DB {
	if r == nil {
		return nil
	}
	return r.db
}

// Close closes the replica's pool.
func (r *Replica) Close() error {
	if r == nil {
		return nil
	}
	return r.db.Close()
}

// ReadDB answers the pool for a read that may be up to MaxLag stale: the replica while it is
// caught up to within MaxLag of now, else primary (the caller's own pool, also for a nil r).
func (r *Replica) ReadDB(primary *sqlx.DB) *sqlx.DB {
	if r == nil {
		return primary
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.caughtUp.IsZero() || r.now().Sub(r.caughtUp) > r.maxLag {
		return primary
	}
	return r.db
}

// Lag answers how stale the replica may be (now minus the time it is known to be caught up to)
// and whether it is used for reads; a replica never seen caught up has an infinite lag.
func (r *Replica) Lag() (time.Duration, bool) {
	if r == nil {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.caughtUp.IsZero() {
		return time.Duration(1<<63 - 1), false
	}
	lag := r.now().Sub(r.caughtUp)
	return lag, lag <= r.maxLag
}

// Check compares the replica's replayed WAL position with the primary's once; Run calls it
// every MaxLag/4. It returns a wrapped database error when either side cannot be read (the
// replica then stops being used once its last known state is older than MaxLag).
func (r *Replica) Check(ctx context.Context) error {
	if r == nil {
		return nil
	}
	var primaryLSN string
	at := r.now()
	if err := r.primary.GetContext(ctx, &primaryLSN, `SELECT pg_current_wal_insert_lsn()::text`); err != nil {
		return fmt.Errorf("replica lag: primary position: %w", err)
	}
	// NULL when the server is not a standby (the URL names a primary, or the standby was
	// promoted): it has everything it will ever have, so it is caught up now.
	var replayed sql.NullString
	if err := r.db.GetContext(ctx, &replayed, `SELECT pg_last_wal_replay_lsn()::text`); err != nil {
		return fmt.Errorf("replica lag: replica position: %w", err)
	}
	// Compare positions in the primary's terms: $1 <= $2 as pg_lsn.
	r.mu.Lock()
	r.samples = append(r.samples, lsnSample{at: at, lsn: primaryLSN})
	samples := append([]lsnSample(nil), r.samples...)
	r.mu.Unlock()
	if !replayed.Valid {
		r.caughtUpTo(at, len(samples))
		return nil
	}
	lsns := make([]string, len(samples))
	for i, s := range samples {
		lsns[i] = s.lsn
	}
	// How many of the samples, oldest first, the replica has replayed (positions only grow).
	var n int
	if err := r.primary.GetContext(ctx, &n,
		`SELECT count(*) FROM unnest($1::text[]) AS s(lsn) WHERE s.lsn::pg_lsn <= $2::pg_lsn`,
		"{"+strings.Join(lsns, ",")+"}", replayed.String); err != nil {
		return fmt.Errorf("replica lag: compare positions: %w", err)
	}
	if n > 0 {
		r.caughtUpTo(samples[n-1].at, n)
	}
	return nil
}

// caughtUpTo records that the replica holds everything committed before at, the time of the
// n-th oldest sample, and forgets the samples up to it.
func (r *Replica) caughtUpTo(at time.Time, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if at.After(r.caughtUp) {
		r.caughtUp = at
	}
	r.samples = r.samples[n:]
	// A replica that never catches up must not make the list grow without bound: keep the
	// samples of the last few MaxLag periods.
	for len(r.samples) > 64 {
		r.samples = r.samples[1:]
	}
}

// Run checks the replica every MaxLag/4 (at least every 100 ms, at most every 2 s) until ctx is
// done, logging when reads move from the replica to the primary and back.
func (r *Replica) Run(ctx context.Context, log *slog.Logger) {
	if r == nil {
		return
	}
	every := min(max(r.maxLag/4, 100*time.Millisecond), 2*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	using := false
	for {
		cctx, cancel := context.WithTimeout(ctx, every*4)
		err := r.Check(cctx)
		cancel()
		lag, ok := r.Lag()
		if ok != using && log != nil {
			if ok {
				log.Info("reads go to the replica", "lag", lag.String())
			} else {
				log.Warn("replica too far behind or unreachable: reads go to the primary", "max_lag", r.maxLag.String(), "error", errString(err))
			}
		}
		using = ok
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
