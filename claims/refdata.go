package claims

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
)

// refData is the reference data one post needs, read once per request.
type refData struct {
	q         sqlx.QueryerContext
	services  map[string]*contracts.Service
	sites     map[string]bool
	providers map[string]bool
	pricing   map[string]*contracts.Pricing // nil: unknown or not the caller's
}

func loadRefData(ctx context.Context, q sqlx.QueryerContext) (*refData, error) {
	r := &refData{q: q, services: map[string]*contracts.Service{}, sites: map[string]bool{}, providers: map[string]bool{}, pricing: map[string]*contracts.Pricing{}}
	var services []contracts.Service
	if err := sqlx.SelectContext(ctx, q, &services, `SELECT code, name, category, unit, requires_referral, created_at FROM services`); err != nil {
		return nil, fmt.Errorf("load services: %w", err)
	}
	for i := range services {
		r.services[services[i].Code] = &services[i]
	}
	var sites, providers []string
	if err := sqlx.SelectContext(ctx, q, &sites, `SELECT code FROM sites`); err != nil {
		return nil, fmt.Errorf("load sites: %w", err)
	}
	for _, s := range sites {
		r.sites[s] = true
	}
	if err := sqlx.SelectContext(ctx, q, &providers, `SELECT code FROM organizations WHERE kind = 'provider'`); err != nil {
		return nil, fmt.Errorf("load providers: %w", err)
	}
	for _, p := range providers {
		r.providers[p] = true
	}
	return r, nil
}

// contract returns the pricing of a contract the caller may post on, or nil.
func (r *refData) contract(ctx context.Context, code string) (*contracts.Pricing, error) {
	if p, ok := r.pricing[code]; ok {
		return p, nil
	}
	p, err := contracts.LoadPricing(ctx, r.q, code)
	var e *trcledger.Error
	if errors.As(err, &e) && e.Code == trcledger.ENOTFOUND {
		p, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.pricing[code] = p
	return p, nil
}
