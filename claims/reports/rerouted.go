package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger"
)

// reroutedQuery sums, per month of service, group and currency, what completed reviews moved
// from a share's payer to its fallback payer (rerouted_shares), by the type of the payer it
// came from and of the payer it went to. %[1]s is the group, %[2]s the joins it needs beyond
// the share sh and its encounter e, %[3]s the reviewer's filter. Re-routed claims are few (a
// row per rejected line with a fallback), so they are read live: the kept report months
// (report_months) hold the schedule's split and never change with a review.
const reroutedQuery = `
SELECT to_char(rs.service_date, 'YYYY-MM') AS period, %[1]s AS grp, rs.currency, sum(rs.amount),
       coalesce(sum(rs.amount) FILTER (WHERE op.payer_type = 'international'), 0),
       coalesce(sum(rs.amount) FILTER (WHERE op.payer_type = 'donor'), 0),
       coalesce(sum(rs.amount) FILTER (WHERE op.payer_type = 'state_fund'), 0),
       coalesce(sum(rs.amount) FILTER (WHERE op.payer_type = 'government'), 0),
       coalesce(sum(rs.amount) FILTER (WHERE fp.payer_type = 'international'), 0),
       coalesce(sum(rs.amount) FILTER (WHERE fp.payer_type = 'donor'), 0),
       coalesce(sum(rs.amount) FILTER (WHERE fp.payer_type = 'state_fund'), 0),
       coalesce(sum(rs.amount) FILTER (WHERE fp.payer_type = 'government'), 0)
FROM rerouted_shares rs
JOIN line_shares sh ON sh.id = rs.share_id
JOIN encounters e ON e.id = rs.encounter_id
%[2]s
JOIN organizations op ON op.code = rs.payer_code
JOIN organizations fp ON fp.code = rs.fallback_payer_code
WHERE rs.service_date >= $1 AND rs.service_date < $2 AND e.status = 'posted' %[3]s
GROUP BY 1, 2, 3`

// addRerouted sets the re-routed amounts of the rows of every grouping, for months in
// [from, until): Rerouted, and its split by the type of the payer that rejected it
// (ReroutedFrom) and of the fallback payer that took it (ReroutedTo). A reviewer's rows show
// what was re-routed away from its own payer's shares: those rows always exist, since the
// share is part of them. Amounts are never suppressed (only counts of patients are).
func addRerouted(ctx context.Context, tx *sqlx.Tx, rows map[string][]TransitionRow, from, until time.Time, payer string) error {
	for g, items := range rows {
		grp := transitionGroups[g]
		filter := ""
		args := []any{trcledger.DateOf(from), trcledger.DateOf(until)}
		if payer != "" {
			filter, args = `AND rs.payer_code = $3`, append(args, payer)
		}
		index := map[[3]string]int{}
		for i, r := range items {
			index[[3]string{r.Period, groupName(r.Group), r.Currency}] = i
		}
		if err := readRerouted(ctx, tx, fmt.Sprintf(reroutedQuery, grp.expr, grp.shareJoins, filter), args, index, items); err != nil {
			return err
		}
	}
	return nil
}

// readRerouted adds the re-routed amounts the query answers to the rows of items (by index).
func readRerouted(ctx context.Context, tx *sqlx.Tx, query string, args []any, index map[[3]string]int, items []TransitionRow) error {
	res, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("transition report: re-routed amounts: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var period, group, currency string
		var total trcledger.Amount
		var f, t PayerTypeAmounts
		if err := res.Scan(&period, &group, &currency, &total, &f.International, &f.Donor, &f.StateFund, &f.Government,
			&t.International, &t.Donor, &t.StateFund, &t.Government); err != nil {
			return fmt.Errorf("transition report: re-routed amounts: %w", err)
		}
		if i, ok := index[[3]string{period, group, currency}]; ok {
			items[i].Rerouted, items[i].ReroutedFrom, items[i].ReroutedTo = total, f, t
		}
	}
	return res.Err()
}
