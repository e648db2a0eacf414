package contracts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

const contractColumns = `id, code, provider_code, payer_code, currency, valid_from, valid_to, status, created_at, updated_at,
	reroutable_reasons, appeal_window_days`

// ContractFilter narrows ListContracts; empty fields match everything.
type ContractFilter struct {
	ProviderCode string
	Status       string
}

// ListContracts returns the contracts the caller may see (access.CanReadContract: a clinic its
// provider's), by code.
func (s *Store) ListContracts(ctx context.Context, f ContractFilter) ([]Contract, error) {
	p := access.PrincipalFrom(ctx)
	var ok bool
	f.ProviderCode, _, ok = access.ScopeOf(p).Narrow(f.ProviderCode, "")
	if !ok {
		return []Contract{}, nil
	}
	out := []Contract{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+contractColumns+` FROM contracts
		WHERE ($1 = '' OR provider_code = $1) AND ($2 = '' OR status = $2) ORDER BY code`, f.ProviderCode, f.Status)
	if err != nil {
		return nil, fmt.Errorf("list contracts: %w", err)
	}
	return slices.DeleteFunc(out, func(c Contract) bool { return !access.CanReadContract(p, c.ProviderCode) }), nil
}

// FindContractByCode returns a contract the caller may see, or ENOTFOUND (also for another
// provider's contract asked by clinic staff, an attempt recorded as access_denied).
func (s *Store) FindContractByCode(ctx context.Context, code string) (*Contract, error) {
	c, err := findContract(ctx, s.db, code, false)
	if err != nil {
		return nil, access.RecordDenied(ctx, s.db, err)
	}
	return c, nil
}

func findContract(ctx context.Context, q sqlx.QueryerContext, code string, forUpdate bool) (*Contract, error) {
	query := `SELECT ` + contractColumns + ` FROM contracts WHERE code = $1`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	var c Contract
	err := sqlx.GetContext(ctx, q, &c, query, code)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("contract", code)
	}
	if err != nil {
		return nil, fmt.Errorf("find contract: %w", err)
	}
	if !access.CanReadContract(access.PrincipalFrom(ctx), c.ProviderCode) {
		return nil, access.Denied(notFound("contract", code), "contract", code)
	}
	return &c, nil
}

// Defaults fills the currency (BAM) and status (draft) when they are not given.
func (c *Contract) Defaults() {
	if c.Currency == "" {
		c.Currency = "BAM"
	}
	if c.Status == "" {
		c.Status = "draft"
	}
	if c.ReroutableReasons == nil {
		c.ReroutableReasons = append(pq.StringArray{}, DefaultReroutableReasons...)
	}
	if c.AppealWindowDays == 0 {
		c.AppealWindowDays = DefaultAppealWindowDays
	}
}

// CreateContract adds a contract between a provider and (optionally) the payer that signs it.
// It returns EINVALID for bad fields, an unknown provider or payer, or an organization of the
// wrong kind, and ECONFLICT for a code in use.
func (s *Store) CreateContract(ctx context.Context, c Contract) (*Contract, error) {
	c.Defaults()
	var f trcledger.Fields
	if err := f.MergeErr(c.Validate()); err != nil {
		return nil, err
	}
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		if c.ProviderCode != "" {
			checkKind(ctx, tx, &f, "provider_code", c.ProviderCode, "provider")
		}
		if c.PayerCode != nil {
			checkKind(ctx, tx, &f, "payer_code", *c.PayerCode, "payer")
		}
		if err := f.Err(); err != nil {
			return err
		}
		now := s.now()
		err := tx.GetContext(ctx, &c, `
			INSERT INTO contracts (code, provider_code, payer_code, currency, valid_from, valid_to, status, created_at, updated_at,
				reroutable_reasons, appeal_window_days)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) RETURNING `+contractColumns,
			c.Code, c.ProviderCode, c.PayerCode, c.Currency, c.ValidFrom, c.ValidTo, c.Status, now, c.ReroutableReasons, c.AppealWindowDays)
		if err != nil {
			return pg.Translate(err)
		}
		return access.Record(ctx, tx, "create", "contract", c.Code, c)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// checkKind records a field error when code is not an organization of the kind.
func checkKind(ctx context.Context, q sqlx.QueryerContext, f *trcledger.Fields, field, code, kind string) {
	var got string
	err := sqlx.GetContext(ctx, q, &got, `SELECT kind FROM organizations WHERE code = $1`, code)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		f.Add(field, "unknown %s %s", kind, code)
	case err != nil:
		f.Add(field, "could not be checked")
	case got != kind:
		f.Add(field, "%s is a %s, not a %s", code, got, kind)
	}
}

// contractMoves lists the status changes a contract may make.
var contractMoves = map[string][]string{
	"draft":  {"active", "terminated"},
	"active": {"terminated"},
}

// ContractChange is the input of UpdateContract; nil fields stay as they are.
type ContractChange struct {
	Status  *string
	ValidTo *trcledger.Date
	// ReroutableReasons replaces the contract's re-routable reason codes (empty: none);
	// AppealWindowDays its appeal window. Both apply to reviews and appeals from then on.
	ReroutableReasons *[]string
	AppealWindowDays  *int
}

// UpdateContract activates or terminates a contract, or sets its end date. It returns
// ENOTFOUND, EINVALID for bad fields and ESTATE for a status change that is not allowed
// (draft -> active -> terminated; draft -> terminated).
func (s *Store) UpdateContract(ctx context.Context, code string, ch ContractChange) (*Contract, error) {
	var out *Contract
	err := s.write(ctx, func(tx *sqlx.Tx) error {
		c, err := findContract(ctx, tx, code, true)
		if err != nil {
			return err
		}
		before := *c
		if ch.Status != nil && *ch.Status != c.Status {
			if !slices.Contains(contractMoves[c.Status], *ch.Status) {
				return trcledger.Errorf(trcledger.ESTATE, "a %s contract cannot become %s", c.Status, *ch.Status).WithReason("invalid_state")
			}
			c.Status = *ch.Status
		}
		if ch.ValidTo != nil {
			if ch.ValidTo.Before(c.ValidFrom) {
				return (&trcledger.Fields{}).AddErr("valid_to", "must not be before valid_from %s", c.ValidFrom)
			}
			c.ValidTo = ch.ValidTo
		}
		if ch.ReroutableReasons != nil {
			c.ReroutableReasons = append(pq.StringArray{}, *ch.ReroutableReasons...)
		}
		if ch.AppealWindowDays != nil {
			c.AppealWindowDays = *ch.AppealWindowDays
		}
		if err := c.checkClaimsTerms(); err != nil {
			return err
		}
		err = tx.GetContext(ctx, c, `
			UPDATE contracts SET status = $2, valid_to = $3, updated_at = $4, reroutable_reasons = $5, appeal_window_days = $6
			WHERE id = $1 RETURNING `+contractColumns,
			c.ID, c.Status, c.ValidTo, s.now(), c.ReroutableReasons, c.AppealWindowDays)
		if err != nil {
			return pg.Translate(err)
		}
		out = c
		return access.Record(ctx, tx, "update", "contract", c.Code, map[string]any{"before": before, "after": c})
	})
	return out, err
}

// touchContract moves the contract's updated_at: posts priced from a cached copy of the contract
// compare it, under a lock, to know their prices are still the ones in force.
func touchContract(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE contracts SET updated_at = $2 WHERE id = $1`, id, now); err != nil {
		return fmt.Errorf("touch contract: %w", err)
	}
	return nil
}
