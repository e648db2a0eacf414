package encounters

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
)

// refData is the reference data posts need: the catalogue, sites, providers and, loaded on
// first use, each contract's pricing. It is shared by concurrent requests (see refCache).
type refData struct {
	q         sqlx.QueryerContext
	services  map[string]*contracts.Service
	sites     map[string]bool
	providers map[string]bool

	mu      sync.Mutex
	pricing map[string]*contracts.Pricing // nil: unknown contract
}

// refTTL bounds how long reference data is reused: writes made by this process drop the cache
// at once (contracts.Generation); writes made by another server process are seen within refTTL.
const refTTL = 2 * time.Second

// refCache keeps one refData for all requests until reference data changes or refTTL passes.
type refCache struct {
	mu     sync.Mutex
	data   *refData
	gen    int64
	loaded time.Time
}

// drop forgets the cached reference data.
func (c *refCache) drop() {
	c.mu.Lock()
	c.data = nil
	c.mu.Unlock()
}

// get returns the cached reference data, reloading it when it is stale.
func (c *refCache) get(ctx context.Context, q sqlx.QueryerContext) (*refData, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := contracts.Generation()
	if c.data != nil && c.gen == gen && time.Since(c.loaded) < refTTL {
		return c.data, nil
	}
	d, err := loadRefData(ctx, q)
	if err != nil {
		return nil, err
	}
	c.data, c.gen, c.loaded = d, gen, time.Now()
	return d, nil
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

// contract returns the pricing of a contract, or nil when there is none; whether the caller may
// post on it is the caller's check (price does it), since the pricing is shared.
func (r *refData) contract(ctx context.Context, code string) (*contracts.Pricing, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pricing[code]; ok {
		return p, nil
	}
	p, err := contracts.LoadPricing(access.WithPrincipal(ctx, access.System), r.q, code)
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
