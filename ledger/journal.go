package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger/internal/pg"
)

// sealLockKey is the transaction-scoped advisory lock that lets one sealer at a time, across
// every process on the database, append to the chain.
const sealLockKey int64 = 0x7472636c65646772 // "trcledgr"

// DefaultSealBatch is how many transactions one seal step links, in one database transaction.
const DefaultSealBatch = 10000

// Journal reads the ledger and seals it: links committed transactions into the hash chain,
// rolls their postings up into daily totals, computes balances and verifies the chain.
type Journal struct {
	db      *sqlx.DB
	replica *pg.Replica // Balance, Accounts and Transactions read there while it is caught up
	kick    chan struct{}
	batch   int
}

// New returns a Journal on db. Nothing is sealed until Seal, Run or Verify is called.
func New(db *sqlx.DB) *Journal {
	return &Journal{db: db, kick: make(chan struct{}, 1), batch: DefaultSealBatch}
}

// Seal links every transaction committed so far and not yet in the chain, in batches of
// DefaultSealBatch, each in its own database transaction, until none is left; it returns how
// many it linked. Transactions that commit while it runs may be linked too, or by the next
// Seal. It is safe to call from many goroutines and processes at once: they take turns. It
// returns a wrapped database error (nothing is half-sealed: a failed batch rolls back).
func (j *Journal) Seal(ctx context.Context) (int, error) {
	n, _, err := j.seal(ctx)
	return n, err
}

// seal is Seal that also returns the snapshot of its last batch: every transaction committed
// as of that snapshot is in the chain.
func (j *Journal) seal(ctx context.Context) (int, string, error) {
	total := 0
	var after int64
	for {
		n, snapshot, more, last, err := j.sealBatch(ctx, after)
		total += n
		switch {
		case err != nil:
			return total, "", err
		case more:
			// The next batch need not look again at the ids this one passed.
			after = last
		case after == 0:
			return total, snapshot, nil
		default:
			// Finish with a search of all ids: a lower one may have committed meanwhile, and
			// only a complete search may claim its snapshot.
			after = 0
		}
	}
}

// Kick asks Run to seal now rather than at its next tick; it never blocks, and kicks that
// arrive while a seal runs are merged into one more seal.
func (j *Journal) Kick() {
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

// Run seals every interval (1 s if every is not positive) and whenever Kick is called, until
// ctx is done. It logs nothing; a failed seal (the database briefly away, ...) is simply tried
// again at the next tick.
func (j *Journal) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Second
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-j.kick:
			// Kicks come after every commit; sealing at most every kickGap lets one seal take
			// what many commits wrote instead of competing with them for the database.
			if wait := kickGap - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		_, _ = j.Seal(ctx)
		last = time.Now()
	}
}

// kickGap is the shortest time between two seals asked for by Kick.
const kickGap = 100 * time.Millisecond

// lastLink is the newest link of the chain.
type lastLink struct {
	Position int64  `db:"position"`
	Hash     []byte `db:"hash"`
}

// sealBatch links up to j.batch unsealed transactions with ids above after, in id order. It
// reports more when there were more than that, and the last id it linked.
//
// How it finds them without scanning the journal: every transaction row records the
// top-level id of the database transaction that wrote it (xact_id), and each search of all ids
// that found everything moves a bookmark (ledger_seal_state) to the snapshot taken before it.
// Every transaction committed as of that snapshot is in the chain, so the ones left can only
// have been written by database transactions that were still running then (its xip list, now
// committed) or started later (xact_id >= its xmax): ledger_unsealed_transactions() looks
// those up on the xact_id index. A lower id that commits after higher ones were sealed is
// therefore found by the next seal, and a writer that is still running costs nothing.
func (j *Journal) sealBatch(ctx context.Context, after int64) (n int, snapshot string, more bool, lastID int64, err error) {
	tx, err := j.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, "", false, 0, fmt.Errorf("seal ledger: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// Read committed: every statement after the lock sees what the previous sealer committed.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, sealLockKey); err != nil {
		return 0, "", false, 0, fmt.Errorf("seal ledger: lock: %w", err)
	}
	last := lastLink{Hash: GenesisHash}
	err = tx.GetContext(ctx, &last, `SELECT position, hash FROM ledger_chain ORDER BY position DESC LIMIT 1`)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, 0, fmt.Errorf("seal ledger: read last link: %w", err)
	}
	// Taken before the search below, so everything committed as of it is found by the search.
	if err := tx.GetContext(ctx, &snapshot, `SELECT pg_current_snapshot()::text`); err != nil {
		return 0, "", false, 0, fmt.Errorf("seal ledger: snapshot: %w", err)
	}
	var rows []transactionRow
	if err := tx.SelectContext(ctx, &rows, `SELECT t.id, t.kind, t.reference, t.effective_date, t.created_at
		FROM ledger_unsealed_transactions($2) u JOIN ledger_transactions t ON t.id = u.id
		ORDER BY t.id LIMIT $1`, j.batch+1, after); err != nil {
		return 0, "", false, 0, fmt.Errorf("seal ledger: find unsealed transactions: %w", err)
	}
	// One more than a batch tells whether this batch takes everything there is.
	more = len(rows) > j.batch
	if more {
		rows = rows[:j.batch]
	}
	if len(rows) > 0 {
		if err := j.link(ctx, tx, last, rows); err != nil {
			return 0, "", false, 0, err
		}
		lastID = rows[len(rows)-1].ID
	}
	// Only a search of all ids that found everything may move the bookmark.
	if !more && after == 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE ledger_seal_state SET sealed_snapshot = $1::pg_snapshot`, snapshot); err != nil {
			return 0, "", false, 0, fmt.Errorf("seal ledger: move bookmark: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, "", false, 0, fmt.Errorf("seal ledger: commit: %w", err)
	}
	return len(rows), snapshot, more, lastID, nil
}

// link appends the links of rows (in order) after last and adds their postings to the daily
// totals, in tx.
func (j *Journal) link(ctx context.Context, tx *sqlx.Tx, last lastLink, rows []transactionRow) error {
	txs := make([]Transaction, len(rows))
	ids := make([]int64, len(rows))
	index := make(map[int64]int, len(rows))
	for i, r := range rows {
		txs[i] = r.transaction()
		ids[i] = r.ID
		index[r.ID] = i
	}
	entries := make([][]entry, len(txs))
	prows, err := tx.QueryContext(ctx, `SELECT transaction_id, account, currency, amount::text
		FROM ledger_postings WHERE transaction_id = ANY($1)`, pq.Int64Array(ids))
	if err != nil {
		return fmt.Errorf("seal ledger: read postings: %w", err)
	}
	defer prows.Close()
	var in interner
	for prows.Next() {
		var id int64
		var account, currency, amount string
		if err := prows.Scan(&id, &account, &currency, &amount); err != nil {
			return fmt.Errorf("seal ledger: read postings: %w", err)
		}
		cents, err := parseCents(amount)
		if err != nil {
			return fmt.Errorf("seal ledger: posting of transaction %d: %q: %w", id, amount, err)
		}
		i := index[id]
		entries[i] = append(entries[i], entry{in.get(account), in.get(currency), cents})
	}
	if err := prows.Err(); err != nil {
		return fmt.Errorf("seal ledger: read postings: %w", err)
	}

	positions := make([]int64, len(txs))
	hashes := make(pq.ByteaArray, len(txs))
	totals := dayTotals{}
	prev := last.Hash
	var buf []byte
	for i := range txs {
		t := &txs[i]
		totals.add(t.EffectiveDate.String(), entries[i])
		prev = linkHash(&buf, prev, t, entries[i])
		positions[i], hashes[i] = last.Position+int64(i+1), prev
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_chain (position, transaction_id, hash)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])`,
		pq.Int64Array(positions), pq.Int64Array(ids), hashes); err != nil {
		return fmt.Errorf("seal ledger: insert links: %w", err)
	}
	return addDailyTotals(ctx, tx, totals)
}

// interner returns one copy of each distinct string: accounts and currencies repeat.
type interner map[string]string

func (in *interner) get(s string) string {
	if *in == nil {
		*in = map[string]string{}
	}
	if v, ok := (*in)[s]; ok {
		return v
	}
	(*in)[s] = s
	return s
}

// addDailyTotals adds the debits and credits of newly sealed postings to ledger_daily_totals.
func addDailyTotals(ctx context.Context, tx *sqlx.Tx, totals dayTotals) error {
	var accounts, currencies, dates, debits, credits []string
	for k, d := range totals {
		accounts = append(accounts, k.account)
		currencies = append(currencies, k.currency)
		dates = append(dates, k.date)
		debits = append(debits, d.debits.value().String())
		credits = append(credits, d.credits.value().String())
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO ledger_daily_totals AS d (account, currency, effective_date, debits, credits)
		SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::numeric[], $5::numeric[])
		ON CONFLICT (account, currency, effective_date) DO UPDATE
		SET debits = d.debits + EXCLUDED.debits, credits = d.credits + EXCLUDED.credits`,
		pq.StringArray(accounts), pq.StringArray(currencies), pq.StringArray(dates),
		pq.StringArray(debits), pq.StringArray(credits))
	if err != nil {
		return fmt.Errorf("seal ledger: add daily totals: %w", err)
	}
	return nil
}

// SealLag returns the age of the oldest transaction not yet sealed into the hash chain, or 0
// when every transaction is sealed (for the sealer-lag metric).
func (j *Journal) SealLag(ctx context.Context) (time.Duration, error) {
	var secs float64
	err := j.db.GetContext(ctx, &secs, `
		SELECT coalesce(extract(epoch FROM now() - min(t.created_at)), 0)::float8
		FROM ledger_unsealed_transactions() u JOIN ledger_transactions t ON t.id = u.id`)
	if err != nil {
		return 0, fmt.Errorf("read seal lag: %w", err)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
