package encounters

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

// Repricing under budget ceilings (issue 13 items 1 and 3, docs/caps.md, docs/corrections.md).
// The encounters a repricing re-posts give back what their old shares consumed, and their new
// shares are charged again, in posting order, exactly as the writer charges a post: the part
// beyond a route cap goes to its overflow payer, a warn cap records what lies beyond it. What
// the repricing compares, counts, reverses and posts are those shares after caps.

// oldUse is a live use of a cap by an encounter that a repricing re-posts.
type oldUse struct {
	ID       int64           `db:"id"`
	Cap      int64           `db:"cap_id"`
	Start    trcledger.Date  `db:"period_start"`
	Consumed decimal.Decimal `db:"consumed"`
}

// repricingCaps is what a repricing does to the caps of its contract: the book that charged the
// new shares, and the old uses it gives back. Its zero value (no cap concerned) does nothing.
type repricingCaps struct {
	book     *capBook
	released []int64 // ids of the old uses given back
}

// contractCaps reads the caps of the contract (append-only; the repricing holds the contract
// FOR UPDATE, so none is added meanwhile).
func contractCaps(ctx context.Context, tx *sqlx.Tx, contractID int64) ([]capRule, error) {
	var rules []capRule
	if err := tx.SelectContext(ctx, &rules, `SELECT id, contract_id, payer_code, period, amount, effective_from, effective_to,
		overflow_payer_code, mode FROM contract_caps WHERE contract_id = $1 ORDER BY id`, contractID); err != nil {
		return nil, fmt.Errorf("read caps: %w", err)
	}
	return rules, nil
}

// overflowPayers are the payers the caps may route to: a repricing takes their claims locks too,
// before it knows where its new shares go.
func overflowPayers(rules []capRule) []string {
	var out []string
	for _, r := range rules {
		if r.Overflow != nil {
			out = append(out, *r.Overflow)
		}
	}
	return out
}

// chargeRepricing gives back, in memory, what the live uses of the encounters in apply consumed,
// then charges their new shares (r.newLines, as the rule split them) in posting order, routing
// as the writer does: r.newLines become the shares after caps. Applying (lock), it first
// creates and locks every cap-period concerned, those of the old uses and those of the new
// shares, in one pass in the writer's order (cap, period), after the claims locks, as a void
// does; a dry run reads the same rows in its snapshot, locking and writing nothing. Nothing is
// written here: save does that.
func chargeRepricing(ctx context.Context, tx *sqlx.Tx, rules []capRule, apply []*repricedEncounter, lock bool) (*repricingCaps, error) {
	out := &repricingCaps{}
	if len(rules) == 0 || len(apply) == 0 {
		return out, nil
	}
	b := &capBook{caps: map[int64][]capRule{}, used: map[capKey]decimal.Decimal{}, dirty: map[capKey]bool{}}
	for _, r := range rules {
		b.caps[r.ContractID] = append(b.caps[r.ContractID], r)
	}
	ids := make([]string, len(apply))
	for i, r := range apply {
		ids[i] = r.e.ID
	}
	var old []oldUse
	if err := tx.SelectContext(ctx, &old, `SELECT id, cap_id, period_start, consumed FROM cap_uses
		WHERE encounter_id = ANY($1::uuid[]) AND released_at IS NULL ORDER BY id`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("read the cap uses of the repriced encounters: %w", err)
	}
	keys := map[capKey]bool{}
	for _, u := range old {
		keys[capKey{u.Cap, u.Start.String()}] = true
	}
	for _, r := range apply {
		for _, l := range r.newLines {
			for _, sh := range l.Shares {
				if c := b.capFor(r.e.contractID, sh.PayerCode, r.e.ServiceDate); c != nil {
					keys[capKey{c.ID, periodStart(c.Period, r.e.ServiceDate).String()}] = true
				}
			}
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	if lock {
		if err := b.lock(ctx, tx, keys); err != nil {
			return nil, err
		}
	} else if err := b.read(ctx, tx, keys); err != nil {
		return nil, err
	}
	// The old shares are reversed: what they consumed goes back before anything is charged.
	for _, u := range old {
		k := capKey{u.Cap, u.Start.String()}
		b.used[k] = b.used[k].Sub(u.Consumed)
		b.dirty[k] = true
		out.released = append(out.released, u.ID)
	}
	// Posting order: the order of the encounters' posting ledger transactions, which is the
	// order the writer charged them in (it appends a job's transactions as it consumes).
	order := append([]*repricedEncounter(nil), apply...)
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].e.LedgerTransactionID != order[j].e.LedgerTransactionID {
			return order[i].e.LedgerTransactionID < order[j].e.LedgerTransactionID
		}
		return order[i].e.ID < order[j].e.ID
	})
	for _, r := range order {
		next := new(Encounter)
		*next = *r.e
		next.Lines, next.uncapped = r.newLines, nil
		b.consume([]*Encounter{next})
		r.newLines = next.Lines
	}
	out.book = b
	return out, nil
}

// read reads what the cap-periods keys have used, in the transaction's snapshot and without
// locking; a period not charged yet has used nothing (the dry run's view of lock).
func (b *capBook) read(ctx context.Context, tx *sqlx.Tx, keys map[capKey]bool) error {
	var capIDs []int64
	var starts []string
	for k := range keys {
		capIDs, starts = append(capIDs, k.cap), append(starts, k.start)
		b.used[k] = decimal.Zero
	}
	var rows []struct {
		Cap   int64           `db:"cap_id"`
		Start trcledger.Date  `db:"period_start"`
		Used  decimal.Decimal `db:"used"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT p.cap_id, p.period_start, p.used
		FROM cap_periods p JOIN unnest($1::bigint[], $2::date[]) AS t(c, s) ON p.cap_id = t.c AND p.period_start = t.s`,
		pq.Array(capIDs), pq.Array(starts)); err != nil {
		return fmt.Errorf("read cap periods: %w", err)
	}
	for _, r := range rows {
		b.used[capKey{r.Cap, r.Start.String()}] = r.Used
	}
	return nil
}

// save writes what chargeRepricing decided: the old uses are marked released at now, the
// cap-periods get their new used amounts and the new shares their uses. Only an applied
// repricing calls it, with the cap-periods locked.
func (rc *repricingCaps) save(ctx context.Context, tx *sqlx.Tx, now time.Time) error {
	if rc.book == nil {
		return nil
	}
	if len(rc.released) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE cap_uses SET released_at = $2 WHERE id = ANY($1) AND released_at IS NULL`,
			pq.Array(rc.released), now); err != nil {
			return fmt.Errorf("release the repriced encounters' cap uses: %w", err)
		}
	}
	if len(rc.book.uses) == 0 { // only releases: book.save writes used only along with uses
		return rc.book.saveUsed(ctx, tx)
	}
	return rc.book.save(ctx, tx)
}

// saveUsed writes the used amounts of the cap-periods the book changed.
func (b *capBook) saveUsed(ctx context.Context, tx *sqlx.Tx) error {
	var capIDs []int64
	var starts, used []string
	for k := range b.dirty {
		capIDs, starts, used = append(capIDs, k.cap), append(starts, k.start), append(used, b.used[k].String())
	}
	if len(capIDs) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cap_periods p SET used = t.u
		FROM unnest($1::bigint[], $2::date[], $3::numeric[]) AS t(c, s, u) WHERE p.cap_id = t.c AND p.period_start = t.s`,
		pq.Array(capIDs), pq.Array(starts), pq.Array(used)); err != nil {
		return fmt.Errorf("update cap periods: %w", err)
	}
	return nil
}
