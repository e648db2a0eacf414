package ledger

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/pg"
)

// Append validates txs and inserts them, in the caller's database transaction ext, with one
// statement for all transactions and all their postings, so 1 and 5,000 transactions cost one
// round trip each. It sets ID and CreatedAt of every transaction (CreatedAt, if zero, becomes
// the database transaction's start time, shared by every row it writes) and clears Hash: the
// sealer links them into the chain after they commit (Journal.Seal, Journal.Kick).
//
// If ext is a *sqlx.DB rather than a transaction, Append runs in a transaction of its own.
// Zero transactions is a no-op. It returns EINVALID for a transaction Validate rejects (with
// the fields of all of them, prefixed transactions[i] when there are several), and EINVALID
// when the database refuses the postings (ledger_postings_balanced, ...).
func Append(ctx context.Context, ext sqlx.ExtContext, txs []*Transaction) error {
	if len(txs) == 0 {
		return nil
	}
	if err := validateAll(txs); err != nil {
		return err
	}
	if db, ok := ext.(*sqlx.DB); ok {
		return pg.WithTx(ctx, db, func(tx *sqlx.Tx) error { return insert(ctx, tx, txs) })
	}
	return insert(ctx, ext, txs)
}

func validateAll(txs []*Transaction) error {
	if len(txs) == 1 {
		return Validate(txs[0])
	}
	var f trcledger.Fields
	for i, t := range txs {
		err := Validate(t)
		if err == nil {
			continue
		}
		var e *trcledger.Error
		if !errors.As(err, &e) {
			return err
		}
		f.Merge(fmt.Sprintf("transactions[%d]", i), e.Fields)
	}
	return f.Err()
}

// appendQuery inserts the transactions in input order, numbers the ids they got (which follow
// that order, since the identity is drawn row by row as the sorted rows are inserted), and
// inserts the postings under the id of their transaction's number. The statement trigger
// ledger_postings_balanced then checks all postings at once.
const appendQuery = `
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[])
        WITH ORDINALITY AS u(kind, reference, effective_date, created_at, n)
), inserted AS (
    INSERT INTO ledger_transactions (kind, reference, effective_date, created_at)
    SELECT kind, reference, effective_date,
           CASE WHEN created_at = '' THEN now() ELSE created_at::timestamptz END
    FROM input ORDER BY n
    RETURNING id, effective_date, created_at
), numbered AS (
    SELECT id, effective_date, created_at, row_number() OVER (ORDER BY id) AS n FROM inserted
), postings AS (
    INSERT INTO ledger_postings (transaction_id, line, account, currency, amount, effective_date)
    SELECT numbered.id, p.line, p.account, p.currency, p.amount, numbered.effective_date
    FROM unnest($5::bigint[], $6::integer[], $7::text[], $8::text[], $9::numeric[]) AS p(n, line, account, currency, amount)
    JOIN numbered ON numbered.n = p.n
)
SELECT id, created_at FROM numbered ORDER BY n`

// appendOneQuery is appendQuery for the common case of one transaction: half the planning.
const appendOneQuery = `
WITH inserted AS (
    INSERT INTO ledger_transactions (kind, reference, effective_date, created_at)
    VALUES ($1, $2, $3, CASE WHEN $4 = '' THEN now() ELSE $4::timestamptz END)
    RETURNING id, effective_date, created_at
), postings AS (
    INSERT INTO ledger_postings (transaction_id, line, account, currency, amount, effective_date)
    SELECT inserted.id, p.line, p.account, p.currency, p.amount, inserted.effective_date
    FROM inserted, unnest($5::text[], $6::text[], $7::numeric[]) WITH ORDINALITY AS p(account, currency, amount, line)
)
SELECT id, created_at FROM inserted`

func insert(ctx context.Context, ext sqlx.ExtContext, txs []*Transaction) error {
	kinds := make([]string, len(txs))
	refs := make([]string, len(txs))
	dates := make([]string, len(txs))
	created := make([]string, len(txs))
	var np int
	for _, t := range txs {
		np += len(t.Postings)
	}
	pn := make([]int64, 0, np)
	lines := make([]int64, 0, np)
	accounts := make([]string, 0, np)
	currencies := make([]string, 0, np)
	amounts := make([]string, 0, np)
	for i, t := range txs {
		kinds[i], refs[i], dates[i] = t.Kind, t.Reference, t.EffectiveDate.String()
		if !t.CreatedAt.IsZero() {
			created[i] = t.CreatedAt.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
		}
		for l, p := range t.Postings {
			pn = append(pn, int64(i+1))
			lines = append(lines, int64(l+1))
			accounts = append(accounts, p.Account)
			currencies = append(currencies, p.Currency)
			amounts = append(amounts, p.Amount.StringFixed(2))
		}
	}
	var rows *sql.Rows
	var err error
	if len(txs) == 1 {
		rows, err = ext.QueryContext(ctx, appendOneQuery, kinds[0], refs[0], dates[0], created[0],
			pq.StringArray(accounts), pq.StringArray(currencies), pq.StringArray(amounts))
	} else {
		rows, err = ext.QueryContext(ctx, appendQuery,
			pq.StringArray(kinds), pq.StringArray(refs), pq.StringArray(dates), pq.StringArray(created),
			pq.Int64Array(pn), pq.Int64Array(lines), pq.StringArray(accounts), pq.StringArray(currencies), pq.StringArray(amounts))
	}
	if err != nil {
		return translate(err, "append ledger transactions")
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		if i >= len(txs) {
			return fmt.Errorf("append ledger transactions: more ids returned than transactions")
		}
		var id int64
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return fmt.Errorf("append ledger transactions: %w", err)
		}
		txs[i].ID, txs[i].CreatedAt, txs[i].Hash = id, trcledger.TimeOf(at.UTC()), ""
		i++
	}
	if err := rows.Err(); err != nil {
		return translate(err, "append ledger transactions")
	}
	if i != len(txs) {
		return fmt.Errorf("append ledger transactions: %d ids returned for %d transactions", i, len(txs))
	}
	return nil
}

// transactionRow is a transaction as selected with its chain hash.
type transactionRow struct {
	ID            int64          `db:"id"`
	Kind          string         `db:"kind"`
	Reference     string         `db:"reference"`
	EffectiveDate trcledger.Date `db:"effective_date"`
	CreatedAt     time.Time      `db:"created_at"`
	Hash          []byte         `db:"hash"`
}

func (r transactionRow) transaction() Transaction {
	t := Transaction{ID: r.ID, Kind: r.Kind, Reference: r.Reference, EffectiveDate: r.EffectiveDate,
		CreatedAt: trcledger.TimeOf(r.CreatedAt.UTC()), Postings: []Posting{}}
	if r.Hash != nil {
		t.Hash = hex.EncodeToString(r.Hash)
	}
	return t
}

const transactionColumns = `t.id, t.kind, t.reference, t.effective_date, t.created_at, c.hash`

// Load returns the transaction id with its postings (in the order they were appended) and its
// chain hash ("" if not sealed yet). It returns ENOTFOUND if there is no such transaction.
func Load(ctx context.Context, q sqlx.QueryerContext, id int64) (*Transaction, error) {
	var r transactionRow
	err := sqlx.GetContext(ctx, q, &r, `SELECT `+transactionColumns+`
		FROM ledger_transactions t LEFT JOIN ledger_chain c ON c.transaction_id = t.id
		WHERE t.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, trcledger.Errorf(trcledger.ENOTFOUND, "ledger transaction %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load ledger transaction: %w", err)
	}
	txs := []Transaction{r.transaction()}
	if err := loadPostings(ctx, q, txs); err != nil {
		return nil, err
	}
	return &txs[0], nil
}

// loadPostings fills the postings of txs with one query.
func loadPostings(ctx context.Context, q sqlx.QueryerContext, txs []Transaction) error {
	if len(txs) == 0 {
		return nil
	}
	ids := make([]int64, len(txs))
	index := make(map[int64]int, len(txs))
	for i, t := range txs {
		ids[i] = t.ID
		index[t.ID] = i
	}
	rows, err := q.QueryContext(ctx, `SELECT transaction_id, account, currency, amount
		FROM ledger_postings WHERE transaction_id = ANY($1) ORDER BY transaction_id, line`, pq.Int64Array(ids))
	if err != nil {
		return fmt.Errorf("load ledger postings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var p Posting
		if err := rows.Scan(&id, &p.Account, &p.Currency, &p.Amount); err != nil {
			return fmt.Errorf("load ledger postings: %w", err)
		}
		t := &txs[index[id]]
		t.Postings = append(t.Postings, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load ledger postings: %w", err)
	}
	return nil
}

// TransactionFilter narrows Journal.Transactions; empty fields match everything.
type TransactionFilter struct {
	Reference string // only transactions with this reference
	Account   string // only transactions with a posting on this account
	Cursor    string // from Transactions' previous answer: continue after it
	Limit     int    // page size: 0 means 100; at most 1000 (more is taken as 1000)
}

// Page sizes of Journal.Transactions.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Transactions returns a page of transactions matching f, with their postings and hashes, by id
// ascending, and the cursor of the next page ("" when this is the last). It returns EINVALID
// (field cursor) for a cursor it did not issue, and (field limit) for a negative limit.
func (j *Journal) Transactions(ctx context.Context, f TransactionFilter) ([]Transaction, string, error) {
	var fields trcledger.Fields
	after, err := decodeCursor(f.Cursor)
	if err != nil {
		fields.Add("cursor", "is not a cursor from a previous page")
	}
	limit := f.Limit
	switch {
	case limit < 0:
		fields.Add("limit", "must be between 1 and %d", MaxLimit)
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	if err := fields.Err(); err != nil {
		return nil, "", err
	}

	args := []any{after}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var query strings.Builder
	query.WriteString(`SELECT ` + transactionColumns + ` FROM `)
	if f.Account != "" {
		// Walk the account's postings in transaction order rather than every transaction.
		query.WriteString(`(SELECT DISTINCT p.transaction_id FROM ledger_postings p
			WHERE p.account = ` + arg(f.Account) + ` AND p.transaction_id > $1 ORDER BY 1) a
			JOIN ledger_transactions t ON t.id = a.transaction_id`)
	} else {
		query.WriteString(`ledger_transactions t`)
	}
	query.WriteString(` LEFT JOIN ledger_chain c ON c.transaction_id = t.id WHERE t.id > $1`)
	if f.Reference != "" {
		query.WriteString(` AND t.reference = ` + arg(f.Reference))
	}
	query.WriteString(` ORDER BY t.id LIMIT ` + arg(limit+1))

	// Both reads from the same pool: a transaction's postings commit with it and never change,
	// so a later snapshot finds the same ones.
	db := j.reads()
	var rows []transactionRow
	if err := db.SelectContext(ctx, &rows, query.String(), args...); err != nil {
		return nil, "", fmt.Errorf("list ledger transactions: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = encodeCursor(rows[limit-1].ID)
	}
	txs := make([]Transaction, len(rows))
	for i, r := range rows {
		txs[i] = r.transaction()
	}
	if err := loadPostings(ctx, db, txs); err != nil {
		return nil, "", err
	}
	return txs, next, nil
}

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id <= 0 || string(b) != strconv.FormatInt(id, 10) {
		return 0, errors.New("bad cursor")
	}
	return id, nil
}
