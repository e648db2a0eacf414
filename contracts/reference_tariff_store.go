package contracts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// ReferenceTariffItem prices one service for insured citizens: a fixed price or points (times
// the version's point value), per unit of the service, without VAT.
type ReferenceTariffItem struct {
	ServiceCode string           `json:"service_code" db:"service_code"`
	Method      string           `json:"method" db:"method"`
	Price       *decimal.Decimal `json:"price,omitempty" db:"price"`
	Points      *decimal.Decimal `json:"points,omitempty" db:"points"`
}

// ReferenceTariff is a state fund's own tariff for insured citizens, in force over
// [EffectiveFrom, EffectiveTo); versions of one payer never overlap (docs/simulations-and-parity.md).
type ReferenceTariff struct {
	ID            int64                 `json:"-" db:"id"`
	PayerCode     string                `json:"payer_code" db:"payer_code"`
	Version       int                   `json:"version" db:"version"`
	EffectiveFrom trcledger.Date        `json:"effective_from" db:"effective_from"`
	EffectiveTo   *trcledger.Date       `json:"effective_to" db:"effective_to"`
	PointValue    *decimal.Decimal      `json:"point_value" db:"point_value"`
	Items         []ReferenceTariffItem `json:"items" db:"-"`
	CreatedAt     trcledger.Time        `json:"created_at" db:"created_at"`
}

// Validate checks a new reference tariff as a contract's tariff version is checked (dates,
// point value, items priced once each, fixed with a price or points with points); it returns
// EINVALID listing every bad field.
func (r *ReferenceTariff) Validate() error {
	v := TariffVersion{EffectiveFrom: r.EffectiveFrom, EffectiveTo: r.EffectiveTo, PointValue: r.PointValue}
	for _, it := range r.Items {
		v.Items = append(v.Items, TariffItem{ServiceCode: it.ServiceCode, Method: it.Method, Price: it.Price, Points: it.Points})
	}
	return v.Validate()
}

// UnitPrice returns the item's price per unit: its price, or points × the version's point value.
func (r *ReferenceTariff) UnitPrice(serviceCode string) (decimal.Decimal, bool) {
	for _, it := range r.Items {
		if it.ServiceCode != serviceCode {
			continue
		}
		v := TariffVersion{PointValue: r.PointValue}
		p, err := UnitPrice(&v, &TariffItem{Method: it.Method, Price: it.Price, Points: it.Points})
		return p, err == nil
	}
	return decimal.Zero, false
}

// findStateFund returns the payer, ENOTFOUND when there is no organization of that code, and
// EINVALID not_a_state_fund when it is not a payer of type state_fund.
func findStateFund(ctx context.Context, q sqlx.QueryerContext, code string) error {
	var kind string
	var payerType sql.NullString
	err := q.QueryRowxContext(ctx, `SELECT kind, payer_type FROM organizations WHERE code = $1`, code).Scan(&kind, &payerType)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("organization", code)
	}
	if err != nil {
		return fmt.Errorf("find payer: %w", err)
	}
	if kind != "payer" || payerType.String != "state_fund" {
		return trcledger.Errorf(trcledger.EINVALID, "%s is not a state fund: only a state fund publishes a tariff for insured citizens", code).
			WithReason("not_a_state_fund")
	}
	return nil
}

// ListReferenceTariffs returns the payer's reference tariff versions with their items, oldest
// first. It returns ENOTFOUND for an unknown organization and EINVALID not_a_state_fund.
func (s *Store) ListReferenceTariffs(ctx context.Context, payerCode string) ([]ReferenceTariff, error) {
	if err := findStateFund(ctx, s.db, payerCode); err != nil {
		return nil, err
	}
	return loadReferenceTariffs(ctx, s.db, payerCode)
}

func loadReferenceTariffs(ctx context.Context, q sqlx.QueryerContext, payerCode string) ([]ReferenceTariff, error) {
	out := []ReferenceTariff{}
	err := sqlx.SelectContext(ctx, q, &out, `
		SELECT id, payer_code, version, effective_from, effective_to, point_value, created_at
		FROM reference_tariff_versions WHERE payer_code = $1 ORDER BY effective_from`, payerCode)
	if err != nil {
		return nil, fmt.Errorf("list reference tariffs: %w", err)
	}
	var items []struct {
		VersionID int64 `db:"version_id"`
		ReferenceTariffItem
	}
	err = sqlx.SelectContext(ctx, q, &items, `
		SELECT i.version_id, i.service_code, i.method, i.price, i.points
		FROM reference_tariff_items i JOIN reference_tariff_versions v ON v.id = i.version_id
		WHERE v.payer_code = $1 ORDER BY i.service_code`, payerCode)
	if err != nil {
		return nil, fmt.Errorf("list reference tariff items: %w", err)
	}
	byID := map[int64]*ReferenceTariff{}
	for i := range out {
		out[i].Items = []ReferenceTariffItem{}
		byID[out[i].ID] = &out[i]
	}
	for _, it := range items {
		byID[it.VersionID].Items = append(byID[it.VersionID].Items, it.ReferenceTariffItem)
	}
	return out, nil
}

// AddReferenceTariff adds a version of a state fund's tariff for insured citizens. As with a
// contract's tariff, a version that starts after the open one closes it on its first day, and a
// version may not overlap another. It returns ENOTFOUND for an unknown organization, EINVALID
// for bad fields, unknown services or a payer that is not a state fund (not_a_state_fund), and
// ECONFLICT reference_tariff_overlap naming the version it overlaps.
func (s *Store) AddReferenceTariff(ctx context.Context, payerCode string, r ReferenceTariff) (*ReferenceTariff, error) {
	var f trcledger.Fields
	if err := f.MergeErr(r.Validate()); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		if err := findStateFund(ctx, tx, payerCode); err != nil {
			return err
		}
		// One writer per payer at a time: the versions read below stay the versions there are.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('reference_tariffs'), hashtext($1))`, payerCode); err != nil {
			return fmt.Errorf("lock reference tariffs: %w", err)
		}
		items := make([]TariffItem, len(r.Items))
		for i, it := range r.Items {
			items[i] = TariffItem{ServiceCode: it.ServiceCode}
		}
		if err := checkServices(ctx, tx, items); err != nil {
			return err
		}
		existing, err := loadReferenceTariffs(ctx, tx, payerCode)
		if err != nil {
			return err
		}
		for _, e := range existing {
			if e.EffectiveTo == nil && e.EffectiveFrom.Before(r.EffectiveFrom) {
				if _, err := tx.ExecContext(ctx, `UPDATE reference_tariff_versions SET effective_to = $2 WHERE id = $1`, e.ID, r.EffectiveFrom); err != nil {
					return pg.Translate(err)
				}
				if err := access.Record(ctx, tx, "close", "reference_tariff", fmt.Sprintf("%s/%d", payerCode, e.Version),
					map[string]any{"effective_to": r.EffectiveFrom}); err != nil {
					return err
				}
				e.EffectiveTo = &r.EffectiveFrom
			}
			if overlaps(e.EffectiveFrom, e.EffectiveTo, r.EffectiveFrom, r.EffectiveTo) {
				return trcledger.Errorf(trcledger.ECONFLICT, "the period overlaps reference tariff version %d (from %s)", e.Version, e.EffectiveFrom).
					WithReason("reference_tariff_overlap").With("conflicting_version", e.Version)
			}
		}
		r.PayerCode = payerCode
		r.Version = len(existing) + 1
		err = tx.GetContext(ctx, &r, `
			INSERT INTO reference_tariff_versions (payer_code, version, effective_from, effective_to, point_value, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING id, payer_code, version, effective_from, effective_to, point_value, created_at`,
			payerCode, r.Version, r.EffectiveFrom, r.EffectiveTo, r.PointValue, s.now())
		if err != nil {
			return pg.Translate(err)
		}
		n := len(r.Items)
		codes, methods, prices, points := make([]string, n), make([]string, n), make([]sql.NullString, n), make([]sql.NullString, n)
		for i, it := range r.Items {
			codes[i], methods[i] = it.ServiceCode, it.Method
			if it.Price != nil {
				prices[i] = sql.NullString{String: it.Price.String(), Valid: true}
			}
			if it.Points != nil {
				points[i] = sql.NullString{String: it.Points.String(), Valid: true}
			}
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO reference_tariff_items (version_id, service_code, method, price, points)
			SELECT $1, * FROM unnest($2::text[], $3::text[], $4::numeric[], $5::numeric[])`,
			r.ID, pq.Array(codes), pq.Array(methods), pq.Array(prices), pq.Array(points))
		if err != nil {
			return pg.Translate(err)
		}
		return access.Record(ctx, tx, "create", "reference_tariff", fmt.Sprintf("%s/%d", payerCode, r.Version), r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}
