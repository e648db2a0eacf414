package reports

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/pg"
)

// RefreshReports brings the kept transition report rows of the changed months up to date, a
// month at a time, each in its own transaction: it folds in what the encounters posted or
// voided since add or take away (report_changes), or recomputes the month whole when it is
// marked in report_dirty. It waits while anything is still being written (a change or mark
// younger than quiet), so that a bulk import is not slowed down by the months it is filling,
// unless one is older than maxLag. Another process refreshing the same month is skipped over; a
// month that fails is left as it was (its reports stay correct, aggregated live) and the others
// are still refreshed. It returns the months refreshed and the first failure (a database
// failure, without a code).
func (s *Service) RefreshReports(ctx context.Context, quiet, maxLag time.Duration) (int, error) {
	var months []string
	err := s.db.SelectContext(ctx, &months, `
		WITH pending AS (SELECT period, marked_at FROM report_dirty UNION ALL SELECT period, marked_at FROM report_changes)
		SELECT DISTINCT period FROM pending
		WHERE period NOT IN (SELECT period FROM periods WHERE status = 'closed') -- frozen until reopened
		  AND (SELECT max(marked_at) <= now() - $1 * interval '1 microsecond' OR min(marked_at) <= now() - $2 * interval '1 microsecond' FROM pending)
		ORDER BY period`, quiet.Microseconds(), maxLag.Microseconds())
	if err != nil {
		return 0, fmt.Errorf("find changed report months: %w", err)
	}
	done := 0
	var first error
	for _, m := range months {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		ok, err := s.refreshMonth(ctx, m)
		if err != nil && first == nil {
			first = err
		}
		if ok {
			done++
		}
	}
	return done, first
}

// RunReports refreshes the report months every interval until ctx ends, logging failures.
func (s *Service) RunReports(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		n, err := s.RefreshReports(ctx, 3*time.Second, 5*time.Minute)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("refresh report months", "err", err)
		case n > 0:
			log.Info("report months refreshed", "months", n, "duration_ms", time.Since(start).Milliseconds())
		}
	}
}

// refreshMonth folds one month's changes into its kept rows, or recomputes them whole when the
// month is marked in report_dirty; false when another process holds the month.
//
// The transaction is REPEATABLE READ: the changes and marks it takes and the encounters it
// reads are those of one snapshot, so a change committed meanwhile is neither lost nor counted
// twice (it stays for the next refresh). Writers only insert changes and marks, so they never
// conflict with it. Two refreshers of one month are kept apart by the advisory lock; one whose
// snapshot predates the other's commit fails to write the rows or take the changes the other
// wrote or took (every write here is an UPDATE, a DELETE or an INSERT ... ON CONFLICT DO UPDATE,
// which PostgreSQL refuses on a row changed after the snapshot), and pg.WithTxOpts runs it again.
func (s *Service) refreshMonth(ctx context.Context, period string) (bool, error) {
	start, end, err := claims.PeriodBounds(period)
	if err != nil {
		return false, fmt.Errorf("report month %q: %w", period, err)
	}
	refreshed := false
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead}
	err = pg.WithTxOpts(ctx, s.db, opts, func(tx *sqlx.Tx) error {
		refreshed = false
		var locked, marked, closed bool
		if err := tx.QueryRowxContext(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('report_months'), hashtext($1)),
			EXISTS (SELECT 1 FROM report_dirty WHERE period = $1),
			EXISTS (SELECT 1 FROM periods WHERE period = $1 AND status = 'closed')`, period).Scan(&locked, &marked, &closed); err != nil {
			return fmt.Errorf("lock report month: %w", err)
		}
		if !locked || closed { // a closed month's kept rows stay as they were when it was closed
			return nil
		}
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		if marked {
			err = recomputeMonth(ctx, tx, period, start, end)
		} else {
			err = s.foldMonth(ctx, tx, period, start, end)
		}
		refreshed = err == nil
		return err
	})
	return refreshed, err
}

// recomputeMonth computes one month's kept rows whole, from every posted encounter of the month,
// and takes its marks and changes: the repair path, and what a mark in report_dirty asks for.
// The tests compare what foldMonth keeps with what this computes.
func recomputeMonth(ctx context.Context, tx *sqlx.Tx, period string, start, end trcledger.Date) error {
	if err := monthScanSettings(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM report_dirty WHERE period = $1`, period); err != nil {
		return fmt.Errorf("take report marks: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM report_changes WHERE period = $1`, period); err != nil {
		return fmt.Errorf("take report changes: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM report_months WHERE period = $1`, period); err != nil {
		return fmt.Errorf("clear report month: %w", err)
	}
	if _, err := tx.ExecContext(ctx, monthRowsQuery, period, start, end); err != nil {
		return fmt.Errorf("compute report month %s: %w", period, err)
	}
	return nil
}

// foldMonth takes one month's changes and, unless they are a large part of the month (then
// recomputing it whole is cheaper: see recomputeAbove), adds what they add or take away to its
// kept rows (foldQuery), then drops the rows no posted encounter is left in (a month recomputed
// whole has no row for them).
func (s *Service) foldMonth(ctx context.Context, tx *sqlx.Tx, period string, start, end trcledger.Date) error {
	var taken []struct {
		Sign int            `db:"sign"`
		IDs  pq.StringArray `db:"encounter_ids"`
	}
	if err := tx.SelectContext(ctx, &taken, `DELETE FROM report_changes WHERE period = $1 RETURNING sign, encounter_ids`, period); err != nil {
		return fmt.Errorf("take report changes: %w", err)
	}
	net := map[string]int{}
	for _, t := range taken {
		for _, id := range t.IDs {
			net[id] += t.Sign
		}
	}
	ids, signs := make([]string, 0, len(net)), make([]int64, 0, len(net))
	for id, sign := range net {
		if sign != 0 { // posted and voided since the last fold: it never counted
			ids, signs = append(ids, id), append(signs, int64(sign))
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var kept int
	if err := tx.GetContext(ctx, &kept, `SELECT coalesce(sum(encounters), 0) FROM report_months WHERE grouping = '' AND payer_code = '' AND period = $1`, period); err != nil {
		return fmt.Errorf("count the kept encounters of %s: %w", period, err)
	}
	if !s.foldAlways && float64(len(ids)) > s.recomputeAbove*float64(kept) {
		return recomputeMonth(ctx, tx, period, start, end)
	}
	// Hash the sums rather than sort every share's cells: the planner, which does not know
	// how many rows the cells give, otherwise sorts them (twice as slow at a few thousand).
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_sort = off`); err != nil {
		return fmt.Errorf("report settings: %w", err)
	}
	if _, err := tx.ExecContext(ctx, foldQuery, period, start, end, pq.Array(ids), pq.Array(signs)); err != nil {
		return fmt.Errorf("fold the changes of report month %s: %w", period, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM report_months WHERE period = $1 AND encounters = 0`, period); err != nil {
		return fmt.Errorf("drop emptied report rows of %s: %w", period, err)
	}
	return nil
}

// reportCells are the rows of report_months a share x counts in: in every grouping (its group
// there), for everyone ("") and for its payer's reviewers when it counts for access
// (access.ShareCounts: a payer listed at 0 is not in scope). x has jurisdiction_code,
// site_code, provider_code, category, payer_code and counts.
const reportCells = `
CROSS JOIN LATERAL (VALUES (''), (CASE WHEN x.counts THEN x.payer_code END)) sc(payer)
CROSS JOIN LATERAL (VALUES ('', ''), ('` + ByCanton + `', x.jurisdiction_code), ('` + BySite + `', x.site_code),
	('` + ByProvider + `', x.provider_code), ('` + ByServiceCategory + `', x.category)) g(grouping, grp)
WHERE sc.payer IS NOT NULL`

// monthRowsQuery computes a month's kept rows for every grouping and every payer scope in one
// statement: each share of a posted encounter counts in its cells (reportCells), with the
// distinct encounters and patients behind each row. These are the figures transitionSQL
// computes for one grouping and one scope (the tests compare them). The sets are counted by
// PostgreSQL, within work_mem, not in the server's memory. $1 is the period, $2 and $3 its first
// and last day. (ON CONFLICT only makes a refresher whose snapshot is older than a row fail and
// start again, rather than break the primary key: recomputeMonth deleted every row it sees.)
const monthRowsQuery = `
INSERT INTO report_months (period, grouping, payer_code, currency, grp, total, international, donor, state_fund, government, encounters, patients)
SELECT $1, g.grouping, sc.payer, x.currency, g.grp, sum(x.amount),
       coalesce(sum(x.amount) FILTER (WHERE x.payer_type = 'international'), 0),
       coalesce(sum(x.amount) FILTER (WHERE x.payer_type = 'donor'), 0),
       coalesce(sum(x.amount) FILTER (WHERE x.payer_type = 'state_fund'), 0),
       coalesce(sum(x.amount) FILTER (WHERE x.payer_type = 'government'), 0),
       count(DISTINCT x.seq), count(DISTINCT x.patient_key)
FROM (
	SELECT e.seq, e.patient_key, e.currency, e.provider_code, e.site_code, si.jurisdiction_code, svc.category,
	       sh.payer_code, o.payer_type, sh.amount, ` + claims.ShareCostsSQL + ` AS counts
	FROM line_shares sh
	JOIN encounters e ON e.id = sh.encounter_id AND e.revision = sh.revision
	JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.revision = sh.revision AND el.line_no = sh.line_no
	JOIN services svc ON svc.code = el.service_code
	JOIN sites si ON si.code = e.site_code
	JOIN organizations o ON o.code = sh.payer_code
	WHERE e.status = 'posted' AND sh.service_date >= $2 AND sh.service_date <= $3
	  AND e.service_date >= $2 AND e.service_date <= $3 -- the same date: lets both tables be read by date
) x` + reportCells + `
GROUP BY g.grouping, sc.payer, x.currency, g.grp
ON CONFLICT ON CONSTRAINT report_months_pkey DO UPDATE SET total = excluded.total, international = excluded.international,
	donor = excluded.donor, state_fund = excluded.state_fund, government = excluded.government,
	encounters = excluded.encounters, patients = excluded.patients`

// foldQuery adds to a month's kept rows what its changed encounters ($4, with their net signs
// in $5, taken from report_changes) change. The changes come as arrays so that the planner
// knows how many there are (it would guess one row for those a statement takes itself, and
// join them row by row: 6.5 s instead of 1 s for a month of 4,500 changed encounters).
// Only the changed encounters and the other encounters of the month of their patients are read.
//
//   - theirs: every encounter of the month of a changed patient that counted at the last fold
//     (before: posted now and not just posted, or just voided) or counts now (after: posted),
//     found through encounters_patient_day_idx, one probe per provider.
//   - per cell (reportCells), patient and encounter, then per cell and patient: what the
//     changed encounters add or take away, and whether the patient was in the cell before and is
//     after; summed per cell, a patient who came in counts 1, one who left -1. (Plain sums,
//     no count(DISTINCT): PostgreSQL hashes them instead of sorting every share's cells.)
//
// The amounts and encounters of an encounter change only when it is repriced, and a repricing
// marks its month to be recomputed whole (report_dirty), so what an encounter added when posted
// (or when its month was last recomputed) is what it takes away when voided. $1 is the period, $2 and $3
// its first and last day.
const foldQuery = `
WITH changed AS (
	SELECT * FROM unnest($4::uuid[], $5::int[]) AS c(id, sign)
), patients AS (
	SELECT DISTINCT e.patient_key FROM changed c JOIN encounters e ON e.id = c.id
), theirs AS (
	SELECT e.id, e.revision, e.patient_key, e.currency, e.site_code, e.provider_code, c.sign,
	       (e.status = 'posted' AND c.sign IS DISTINCT FROM 1) OR c.sign = -1 AS before, e.status = 'posted' AS after
	FROM patients p
	JOIN organizations pr ON pr.kind = 'provider'
	JOIN encounters e ON e.provider_code = pr.code AND e.patient_key = p.patient_key AND e.service_date >= $2 AND e.service_date <= $3
	LEFT JOIN changed c ON c.id = e.id
	WHERE e.status = 'posted' OR c.sign = -1
), per_encounter AS (
	SELECT g.grouping, sc.payer, x.currency, g.grp, x.patient_key, x.id, x.sign, x.before, x.after,
	       sum(x.amount) AS total,
	       coalesce(sum(x.amount) FILTER (WHERE x.payer_type = 'international'), 0) AS international,
	       coalesce(sum(x.amount) FILTER (WHERE x.payer_type = 'donor'), 0) AS donor,
	       coalesce(sum(x.amount) FILTER (WHERE x.payer_type = 'state_fund'), 0) AS state_fund,
	       coalesce(sum(x.amount) FILTER (WHERE x.payer_type = 'government'), 0) AS government
	FROM (
		SELECT t.id, t.patient_key, t.currency, t.provider_code, t.site_code, si.jurisdiction_code, svc.category,
		       t.sign, t.before, t.after, sh.payer_code, o.payer_type, sh.amount, ` + claims.ShareCostsSQL + ` AS counts
		FROM theirs t
		JOIN line_shares sh ON sh.encounter_id = t.id AND sh.revision = t.revision
		JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.revision = sh.revision AND el.line_no = sh.line_no
		JOIN services svc ON svc.code = el.service_code
		JOIN sites si ON si.code = t.site_code
		JOIN organizations o ON o.code = sh.payer_code
	) x` + reportCells + `
	GROUP BY g.grouping, sc.payer, x.currency, g.grp, x.patient_key, x.id, x.sign, x.before, x.after
), per_patient AS (
	SELECT grouping, payer, currency, grp, patient_key,
	       coalesce(sum(sign * total), 0) AS total, coalesce(sum(sign * international), 0) AS international,
	       coalesce(sum(sign * donor), 0) AS donor, coalesce(sum(sign * state_fund), 0) AS state_fund,
	       coalesce(sum(sign * government), 0) AS government, coalesce(sum(sign), 0) AS encounters,
	       bool_or(before) AS before, bool_or(after) AS after
	FROM per_encounter
	GROUP BY grouping, payer, currency, grp, patient_key
), delta AS (
	SELECT grouping, payer, currency, grp, sum(total) AS total, sum(international) AS international, sum(donor) AS donor,
	       sum(state_fund) AS state_fund, sum(government) AS government, sum(encounters) AS encounters,
	       count(*) FILTER (WHERE after AND NOT before) - count(*) FILTER (WHERE before AND NOT after) AS patients
	FROM per_patient
	GROUP BY grouping, payer, currency, grp
)
INSERT INTO report_months AS r (period, grouping, payer_code, currency, grp, total, international, donor, state_fund, government, encounters, patients)
SELECT $1, grouping, payer, currency, grp, total, international, donor, state_fund, government, encounters, patients
FROM delta
WHERE encounters <> 0 OR patients <> 0 OR total <> 0 OR international <> 0 OR donor <> 0 OR state_fund <> 0 OR government <> 0
ON CONFLICT ON CONSTRAINT report_months_pkey DO UPDATE SET total = r.total + excluded.total,
	international = r.international + excluded.international, donor = r.donor + excluded.donor,
	state_fund = r.state_fund + excluded.state_fund, government = r.government + excluded.government,
	encounters = r.encounters + excluded.encounters, patients = r.patients + excluded.patients`
