package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/internal/pgtest"
	"github.com/trcledger/trcledger/ledger"
)

// sealedJournal appends n encounters (one per day from 2024-01-01, 1.00, 2.00, ... BAM) and
// seals them; it returns their ids.
func sealedJournal(t *testing.T, n int) (*sqlx.DB, *ledger.Journal, []int64) {
	t.Helper()
	db := pgtest.NewDB(t)
	j := ledger.New(db)
	ids := make([]int64, n)
	for i := range n {
		tx := encounter(t, fmt.Sprintf("e%d", i+1), date(t, "2024-01-01").AddDays(i).String(), "IOM", "DZ-BIHAC",
			fmt.Sprintf("%d.00", i+1))
		appendTx(t, db, tx)
		ids[i] = tx.ID
	}
	if got, err := j.Seal(ctx); err != nil || got != n {
		t.Fatalf("seal = %d, %v; want %d", got, err, n)
	}
	return db, j, ids
}

// tamper runs statements as a superuser would to get around the ledger's triggers.
func tamper(t *testing.T, db *sqlx.DB, stmts ...string) {
	t.Helper()
	err := pg.WithTx(ctx, db, func(tx *sqlx.Tx) error {
		if _, err := tx.Exec(`SET LOCAL session_replication_role = replica`); err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := tx.Exec(s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
}

func TestVerifyAcceptsSealedJournal(t *testing.T) {
	t.Parallel()
	if res, err := ledger.New(pgtest.NewDB(t)).Verify(ctx); err != nil || !res.OK || res.TransactionsChecked != 0 {
		t.Fatalf("verify of an empty journal = %+v, %v", res, err)
	}
	db, j, ids := sealedJournal(t, 5)
	// One more, committed but not sealed: Verify seals it first.
	appendTx(t, db, encounter(t, "e6", "2024-02-01", "IOM", "DZ-BIHAC", "0.50"))
	res, err := j.Verify(ctx)
	if err != nil || !res.OK || res.TransactionsChecked != 6 || res.FirstBad != nil || res.Reason != "" {
		t.Fatalf("verify = %+v, %v; want ok over 6", res, err)
	}
	tx, err := ledger.Load(ctx, db, ids[4])
	if err != nil || len(tx.Hash) != 64 {
		t.Fatalf("sealed transaction %+v, %v", tx, err)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	const hidden = -2
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stmts  func(ids []int64) []string
		bad    int // index of the transaction Verify must name, -1 for none, hidden for the inserted one
		reason string
	}{
		{"posting amount changed", func(ids []int64) []string {
			return []string{fmt.Sprintf(`UPDATE ledger_postings SET amount = 30.00 WHERE transaction_id = %d AND amount > 0`, ids[2])}
		}, 2, "hash mismatch; unbalanced in BAM"},
		{"both sides changed, still balanced", func(ids []int64) []string {
			return []string{fmt.Sprintf(`UPDATE ledger_postings SET amount = amount * 10 WHERE transaction_id = %d`, ids[3])}
		}, 3, "hash mismatch"},
		{"posting moved to another account", func(ids []int64) []string {
			return []string{fmt.Sprintf(`UPDATE ledger_postings SET account = 'payable:IOM:DZ-CAZIN' WHERE transaction_id = %d AND amount < 0`, ids[1])}
		}, 1, "hash mismatch"},
		{"transaction reference changed", func(ids []int64) []string {
			return []string{fmt.Sprintf(`UPDATE ledger_transactions SET reference = 'other' WHERE id = %d`, ids[4])}
		}, 4, "hash mismatch"},
		{"transaction deleted", func(ids []int64) []string {
			return []string{
				fmt.Sprintf(`DELETE FROM ledger_postings WHERE transaction_id = %d`, ids[1]),
				fmt.Sprintf(`DELETE FROM ledger_transactions WHERE id = %d`, ids[1]),
			}
		}, 1, "missing transaction"},
		{"posting deleted", func(ids []int64) []string {
			return []string{fmt.Sprintf(`DELETE FROM ledger_postings WHERE transaction_id = %d AND amount < 0`, ids[0])}
		}, 0, "hash mismatch; unbalanced in BAM"},
		{"balanced postings added to a sealed transaction", func(ids []int64) []string {
			return []string{fmt.Sprintf(`INSERT INTO ledger_postings (transaction_id, line, account, currency, amount, effective_date)
				SELECT id, 3, 'expense:IOM', 'BAM', 5, effective_date FROM ledger_transactions WHERE id = %[1]d
				UNION ALL SELECT id, 4, 'cash:IOM', 'BAM', -5, effective_date FROM ledger_transactions WHERE id = %[1]d`, ids[2])}
		}, 2, "hash mismatch"},
		{"chain hash altered", func(ids []int64) []string {
			return []string{fmt.Sprintf(`UPDATE ledger_chain SET hash = sha256(hash) WHERE transaction_id = %d`, ids[3])}
		}, 3, "hash mismatch"},
		{"chain link removed", func(ids []int64) []string {
			return []string{fmt.Sprintf(`DELETE FROM ledger_chain WHERE transaction_id = %d`, ids[2])}
		}, 3, "link missing before position 4"},
		{"chain link removed and the rest renumbered", func(ids []int64) []string {
			return []string{
				fmt.Sprintf(`DELETE FROM ledger_chain WHERE transaction_id = %d`, ids[2]),
				`UPDATE ledger_chain SET position = position - 1 WHERE position > 3`,
			}
		}, 3, "hash mismatch"},
		{"chain links swapped", func(ids []int64) []string {
			return []string{
				`UPDATE ledger_chain SET position = position + 1000 WHERE position IN (2, 3)`,
				`UPDATE ledger_chain SET position = 1005 - position WHERE position > 1000`,
			}
		}, 2, "hash mismatch"},
		{"daily totals changed", func(ids []int64) []string {
			return []string{`UPDATE ledger_daily_totals SET debits = debits + 1 WHERE account = 'expense:IOM' AND effective_date = '2024-01-02'`}
		}, -1, "daily totals of expense:IOM in BAM on 2024-01-02 do not match the sealed postings"},
		{"transaction inserted behind the sealer's back", func(ids []int64) []string {
			return []string{`WITH t AS (
					INSERT INTO ledger_transactions (kind, reference, effective_date, xact_id)
					VALUES ('manual', 'hidden', '2024-01-03', '3') RETURNING id, effective_date)
				INSERT INTO ledger_postings (transaction_id, line, account, currency, amount, effective_date)
				SELECT id, 1, 'expense:IOM', 'BAM', 9, effective_date FROM t
				UNION ALL SELECT id, 2, 'cash:IOM', 'BAM', -9, effective_date FROM t`}
		}, hidden, "not in the chain"},
		{"sealer's bookmark moved ahead", func(ids []int64) []string {
			return []string{
				`UPDATE ledger_seal_state SET sealed_snapshot = '100000000:100000000:'`,
				`WITH t AS (
					INSERT INTO ledger_transactions (kind, reference, effective_date)
					VALUES ('manual', 'hidden', '2024-01-03') RETURNING id, effective_date)
				INSERT INTO ledger_postings (transaction_id, line, account, currency, amount, effective_date)
				SELECT id, 1, 'expense:IOM', 'BAM', 9, effective_date FROM t
				UNION ALL SELECT id, 2, 'cash:IOM', 'BAM', -9, effective_date FROM t`,
			}
		}, hidden, "not in the chain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, j, ids := sealedJournal(t, 5)
			tamper(t, db, tc.stmts(ids)...)
			res, err := j.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || res.Reason != tc.reason {
				t.Fatalf("verify = %+v, want not ok because %q", res, tc.reason)
			}
			if tc.bad == -1 {
				if res.FirstBad != nil {
					t.Fatalf("first_bad = %d, want none", *res.FirstBad)
				}
				return
			}
			want := int64(0)
			if tc.bad == hidden {
				if err := db.Get(&want, `SELECT id FROM ledger_transactions WHERE reference = 'hidden'`); err != nil {
					t.Fatal(err)
				}
			} else {
				want = ids[tc.bad]
			}
			if res.FirstBad == nil || *res.FirstBad != want {
				t.Fatalf("first_bad = %v, want transaction %d", res.FirstBad, want)
			}
		})
	}
}

// Many writers, each in its own database transaction, while sealers run: nothing is lost,
// nothing is linked twice, every balance is exact.
func TestConcurrentWritersAndSealers(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	j := ledger.New(db)
	j.SetSealBatch(50)
	const writers, perWriter = 60, 20
	ctxSeal, stop := context.WithCancel(ctx)
	var sealers sync.WaitGroup
	var sealed atomic.Int64
	for range 2 {
		sealers.Go(func() {
			for ctxSeal.Err() == nil {
				n, err := j.Seal(ctxSeal)
				if err != nil && ctxSeal.Err() == nil {
					t.Errorf("seal: %v", err)
				}
				sealed.Add(int64(n))
			}
		})
	}
	runCtx, stopRun := context.WithCancel(ctx)
	var run sync.WaitGroup
	run.Go(func() { j.Run(runCtx, 5*time.Millisecond) })

	var writersWG sync.WaitGroup
	want := decimal.Zero
	var mu sync.Mutex
	for w := range writers {
		writersWG.Go(func() {
			for i := range perWriter {
				amount := decimal.New(int64(w*perWriter+i+1), -2) // 0.01, 0.02, ...
				tx := encounter(t, fmt.Sprintf("w%d-%d", w, i), "2024-06-01", "IOM", fmt.Sprintf("P%d", w%7), amount.String())
				if err := pg.WithTx(ctx, db, func(x *sqlx.Tx) error {
					return ledger.Append(ctx, x, []*ledger.Transaction{tx})
				}); err != nil {
					t.Errorf("append: %v", err)
					return
				}
				j.Kick()
				mu.Lock()
				want = want.Add(amount)
				mu.Unlock()
			}
		})
	}
	writersWG.Wait()
	stop()
	sealers.Wait()
	stopRun()
	run.Wait()

	n, err := j.Seal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sealed %d while writing, %d after", sealed.Load(), n)
	res, err := j.Verify(ctx)
	if err != nil || !res.OK || res.TransactionsChecked != writers*perWriter {
		t.Fatalf("verify = %+v, %v; want ok over %d", res, err, writers*perWriter)
	}
	if got := balance(t, j, "expense:IOM", nil); got != "BAM "+want.StringFixed(2)+"/0.00/"+want.StringFixed(2) {
		t.Fatalf("expense:IOM = %s, want %s", got, want.StringFixed(2))
	}
	payable, err := j.Accounts(ctx, "payable:IOM:")
	if err != nil {
		t.Fatal(err)
	}
	total := decimal.Zero
	for _, b := range payable {
		total = total.Add(b.Balance.Decimal)
	}
	if len(payable) != 7 || !total.Equal(want.Neg()) {
		t.Fatalf("payable accounts %d summing to %s, want 7 summing to -%s", len(payable), total, want)
	}
	var links, distinct, maxPos int64
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT transaction_id), max(position) FROM ledger_chain`).Scan(&links, &distinct, &maxPos); err != nil {
		t.Fatal(err)
	}
	if links != writers*perWriter || distinct != links || maxPos != links {
		t.Fatalf("chain has %d links, %d transactions, last position %d", links, distinct, maxPos)
	}
}

// A transaction that got a lower id but commits after a higher one was sealed is sealed later.
func TestLateCommitIsSealed(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	j := ledger.New(db)
	a := encounter(t, "late", "2024-01-01", "IOM", "DZ", "1.00")
	txA, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = txA.Rollback() }()
	if err := ledger.Append(ctx, txA, []*ledger.Transaction{a}); err != nil {
		t.Fatal(err)
	}
	b := encounter(t, "early", "2024-01-01", "IOM", "DZ", "2.00")
	appendTx(t, db, b)
	if a.ID >= b.ID {
		t.Fatalf("ids %d, %d: want the open transaction's lower", a.ID, b.ID)
	}
	if n, err := j.Seal(ctx); err != nil || n != 1 {
		t.Fatalf("first seal = %d, %v; want 1", n, err)
	}
	// Sealing again while A is still open finds nothing (and A's rows are not visible).
	if n, err := j.Seal(ctx); err != nil || n != 0 {
		t.Fatalf("second seal = %d, %v; want 0", n, err)
	}
	if got := balance(t, j, "expense:IOM", nil); got != "BAM 2.00/0.00/2.00" {
		t.Fatalf("before A commits: expense:IOM = %s", got)
	}
	if err := txA.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := balance(t, j, "expense:IOM", nil); got != "BAM 3.00/0.00/3.00" {
		t.Fatalf("after A commits, unsealed: expense:IOM = %s", got)
	}
	if n, err := j.Seal(ctx); err != nil || n != 1 {
		t.Fatalf("seal after A commits = %d, %v; want 1", n, err)
	}
	res, err := j.Verify(ctx)
	if err != nil || !res.OK || res.TransactionsChecked != 2 {
		t.Fatalf("verify = %+v, %v", res, err)
	}
	for _, id := range []int64{a.ID, b.ID} {
		if tx, err := ledger.Load(ctx, db, id); err != nil || tx.Hash == "" {
			t.Fatalf("transaction %d: %+v, %v; want sealed", id, tx, err)
		}
	}
	var positions string
	if err := db.Get(&positions, `SELECT string_agg(transaction_id::text, ',' ORDER BY position) FROM ledger_chain`); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d,%d", b.ID, a.ID); positions != want {
		t.Fatalf("chain order %s, want %s", positions, want)
	}
	if got := balance(t, j, "expense:IOM", nil); got != "BAM 3.00/0.00/3.00" {
		t.Fatalf("sealed: expense:IOM = %s", got)
	}
}

// Writers still running across several batches of a seal, and one that rolls back.
func TestSealInBatchesAroundOpenWriters(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	j := ledger.New(db)
	j.SetSealBatch(3)
	open := func(ref string) *sqlx.Tx {
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback() })
		x := encounter(t, ref, "2024-01-01", "IOM", "DZ", "1.00")
		if err := ledger.Append(ctx, tx, []*ledger.Transaction{x}); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	slow := open("slow")
	aborted := open("aborted")
	for i := range 7 {
		appendTx(t, db, encounter(t, fmt.Sprintf("fast%d", i), "2024-01-01", "IOM", "DZ", "1.00"))
	}
	if n, err := j.Seal(ctx); err != nil || n != 7 {
		t.Fatalf("seal = %d, %v; want 7", n, err)
	}
	slower := open("slower")
	if err := aborted.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		appendTx(t, db, encounter(t, fmt.Sprintf("more%d", i), "2024-01-01", "IOM", "DZ", "1.00"))
	}
	if n, err := j.Seal(ctx); err != nil || n != 5 {
		t.Fatalf("seal = %d, %v; want 5 (slow and 4 more)", n, err)
	}
	if err := slower.Commit(); err != nil {
		t.Fatal(err)
	}
	res, err := j.Verify(ctx)
	if err != nil || !res.OK || res.TransactionsChecked != 13 {
		t.Fatalf("verify = %+v, %v; want ok over 13", res, err)
	}
	if got := balance(t, j, "expense:IOM", nil); got != "BAM 13.00/0.00/13.00" {
		t.Fatalf("expense:IOM = %s", got)
	}
}

func TestTransactionsPages(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	j := ledger.New(db)
	var all []int64
	for i := range 25 {
		provider := []string{"DZ-BIHAC", "DZ-CAZIN", "KCUS"}[i%3]
		tx := encounter(t, fmt.Sprintf("enc:%d", i%10), "2024-01-01", "IOM", provider, "1.00")
		appendTx(t, db, tx)
		all = append(all, tx.ID)
	}
	if _, err := j.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	appendTx(t, db, encounter(t, "enc:unsealed", "2024-01-01", "IOM", "KCUS", "1.00"))

	collect := func(f ledger.TransactionFilter) (ids []int64, pages int) {
		t.Helper()
		for {
			txs, next, err := j.Transactions(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, tx := range txs {
				if len(tx.Postings) != 2 {
					t.Fatalf("transaction %d has %d postings", tx.ID, len(tx.Postings))
				}
				ids = append(ids, tx.ID)
			}
			if next == "" {
				return ids, pages
			}
			f.Cursor = next
		}
	}
	ids, pages := collect(ledger.TransactionFilter{Limit: 10})
	if len(ids) != 26 || pages != 3 || fmt.Sprint(ids[:25]) != fmt.Sprint(all) {
		t.Fatalf("pages of 10: %d ids in %d pages: %v", len(ids), pages, ids)
	}
	ids, _ = collect(ledger.TransactionFilter{Reference: "enc:3", Limit: 1})
	if fmt.Sprint(ids) != fmt.Sprint([]int64{all[3], all[13], all[23]}) {
		t.Fatalf("reference enc:3: %v", ids)
	}
	ids, _ = collect(ledger.TransactionFilter{Account: "payable:IOM:DZ-CAZIN", Limit: 4})
	var want []int64
	for i := 1; i < 25; i += 3 {
		want = append(want, all[i])
	}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("account payable:IOM:DZ-CAZIN: %v, want %v", ids, want)
	}
	ids, _ = collect(ledger.TransactionFilter{Account: "payable:IOM:KCUS", Reference: "enc:2"})
	if fmt.Sprint(ids) != fmt.Sprint([]int64{all[2]}) {
		t.Fatalf("account and reference: %v", ids)
	}
	txs, next, err := j.Transactions(ctx, ledger.TransactionFilter{})
	if err != nil || len(txs) != 26 || next != "" || txs[0].Hash == "" || txs[25].Hash != "" {
		t.Fatalf("default page: %d, %q, %v", len(txs), next, err)
	}
	for _, cursor := range []string{"not base64!", "YWJj", "MA", "LTE"} {
		_, _, err := j.Transactions(ctx, ledger.TransactionFilter{Cursor: cursor})
		if code(err) != trcledger.EINVALID {
			t.Errorf("cursor %q: %v, want EINVALID on cursor", cursor, err)
		}
		if e := fieldsOf(err); len(e) != 1 || e[0] != "cursor" {
			t.Errorf("cursor %q: fields %v", cursor, e)
		}
	}
}
