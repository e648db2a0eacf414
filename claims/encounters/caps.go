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
	"github.com/trcledger/trcledger/contracts"
)

// Budget ceilings in the writer (issue 13 item 3, docs/caps.md). The writer locks the
// cap-periods its encounters fall in (one row each in cap_periods, FOR UPDATE, in key order),
// consumes them job by job in posting order before it builds the ledger transactions, and
// records every use. With mode route the part of a share beyond what is left goes to the
// overflow payer, so the ledger, the claims queue and the report months, which are all written
// from the shares, follow the routed shares. With mode warn the share stays and its use records
// what lies beyond the ceiling, which the submit checks flag over_cap.

// Cap periods and modes, declared once (the API's vocabularies cap_period and cap_mode).
var (
	CapPeriods = []string{"month", "quarter", "year"}
	CapModes   = []string{"route", "warn"}
)

// capRule is a cap as the writer applies it.
type capRule struct {
	ID         int64           `db:"id"`
	ContractID int64           `db:"contract_id"`
	Payer      string          `db:"payer_code"`
	Period     string          `db:"period"`
	Amount     decimal.Decimal `db:"amount"`
	From       trcledger.Date  `db:"effective_from"`
	To         *trcledger.Date `db:"effective_to"`
	Overflow   *string         `db:"overflow_payer_code"`
	Mode       string          `db:"mode"`
}

// periodStart is the first day of the cap's period (calendar month, quarter or year) holding d.
func periodStart(period string, d trcledger.Date) trcledger.Date {
	t := d.Time()
	switch period {
	case "year":
		return trcledger.NewDate(t.Year(), time.January, 1)
	case "quarter":
		return trcledger.NewDate(t.Year(), time.Month((int(t.Month())-1)/3*3+1), 1)
	}
	return trcledger.NewDate(t.Year(), t.Month(), 1)
}

// periodEnd is the first day after the period that starts on start.
func periodEnd(period string, start trcledger.Date) trcledger.Date {
	t := start.Time()
	switch period {
	case "year":
		return trcledger.DateOf(t.AddDate(1, 0, 0))
	case "quarter":
		return trcledger.DateOf(t.AddDate(0, 3, 0))
	}
	return trcledger.DateOf(t.AddDate(0, 1, 0))
}

// periodLabel names the period that starts on start: 2025-03, 2025-Q1, 2025.
func periodLabel(period string, start trcledger.Date) string {
	t := start.Time()
	switch period {
	case "year":
		return fmt.Sprintf("%d", t.Year())
	case "quarter":
		return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())-1)/3+1)
	}
	return t.Format("2006-01")
}

type capKey struct {
	cap   int64
	start string // the period's first day, YYYY-MM-DD
}

// capUse is one share's use of a cap.
type capUse struct {
	key                    capKey
	enc                    *Encounter
	lineNo                 int
	payer                  string
	consumed, routed, over decimal.Decimal
}

// capBook is what one transaction consumes: the caps of its contracts, the locked cap-periods
// with what each has used, and the uses it adds. A nil book has no caps.
type capBook struct {
	caps  map[int64][]capRule // by contract id
	used  map[capKey]decimal.Decimal
	dirty map[capKey]bool
	uses  []capUse
}

// capFor is the cap of payer on the contract in force on day, if any (caps of one contract and
// payer never overlap).
func (b *capBook) capFor(contractID int64, payer string, day trcledger.Date) *capRule {
	for i := range b.caps[contractID] {
		c := &b.caps[contractID][i]
		if c.Payer == payer && day.InRange(c.From, c.To) {
			return c
		}
	}
	return nil
}

// lockCaps reads the caps of the encounters' contracts and locks the cap-periods their shares
// fall in, creating those not used yet. Every writer takes them in one order (cap, period), so
// concurrent writers queue on them and never deadlock. It returns nil when no cap applies.
func lockCaps(ctx context.Context, tx *sqlx.Tx, encs []*Encounter) (*capBook, error) {
	seen := map[int64]bool{}
	var ids []int64
	for _, e := range encs {
		if !seen[e.contractID] {
			seen[e.contractID] = true
			ids = append(ids, e.contractID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var rules []capRule
	if err := tx.SelectContext(ctx, &rules, `SELECT id, contract_id, payer_code, period, amount, effective_from, effective_to,
		overflow_payer_code, mode FROM contract_caps WHERE contract_id = ANY($1) ORDER BY id`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("read caps: %w", err)
	}
	if len(rules) == 0 {
		return nil, nil
	}
	b := &capBook{caps: map[int64][]capRule{}, used: map[capKey]decimal.Decimal{}, dirty: map[capKey]bool{}}
	for _, r := range rules {
		b.caps[r.ContractID] = append(b.caps[r.ContractID], r)
	}
	keys := map[capKey]bool{}
	for _, e := range encs {
		for _, l := range e.Lines {
			for _, sh := range l.Shares {
				if c := b.capFor(e.contractID, sh.PayerCode, e.ServiceDate); c != nil {
					keys[capKey{c.ID, periodStart(c.Period, e.ServiceDate).String()}] = true
				}
			}
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return b, b.lock(ctx, tx, keys)
}

// lock creates and locks the cap-periods keys, in key order, and reads what each has used.
func (b *capBook) lock(ctx context.Context, tx *sqlx.Tx, keys map[capKey]bool) error {
	sorted := make([]capKey, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].cap != sorted[j].cap {
			return sorted[i].cap < sorted[j].cap
		}
		return sorted[i].start < sorted[j].start
	})
	capIDs, starts := make([]int64, len(sorted)), make([]string, len(sorted))
	for i, k := range sorted {
		capIDs[i], starts[i] = k.cap, k.start
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO cap_periods (cap_id, period_start)
		SELECT c, s FROM unnest($1::bigint[], $2::date[]) AS t(c, s) ORDER BY c, s
		ON CONFLICT DO NOTHING`, pq.Array(capIDs), pq.Array(starts)); err != nil {
		return fmt.Errorf("add cap periods: %w", err)
	}
	var rows []struct {
		Cap   int64           `db:"cap_id"`
		Start trcledger.Date  `db:"period_start"`
		Used  decimal.Decimal `db:"used"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT p.cap_id, p.period_start, p.used
		FROM cap_periods p JOIN unnest($1::bigint[], $2::date[]) AS t(c, s) ON p.cap_id = t.c AND p.period_start = t.s
		ORDER BY p.cap_id, p.period_start FOR UPDATE OF p`, pq.Array(capIDs), pq.Array(starts)); err != nil {
		return fmt.Errorf("lock cap periods: %w", err)
	}
	for _, r := range rows {
		b.used[capKey{r.Cap, r.Start.String()}] = r.Used
	}
	return nil
}

// consume charges the encounters' shares to their caps in posting order (encounters, lines,
// then shares in the rule's order) and routes what lies beyond a route cap to its overflow
// payer. The returned undo gives back exactly what this call took and restores the shares; the
// writer calls it when the job turns out not to be stored, before it looks at the next job.
func (b *capBook) consume(encs []*Encounter) (undo func()) {
	if b == nil {
		return func() {}
	}
	mark := len(b.uses)
	for _, e := range encs {
		for li := range e.Lines {
			b.consumeLine(e, li)
		}
	}
	return func() {
		for _, u := range b.uses[mark:] {
			b.used[u.key] = b.used[u.key].Sub(u.consumed)
		}
		b.uses = b.uses[:mark]
		for _, e := range encs {
			e.uncap()
		}
	}
}

// consumeLine charges line li of e. Each share is charged on its amount as the rule split it;
// what is routed to an overflow payer is not charged to the overflow payer's own cap, and is
// never routed on. The shares still add up to the line amount.
func (b *capBook) consumeLine(e *Encounter, li int) {
	l := &e.Lines[li]
	n := len(l.Shares)
	routed := make([]decimal.Decimal, n)
	to := make([]string, n)
	anyRouted := false
	for i := 0; i < n; i++ {
		sh := &l.Shares[i]
		c := b.capFor(e.contractID, sh.PayerCode, e.ServiceDate)
		if c == nil || !sh.Amount.IsPositive() {
			continue
		}
		k := capKey{c.ID, periodStart(c.Period, e.ServiceDate).String()}
		used := b.used[k]
		left := decimal.Max(c.Amount.Sub(used), decimal.Zero)
		u := capUse{key: k, enc: e, lineNo: l.LineNo, payer: sh.PayerCode, routed: decimal.Zero, over: decimal.Zero}
		if c.Mode == "route" {
			u.consumed = decimal.Min(sh.Amount.Decimal, left)
			u.routed = sh.Amount.Sub(u.consumed)
		} else {
			u.consumed = sh.Amount.Decimal
			u.over = sh.Amount.Sub(decimal.Min(sh.Amount.Decimal, left))
		}
		b.used[k] = used.Add(u.consumed)
		b.dirty[k] = true
		b.uses = append(b.uses, u)
		if u.routed.IsPositive() {
			routed[i], to[i], anyRouted = u.routed, *c.Overflow, true
		}
	}
	if !anyRouted {
		return
	}
	e.keepUncapped()
	for i := 0; i < n; i++ {
		if routed[i].IsZero() {
			continue
		}
		l.Shares[i].Amount = trcledger.NewAmount(l.Shares[i].Amount.Sub(routed[i]))
		j := -1
		for k := range l.Shares {
			if l.Shares[k].PayerCode == to[i] {
				j = k
				break
			}
		}
		if j < 0 { // the overflow payer has no share in the line: it gets one, at the end
			l.Shares = append(l.Shares, contracts.ShareAmount{PayerCode: to[i], Amount: trcledger.NewAmount(decimal.Zero)})
			j = len(l.Shares) - 1
		}
		if j >= n { // a share of its own carries the basis points it relieves (so that it counts)
			l.Shares[j].BasisPoints = min(10000, l.Shares[j].BasisPoints+l.Shares[i].BasisPoints)
		}
		l.Shares[j].Amount = trcledger.NewAmount(l.Shares[j].Amount.Add(routed[i]))
	}
}

// keepUncapped remembers the shares as priced, once, so that uncap can restore them.
func (e *Encounter) keepUncapped() {
	if e.uncapped != nil {
		return
	}
	e.uncapped = make([][]contracts.ShareAmount, len(e.Lines))
	for i, l := range e.Lines {
		e.uncapped[i] = append([]contracts.ShareAmount(nil), l.Shares...)
	}
}

// uncap restores the shares as priced (the writer starts a job again from them).
func (e *Encounter) uncap() {
	if e.uncapped == nil {
		return
	}
	for i := range e.Lines {
		e.Lines[i].Shares = e.uncapped[i]
	}
	e.uncapped = nil
}

// save writes what the book consumed: the cap-periods' used amounts and one row per use. The
// encounters' ids must be set.
func (b *capBook) save(ctx context.Context, tx *sqlx.Tx) error {
	if b == nil || len(b.uses) == 0 {
		return nil
	}
	var capIDs []int64
	var starts, used []string
	for k := range b.dirty {
		capIDs, starts, used = append(capIDs, k.cap), append(starts, k.start), append(used, b.used[k].String())
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cap_periods p SET used = t.u
		FROM unnest($1::bigint[], $2::date[], $3::numeric[]) AS t(c, s, u) WHERE p.cap_id = t.c AND p.period_start = t.s`,
		pq.Array(capIDs), pq.Array(starts), pq.Array(used)); err != nil {
		return fmt.Errorf("update cap periods: %w", err)
	}
	n := len(b.uses)
	ucap, ustart, uenc, upayer := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	uline := make([]int64, n)
	ucons, urout, uover := make([]string, n), make([]string, n), make([]string, n)
	for i, u := range b.uses {
		ucap[i], ustart[i], uenc[i], uline[i], upayer[i] = u.key.cap, u.key.start, u.enc.ID, int64(u.lineNo), u.payer
		ucons[i], urout[i], uover[i] = u.consumed.String(), u.routed.String(), u.over.String()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO cap_uses (cap_id, period_start, encounter_id, line_no, payer_code, consumed, routed, over, created_at)
		SELECT c, s, e, l, p, cn, r, o, now()
		FROM unnest($1::bigint[], $2::date[], $3::uuid[], $4::int[], $5::text[], $6::numeric[], $7::numeric[], $8::numeric[])
			AS t(c, s, e, l, p, cn, r, o)`,
		pq.Array(ucap), pq.Array(ustart), pq.Array(uenc), pq.Array(uline), pq.Array(upayer),
		pq.Array(ucons), pq.Array(urout), pq.Array(uover)); err != nil {
		return fmt.Errorf("record cap uses: %w", err)
	}
	b.uses, b.dirty = nil, map[capKey]bool{}
	return nil
}

// ConsumeCaps charges the shares of encs (their ids set, not yet written) to the caps of their
// contracts in tx, in the order given, routing what lies beyond a route cap to its overflow
// payer: it changes the encounters' shares, which the caller then writes and posts to the
// ledger as they are. It locks the cap-periods until tx ends. (Repricing does not call it: it
// gives back and charges in one pass over the cap-periods, reprice_caps.go.)
func ConsumeCaps(ctx context.Context, tx *sqlx.Tx, encs []*Encounter) error {
	for _, e := range encs {
		e.uncap() // a retried transaction starts again from the shares as split
	}
	b, err := lockCaps(ctx, tx, encs)
	if err != nil {
		return err
	}
	b.consume(encs)
	return b.save(ctx, tx)
}

// ReleaseCaps gives back to their cap-periods what the encounters' current shares consumed
// (a void) and marks those uses released. Shares other
// encounters had routed stay where they are: the room is for the posts that come next.
func ReleaseCaps(ctx context.Context, tx *sqlx.Tx, encounterIDs []string, now time.Time) error {
	if len(encounterIDs) == 0 {
		return nil
	}
	// Lock the periods in the writer's order before touching them.
	_, err := tx.ExecContext(ctx, `SELECT 1 FROM cap_periods p
		WHERE (p.cap_id, p.period_start) IN (SELECT cap_id, period_start FROM cap_uses WHERE encounter_id = ANY($1::uuid[]) AND released_at IS NULL)
		ORDER BY p.cap_id, p.period_start FOR UPDATE`, pq.Array(encounterIDs))
	if err != nil {
		return fmt.Errorf("lock cap periods: %w", err)
	}
	_, err = tx.ExecContext(ctx, `
		WITH released AS (
			UPDATE cap_uses SET released_at = $2 WHERE encounter_id = ANY($1::uuid[]) AND released_at IS NULL
			RETURNING cap_id, period_start, consumed
		), per AS (
			SELECT cap_id, period_start, sum(consumed) AS consumed FROM released GROUP BY 1, 2
		)
		UPDATE cap_periods p SET used = p.used - per.consumed FROM per
		WHERE p.cap_id = per.cap_id AND p.period_start = per.period_start`, pq.Array(encounterIDs), now)
	if err != nil {
		return fmt.Errorf("release caps: %w", err)
	}
	return nil
}
