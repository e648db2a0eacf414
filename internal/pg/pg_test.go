package pg_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/internal/pgtest"
	"github.com/trcledger/trcledger/migrations"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newDBWithTable(t *testing.T) *sqlx.DB {
	t.Helper()
	db := pgtest.NewDB(t)
	if _, err := db.Exec(`CREATE TABLE pgtest_items (id int PRIMARY KEY, n int NOT NULL DEFAULT 0)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func countItems(t *testing.T, db *sqlx.DB) int {
	t.Helper()
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM pgtest_items`); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWithTxCommits(t *testing.T) {
	t.Parallel()
	db := newDBWithTable(t)
	err := pg.WithTx(context.Background(), db, func(tx *sqlx.Tx) error {
		_, err := tx.Exec(`INSERT INTO pgtest_items (id) VALUES (1), (2)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := countItems(t, db); n != 2 {
		t.Fatalf("rows after commit = %d, want 2", n)
	}
	if in := db.Stats().InUse; in != 0 {
		t.Fatalf("connections in use after WithTx = %d, want 0", in)
	}
}

func TestWithTxRollsBackOnError(t *testing.T) {
	t.Parallel()
	db := newDBWithTable(t)
	errDomain := errors.New("domain says no")
	calls := 0
	err := pg.WithTx(context.Background(), db, func(tx *sqlx.Tx) error {
		calls++
		if _, err := tx.Exec(`INSERT INTO pgtest_items (id) VALUES (1)`); err != nil {
			return err
		}
		return errDomain
	})
	if !errors.Is(err, errDomain) {
		t.Fatalf("WithTx error = %v, want fn's error unchanged", err)
	}
	if calls != 1 {
		t.Fatalf("fn called %d times, want 1 (no retry for ordinary errors)", calls)
	}
	if n := countItems(t, db); n != 0 {
		t.Fatalf("rows after rollback = %d, want 0", n)
	}
}

func TestWithTxRollsBackOnPanic(t *testing.T) {
	t.Parallel()
	db := newDBWithTable(t)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the panic of fn to carry on", r)
			}
		}()
		_ = pg.WithTx(context.Background(), db, func(tx *sqlx.Tx) error {
			if _, err := tx.Exec(`INSERT INTO pgtest_items (id) VALUES (1)`); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if n := countItems(t, db); n != 0 {
		t.Fatalf("rows after panic = %d, want 0", n)
	}
	if in := db.Stats().InUse; in != 0 {
		t.Fatalf("connections in use after panic = %d, want 0", in)
	}
}

func TestWithTxRetriesSerializationFailuresAndDeadlocks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"serialization failure", &pq.Error{Code: "40001"}},
		{"deadlock", &pq.Error{Code: "40P01"}},
		{"wrapped", fmt.Errorf("insert item: %w", &pq.Error{Code: "40001"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := newDBWithTable(t)
			calls := 0
			err := pg.WithTx(context.Background(), db, func(tx *sqlx.Tx) error {
				calls++
				if _, err := tx.Exec(`INSERT INTO pgtest_items (id) VALUES (1)`); err != nil {
					return err
				}
				if calls <= 2 {
					return tc.err
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if calls != 3 {
				t.Fatalf("fn called %d times, want 3", calls)
			}
			if n := countItems(t, db); n != 1 {
				t.Fatalf("rows = %d, want exactly 1 (failed attempts rolled back)", n)
			}
		})
	}
}

// A real conflict: the row changes under a REPEATABLE READ transaction after its snapshot, so
// its UPDATE fails with 40001 and the retry, with a new snapshot, must succeed.
func TestWithTxRetriesRealSerializationFailure(t *testing.T) {
	t.Parallel()
	db := newDBWithTable(t)
	if _, err := db.Exec(`INSERT INTO pgtest_items (id, n) VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	calls := 0
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead}
	err := pg.WithTxOpts(context.Background(), db, opts, func(tx *sqlx.Tx) error {
		calls++
		var n int
		if err := tx.Get(&n, `SELECT n FROM pgtest_items WHERE id = 1`); err != nil {
			return err
		}
		if calls == 1 { // a concurrent writer commits after our snapshot
			if _, err := db.Exec(`UPDATE pgtest_items SET n = n + 10 WHERE id = 1`); err != nil {
				return err
			}
		}
		_, err := tx.Exec(`UPDATE pgtest_items SET n = $1 WHERE id = 1`, n+1)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("fn called %d times, want 2", calls)
	}
	var n int
	if err := db.Get(&n, `SELECT n FROM pgtest_items WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if n != 11 {
		t.Fatalf("n = %d, want 11 (no lost update)", n)
	}
}

func TestWithTxGivesUpAfterTenRetries(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	calls := 0
	err := pg.WithTx(context.Background(), db, func(tx *sqlx.Tx) error {
		calls++
		return &pq.Error{Code: "40001"}
	})
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "40001" {
		t.Fatalf("error = %v, want the serialization failure", err)
	}
	if calls != 11 {
		t.Fatalf("fn called %d times, want 11 (1 + 10 retries)", calls)
	}
}

func TestWithTxStopsRetryingWhenContextEnds(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	err := pg.WithTx(ctx, db, func(tx *sqlx.Tx) error {
		calls++
		cancel()
		return &pq.Error{Code: "40001"}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Fatalf("fn called %d times, want 1", calls)
	}
}

// Migrating an empty database from two pools at once (as two processes starting together
// would), then once more, applies every migration exactly once.
func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewURL(t)
	db1, err := pg.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	db2, err := pg.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := db1.Exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}

	errs := make(chan error, 2)
	for _, db := range []*sqlx.DB{db1, db2} {
		go func() { errs <- pg.Migrate(ctx, db) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := pg.Migrate(ctx, db1); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}

	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var applied int
	if err := db1.Get(&applied, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`); err != nil {
		t.Fatal(err)
	}
	if applied != len(files) {
		t.Fatalf("goose_db_version has %d migrations, want %d (one per file)", applied, len(files))
	}
}
