package contracts

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// ListTariffVersions returns the contract's tariff versions with their items, oldest first.
func (s *Store) ListTariffVersions(ctx context.Context, contractCode string) ([]TariffVersion, error) {
	c, err := s.FindContractByCode(ctx, contractCode)
	if err != nil {
		return nil, err
	}
	return loadTariffVersions(ctx, s.db, c)
}

func loadTariffVersions(ctx context.Context, q sqlx.QueryerContext, c *Contract) ([]TariffVersion, error) {
	versions := []TariffVersion{}
	err := sqlx.SelectContext(ctx, q, &versions, `
		SELECT id, $2::text AS contract_code, version, effective_from, effective_to, point_value, created_at
		FROM tariff_versions WHERE contract_id = $1 ORDER BY effective_from`, c.ID, c.Code)
	if err != nil {
		return nil, fmt.Errorf("list tariff versions: %w", err)
	}
	var items []struct {
		VersionID int64 `db:"tariff_version_id"`
		TariffItem
	}
	err = sqlx.SelectContext(ctx, q, &items, `
		SELECT i.tariff_version_id, i.service_code, i.method, i.price, i.points, i.max_quantity, i.vat_rate
		FROM tariff_items i JOIN tariff_versions v ON v.id = i.tariff_version_id
		WHERE v.contract_id = $1 ORDER BY i.service_code`, c.ID)
	if err != nil {
		return nil, fmt.Errorf("list tariff items: %w", err)
	}
	byID := map[int64]*TariffVersion{}
	for i := range versions {
		versions[i].Items = []TariffItem{}
		byID[versions[i].ID] = &versions[i]
	}
	for _, it := range items {
		v := byID[it.VersionID]
		v.Items = append(v.Items, it.TariffItem)
	}
	return versions, nil
}

// AddTariffVersion adds a price list to the contract. A version that starts after the open
// version closes it on its first day; a version may not overlap another (the database enforces
// it). It returns ENOTFOUND for an unknown contract, EINVALID for bad fields or unknown
// services, and ECONFLICT tariff_overlap naming the version it overlaps.
func (s *Store) AddTariffVersion(ctx context.Context, contractCode string, v TariffVersion) (*TariffVersion, error) {
	var f trcledger.Fields
	if err := f.MergeErr(v.Validate()); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		c, err := findContract(ctx, tx, contractCode, true)
		if err != nil {
			return err
		}
		if err := f.MergeErr(checkServices(ctx, tx, v.Items)); err != nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		existing, err := loadTariffVersions(ctx, tx, c)
		if err != nil {
			return err
		}
		if err := allowRetroactive(ctx, tx, v.Retroactive); err != nil {
			return err
		}
		for _, e := range existing {
			// A new version closes the open one; a retroactive one also closes, on its first
			// day, a version that ends within it (its amendment).
			closes := e.EffectiveTo == nil && e.EffectiveFrom.Before(v.EffectiveFrom)
			if v.Retroactive && e.EffectiveFrom.Before(v.EffectiveFrom) && e.EffectiveTo != nil && v.EffectiveFrom.Before(*e.EffectiveTo) &&
				(v.EffectiveTo == nil || !e.EffectiveTo.After(*v.EffectiveTo)) {
				closes = true
			}
			if closes {
				if _, err := tx.ExecContext(ctx, `UPDATE tariff_versions SET effective_to = $2 WHERE id = $1`, e.ID, v.EffectiveFrom); err != nil {
					return pg.Translate(err)
				}
				if err := access.Record(ctx, tx, "close", "tariff_version", fmt.Sprintf("%s/%d", c.Code, e.Version),
					map[string]any{"effective_to": v.EffectiveFrom, "retroactive": v.Retroactive}); err != nil {
					return err
				}
				e.EffectiveTo = &v.EffectiveFrom
			}
			if overlaps(e.EffectiveFrom, e.EffectiveTo, v.EffectiveFrom, v.EffectiveTo) {
				return trcledger.Errorf(trcledger.ECONFLICT, "the period overlaps tariff version %d (from %s)", e.Version, e.EffectiveFrom).
					WithReason("tariff_overlap").With("conflicting_version", e.Version)
			}
		}
		if err := touchContract(ctx, tx, c.ID, s.now()); err != nil {
			return err
		}
		v.ContractCode = c.Code
		v.Version = len(existing) + 1
		err = tx.GetContext(ctx, &v, `
			INSERT INTO tariff_versions (contract_id, version, effective_from, effective_to, point_value, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING id, version, effective_from, effective_to, point_value, created_at`,
			c.ID, v.Version, v.EffectiveFrom, v.EffectiveTo, v.PointValue, s.now())
		if err != nil {
			return pg.Translate(err)
		}
		if err := insertTariffItems(ctx, tx, v.ID, v.Items); err != nil {
			return err
		}
		return access.Record(ctx, tx, "create", "tariff_version", fmt.Sprintf("%s/%d", c.Code, v.Version), v)
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// allowRetroactive lets this transaction close a tariff version or a cost-share rule before
// encounters it priced or split (the triggers of migration 0021 read the setting).
func allowRetroactive(ctx context.Context, tx *sqlx.Tx, on bool) error {
	if !on {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT set_config('trcledger.retroactive', 'on', true)`); err != nil {
		return fmt.Errorf("allow a retroactive amendment: %w", err)
	}
	return nil
}

func overlaps(aFrom trcledger.Date, aTo *trcledger.Date, bFrom trcledger.Date, bTo *trcledger.Date) bool {
	return (aTo == nil || bFrom.Before(*aTo)) && (bTo == nil || aFrom.Before(*bTo))
}

// checkServices returns EINVALID naming each item whose service is not in the catalogue.
func checkServices(ctx context.Context, q sqlx.QueryerContext, items []TariffItem) error {
	codes := make([]string, len(items))
	for i, it := range items {
		codes[i] = it.ServiceCode
	}
	var known []string
	if err := sqlx.SelectContext(ctx, q, &known, `SELECT code FROM services WHERE code = ANY($1)`, pq.Array(codes)); err != nil {
		return fmt.Errorf("check services: %w", err)
	}
	var f trcledger.Fields
	for i, c := range codes {
		if !slices.Contains(known, c) {
			f.Add(fmt.Sprintf("items[%d].service_code", i), "unknown service %s", c)
		}
	}
	return f.Err()
}

func insertTariffItems(ctx context.Context, tx *sqlx.Tx, versionID int64, items []TariffItem) error {
	n := len(items)
	codes, methods := make([]string, n), make([]string, n)
	prices, points, maxq, vat := make([]sql.NullString, n), make([]sql.NullString, n), make([]sql.NullString, n), make([]string, n)
	str := func(d interface{ String() string }) sql.NullString {
		return sql.NullString{String: d.String(), Valid: true}
	}
	for i, it := range items {
		codes[i], methods[i], vat[i] = it.ServiceCode, it.Method, it.VATRate.String()
		if it.Price != nil {
			prices[i] = str(it.Price)
		}
		if it.Points != nil {
			points[i] = str(it.Points)
		}
		if it.MaxQuantity != nil {
			maxq[i] = str(it.MaxQuantity)
		}
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO tariff_items (tariff_version_id, service_code, method, price, points, max_quantity, vat_rate)
		SELECT $1, * FROM unnest($2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[])`,
		versionID, pq.Array(codes), pq.Array(methods), pq.Array(prices), pq.Array(points), pq.Array(maxq), pq.Array(vat))
	if err != nil {
		return pg.Translate(err)
	}
	return nil
}
