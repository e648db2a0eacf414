package pg_test

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger/internal/pg"
)

// The queries of a Statements set run prepared, in the caller's transaction, and give the
// answers the plain queries give.
func TestStatementsRunPreparedInTheTransaction(t *testing.T) {
	t.Parallel()
	db := newDBWithTable(t)
	set := pg.NewStatements(db)
	ctx := context.Background()
	const insert = `INSERT INTO pgtest_items (id, n) SELECT * FROM unnest($1::int[], $2::int[])`
	const sum = `SELECT coalesce(sum(n), 0) AS total FROM pgtest_items WHERE id = ANY($1)`
	for round := range 3 {
		err := pg.WithTx(ctx, db, func(tx *sqlx.Tx) error {
			q := set.On(tx)
			ids := []int64{int64(2 * round), int64(2*round + 1)}
			if _, err := q.ExecContext(ctx, insert, pq.Array(ids), pq.Array([]int64{10, 20})); err != nil {
				return err
			}
			var total int64
			if err := sqlx.GetContext(ctx, q, &total, sum, pq.Array(ids)); err != nil {
				return err
			}
			if total != 30 {
				t.Errorf("round %d: sum in the transaction = %d, want 30", round, total)
			}
			var prepared int
			if err := tx.Get(&prepared, `SELECT count(*) FROM pg_prepared_statements WHERE statement IN ($1, $2)`, insert, sum); err != nil {
				return err
			}
			if prepared != 2 {
				t.Errorf("round %d: %d of the 2 statements prepared on the transaction's connection", round, prepared)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := countItems(t, db); n != 6 {
		t.Fatalf("rows after three transactions = %d, want 6", n)
	}
	// A rolled-back transaction leaves nothing, as a plain one.
	_ = pg.WithTx(ctx, db, func(tx *sqlx.Tx) error {
		if _, err := set.On(tx).ExecContext(ctx, insert, pq.Array([]int64{100}), pq.Array([]int64{1})); err != nil {
			t.Fatal(err)
		}
		return context.Canceled
	})
	if n := countItems(t, db); n != 6 {
		t.Fatalf("rows after a rollback = %d, want 6", n)
	}
}

// A query that cannot be prepared runs plain, and again the next time.
func TestStatementsFallBackToThePlainQuery(t *testing.T) {
	t.Parallel()
	db := newDBWithTable(t)
	set := pg.NewStatements(db)
	ctx := context.Background()
	// Two commands cannot be one prepared statement; without parameters they run as one query.
	const two = `INSERT INTO pgtest_items (id) SELECT coalesce(max(id), 0) + 1 FROM pgtest_items; UPDATE pgtest_items SET n = n + 1`
	for range 2 {
		if err := pg.WithTx(ctx, db, func(tx *sqlx.Tx) error {
			_, err := set.On(tx).ExecContext(ctx, two)
			return err
		}); err != nil {
			t.Fatalf("the query that cannot be prepared: %v", err)
		}
	}
	var total int
	if err := db.Get(&total, `SELECT sum(n) FROM pgtest_items`); err != nil {
		t.Fatal(err)
	}
	if n := countItems(t, db); n != 2 || total != 3 {
		t.Fatalf("after two runs: %d rows with n summing to %d, want 2 and 3", n, total)
	}
}
