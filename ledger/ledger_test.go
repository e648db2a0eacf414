package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/internal/pgtest"
	"github.com/trcledger/trcledger/ledger"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

func date(t testing.TB, s string) trcledger.Date {
	t.Helper()
	d, err := trcledger.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// encounter is what posting an encounter share appends: debit the payer's expense, credit what
// the payer owes the provider.
func encounter(t testing.TB, ref, day, payer, provider, amount string) *ledger.Transaction {
	return &ledger.Transaction{
		Kind: "encounter_posted", Reference: ref, EffectiveDate: date(t, day),
		Postings: []ledger.Posting{
			{Account: "expense:" + payer, Currency: "BAM", Amount: dec(amount)},
			{Account: "payable:" + payer + ":" + provider, Currency: "BAM", Amount: dec(amount).Neg()},
		},
	}
}

func appendTx(t testing.TB, db *sqlx.DB, txs ...*ledger.Transaction) {
	t.Helper()
	if err := pg.WithTx(ctx, db, func(tx *sqlx.Tx) error { return ledger.Append(ctx, tx, txs) }); err != nil {
		t.Fatalf("append: %v", err)
	}
}

// balances returns account -> "debits/credits/balance" per currency, as a user reads them.
func balance(t testing.TB, j *ledger.Journal, account string, asOf *trcledger.Date) string {
	t.Helper()
	bs, err := j.Balance(ctx, account, asOf)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, b := range bs {
		if b.Account != account {
			t.Fatalf("balance of %s returned account %s", account, b.Account)
		}
		parts = append(parts, fmt.Sprintf("%s %s/%s/%s", b.Currency, b.Debits.String(), b.Credits.String(), b.Balance.String()))
	}
	return strings.Join(parts, ", ")
}

func code(err error) string { return trcledger.ErrorCode(err) }

// fieldsOf returns the names of the bad fields of an EINVALID error.
func fieldsOf(err error) []string {
	var e *trcledger.Error
	if !errors.As(err, &e) {
		return nil
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Field)
	}
	return names
}

func TestAppendBalanceAndReverse(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	j := ledger.New(db)
	tx := encounter(t, "encounter:e1", "2024-03-05", "IOM", "DZ-BIHAC", "20.00")
	appendTx(t, db, tx)
	if tx.ID == 0 || tx.CreatedAt.IsZero() || tx.Hash != "" {
		t.Fatalf("after append: id %d, created_at %v, hash %q; want an id, a time and no hash yet", tx.ID, tx.CreatedAt, tx.Hash)
	}
	for _, sealed := range []bool{false, true} {
		if sealed {
			if n, err := j.Seal(ctx); err != nil || n != 1 {
				t.Fatalf("seal = %d, %v; want 1", n, err)
			}
		}
		if got, want := balance(t, j, "expense:IOM", nil), "BAM 20.00/0.00/20.00"; got != want {
			t.Fatalf("sealed %v: expense:IOM = %s, want %s", sealed, got, want)
		}
		if got, want := balance(t, j, "payable:IOM:DZ-BIHAC", nil), "BAM 0.00/20.00/-20.00"; got != want {
			t.Fatalf("sealed %v: payable = %s, want %s", sealed, got, want)
		}
	}

	loaded, err := ledger.Load(ctx, db, tx.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Hash) != 64 || loaded.Reference != "encounter:e1" || len(loaded.Postings) != 2 ||
		loaded.Postings[1].Account != "payable:IOM:DZ-BIHAC" || !loaded.Postings[1].Amount.Equal(dec("-20")) ||
		!loaded.CreatedAt.Equal(tx.CreatedAt.Time) {
		t.Fatalf("loaded %+v, appended %+v", loaded, tx)
	}

	rev := ledger.Reverse(loaded, "encounter_voided", "void:e1", date(t, "2024-03-20"))
	appendTx(t, db, rev)
	if got, want := balance(t, j, "expense:IOM", nil), "BAM 20.00/20.00/0.00"; got != want {
		t.Fatalf("after reverse: expense:IOM = %s, want %s", got, want)
	}
	if got, want := balance(t, j, "payable:IOM:DZ-BIHAC", nil), "BAM 20.00/20.00/0.00"; got != want {
		t.Fatalf("after reverse: payable = %s, want %s", got, want)
	}
	if _, err := j.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := balance(t, j, "payable:IOM:DZ-BIHAC", nil), "BAM 20.00/20.00/0.00"; got != want {
		t.Fatalf("after reverse, sealed: payable = %s, want %s", got, want)
	}
	if got := balance(t, j, "expense:NOBODY", nil); got != "" {
		t.Fatalf("unknown account = %q, want no balances", got)
	}
	if _, err := j.Balance(ctx, "", nil); code(err) != trcledger.EINVALID {
		t.Fatalf("empty account: %v, want EINVALID", err)
	}
	if _, err := ledger.Load(ctx, db, 999999); code(err) != trcledger.ENOTFOUND {
		t.Fatalf("load unknown: %v, want ENOTFOUND", err)
	}
}

func TestBalanceAsOfDate(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	j := ledger.New(db)
	appendTx(t, db,
		encounter(t, "e1", "2024-01-31", "IOM", "DZ-BIHAC", "10.00"),
		encounter(t, "e2", "2024-02-01", "IOM", "DZ-BIHAC", "2.50"),
		encounter(t, "e3", "2024-02-29", "ZZO-USK", "DZ-BIHAC", "7.25"))
	if _, err := j.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	// One more, not sealed: balances must count it too.
	appendTx(t, db, encounter(t, "e4", "2024-02-15", "IOM", "DZ-BIHAC", "0.01"))
	for _, tc := range []struct{ asOf, want string }{
		{"2024-01-30", ""},
		{"2024-01-31", "BAM 10.00/0.00/10.00"},
		{"2024-02-14", "BAM 12.50/0.00/12.50"},
		{"2024-02-15", "BAM 12.51/0.00/12.51"},
		{"2030-01-01", "BAM 12.51/0.00/12.51"},
	} {
		d := date(t, tc.asOf)
		if got := balance(t, j, "expense:IOM", &d); got != tc.want {
			t.Errorf("expense:IOM as of %s = %q, want %q", tc.asOf, got, tc.want)
		}
	}
	all, err := j.Accounts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range all {
		got = append(got, b.Account+" "+b.Balance.String())
	}
	want := []string{"expense:IOM 12.51", "expense:ZZO-USK 7.25", "payable:IOM:DZ-BIHAC -12.51", "payable:ZZO-USK:DZ-BIHAC -7.25"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("accounts = %v, want %v", got, want)
	}
	payable, err := j.Accounts(ctx, "payable:IOM:")
	if err != nil {
		t.Fatal(err)
	}
	if len(payable) != 1 || payable[0].Account != "payable:IOM:DZ-BIHAC" || payable[0].Credits.String() != "12.51" {
		t.Fatalf("accounts payable:IOM: = %+v", payable)
	}
	if none, err := j.Accounts(ctx, "payable:IOM_"); err != nil || len(none) != 0 {
		t.Fatalf("prefix with a LIKE wildcard matched %+v, %v", none, err)
	}
}

func TestAppendSeveralCurrenciesAndJSON(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	j := ledger.New(db)
	tx := &ledger.Transaction{Kind: "payment", Reference: "pay:1", EffectiveDate: date(t, "2024-05-01"),
		Postings: []ledger.Posting{
			{Account: "payable:IOM:KCUS", Currency: "BAM", Amount: dec("195.58")},
			{Account: "cash:IOM", Currency: "BAM", Amount: dec("-195.58")},
			{Account: "payable:IOM:KCUS", Currency: "EUR", Amount: dec("100")},
			{Account: "cash:IOM", Currency: "EUR", Amount: dec("-100")},
		}}
	appendTx(t, db, tx)
	b, err := json.Marshal(tx)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"hash":null`, `"amount":"100.00"`, `"amount":"-195.58"`, `"effective_date":"2024-05-01"`, `"postings":[`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON %s lacks %s", s, want)
		}
	}
	if got, want := balance(t, j, "cash:IOM", nil), "BAM 0.00/195.58/-195.58, EUR 0.00/100.00/-100.00"; got != want {
		t.Fatalf("cash:IOM = %s, want %s", got, want)
	}
	res, err := j.Verify(ctx)
	if err != nil || !res.OK || res.TransactionsChecked != 1 {
		t.Fatalf("verify = %+v, %v", res, err)
	}
	loaded, err := ledger.Load(ctx, db, tx.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(loaded)
	if !strings.Contains(string(b), `"hash":"`+loaded.Hash+`"`) || len(loaded.Hash) != 64 {
		t.Fatalf("sealed JSON %s", b)
	}
	var back ledger.Transaction
	if err := json.Unmarshal(b, &back); err != nil || !back.Postings[0].Amount.Equal(dec("195.58")) {
		t.Fatalf("JSON does not read back: %+v, %v", back, err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := func() *ledger.Transaction { return encounter(t, "e1", "2024-01-01", "IOM", "DZ", "20.00") }
	for _, tc := range []struct {
		name   string
		change func(*ledger.Transaction)
		field  string
		msg    string
	}{
		{"valid", func(*ledger.Transaction) {}, "", ""},
		{"no kind", func(x *ledger.Transaction) { x.Kind = "" }, "kind", ""},
		{"no reference", func(x *ledger.Transaction) { x.Reference = " " }, "reference", ""},
		{"no date", func(x *ledger.Transaction) { x.EffectiveDate = trcledger.Date{} }, "effective_date", ""},
		{"no postings", func(x *ledger.Transaction) { x.Postings = nil }, "postings", ""},
		{"unbalanced", func(x *ledger.Transaction) { x.Postings[1].Amount = dec("-19.99") }, "postings", "BAM postings sum to 0.01"},
		{"unbalanced across currencies", func(x *ledger.Transaction) { x.Postings[1].Currency = "EUR" }, "postings", "BAM postings sum to 20.00"},
		{"zero amount", func(x *ledger.Transaction) { x.Postings[0].Amount = decimal.Zero; x.Postings[1].Amount = decimal.Zero }, "postings[0].amount", "zero"},
		{"3 decimals", func(x *ledger.Transaction) { x.Postings[0].Amount = dec("20.001") }, "postings[0].amount", "2 decimals"},
		{"no account", func(x *ledger.Transaction) { x.Postings[1].Account = "" }, "postings[1].account", ""},
		{"no currency", func(x *ledger.Transaction) { x.Postings[0].Currency = "" }, "postings[0].currency", ""},
		{"lowercase currency", func(x *ledger.Transaction) { x.Postings[0].Currency = "bam" }, "postings[0].currency", ""},
		{"too large", func(x *ledger.Transaction) {
			x.Postings[0].Amount = dec("1e16")
			x.Postings[1].Amount = dec("-1e16")
		}, "postings[0].amount", "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := ok()
			tc.change(x)
			err := ledger.Validate(x)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var e *trcledger.Error
			if !errors.As(err, &e) || e.Code != trcledger.EINVALID {
				t.Fatalf("Validate = %v, want EINVALID", err)
			}
			for _, f := range e.Fields {
				if f.Field == tc.field && strings.Contains(f.Message, tc.msg) {
					return
				}
			}
			t.Fatalf("fields %+v lack %s (%q)", e.Fields, tc.field, tc.msg)
		})
	}
}

func TestAppendRejectsInvalidAndWritesNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	good := encounter(t, "e1", "2024-01-01", "IOM", "DZ", "20.00")
	bad := encounter(t, "e2", "2024-01-01", "IOM", "DZ", "20.00")
	bad.Postings[0].Amount = dec("20.001")
	err := ledger.Append(ctx, db, []*ledger.Transaction{good, bad})
	var e *trcledger.Error
	if !errors.As(err, &e) || e.Code != trcledger.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != "transactions[1].postings[0].amount" {
		t.Fatalf("append = %#v, want EINVALID on transactions[1].postings[0].amount", err)
	}
	if err := ledger.Append(ctx, db, nil); err != nil {
		t.Fatalf("append of nothing = %v", err)
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM ledger_transactions`); err != nil || n != 0 {
		t.Fatalf("transactions stored = %d, %v; want 0", n, err)
	}
}

func TestDatabaseRefusesUnbalancedPostings(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	err := pg.WithTx(ctx, db, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.Get(&id, `INSERT INTO ledger_transactions (kind, reference, effective_date)
			VALUES ('manual', 'raw-sql', '2024-01-01') RETURNING id`); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO ledger_postings (transaction_id, line, account, currency, amount, effective_date)
			VALUES ($1, 1, 'expense:IOM', 'BAM', 20.00, '2024-01-01'), ($1, 2, 'payable:IOM:DZ', 'BAM', -19.99, '2024-01-01'),
			       ($1, 3, 'cash:IOM', 'EUR', 5, '2024-01-01'), ($1, 4, 'cash:IOM', 'EUR', -5, '2024-01-01')`, id)
		return err
	})
	var pqe *pq.Error
	if !errors.As(err, &pqe) || pqe.Constraint != "ledger_postings_balanced" || pqe.Code != "23514" {
		t.Fatalf("unbalanced insert: %v, want check_violation on ledger_postings_balanced", err)
	}
	// Balanced per currency is not enough if the postings contradict their transaction's date.
	err = pg.WithTx(ctx, db, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.Get(&id, `INSERT INTO ledger_transactions (kind, reference, effective_date)
			VALUES ('manual', 'raw-sql', '2024-01-01') RETURNING id`); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO ledger_postings (transaction_id, line, account, currency, amount, effective_date)
			VALUES ($1, 1, 'expense:IOM', 'BAM', 20.00, '2023-01-01'), ($1, 2, 'payable:IOM:DZ', 'BAM', -20.00, '2023-01-01')`, id)
		return err
	})
	if !errors.As(err, &pqe) || pqe.Constraint != "ledger_postings_effective_date" {
		t.Fatalf("insert with another date: %v, want ledger_postings_effective_date", err)
	}
	_, err = db.Exec(`INSERT INTO ledger_postings (transaction_id, line, account, currency, amount, effective_date)
		VALUES (1, 1, 'expense:IOM', 'BAM', 0, '2024-01-01')`)
	if !errors.As(err, &pqe) || pqe.Constraint != "ledger_postings_amount_check" {
		t.Fatalf("zero posting: %v, want ledger_postings_amount_check", err)
	}
}

func TestLedgerRowsCannotBeChangedOrRemoved(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	j := ledger.New(db)
	tx := encounter(t, "e1", "2024-01-01", "IOM", "DZ", "20.00")
	appendTx(t, db, tx)
	if _, err := j.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ table, set string }{
		{"ledger_transactions", "reference = 'changed'"},
		{"ledger_postings", "amount = amount * 2"},
		{"ledger_chain", "hash = sha256(hash)"},
	} {
		for _, stmt := range []string{
			"UPDATE " + tc.table + " SET " + tc.set,
			"DELETE FROM " + tc.table,
			"TRUNCATE " + tc.table + " CASCADE",
		} {
			_, err := db.Exec(stmt)
			var pqe *pq.Error
			if !errors.As(err, &pqe) || pqe.Constraint != tc.table+"_append_only" {
				t.Errorf("%s: %v, want refused by %s_append_only", stmt, err, tc.table)
			}
		}
	}
	// Derived data and the sealer's bookmark are updated in place, but never removed.
	for _, table := range []string{"ledger_daily_totals", "ledger_seal_state"} {
		for _, stmt := range []string{"DELETE FROM " + table, "TRUNCATE " + table} {
			if _, err := db.Exec(stmt); err == nil {
				t.Errorf("%s succeeded", stmt)
			}
		}
	}
	res, err := j.Verify(ctx)
	if err != nil || !res.OK || res.TransactionsChecked != 1 {
		t.Fatalf("verify after refused changes = %+v, %v", res, err)
	}
	if got, want := balance(t, j, "expense:IOM", nil), "BAM 20.00/0.00/20.00"; got != want {
		t.Fatalf("expense:IOM = %s, want %s", got, want)
	}
}
