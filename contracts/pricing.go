package contracts

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
)

// Pricing is everything needed to price lines of one contract: the contract, its tariff
// versions and its cost-share rules.
type Pricing struct {
	Contract *Contract
	Versions []TariffVersion
	Rules    []CostShareRule
}

// LoadPricing reads the contract (as the caller in ctx may see it) with its versions and rules.
// It returns ENOTFOUND for an unknown or foreign contract.
func LoadPricing(ctx context.Context, q sqlx.QueryerContext, contractCode string) (*Pricing, error) {
	c, err := findContract(ctx, q, contractCode, false)
	if err != nil {
		return nil, err
	}
	versions, err := loadTariffVersions(ctx, q, c)
	if err != nil {
		return nil, err
	}
	rules, err := loadRules(ctx, q, c)
	if err != nil {
		return nil, err
	}
	return &Pricing{Contract: c, Versions: versions, Rules: rules}, nil
}

// VersionOn returns the tariff version in force on d, or nil.
func (p *Pricing) VersionOn(d trcledger.Date) *TariffVersion {
	for i := range p.Versions {
		if d.InRange(p.Versions[i].EffectiveFrom, p.Versions[i].EffectiveTo) {
			return &p.Versions[i]
		}
	}
	return nil
}

// LineInput is one line to price: the service (from the catalogue), the quantity and the
// scope that selects its cost-share rule (scope.ServiceCategory is taken from the service).
type LineInput struct {
	Service  *Service
	Quantity decimal.Decimal
	Scope    LineScope
}

// FieldNames says how the caller's request names the line's fields in a 422.
type FieldNames struct {
	Date, ServiceCode, Quantity string
}

// Price prices and splits one line. It checks that the contract is active and covers the
// date, that a tariff version is in force with an item for the service, the quantity, and
// that a cost-share rule covers the line. Errors are EINVALID with the fields named as in names.
func (p *Pricing) Price(in LineInput, names FieldNames) (PricedLine, error) {
	var f trcledger.Fields
	c, on := p.Contract, in.Scope.On
	if c.Status != "active" {
		f.Add(names.Date, "contract %s is %s, not active", c.Code, c.Status)
	} else if !c.Covers(on) {
		f.Add(names.Date, "%s is outside contract %s's validity (%s to %s)", on, c.Code, c.ValidFrom, validToText(c.ValidTo))
	}
	v := p.VersionOn(on)
	if v == nil && !f.Has(names.Date) {
		f.Add(names.Date, "no tariff version of contract %s is in force on %s", c.Code, on)
	}
	if err := f.Err(); err != nil {
		return PricedLine{}, err
	}
	if v.Item(in.Service.Code) == nil {
		return PricedLine{}, f.AddErr(names.ServiceCode, "service %s is not in tariff version %d of contract %s", in.Service.Code, v.Version, c.Code)
	}
	scope := in.Scope
	scope.ServiceCategory = in.Service.Category
	rule, err := SelectRule(p.Rules, scope)
	if err != nil {
		var e *trcledger.Error
		if errors.As(err, &e) {
			e.Fields = []trcledger.FieldError{{Field: names.ServiceCode, Message: e.Message}}
		}
		return PricedLine{}, err
	}
	line, err := PriceLine(v, rule, in.Service.Code, in.Quantity)
	if e := (*trcledger.Error)(nil); errors.As(err, &e) && (e.Reason == "quantity_exceeded" || e.Reason == "invalid_quantity") {
		e.Fields = []trcledger.FieldError{{Field: names.Quantity, Message: e.Message}}
	}
	return line, err
}

func validToText(d *trcledger.Date) string {
	if d == nil {
		return "open"
	}
	return d.String()
}

// QuoteInput asks what a line would cost and who would pay it.
type QuoteInput struct {
	ServiceCode         string
	Quantity            decimal.Decimal
	On                  trcledger.Date
	BeneficiaryCategory string
	SiteCode            string
}

// Quote prices and splits one line as posting would, and writes nothing. It returns ENOTFOUND
// for an unknown or foreign contract and EINVALID (no_cost_share_rule among others) naming the
// query parameter at fault.
func (s *Store) Quote(ctx context.Context, contractCode string, in QuoteInput) (*PricedLine, error) {
	p, err := LoadPricing(ctx, s.db, contractCode)
	if err != nil {
		return nil, access.RecordDenied(ctx, s.db, err)
	}
	var svc Service
	var f trcledger.Fields
	if err := s.db.GetContext(ctx, &svc, `SELECT code, name, category, unit, requires_referral, created_at FROM services WHERE code = $1`, in.ServiceCode); err != nil {
		f.Add("service_code", "unknown service %s", in.ServiceCode)
	}
	if in.SiteCode != "" {
		var n int
		if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM sites WHERE code = $1`, in.SiteCode); err != nil {
			return nil, fmt.Errorf("check site: %w", err)
		} else if n == 0 {
			f.Add("site_code", "unknown site %s", in.SiteCode)
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	line, err := p.Price(LineInput{Service: &svc, Quantity: in.Quantity, Scope: LineScope{
		On: in.On, BeneficiaryCategory: in.BeneficiaryCategory, SiteCode: in.SiteCode,
	}}, FieldNames{Date: "on", ServiceCode: "service_code", Quantity: "quantity"})
	if err != nil {
		return nil, err
	}
	line.LineNo = 1
	return &line, nil
}
