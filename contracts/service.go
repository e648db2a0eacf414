package contracts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// Store reads and writes reference data and contracts. Its exported methods own their
// transaction; the caller in the context decides what is visible (a clinic sees only its own
// provider's contracts).
type Store struct {
	db  *sqlx.DB
	now func() time.Time
}

// NewStore returns a Store over db; now is the clock (time.Now in production).
func NewStore(db *sqlx.DB, now func() time.Time) *Store {
	return &Store{db: db, now: now}
}

func notFound(what, code string) error {
	return trcledger.Errorf(trcledger.ENOTFOUND, "%s %s not found", what, code)
}

// ListJurisdictions returns the jurisdiction tree, parents before children.
func (s *Store) ListJurisdictions(ctx context.Context) ([]Jurisdiction, error) {
	out := []Jurisdiction{}
	err := s.db.SelectContext(ctx, &out, `
		WITH RECURSIVE tree AS (
			SELECT code, name, parent_code, created_at, ARRAY[code] AS path FROM jurisdictions WHERE parent_code IS NULL
			UNION ALL
			SELECT j.code, j.name, j.parent_code, j.created_at, tree.path || j.code
			FROM jurisdictions j JOIN tree ON j.parent_code = tree.code)
		SELECT code, name, parent_code, created_at FROM tree ORDER BY path`)
	if err != nil {
		return nil, fmt.Errorf("list jurisdictions: %w", err)
	}
	return out, nil
}

// CreateJurisdiction adds a node to the tree. It returns EINVALID for bad fields or an unknown
// parent and ECONFLICT for a code in use.
func (s *Store) CreateJurisdiction(ctx context.Context, j Jurisdiction) (*Jurisdiction, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &j, `
			INSERT INTO jurisdictions (code, name, parent_code, created_at) VALUES ($1, $2, $3, $4)
			RETURNING code, name, parent_code, created_at`, j.Code, j.Name, j.ParentCode, s.now())
		if err != nil {
			return pg.Translate(err)
		}
		return access.Record(ctx, tx, "create", "jurisdiction", j.Code, j)
	})
	if err != nil {
		return nil, err
	}
	return &j, nil
}

// OrganizationFilter narrows ListOrganizations; empty fields match everything.
type OrganizationFilter struct {
	Kind string
}

const organizationColumns = `code, name, kind, jurisdiction_code, payer_type, level, created_at`

// ListOrganizations returns the organizations, by code.
func (s *Store) ListOrganizations(ctx context.Context, f OrganizationFilter) ([]Organization, error) {
	out := []Organization{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+organizationColumns+` FROM organizations
		WHERE ($1 = '' OR kind = $1) ORDER BY code`, f.Kind)
	if err != nil {
		return nil, fmt.Errorf("list organizations: %w", err)
	}
	return out, nil
}

// FindOrganizationByCode returns one organization or ENOTFOUND.
func (s *Store) FindOrganizationByCode(ctx context.Context, code string) (*Organization, error) {
	var o Organization
	err := s.db.GetContext(ctx, &o, `SELECT `+organizationColumns+` FROM organizations WHERE code = $1`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("organization", code)
	}
	if err != nil {
		return nil, fmt.Errorf("find organization: %w", err)
	}
	return &o, nil
}

// CreateOrganization adds a provider or payer. It returns EINVALID for bad fields or an
// unknown jurisdiction and ECONFLICT for a code in use.
func (s *Store) CreateOrganization(ctx context.Context, o Organization) (*Organization, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &o, `
			INSERT INTO organizations (code, name, kind, jurisdiction_code, payer_type, level, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+organizationColumns,
			o.Code, o.Name, o.Kind, o.JurisdictionCode, o.PayerType, o.Level, s.now())
		if err != nil {
			return pg.Translate(err)
		}
		return access.Record(ctx, tx, "create", "organization", o.Code, o)
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// ListSites returns every site, by code.
func (s *Store) ListSites(ctx context.Context) ([]Site, error) {
	out := []Site{}
	if err := s.db.SelectContext(ctx, &out, `SELECT code, name, kind, jurisdiction_code, created_at FROM sites ORDER BY code`); err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	return out, nil
}

// CreateSite adds a site. It returns EINVALID for bad fields and ECONFLICT for a code in use.
func (s *Store) CreateSite(ctx context.Context, site Site) (*Site, error) {
	if err := site.Validate(); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &site, `
			INSERT INTO sites (code, name, kind, jurisdiction_code, created_at) VALUES ($1, $2, $3, $4, $5)
			RETURNING code, name, kind, jurisdiction_code, created_at`,
			site.Code, site.Name, site.Kind, site.JurisdictionCode, s.now())
		if err != nil {
			return pg.Translate(err)
		}
		return access.Record(ctx, tx, "create", "site", site.Code, site)
	})
	if err != nil {
		return nil, err
	}
	return &site, nil
}

// ListServices returns the service catalogue, by code.
func (s *Store) ListServices(ctx context.Context) ([]Service, error) {
	out := []Service{}
	if err := s.db.SelectContext(ctx, &out, `SELECT code, name, category, unit, requires_referral, created_at FROM services ORDER BY code`); err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return out, nil
}

// CreateService adds a catalogue entry. It returns EINVALID for bad fields and ECONFLICT for a
// code in use.
func (s *Store) CreateService(ctx context.Context, svc Service) (*Service, error) {
	if err := svc.Validate(); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &svc, `
			INSERT INTO services (code, name, category, unit, requires_referral, created_at) VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING code, name, category, unit, requires_referral, created_at`,
			svc.Code, svc.Name, svc.Category, svc.Unit, svc.RequiresReferral, s.now())
		if err != nil {
			return pg.Translate(err)
		}
		return access.Record(ctx, tx, "create", "service", svc.Code, svc)
	})
	if err != nil {
		return nil, err
	}
	return &svc, nil
}
