package contracts

import (
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

// Rounding happens only in this file, at the points DESIGN.md section 3 names.

var (
	hundred         = decimal.NewFromInt(100)
	tenThousand     = decimal.NewFromInt(10000)
	amountPlaces    = int32(2)
	fullBasisPoints = 10000
)

// LineScope is what a cost-share rule is matched against: the service date and the line's
// service category, beneficiary category and site.
type LineScope struct {
	On                  trcledger.Date
	ServiceCategory     string
	BeneficiaryCategory string
	SiteCode            string
}

// ShareAmount is one payer's part of a priced line.
type ShareAmount struct {
	PayerCode   string           `json:"payer_code"`
	BasisPoints int              `json:"basis_points"`
	Amount      trcledger.Amount `json:"amount"`
}

// PricedLine is a line priced with a tariff version and split with a cost-share rule.
type PricedLine struct {
	LineNo          int              `json:"line_no"`
	ServiceCode     string           `json:"service_code"`
	Quantity        decimal.Decimal  `json:"quantity"`
	UnitPrice       trcledger.Price  `json:"unit_price"`
	Net             trcledger.Amount `json:"net"`
	VATRate         decimal.Decimal  `json:"vat_rate"`
	VAT             trcledger.Amount `json:"vat"`
	Amount          trcledger.Amount `json:"amount"`
	TariffVersion   int              `json:"tariff_version"`
	TariffVersionID int64            `json:"-"`
	CostShareRuleID int64            `json:"cost_share_rule_id"`
	Shares          []ShareAmount    `json:"shares"`
}

// roundHalfUp rounds a non-negative value half up to the amount's 2 decimals
// (decimal.Round rounds half away from zero, which is half up for the amounts we price).
func roundHalfUp(d decimal.Decimal) decimal.Decimal { return d.Round(amountPlaces) }

// UnitPrice returns the item's unit price: its price, or points × the version's point value,
// not rounded. It returns EINVALID when a points item has no point value.
func UnitPrice(v *TariffVersion, item *TariffItem) (decimal.Decimal, error) {
	switch item.Method {
	case "fixed":
		if item.Price != nil {
			return *item.Price, nil
		}
	case "points":
		if item.Points != nil && v.PointValue != nil {
			return item.Points.Mul(*v.PointValue), nil
		}
	}
	return decimal.Zero, trcledger.Errorf(trcledger.EINVALID, "tariff item %s of version %d cannot be priced", item.ServiceCode, v.Version).WithReason("tariff_error")
}

// Split divides amount between the shares in their order: every share but the last gets
// round-half-up(amount × bp / 10000, 2); the last gets the rest, so the parts add up to amount.
// "The last" is the last share above 0 basis points: a payer listed at 0 (rules written before
// 0 was refused) is no party to the line and never gets a rounding cent. Where rounding up
// several small shares would leave the rest negative (possible only with many payers on a few
// cents), a share is capped at what is left: no share is ever negative and the parts still add
// up.
func Split(amount decimal.Decimal, shares []Share) []ShareAmount {
	out := make([]ShareAmount, len(shares))
	last := len(shares) - 1
	for last > 0 && shares[last].BasisPoints == 0 {
		last--
	}
	rest := amount
	for i, s := range shares {
		if i == last {
			continue
		}
		part := decimal.Min(rest, roundHalfUp(amount.Mul(decimal.NewFromInt(int64(s.BasisPoints))).Div(tenThousand)))
		rest = rest.Sub(part)
		out[i] = ShareAmount{PayerCode: s.PayerCode, BasisPoints: s.BasisPoints, Amount: trcledger.NewAmount(part)}
	}
	if last >= 0 {
		out[last] = ShareAmount{PayerCode: shares[last].PayerCode, BasisPoints: shares[last].BasisPoints, Amount: trcledger.NewAmount(rest)}
	}
	return out
}

// Matches reports whether the rule is in force on the scope's date and every scope field it
// sets equals the line's.
func (r *CostShareRule) Matches(s LineScope) bool {
	return s.On.InRange(r.EffectiveFrom, r.EffectiveTo) &&
		(r.ServiceCategory == nil || *r.ServiceCategory == s.ServiceCategory) &&
		(r.BeneficiaryCategory == nil || *r.BeneficiaryCategory == s.BeneficiaryCategory) &&
		(r.SiteCode == nil || *r.SiteCode == s.SiteCode)
}

// Specificity is the number of scope fields the rule sets (0..3).
func (r *CostShareRule) Specificity() int {
	n := 0
	for _, f := range []*string{r.ServiceCategory, r.BeneficiaryCategory, r.SiteCode} {
		if f != nil {
			n++
		}
	}
	return n
}

// CollidesWith reports whether r and o could both apply, at the same specificity, to one line:
// their periods overlap and no scope field is set to different values in the two.
func (r *CostShareRule) CollidesWith(o *CostShareRule) bool {
	if r.Specificity() != o.Specificity() {
		return false
	}
	overlap := (r.EffectiveTo == nil || o.EffectiveFrom.Before(*r.EffectiveTo)) &&
		(o.EffectiveTo == nil || r.EffectiveFrom.Before(*o.EffectiveTo))
	return overlap && compatible(r.ServiceCategory, o.ServiceCategory) &&
		compatible(r.BeneficiaryCategory, o.BeneficiaryCategory) && compatible(r.SiteCode, o.SiteCode)
}

func compatible(a, b *string) bool { return a == nil || b == nil || *a == *b }

// SelectRule returns the rule that applies to the line: among those that match, the most
// specific. It returns EINVALID no_cost_share_rule when none matches and ECONFLICT
// ambiguous_cost_share_rule when two match at the same specificity.
func SelectRule(rules []CostShareRule, s LineScope) (*CostShareRule, error) {
	var best *CostShareRule
	tie := false
	for i := range rules {
		r := &rules[i]
		if !r.Matches(s) {
			continue
		}
		switch {
		case best == nil || r.Specificity() > best.Specificity():
			best, tie = r, false
		case r.Specificity() == best.Specificity():
			tie = true
		}
	}
	if best == nil {
		return nil, trcledger.Errorf(trcledger.EINVALID, "no cost-share rule covers %s services for %s beneficiaries at site %q on %s",
			s.ServiceCategory, s.BeneficiaryCategory, s.SiteCode, s.On).WithReason("no_cost_share_rule")
	}
	if tie {
		return nil, trcledger.Errorf(trcledger.ECONFLICT, "two cost-share rules apply equally on %s", s.On).WithReason("ambiguous_cost_share_rule")
	}
	return best, nil
}

// PriceLine prices quantity of the service with the tariff version and splits the line amount
// with the rule: net = round(unit × quantity), VAT = round(net × rate / 100), amount = net + VAT.
// It returns EINVALID when the version has no item for the service, the quantity is not positive
// or exceeds the item's max_quantity, or the rule's shares do not sum to 10000.
func PriceLine(v *TariffVersion, rule *CostShareRule, serviceCode string, quantity decimal.Decimal) (PricedLine, error) {
	item := v.Item(serviceCode)
	if item == nil {
		return PricedLine{}, trcledger.Errorf(trcledger.EINVALID, "tariff version %d has no price for service %s", v.Version, serviceCode).WithReason("service_not_in_tariff")
	}
	if !quantity.IsPositive() {
		return PricedLine{}, trcledger.Errorf(trcledger.EINVALID, "quantity must be positive").WithReason("invalid_quantity")
	}
	if item.MaxQuantity != nil && quantity.GreaterThan(*item.MaxQuantity) {
		return PricedLine{}, trcledger.Errorf(trcledger.EINVALID, "quantity %s exceeds the tariff's maximum of %s", quantity, item.MaxQuantity).WithReason("quantity_exceeded")
	}
	if err := checkShares(rule.Shares); err != nil {
		return PricedLine{}, err
	}
	unit, err := UnitPrice(v, item)
	if err != nil {
		return PricedLine{}, err
	}
	net, vat, amount := LineAmounts(unit, quantity, item.VATRate)
	return PricedLine{
		ServiceCode:     serviceCode,
		Quantity:        quantity,
		UnitPrice:       trcledger.NewPrice(unit),
		Net:             trcledger.NewAmount(net),
		VATRate:         item.VATRate,
		VAT:             trcledger.NewAmount(vat),
		Amount:          trcledger.NewAmount(amount),
		TariffVersion:   v.Version,
		TariffVersionID: v.ID,
		CostShareRuleID: rule.ID,
		Shares:          Split(amount, rule.Shares),
	}, nil
}

func checkShares(shares []Share) error {
	sum := 0
	for _, s := range shares {
		if s.BasisPoints < 0 {
			return trcledger.Errorf(trcledger.EINVALID, "a share has negative basis points").WithReason("invalid_cost_share_rule")
		}
		sum += s.BasisPoints
	}
	if len(shares) == 0 || sum != fullBasisPoints {
		return trcledger.Errorf(trcledger.EINVALID, "shares sum to %d basis points, not 10000", sum).WithReason("invalid_cost_share_rule")
	}
	return nil
}

// LineAmounts prices quantity at unit: net = round-half-up(unit × quantity, 2), VAT =
// round-half-up(net × vatRate / 100, 2), amount = net + VAT (DESIGN.md section 3).
func LineAmounts(unit, quantity, vatRate decimal.Decimal) (net, vat, amount decimal.Decimal) {
	net = roundHalfUp(unit.Mul(quantity))
	vat = roundHalfUp(net.Mul(vatRate).Div(hundred))
	return net, vat, net.Add(vat)
}

// pricePlaces are the decimals of a tariff's price.
const pricePlaces = int32(4)

// AdjustPrice is a unit price changed by percent (10 for 10% more, -5 for 5% less), rounded half
// up to the 4 decimals a tariff's price carries: the price a tariff so changed would list.
func AdjustPrice(unit, percent decimal.Decimal) decimal.Decimal {
	return unit.Mul(hundred.Add(percent)).Div(hundred).Round(pricePlaces)
}

// ratePlaces are the decimals of an extrapolation rate: a millionth.
const ratePlaces = int32(6)

// ExtrapolationRate is the rejected share of a reviewed sample, rejected ÷ sampled rounded half
// up to 6 decimals (docs/review-sampling.md); 0 when nothing was sampled. The rate so rounded is
// the one recorded and applied, so each extrapolated line can be recomputed from the record.
func ExtrapolationRate(rejected, sampled decimal.Decimal) decimal.Decimal {
	if !sampled.IsPositive() {
		return decimal.Zero
	}
	return rejected.DivRound(sampled, ratePlaces)
}

// Extrapolate is what a line of amount approves when a sample's rate is applied to it:
// round-half-up(amount × (1 − rate), 2), never below 0 nor above amount.
func Extrapolate(amount, rate decimal.Decimal) decimal.Decimal {
	a := roundHalfUp(amount.Mul(decimal.NewFromInt(1).Sub(rate)))
	switch {
	case a.IsNegative():
		return decimal.Zero
	case a.GreaterThan(amount):
		return amount
	}
	return a
}
