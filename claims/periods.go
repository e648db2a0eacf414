package claims

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
)

// Closed months (issue 13 item 6, docs/corrections.md). Finance closes a month; nothing whose
// ledger effective date falls in it is posted, voided or repriced afterwards. Writers take a
// shared lock on each month they write into and then read which are closed; closing and
// reopening take the month's lock exclusively, so a month is never closed under a write that
// found it open.

// Period states.
const (
	PeriodOpen   = "open"
	PeriodClosed = "closed"
)

// PeriodStates is the vocabulary of a month's state; PeriodActions that of what finance does to it.
var (
	PeriodStates  = []string{PeriodOpen, PeriodClosed}
	PeriodActions = []string{"close", "reopen"}
)

// PeriodOf is the month (YYYY-MM) of a day.
func PeriodOf(d trcledger.Date) string { return d.Time().Format("2006-01") }

// LockPeriodShared takes the shared lock of each month, in one order, until the transaction
// ends. It returns only database failures.
func LockPeriodShared(ctx context.Context, tx *sqlx.Tx, months []string) error {
	months = sortedUnique(months)
	if len(months) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT count(pg_advisory_xact_lock_shared(hashtext('period'), hashtext(m)))
		FROM (SELECT m FROM unnest($1::text[]) m ORDER BY m) s`, pq.Array(months)); err != nil {
		return fmt.Errorf("lock months: %w", err)
	}
	return nil
}

// LockPeriod takes the exclusive lock of a month until the transaction ends (closing and
// reopening it). It returns only database failures.
func LockPeriod(ctx context.Context, tx *sqlx.Tx, month string) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('period'), hashtext($1))`, month); err != nil {
		return fmt.Errorf("lock month %s: %w", month, err)
	}
	return nil
}

// ClosedPeriods locks the months (LockPeriodShared) and returns those of them that are closed.
// The read comes after the lock, in a statement of its own, so it sees a close that committed
// while it waited. It returns only database failures.
func ClosedPeriods(ctx context.Context, tx *sqlx.Tx, months []string) (map[string]bool, error) {
	months = sortedUnique(months)
	if len(months) == 0 {
		return map[string]bool{}, nil
	}
	if err := LockPeriodShared(ctx, tx, months); err != nil {
		return nil, err
	}
	var closed []string
	if err := tx.SelectContext(ctx, &closed, `SELECT period FROM periods WHERE period = ANY($1) AND status = 'closed'`, pq.Array(months)); err != nil {
		return nil, fmt.Errorf("read closed months: %w", err)
	}
	out := make(map[string]bool, len(closed))
	for _, m := range closed {
		out[m] = true
	}
	return out, nil
}

// ClosedPeriodsBetween returns the closed months from the month of from to that of to, in
// order (not locked: a caller that writes locks them with ClosedPeriods).
func ClosedPeriodsBetween(ctx context.Context, q sqlx.QueryerContext, from, to trcledger.Date) ([]string, error) {
	closed := []string{}
	if err := sqlx.SelectContext(ctx, q, &closed, `SELECT period FROM periods WHERE status = 'closed' AND period >= $1 AND period <= $2 ORDER BY period`,
		PeriodOf(from), PeriodOf(to)); err != nil {
		return nil, fmt.Errorf("read closed months: %w", err)
	}
	return closed, nil
}

// FirstOpenDay is the first day of the first month after month that is not closed: where a
// correction of an encounter of the closed month is booked. It locks that month shared. It
// returns only database failures.
func FirstOpenDay(ctx context.Context, tx *sqlx.Tx, month string) (trcledger.Date, error) {
	start, _, err := PeriodBounds(month)
	if err != nil {
		return trcledger.Date{}, err
	}
	for d := start; ; {
		d = trcledger.DateOf(d.Time().AddDate(0, 1, 0))
		closed, err := ClosedPeriods(ctx, tx, []string{PeriodOf(d)})
		if err != nil {
			return trcledger.Date{}, err
		}
		if !closed[PeriodOf(d)] {
			return d, nil
		}
	}
}

// ErrPeriodClosed is the 409 period_closed for a write dated in a closed month; field names
// the date at fault ("" for none).
func ErrPeriodClosed(month, field string) *trcledger.Error {
	e := trcledger.Errorf(trcledger.ECONFLICT, "the month %s is closed; nothing dated in it is posted, voided or repriced", month).
		WithReason("period_closed").With("period", month)
	if field != "" {
		e.Fields = []trcledger.FieldError{{Field: field, Message: fmt.Sprintf("falls in %s, which is closed", month)}}
	}
	return e
}

func sortedUnique(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return slices.Compact(out)
}
