package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

// VerifyResult is the verdict of Verify. TransactionsChecked counts the links checked (the
// bad one included). When OK is false, Reason says what is wrong and FirstBad names the first
// transaction (in chain order) found wrong, if the fault lies in one; it is null otherwise.
type VerifyResult struct {
	OK                  bool   `json:"ok"`
	TransactionsChecked int64  `json:"transactions_checked"`
	FirstBad            *int64 `json:"first_bad"`
	Reason              string `json:"reason,omitempty"`
}

// verifyBatch is how many links Verify reads per pair of queries.
const verifyBatch = 10000

// verifyLinksQuery reads the links after a position with their transactions; a link whose
// transaction is gone has NULL transaction columns.
const verifyLinksQuery = `
SELECT c.position, c.transaction_id, c.hash, t.id IS NOT NULL, t.kind, t.reference,
       t.effective_date::text, t.created_at
FROM (SELECT position, transaction_id, hash FROM ledger_chain
      WHERE position > $1 ORDER BY position LIMIT $2) c
LEFT JOIN ledger_transactions t ON t.id = c.transaction_id
ORDER BY c.position`

// verifyPostingsQuery reads the postings of the same links, in the same order.
const verifyPostingsQuery = `
SELECT c.position, p.account, p.currency, p.amount::text, p.effective_date::text
FROM (SELECT position, transaction_id FROM ledger_chain
      WHERE position > $1 ORDER BY position LIMIT $2) c
JOIN ledger_postings p ON p.transaction_id = c.transaction_id
ORDER BY c.position`

// Verify seals what is committed, then recomputes the whole hash chain in position order from
// the stored transactions and postings, in one consistent snapshot, streaming it in batches so
// that memory does not grow with the journal. It stops at the first link that is wrong and
// names its transaction: "hash mismatch" (a field of the transaction or of a posting changed, a
// posting was removed or added, or the link's hash itself was altered), "missing transaction",
// "no postings", "unbalanced in <currency>", "posting effective date differs", or "link
// missing before position <n>" (a link was removed). It then checks that every transaction
// the seal must have linked is in the chain ("not in the chain") and that the daily totals
// balances are read from match the sealed postings. A broken ledger is a result with OK
// false, not an error; errors are wrapped database errors only.
func (j *Journal) Verify(ctx context.Context) (VerifyResult, error) {
	_, sealedAsOf, err := j.seal(ctx)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify ledger: %w", err)
	}
	tx, err := j.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return VerifyResult{}, fmt.Errorf("verify ledger: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// Each batch is a few thousand links: probing the indexes for them keeps every batch as
	// cheap as the first, where a hash join would scan all postings once per batch.
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL jit = off`); err != nil {
		return VerifyResult{}, fmt.Errorf("verify ledger: %w", err)
	}

	v := verifier{prev: GenesisHash, totals: dayTotals{}}
	for {
		n, err := v.readBatch(ctx, tx)
		if err != nil {
			return VerifyResult{}, err
		}
		if v.bad != nil {
			return *v.bad, nil
		}
		if n < verifyBatch {
			break
		}
	}
	res := VerifyResult{OK: true, TransactionsChecked: v.checked}

	// One pass over both id-ordered indexes.
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_mergejoin = on`); err != nil {
		return VerifyResult{}, fmt.Errorf("verify ledger: %w", err)
	}
	var unsealed sql.NullInt64
	if err := tx.GetContext(ctx, &unsealed, `SELECT min(t.id) FROM ledger_transactions t
		WHERE pg_visible_in_snapshot(t.xact_id, $1::pg_snapshot)
		  AND NOT EXISTS (SELECT 1 FROM ledger_chain c WHERE c.transaction_id = t.id)`, sealedAsOf); err != nil {
		return VerifyResult{}, fmt.Errorf("verify ledger: look for unsealed transactions: %w", err)
	}
	if unsealed.Valid {
		id := unsealed.Int64
		res.OK, res.FirstBad, res.Reason = false, &id, "not in the chain"
		return res, nil
	}
	if reason, err := v.checkTotals(ctx, tx); err != nil {
		return VerifyResult{}, err
	} else if reason != "" {
		res.OK, res.Reason = false, reason
	}
	return res, nil
}

// verifier carries the state of Verify from link to link.
type verifier struct {
	position int64  // of the last link checked
	prev     []byte // its hash
	checked  int64
	bad      *VerifyResult
	totals   dayTotals // daily totals recomputed from the checked links
	buf      []byte
	in       interner
	links    []link // the batch being checked
}

// link is a link of the chain with its transaction and postings, as stored.
type link struct {
	position, transactionID int64
	hash                    []byte
	found                   bool // the transaction exists
	tx                      Transaction
	date                    string // the transaction's effective date, YYYY-MM-DD
	entries                 []entry
	otherDate               bool // a posting carries another effective date
}

// readBatch reads and checks up to verifyBatch links after v.position; it returns how many
// links it read, and stops, setting v.bad, at the first bad one.
func (v *verifier) readBatch(ctx context.Context, tx *sqlx.Tx) (int, error) {
	rows, err := tx.QueryContext(ctx, verifyLinksQuery, v.position, verifyBatch)
	if err != nil {
		return 0, fmt.Errorf("verify ledger: read chain: %w", err)
	}
	defer rows.Close()
	v.links = v.links[:0]
	index := map[int64]int{}
	for rows.Next() {
		var l link
		var kind, reference, date sql.NullString
		var createdAt sql.NullTime
		if err := rows.Scan(&l.position, &l.transactionID, &l.hash, &l.found, &kind, &reference, &date, &createdAt); err != nil {
			return 0, fmt.Errorf("verify ledger: read chain: %w", err)
		}
		if l.found {
			d, err := trcledger.ParseDate(date.String)
			if err != nil {
				return 0, fmt.Errorf("verify ledger: transaction %d: %w", l.transactionID, err)
			}
			l.tx = Transaction{ID: l.transactionID, Kind: kind.String, Reference: reference.String,
				EffectiveDate: d, CreatedAt: trcledger.TimeOf(createdAt.Time)}
			l.date = date.String
		}
		index[l.position] = len(v.links)
		v.links = append(v.links, l)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("verify ledger: read chain: %w", err)
	}
	if len(v.links) == 0 {
		return 0, nil
	}

	prows, err := tx.QueryContext(ctx, verifyPostingsQuery, v.position, verifyBatch)
	if err != nil {
		return 0, fmt.Errorf("verify ledger: read postings: %w", err)
	}
	defer prows.Close()
	for prows.Next() {
		var position int64
		var account, currency, amount, date string
		if err := prows.Scan(&position, &account, &currency, &amount, &date); err != nil {
			return 0, fmt.Errorf("verify ledger: read postings: %w", err)
		}
		i, ok := index[position]
		if !ok {
			continue
		}
		l := &v.links[i]
		cents, err := parseCents(amount)
		if err != nil {
			return 0, fmt.Errorf("verify ledger: posting of transaction %d: %q: %w", l.transactionID, amount, err)
		}
		l.entries = append(l.entries, entry{v.in.get(account), v.in.get(currency), cents})
		if date != l.date {
			l.otherDate = true
		}
	}
	if err := prows.Err(); err != nil {
		return 0, fmt.Errorf("verify ledger: read postings: %w", err)
	}
	for i := range v.links {
		if v.check(&v.links[i]) {
			break
		}
	}
	return len(v.links), nil
}

// check checks one link after the previous one; it reports true (and sets v.bad) if it is bad.
func (v *verifier) check(l *link) bool {
	v.checked++
	fail := func(reason string) bool {
		id := l.transactionID
		v.bad = &VerifyResult{TransactionsChecked: v.checked, FirstBad: &id, Reason: reason}
		return true
	}
	if l.position != v.position+1 {
		return fail(fmt.Sprintf("link missing before position %d", l.position))
	}
	if !l.found {
		return fail("missing transaction")
	}
	var problems []string
	if !bytes.Equal(linkHash(&v.buf, v.prev, &l.tx, l.entries), l.hash) {
		problems = append(problems, "hash mismatch")
	}
	if len(l.entries) == 0 {
		problems = append(problems, "no postings")
	}
	if cur := unbalanced(l.entries); len(cur) > 0 {
		problems = append(problems, "unbalanced in "+strings.Join(cur, ", "))
	}
	if l.otherDate {
		problems = append(problems, "posting effective date differs")
	}
	if len(problems) > 0 {
		return fail(strings.Join(problems, "; "))
	}
	v.totals.add(l.date, l.entries)
	v.position, v.prev = l.position, l.hash
	return false
}

// checkTotals compares ledger_daily_totals with the totals recomputed from the chain; it
// returns "" if they match, else what differs.
func (v *verifier) checkTotals(ctx context.Context, tx *sqlx.Tx) (string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT account, currency, effective_date, debits, credits
		FROM ledger_daily_totals ORDER BY account, currency, effective_date`)
	if err != nil {
		return "", fmt.Errorf("verify ledger: read daily totals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k dayKey
		var date trcledger.Date
		var debits, credits decimal.Decimal
		if err := rows.Scan(&k.account, &k.currency, &date, &debits, &credits); err != nil {
			return "", fmt.Errorf("verify ledger: read daily totals: %w", err)
		}
		k.date = date.String()
		d := v.totals[k]
		if d == nil || !d.debits.value().Equal(debits) || !d.credits.value().Equal(credits) {
			return fmt.Sprintf("daily totals of %s in %s on %s do not match the sealed postings", k.account, k.currency, k.date), nil
		}
		delete(v.totals, k)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("verify ledger: read daily totals: %w", err)
	}
	for k := range v.totals {
		return fmt.Sprintf("daily totals of %s in %s on %s are missing", k.account, k.currency, k.date), nil
	}
	return "", nil
}
