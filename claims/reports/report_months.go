package reports

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/pg"
)

// RefreshReports recomputes the kept transition report rows of the months marked as changed,
// a month at a time, each in its own transaction. It waits while anything is still being
// written (a mark younger than quiet), so that a bulk import is not slowed down by recomputing
// the months it is filling, unless a mark is older than maxLag. Another process refreshing the
// same month is skipped over; a month that fails is left marked (its reports stay correct,
// aggregated live) and the others are still refreshed. It returns the months refreshed and
// the first failure (a database failure, without a code).
func (s *Service) RefreshReports(ctx context.Context, quiet, maxLag time.Duration) (int, error) {
	var months []string
	err := s.db.SelectContext(ctx, &months, `
		SELECT DISTINCT period FROM report_dirty
		WHERE (SELECT max(marked_at) <= now() - $1 * interval '1 microsecond' OR min(marked_at) <= now() - $2 * interval '1 microsecond' FROM report_dirty)
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

// refreshMonth recomputes one month's kept rows; false when another process holds the month.
func (s *Service) refreshMonth(ctx context.Context, period string) (bool, error) {
	start, end, err := claims.PeriodBounds(period)
	if err != nil {
		return false, fmt.Errorf("report month %q: %w", period, err)
	}
	refreshed := false
	err = pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		refreshed = false
		var locked bool
		if err := tx.GetContext(ctx, &locked, `SELECT pg_try_advisory_xact_lock(hashtext('report_months'), hashtext($1))`, period); err != nil {
			return fmt.Errorf("lock report month: %w", err)
		}
		if !locked {
			return nil
		}
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		if err := monthScanSettings(ctx, tx); err != nil {
			return err
		}
		// The marks go first: a change committed after this statement keeps its mark, and the
		// month is computed again later. Everything committed before is read below.
		if _, err := tx.ExecContext(ctx, `DELETE FROM report_dirty WHERE period = $1`, period); err != nil {
			return fmt.Errorf("take report marks: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM report_months WHERE period = $1`, period); err != nil {
			return fmt.Errorf("clear report month: %w", err)
		}
		if _, err := tx.ExecContext(ctx, monthRowsQuery, period, start, end); err != nil {
			return fmt.Errorf("compute report month %s: %w", period, err)
		}
		refreshed = true
		return nil
	})
	return refreshed, err
}

// monthRowsQuery computes a month's kept rows for every grouping and every payer scope in one
// statement: each share of a posted encounter counts once in every grouping (its group there)
// and twice in scope, for everyone ("") and for its payer's reviewers (only a share that
// counts for access, access.ShareCounts: a payer listed at 0 is not in scope), with the distinct
// encounters and patients behind each row. These are the figures transitionSQL computes for
// one grouping and one scope (the tests compare them). The sets are counted by PostgreSQL,
// within work_mem, not in the server's memory. $1 is the period, $2 and $3 its first and last day.
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
	JOIN encounters e ON e.id = sh.encounter_id
	JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.line_no = sh.line_no
	JOIN services svc ON svc.code = el.service_code
	JOIN sites si ON si.code = e.site_code
	JOIN organizations o ON o.code = sh.payer_code
	WHERE e.status = 'posted' AND sh.service_date >= $2 AND sh.service_date <= $3
	  AND e.service_date >= $2 AND e.service_date <= $3 -- the same date: lets both tables be read by date
) x
CROSS JOIN LATERAL (VALUES (''), (CASE WHEN x.counts THEN x.payer_code END)) sc(payer)
CROSS JOIN LATERAL (VALUES ('', ''), ('` + ByCanton + `', x.jurisdiction_code), ('` + BySite + `', x.site_code),
	('` + ByProvider + `', x.provider_code), ('` + ByServiceCategory + `', x.category)) g(grouping, grp)
WHERE sc.payer IS NOT NULL
GROUP BY g.grouping, sc.payer, x.currency, g.grp`
