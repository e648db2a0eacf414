package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/pg"
)

// ParityFilter selects the months From..To (YYYY-MM, both included) of a state fund's parity
// report. PayerCode is required of finance and admin; a reviewer's is their own payer.
type ParityFilter struct {
	From, To  string
	PayerCode string
}

// ParityRow compares, for one service, the unit price of the posted lines the fund has a share
// in with the fund's own reference price on the line's service date: how many lines are above,
// at and below it, how many had no reference price that day, and AmountAbove = the sum of
// (contract unit price − fund price) × quantity over the lines above, rounded half up to cents.
type ParityRow struct {
	ServiceCode       string           `json:"service_code"`
	LinesAbove        int64            `json:"lines_above"`
	LinesAt           int64            `json:"lines_at"`
	LinesBelow        int64            `json:"lines_below"`
	LinesUnreferenced int64            `json:"lines_without_reference"`
	AmountAbove       trcledger.Amount `json:"amount_above"`
}

// ParityReport is the parity of a state fund's lines with its tariff for insured citizens.
type ParityReport struct {
	PayerCode string      `json:"payer_code"`
	Items     []ParityRow `json:"items"`
}

// ReferencePriceSQL is the unit price of a reference tariff item ri of version rv.
const ReferencePriceSQL = `CASE ri.method WHEN 'fixed' THEN ri.price ELSE ri.points * rv.point_value END`

// parityQuery: the current lines of posted encounters in [$1, $2) in which the payer $3 has a
// share that counts (ShareCostsSQL), each with the payer's reference price on its date.
const parityQuery = `
WITH priced AS (
	SELECT el.service_code, el.unit_price, el.quantity, ref.price AS ref_price
	FROM line_shares sh
	JOIN encounters e ON e.id = sh.encounter_id AND e.revision = sh.revision
	JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.revision = sh.revision AND el.line_no = sh.line_no
	LEFT JOIN LATERAL (
		SELECT ` + ReferencePriceSQL + ` AS price
		FROM reference_tariff_versions rv
		JOIN reference_tariff_items ri ON ri.version_id = rv.id AND ri.service_code = el.service_code
		WHERE rv.payer_code = sh.payer_code AND rv.effective_from <= e.service_date
		  AND (rv.effective_to IS NULL OR e.service_date < rv.effective_to)
	) ref ON true
	WHERE sh.payer_code = $3 AND sh.basis_points > 0 AND sh.amount > 0 AND e.status = 'posted'
	  AND sh.service_date >= $1 AND sh.service_date < $2
)
SELECT service_code,
       count(*) FILTER (WHERE unit_price > ref_price),
       count(*) FILTER (WHERE unit_price = ref_price),
       count(*) FILTER (WHERE unit_price < ref_price),
       count(*) FILTER (WHERE ref_price IS NULL),
       round(coalesce(sum((unit_price - ref_price) * quantity) FILTER (WHERE unit_price > ref_price), 0), 2)
FROM priced
GROUP BY 1
ORDER BY 1`

// ParityReport compares, per service, the contract prices of the lines the fund shares in the
// months of f with the fund's reference tariff on each line's date. Finance and admin name the
// fund (payer_code); a reviewer sees only their own payer's (another payer is ENOTFOUND).
//
// It returns EFORBIDDEN for clinic staff, ENOTFOUND for a reviewer asking for another payer,
// and EINVALID naming every bad field: from and to as for the transition report, payer_code
// missing, unknown or not a state fund.
func (s *Service) ParityReport(ctx context.Context, f ParityFilter) (*ParityReport, error) {
	own, err := reportPayer(ctx)
	if err != nil {
		return nil, err
	}
	if own != "" {
		if f.PayerCode != "" && f.PayerCode != own {
			return nil, trcledger.Errorf(trcledger.ENOTFOUND, "payer %s not found", f.PayerCode)
		}
		f.PayerCode = own
	}
	from, until, err := TransitionFilter{From: f.From, To: f.To}.Validate()
	var fs trcledger.Fields
	_ = fs.MergeErr(err)
	if f.PayerCode == "" {
		fs.Add("payer_code", "is required")
	} else if err := checkStateFund(ctx, s.db, f.PayerCode); err != nil {
		if e := (*trcledger.Error)(nil); errors.As(err, &e) && e.Code == trcledger.EINVALID {
			fs.Merge("", e.Fields)
		} else {
			return nil, err
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	out := &ParityReport{PayerCode: f.PayerCode, Items: []ParityRow{}}
	err = pg.WithTxOpts(ctx, s.db, readSnapshot, func(tx *sqlx.Tx) error {
		out.Items = []ParityRow{}
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, parityQuery, trcledger.DateOf(from), trcledger.DateOf(until), f.PayerCode)
		if err != nil {
			return fmt.Errorf("parity report: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r ParityRow
			if err := rows.Scan(&r.ServiceCode, &r.LinesAbove, &r.LinesAt, &r.LinesBelow, &r.LinesUnreferenced, &r.AmountAbove); err != nil {
				return fmt.Errorf("parity report: %w", err)
			}
			out.Items = append(out.Items, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkStateFund returns EINVALID (field payer_code) unless code is a payer of type state_fund.
func checkStateFund(ctx context.Context, q sqlx.QueryerContext, code string) error {
	var payerType sql.NullString
	var kind string
	err := q.QueryRowxContext(ctx, `SELECT kind, payer_type FROM organizations WHERE code = $1`, code).Scan(&kind, &payerType)
	var f trcledger.Fields
	switch {
	case errors.Is(err, sql.ErrNoRows):
		f.Add("payer_code", "unknown payer %s", code)
	case err != nil:
		return fmt.Errorf("parity report: payer: %w", err)
	case kind != "payer" || payerType.String != "state_fund":
		f.Add("payer_code", "%s is not a state fund", code)
	}
	return f.Err()
}
