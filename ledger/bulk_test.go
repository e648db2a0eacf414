package ledger_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/internal/pgtest"
	"github.com/trcledger/trcledger/ledger"
)

// bulk returns n transactions of 4 postings (2 payers' shares of one encounter), the i-th for
// (i+1) cents per posting, referenced bulk:<offset+i>.
func bulk(t testing.TB, offset, n int) []*ledger.Transaction {
	txs := make([]*ledger.Transaction, n)
	for i := range txs {
		a := decimal.New(int64(offset+i+1), -2)
		txs[i] = &ledger.Transaction{Kind: "encounter_posted", Reference: fmt.Sprintf("bulk:%d", offset+i),
			EffectiveDate: date(t, "2024-01-01").AddDays((offset + i) % 365),
			Postings: []ledger.Posting{
				{Account: "expense:IOM", Currency: "BAM", Amount: a},
				{Account: fmt.Sprintf("payable:IOM:P%d", (offset+i)%10), Currency: "BAM", Amount: a.Neg()},
				{Account: "expense:ZZO-USK", Currency: "BAM", Amount: a},
				{Account: fmt.Sprintf("payable:ZZO-USK:P%d", (offset+i)%10), Currency: "BAM", Amount: a.Neg()},
			}}
	}
	return txs
}

// One Append of 5,000 transactions: every transaction gets the id its own postings are stored
// under, whatever other writers do at the same time.
func TestAppendManyAtOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	j := ledger.New(db)
	const n = 5000
	txs := bulk(t, 0, n)
	var others sync.WaitGroup
	for w := range 4 {
		others.Go(func() { appendTx(t, db, bulk(t, 100000+w*10, 10)...) })
	}
	start := time.Now()
	appendTx(t, db, txs...)
	t.Logf("append of %d transactions with 4 postings each: %v", n, time.Since(start))
	others.Wait()
	var mismatched int
	if err := db.Get(&mismatched, `SELECT count(*) FROM ledger_transactions t JOIN ledger_postings p
		ON p.transaction_id = t.id AND p.line = 1
		WHERE t.reference LIKE 'bulk:%' AND p.amount <> (substr(t.reference, 6)::int + 1) / 100.0`); err != nil {
		t.Fatal(err)
	}
	if mismatched != 0 {
		t.Fatalf("%d transactions hold another transaction's postings", mismatched)
	}
	for i, tx := range txs {
		if i > 0 && tx.ID <= txs[i-1].ID {
			t.Fatalf("ids not ascending in input order at %d", i)
		}
	}
	got, err := ledger.Load(ctx, db, txs[1234].ID)
	if err != nil || got.Reference != "bulk:1234" || !got.Postings[0].Amount.Equal(decimal.New(1235, -2)) {
		t.Fatalf("transaction 1234 = %+v, %v", got, err)
	}
	start = time.Now()
	sealed, err := j.Seal(ctx)
	if err != nil || sealed != n+40 {
		t.Fatalf("seal = %d, %v", sealed, err)
	}
	t.Logf("seal of %d transactions: %v", sealed, time.Since(start))
	// 0.01 + ... + 50.00 = 125025.00, and the others' 1000.01 + ... + 1000.40 = 40008.20.
	if got, want := balance(t, j, "expense:ZZO-USK", nil), "BAM 165033.20/0.00/165033.20"; got != want {
		t.Fatalf("expense:ZZO-USK = %s, want %s", got, want)
	}
	res, err := j.Verify(ctx)
	if err != nil || !res.OK || res.TransactionsChecked != n+40 {
		t.Fatalf("verify = %+v, %v", res, err)
	}
}

// setupLarge appends n transactions in Appends of 5,000 and seals them.
func setupLarge(b *testing.B, n int) (*sqlx.DB, *ledger.Journal) {
	db := pgtest.NewDB(b)
	j := ledger.New(db)
	for off := 0; off < n; off += 5000 {
		appendTx(b, db, bulk(b, off, min(5000, n-off))...)
	}
	if _, err := j.Seal(context.Background()); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
	return db, j
}

func BenchmarkAppend5000x4(b *testing.B) {
	db := pgtest.NewDB(b)
	off := 0
	for b.Loop() {
		appendTx(b, db, bulk(b, off, 5000)...)
		off += 5000
	}
}

// Single-transaction appends from 16 concurrent writers, as POST /v1/encounters does.
func BenchmarkAppendOneConcurrent(b *testing.B) {
	db := pgtest.NewDB(b)
	j := ledger.New(db)
	runCtx, stop := context.WithCancel(context.Background())
	var run sync.WaitGroup
	run.Go(func() { j.Run(runCtx, 50*time.Millisecond) })
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // about 16 writers
	var mu sync.Mutex
	next := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			off := next
			next++
			mu.Unlock()
			txs := bulk(b, off, 1)[:1]
			txs[0].Postings = txs[0].Postings[:2]
			if err := pg.WithTx(context.Background(), db, func(tx *sqlx.Tx) error {
				return ledger.Append(context.Background(), tx, txs)
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	stop()
	run.Wait()
}

func BenchmarkSeal(b *testing.B) {
	db := pgtest.NewDB(b)
	j := ledger.New(db)
	off := 0
	for b.Loop() {
		b.StopTimer()
		appendTx(b, db, bulk(b, off, 10000)...)
		off += 10000
		b.StartTimer()
		if n, err := j.Seal(context.Background()); err != nil || n != 10000 {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(off), "ns/transaction")
}

func BenchmarkVerify100k(b *testing.B) {
	_, j := setupLarge(b, 100000)
	b.ResetTimer()
	for b.Loop() {
		res, err := j.Verify(context.Background())
		if err != nil || !res.OK || res.TransactionsChecked != 100000 {
			b.Fatal(res, err)
		}
	}
}

func BenchmarkBalance(b *testing.B) {
	db, j := setupLarge(b, 100000)
	// Some unsealed transactions, as there are between two seals.
	appendTx(b, db, bulk(b, 200000, 200)...)
	asOf := date(b, "2024-06-30")
	b.ResetTimer()
	for b.Loop() {
		if _, err := j.Balance(context.Background(), "expense:IOM", &asOf); err != nil {
			b.Fatal(err)
		}
	}
}

// The baseline for BenchmarkAppendOneConcurrent: the same rows into two bare tables (no
// indexes beyond primary keys, no triggers), one statement each, from as many writers.
func BenchmarkRawInsertBaseline(b *testing.B) {
	db := pgtest.NewDB(b)
	db.MustExec(`CREATE TABLE raw_tx (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text, reference text,
		effective_date date, created_at timestamptz DEFAULT now())`)
	db.MustExec(`CREATE TABLE raw_posting (transaction_id bigint, line int, account text, currency text,
		amount numeric(18,2), effective_date date, PRIMARY KEY (transaction_id, line))`)
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := pg.WithTx(context.Background(), db, func(tx *sqlx.Tx) error {
				var id int64
				if err := tx.Get(&id, `INSERT INTO raw_tx (kind, reference, effective_date)
					VALUES ('encounter_posted', 'bulk:1', '2024-01-01') RETURNING id`); err != nil {
					return err
				}
				_, err := tx.Exec(`INSERT INTO raw_posting VALUES ($1, 1, 'expense:IOM', 'BAM', 1.00, '2024-01-01'),
					($1, 2, 'payable:IOM:P1', 'BAM', -1.00, '2024-01-01')`, id)
				return err
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
