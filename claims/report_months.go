package claims

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/pg"
)

// The transition report keeps each month's rows computed in report_months (migration 0010):
// writers mark the months they change in report_dirty, RefreshReports recomputes marked months,
// and TransitionReport reads the kept rows of unmarked months and aggregates marked ones live.

// markReportMonth marks the month of day as changed, in the writer's transaction.
func markReportMonth(ctx context.Context, tx *sqlx.Tx, day trcledger.Date) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO report_dirty (period) VALUES (to_char($1::date, 'YYYY-MM'))`, day); err != nil {
		return fmt.Errorf("mark the report month: %w", err)
	}
	return nil
}

// RefreshReports recomputes the kept transition report rows of the months marked as changed,
// a month at a time, each in its own transaction. A month is left for later while it is still
// being written to (a mark younger than quiet) unless its oldest mark is older than maxLag, so
// that a bulk import is not slowed down by recomputing the months it is filling. Another
// process refreshing the same month is skipped over. It returns the months refreshed.
func (s *Service) RefreshReports(ctx context.Context, quiet, maxLag time.Duration) (int, error) {
	var months []string
	err := s.db.SelectContext(ctx, &months, `SELECT period FROM report_dirty GROUP BY period
		HAVING max(marked_at) <= now() - $1 * interval '1 microsecond' OR min(marked_at) <= now() - $2 * interval '1 microsecond'
		ORDER BY period`, quiet.Microseconds(), maxLag.Microseconds())
	if err != nil {
		return 0, fmt.Errorf("find changed report months: %w", err)
	}
	done := 0
	for _, m := range months {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		ok, err := s.refreshMonth(ctx, m)
		if err != nil {
			return done, err
		}
		if ok {
			done++
		}
	}
	return done, nil
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
		n, err := s.RefreshReports(ctx, 3*time.Second, 5*time.Minute)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("refresh report months", "err", err)
		case n > 0:
			log.Info("report months refreshed", "months", n)
		}
	}
}

// reportShareRow is one share of a posted encounter with everything the report groups by.
type reportShareRow struct {
	seq                                                        int64
	patient, currency, provider, site, canton, category, payer string
	payerType                                                  string
	cents                                                      int64
}

// refreshMonth recomputes one month's kept rows; false when another process holds the month.
func (s *Service) refreshMonth(ctx context.Context, period string) (bool, error) {
	start, end, err := periodBounds(period)
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
		// The marks go first: a change committed after this statement keeps its mark, and the
		// month is computed again later. Everything committed before is read below.
		if _, err := tx.ExecContext(ctx, `DELETE FROM report_dirty WHERE period = $1`, period); err != nil {
			return fmt.Errorf("take report marks: %w", err)
		}
		agg, err := aggregateMonth(ctx, tx, start, end)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM report_months WHERE period = $1`, period); err != nil {
			return fmt.Errorf("clear report month: %w", err)
		}
		if err := agg.insert(ctx, tx, period); err != nil {
			return err
		}
		refreshed = true
		return nil
	})
	return refreshed, err
}

// reportKey is one kept row: a grouping, its group, the payer whose reviewers see it ("" for
// finance and admin) and the currency.
type reportKey struct{ grouping, grp, payer, currency string }

type reportAcc struct {
	total      int64    // every share, in cents
	byType     [4]int64 // international, donor, state_fund, government, in cents
	encounters map[int64]struct{}
	patients   map[string]struct{}
}

type monthAggregate map[reportKey]*reportAcc

var payerTypeIndex = map[string]int{"international": 0, "donor": 1, "state_fund": 2, "government": 3}

// groupOf is the group of a share under each grouping, as transitionGroups defines it.
func (r *reportShareRow) groupOf(grouping string) string {
	switch grouping {
	case ByCanton:
		return r.canton
	case BySite:
		return r.site
	case ByProvider:
		return r.provider
	case ByServiceCategory:
		return r.category
	}
	return ""
}

var reportGroupings = []string{"", ByCanton, BySite, ByProvider, ByServiceCategory}

// aggregateMonth reads the month's shares of posted encounters once and sums them for every
// grouping and every payer scope, with the distinct encounters and patients behind each row:
// the same figures transitionSQL computes for one grouping and scope (the tests compare them).
func aggregateMonth(ctx context.Context, tx *sqlx.Tx, start, end trcledger.Date) (monthAggregate, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT e.seq, e.patient_key, e.currency, e.provider_code, e.site_code, si.jurisdiction_code, svc.category,
		       sh.payer_code, coalesce(o.payer_type, ''), (sh.amount * 100)::bigint
		FROM line_shares sh
		JOIN encounters e ON e.id = sh.encounter_id
		JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.line_no = sh.line_no
		JOIN services svc ON svc.code = el.service_code
		JOIN sites si ON si.code = e.site_code
		JOIN organizations o ON o.code = sh.payer_code
		WHERE e.status = 'posted' AND sh.service_date >= $1 AND sh.service_date <= $2`, start, end)
	if err != nil {
		return nil, fmt.Errorf("read the month's shares: %w", err)
	}
	defer rows.Close()
	agg := monthAggregate{}
	interned := map[string]string{}
	intern := func(s string) string {
		if v, ok := interned[s]; ok {
			return v
		}
		interned[s] = s
		return s
	}
	var r reportShareRow
	for rows.Next() {
		if err := rows.Scan(&r.seq, &r.patient, &r.currency, &r.provider, &r.site, &r.canton, &r.category,
			&r.payer, &r.payerType, &r.cents); err != nil {
			return nil, fmt.Errorf("read the month's shares: %w", err)
		}
		r.patient = intern(r.patient)
		ti, ok := payerTypeIndex[r.payerType]
		for _, g := range reportGroupings {
			grp := r.groupOf(g)
			for _, scope := range [2]string{"", r.payer} {
				k := reportKey{g, grp, scope, r.currency}
				a := agg[k]
				if a == nil {
					a = &reportAcc{encounters: map[int64]struct{}{}, patients: map[string]struct{}{}}
					agg[k] = a
				}
				a.total += r.cents
				if ok {
					a.byType[ti] += r.cents
				}
				a.encounters[r.seq] = struct{}{}
				a.patients[r.patient] = struct{}{}
			}
		}
	}
	return agg, rows.Err()
}

// insert writes the month's rows in one statement.
func (agg monthAggregate) insert(ctx context.Context, tx *sqlx.Tx, period string) error {
	n := len(agg)
	groupings, grps, payers, currencies := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	var totals, intl, donor, fund, gov, encs, pats []int64
	for k, a := range agg {
		groupings, grps, payers, currencies = append(groupings, k.grouping), append(grps, k.grp), append(payers, k.payer), append(currencies, k.currency)
		totals = append(totals, a.total)
		intl, donor, fund, gov = append(intl, a.byType[0]), append(donor, a.byType[1]), append(fund, a.byType[2]), append(gov, a.byType[3])
		encs, pats = append(encs, int64(len(a.encounters))), append(pats, int64(len(a.patients)))
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO report_months (period, grouping, payer_code, currency, grp, total, international, donor, state_fund, government, encounters, patients)
		SELECT $1, g, p, c, grp, t / 100.0, i / 100.0, d / 100.0, f / 100.0, v / 100.0, e, n
		FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::int[], $12::int[])
			AS t(g, grp, p, c, t, i, d, f, v, e, n)`,
		period, pq.Array(groupings), pq.Array(grps), pq.Array(payers), pq.Array(currencies), pq.Array(totals),
		pq.Array(intl), pq.Array(donor), pq.Array(fund), pq.Array(gov), pq.Array(encs), pq.Array(pats))
	if err != nil {
		return fmt.Errorf("write report month %s: %w", period, err)
	}
	return nil
}
