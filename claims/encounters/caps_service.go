package encounters

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// CapInput is a budget ceiling as an admin adds it.
type CapInput struct {
	PayerCode         string
	Period            string // month, quarter or year
	Amount            decimal.Decimal
	EffectiveFrom     trcledger.Date
	EffectiveTo       *trcledger.Date
	OverflowPayerCode *string
	Mode              string // route or warn
}

// Cap is a budget ceiling of a contract's payer, with what each of its periods has used.
type Cap struct {
	ID                int64            `json:"id" db:"id"`
	ContractCode      string           `json:"contract_code" db:"contract_code"`
	PayerCode         string           `json:"payer_code" db:"payer_code"`
	Period            string           `json:"period" db:"period"`
	Amount            trcledger.Amount `json:"amount" db:"amount"`
	Currency          string           `json:"currency" db:"currency"`
	EffectiveFrom     trcledger.Date   `json:"effective_from" db:"effective_from"`
	EffectiveTo       *trcledger.Date  `json:"effective_to" db:"effective_to"`
	OverflowPayerCode *string          `json:"overflow_payer_code" db:"overflow_payer_code"`
	Mode              string           `json:"mode" db:"mode"`
	CreatedAt         trcledger.Time   `json:"created_at" db:"created_at"`
	// Periods are the periods something was charged to, oldest first.
	Periods []CapPeriod `json:"periods" db:"-"`
}

// CapPeriod is what one period of a cap has used: used is what its payer's shares charged to
// it, left what remains under the ceiling, routed what went to the overflow payer, over what
// lies beyond the ceiling under mode warn.
type CapPeriod struct {
	Label  string           `json:"label"` // 2025-03, 2025-Q1 or 2025
	From   trcledger.Date   `json:"from"`  // its first day
	To     trcledger.Date   `json:"to"`    // its last day
	Used   trcledger.Amount `json:"used"`
	Left   trcledger.Amount `json:"left"`
	Routed trcledger.Amount `json:"routed"`
	Over   trcledger.Amount `json:"over"`
}

// Validate checks a cap's meaning: EINVALID naming every bad field.
func (in *CapInput) Validate() error {
	var f trcledger.Fields
	if strings.TrimSpace(in.PayerCode) == "" {
		f.Add("payer_code", "is required")
	}
	if !slices.Contains(CapPeriods, in.Period) {
		f.Add("period", "must be one of %s", strings.Join(CapPeriods, ", "))
	}
	if !slices.Contains(CapModes, in.Mode) {
		f.Add("mode", "must be one of %s", strings.Join(CapModes, ", "))
	}
	switch {
	case !in.Amount.IsPositive() || trcledger.DecimalPlaces(in.Amount) > 2 || in.Amount.GreaterThanOrEqual(decimal.New(1, 16)):
		f.Add("amount", "must be a positive amount with at most 2 decimals")
	}
	if in.EffectiveFrom.IsZero() {
		f.Add("effective_from", "is required")
	} else if in.EffectiveTo != nil && !in.EffectiveTo.After(in.EffectiveFrom) {
		f.Add("effective_to", "must be after effective_from")
	}
	if in.OverflowPayerCode != nil && strings.TrimSpace(*in.OverflowPayerCode) == "" {
		in.OverflowPayerCode = nil
	}
	switch {
	case in.OverflowPayerCode == nil && in.Mode == "route":
		f.Add("overflow_payer_code", "is required") // with mode route
	case in.OverflowPayerCode != nil && *in.OverflowPayerCode == in.PayerCode:
		f.Add("overflow_payer_code", "must be another payer than payer_code")
	}
	return f.Err()
}

// capContract is the contract a cap belongs to.
type capContract struct {
	ID       int64  `db:"id"`
	Code     string `db:"code"`
	Provider string `db:"provider_code"`
	Currency string `db:"currency"`
}

// findCapContract reads the contract code (locked FOR UPDATE when lock is set) for the caller:
// ENOTFOUND when it does not exist or the caller may not read it (access.CanReadContract).
func findCapContract(ctx context.Context, q sqlx.QueryerContext, code string, lock bool) (*capContract, error) {
	query := `SELECT id, code, provider_code, currency FROM contracts WHERE code = $1`
	if lock {
		query += ` FOR UPDATE` // waits for the writers posting on it, and they for the new cap
	}
	var c capContract
	err := sqlx.GetContext(ctx, q, &c, query, code)
	notFound := trcledger.Errorf(trcledger.ENOTFOUND, "contract %s not found", code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("find contract: %w", err)
	}
	if !access.CanReadContract(access.PrincipalFrom(ctx), c.Provider) {
		return nil, access.Denied(notFound, "contract", code)
	}
	return &c, nil
}

// checkPayer adds to f unless code is a payer.
func checkPayer(ctx context.Context, q sqlx.QueryerContext, f *trcledger.Fields, field, code string) error {
	var kind string
	err := sqlx.GetContext(ctx, q, &kind, `SELECT kind FROM organizations WHERE code = $1`, code)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		f.Add(field, "unknown %s %s", "payer", code)
	case err != nil:
		return fmt.Errorf("check payer: %w", err)
	case kind != "payer":
		f.Add(field, "%s is a %s, not a %s", code, kind, "payer")
	}
	return nil
}

// AddCap adds a budget ceiling to the contract (admin). What the payer's posted shares on the
// contract already charged to the cap's periods counts as used (those shares are not routed
// again; a repricing that re-posts them does). It waits for the posts in progress on the
// contract, and posts after it are charged to it. It returns ENOTFOUND for an unknown contract, EINVALID naming every bad
// field, and ECONFLICT cap_overlap when another cap of the payer on the contract overlaps it.
func (s *Service) AddCap(ctx context.Context, contractCode string, in CapInput) (*Cap, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *Cap
	err := pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		c, err := findCapContract(ctx, tx, contractCode, true)
		if err != nil {
			return err
		}
		var f trcledger.Fields
		if err := checkPayer(ctx, tx, &f, "payer_code", in.PayerCode); err != nil {
			return err
		}
		if in.OverflowPayerCode != nil {
			if err := checkPayer(ctx, tx, &f, "overflow_payer_code", *in.OverflowPayerCode); err != nil {
				return err
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		var id int64
		err = tx.GetContext(ctx, &id, `INSERT INTO contract_caps (contract_id, payer_code, period, amount, effective_from, effective_to,
			overflow_payer_code, mode, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			c.ID, in.PayerCode, in.Period, in.Amount.String(), in.EffectiveFrom, in.EffectiveTo, in.OverflowPayerCode, in.Mode, s.now().UTC())
		if err != nil {
			return pg.Translate(err)
		}
		if err := chargePosted(ctx, tx, id, c.ID, in, s.now().UTC()); err != nil {
			return err
		}
		caps, err := readCaps(ctx, tx, c, &id)
		if err != nil {
			return err
		}
		out = &caps[0]
		return access.Record(ctx, tx, "create", "cap", fmt.Sprint(id), map[string]any{
			"contract_code": c.Code, "payer_code": in.PayerCode, "period": in.Period, "amount": out.Amount.String(), "mode": in.Mode})
	})
	if err != nil {
		return nil, access.RecordDenied(ctx, s.db, err)
	}
	return out, nil
}

// chargePosted charges to a new cap what the payer's posted shares on the contract in its
// effective range already took, as uses that a void gives back like any other.
func chargePosted(ctx context.Context, tx *sqlx.Tx, capID, contractID int64, in CapInput, now time.Time) error {
	_, err := tx.ExecContext(ctx, `
		WITH routed_in AS ( -- what other caps routed to this payer as overflow: never charged, as at posting
			SELECT cu.encounter_id, cu.line_no, sum(cu.routed) AS amount
			FROM cap_uses cu JOIN contract_caps cc ON cc.id = cu.cap_id
			WHERE cc.contract_id = $2 AND cc.overflow_payer_code = $4 AND cu.released_at IS NULL AND cu.routed > 0
			GROUP BY 1, 2
		), s AS (
			SELECT sh.encounter_id, sh.line_no, sh.amount - coalesce(r.amount, 0) AS amount, date_trunc($3, sh.service_date::timestamp)::date AS start
			FROM line_shares sh JOIN encounters e ON e.id = sh.encounter_id AND e.revision = sh.revision
			LEFT JOIN routed_in r ON r.encounter_id = sh.encounter_id AND r.line_no = sh.line_no
			WHERE e.contract_id = $2 AND e.status = 'posted' AND sh.payer_code = $4
			  AND sh.amount - coalesce(r.amount, 0) > 0
			  AND sh.service_date >= $5 AND ($6::date IS NULL OR sh.service_date < $6)
		), p AS (
			INSERT INTO cap_periods (cap_id, period_start, used)
			SELECT $1, start, sum(amount) FROM s GROUP BY start
			RETURNING cap_id
		)
		INSERT INTO cap_uses (cap_id, period_start, encounter_id, line_no, payer_code, consumed, routed, over, created_at)
		SELECT $1, start, encounter_id, line_no, $4, amount, 0, 0, $7 FROM s`,
		capID, contractID, in.Period, in.PayerCode, in.EffectiveFrom, in.EffectiveTo, now)
	if err != nil {
		return fmt.Errorf("charge posted shares to the cap: %w", err)
	}
	return nil
}

// Caps lists the contract's budget ceilings, by payer and start, each with what its periods
// have used. Admin, finance and the contract's own clinic may read them (as the contract,
// access.CanReadContract); anyone else is answered ENOTFOUND as for an unknown contract.
func (s *Service) Caps(ctx context.Context, contractCode string) ([]Cap, error) {
	c, err := findCapContract(ctx, s.db, contractCode, false)
	if err != nil {
		return nil, access.RecordDenied(ctx, s.db, err)
	}
	return readCaps(ctx, s.db, c, nil)
}

// readCaps reads the caps of contract c (only cap id when set) with their periods.
func readCaps(ctx context.Context, q sqlx.QueryerContext, c *capContract, id *int64) ([]Cap, error) {
	caps := []Cap{}
	err := sqlx.SelectContext(ctx, q, &caps, `SELECT id, $2::text AS contract_code, payer_code, period, amount, $3::text AS currency,
		effective_from, effective_to, overflow_payer_code, mode, created_at
		FROM contract_caps WHERE contract_id = $1 AND ($4::bigint IS NULL OR id = $4) ORDER BY payer_code, effective_from, id`,
		c.ID, c.Code, c.Currency, id)
	if err != nil {
		return nil, fmt.Errorf("read caps: %w", err)
	}
	var rows []struct {
		Cap    int64           `db:"cap_id"`
		Start  trcledger.Date  `db:"period_start"`
		Used   decimal.Decimal `db:"used"`
		Routed decimal.Decimal `db:"routed"`
	}
	err = sqlx.SelectContext(ctx, q, &rows, `SELECT p.cap_id, p.period_start, p.used,
			coalesce((SELECT sum(u.routed) FROM cap_uses u WHERE u.cap_id = p.cap_id AND u.period_start = p.period_start AND u.released_at IS NULL), 0) AS routed
		FROM cap_periods p JOIN contract_caps k ON k.id = p.cap_id
		WHERE k.contract_id = $1 AND ($2::bigint IS NULL OR k.id = $2) ORDER BY p.cap_id, p.period_start`, c.ID, id)
	if err != nil {
		return nil, fmt.Errorf("read cap periods: %w", err)
	}
	byID := map[int64]*Cap{}
	for i := range caps {
		caps[i].Periods = []CapPeriod{}
		byID[caps[i].ID] = &caps[i]
	}
	for _, r := range rows {
		k := byID[r.Cap]
		if k == nil {
			continue
		}
		left := decimal.Max(k.Amount.Sub(r.Used), decimal.Zero)
		over := decimal.Zero
		if k.Mode == "warn" {
			over = decimal.Max(r.Used.Sub(k.Amount.Decimal), decimal.Zero)
		}
		k.Periods = append(k.Periods, CapPeriod{
			Label: periodLabel(k.Period, r.Start), From: r.Start, To: periodEnd(k.Period, r.Start).AddDays(-1),
			Used: trcledger.NewAmount(r.Used), Left: trcledger.NewAmount(left), Routed: trcledger.NewAmount(r.Routed), Over: trcledger.NewAmount(over),
		})
	}
	if id != nil && len(caps) == 0 {
		return nil, trcledger.Errorf(trcledger.ENOTFOUND, "cap %d not found", *id)
	}
	return caps, nil
}
