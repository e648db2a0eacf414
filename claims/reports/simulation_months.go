package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/pg"
)

// What-if simulations read each month from kept aggregates (migration 0026): the month's
// posted lines counted per contract, scope, rule and price inputs (simulation_cells) and its
// posted shares summed per contract and payer (simulation_actuals). A year of a million lines
// becomes some tens of thousands of cells. Writers mark the months they change through
// report_changes and report_dirty, whose triggers copy the month into simulation_changes; a
// month is kept when simulation_months has it and simulation_changes has nothing for it.

// staleSimulationMonths returns those of months that are not kept, or changed since.
func staleSimulationMonths(ctx context.Context, q sqlx.QueryerContext, months []string) ([]string, error) {
	var stale []string
	err := sqlx.SelectContext(ctx, q, &stale, `
		SELECT m FROM unnest($1::text[]) m
		WHERE NOT EXISTS (SELECT 1 FROM simulation_months k WHERE k.period = m)
		   OR EXISTS (SELECT 1 FROM simulation_changes c WHERE c.period = m)
		ORDER BY m`, pq.Array(months))
	if err != nil {
		return nil, fmt.Errorf("simulation: stale months: %w", err)
	}
	return stale, nil
}

// keepSimulationMonths computes again the kept aggregates of each of months that is not kept or
// has changed, a month per transaction.
func (s *Service) keepSimulationMonths(ctx context.Context, months []string) error {
	stale, err := staleSimulationMonths(ctx, s.db, months)
	if err != nil {
		return err
	}
	for _, m := range stale {
		if err := s.keepSimulationMonth(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// RefreshSimulations keeps the simulation aggregates of every month with posted encounters up
// to date, so that the first simulation after a change does not pay for it; it returns the
// months it computed. Like RefreshReports, it leaves alone months still being written to (a
// change younger than quiet).
func (s *Service) RefreshSimulations(ctx context.Context, quiet time.Duration) (int, error) {
	var months []string
	err := s.db.SelectContext(ctx, &months, `
		SELECT period FROM simulation_changes GROUP BY period
		HAVING max(marked_at) <= now() - $1 * interval '1 microsecond'
		ORDER BY period`, quiet.Microseconds())
	if err != nil {
		return 0, fmt.Errorf("simulation: changed months: %w", err)
	}
	for i, m := range months {
		if err := s.keepSimulationMonth(ctx, m); err != nil {
			return i, err
		}
	}
	return len(months), nil
}

// keepSimulationMonth computes one month's kept aggregates, under an advisory lock of the month.
// It runs READ COMMITTED: it first takes the month's change marks, then aggregates in a later
// snapshot, which holds everything those marks stood for. A change committed meanwhile either is
// in the aggregate or leaves its mark for the next time (or both: then it is only computed
// twice).
func (s *Service) keepSimulationMonth(ctx context.Context, period string) error {
	start, err := time.Parse("2006-01", period)
	if err != nil {
		return fmt.Errorf("simulation month %q: %w", period, err)
	}
	return pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('simulation_months'), hashtext($1))`, period); err != nil {
			return fmt.Errorf("simulation: lock month: %w", err)
		}
		stale, err := staleSimulationMonths(ctx, tx, []string{period})
		if err != nil || len(stale) == 0 { // another request kept it while this one waited
			return err
		}
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		if err := monthScanSettings(ctx, tx); err != nil {
			return err
		}
		from, until := trcledger.DateOf(start), trcledger.DateOf(start.AddDate(0, 1, 0))
		for _, st := range []struct {
			q    string
			args []any
		}{
			{`DELETE FROM simulation_changes WHERE period = $1`, []any{period}},
			{`DELETE FROM simulation_cells WHERE period = $1`, []any{period}},
			{`DELETE FROM simulation_actuals WHERE period = $1`, []any{period}},
			{`INSERT INTO simulation_cells (period, contract_id, currency, service_category, beneficiary_category, site_code,
				cost_share_rule_id, unit_price, quantity, vat_rate, amount, lines)
			  SELECT period, contract_id, currency, service_category, beneficiary_category, site_code, cost_share_rule_id,
			         unit_price, quantity, vat_rate, amount, lines
			  FROM (` + fmt.Sprintf(cellsSQL, `NULL::date`, ``) + `) c`, []any{from, until}},
			{`INSERT INTO simulation_actuals (period, contract_id, currency, payer_code, amount)
			  SELECT $3, e.contract_id, e.currency, sh.payer_code, sum(sh.amount)
			  FROM line_shares sh JOIN encounters e ON e.id = sh.encounter_id AND e.revision = sh.revision
			  WHERE e.status = 'posted' AND sh.service_date >= $1 AND sh.service_date < $2
			    AND e.service_date >= $1 AND e.service_date < $2
			  GROUP BY e.contract_id, e.currency, sh.payer_code`, []any{from, until, period}},
			{`INSERT INTO simulation_months (period, computed_at) VALUES ($1, now())
			  ON CONFLICT (period) DO UPDATE SET computed_at = EXCLUDED.computed_at`, []any{period}},
		} {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("simulation: keep %s: %w", period, err)
			}
		}
		return nil
	})
}
