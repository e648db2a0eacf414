package contracts

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/trcledger/trcledger"
)

var (
	codePattern         = regexp.MustCompile(`^[A-Z0-9][A-Z0-9._-]{0,39}$`)
	jurisdictionPattern = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,10}){0,3}$`)
)

// checkCode checks the "code" field.
func checkCode(f *trcledger.Fields, code string) {
	if !codePattern.MatchString(code) {
		f.Add("code", "must be 1 to 40 upper-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
}

// checkName checks the "name" field.
func checkName(f *trcledger.Fields, name string) {
	if strings.TrimSpace(name) == "" {
		f.Add("name", "is required")
	} else if len(name) > 200 {
		f.Add("name", "must be at most 200 characters")
	}
}

func checkOneOf(f *trcledger.Fields, field, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		f.Add(field, "must be one of %s", strings.Join(allowed, ", "))
	}
}

func checkOptionalOneOf(f *trcledger.Fields, field string, value *string, allowed []string) {
	if value != nil {
		checkOneOf(f, field, *value, allowed)
	}
}

// Validate checks a new jurisdiction; it returns EINVALID listing every bad field.
func (j *Jurisdiction) Validate() error {
	var f trcledger.Fields
	if !jurisdictionPattern.MatchString(j.Code) {
		f.Add("code", "must look like BA, BA-FBIH or BA-FBIH-USK")
	}
	checkName(&f, j.Name)
	if j.ParentCode != nil && *j.ParentCode == j.Code {
		f.Add("parent_code", "a jurisdiction cannot be its own parent")
	}
	return f.Err()
}

// Validate checks a new organization; it returns EINVALID listing every bad field.
func (o *Organization) Validate() error {
	var f trcledger.Fields
	checkCode(&f, o.Code)
	checkName(&f, o.Name)
	checkOneOf(&f, "kind", o.Kind, OrganizationKinds)
	if o.JurisdictionCode == "" {
		f.Add("jurisdiction_code", "is required")
	}
	switch o.Kind {
	case "payer":
		if o.PayerType == nil {
			f.Add("payer_type", "is required for a payer")
		}
		checkOptionalOneOf(&f, "payer_type", o.PayerType, PayerTypes)
		if o.Level != nil {
			f.Add("level", "applies to providers only")
		}
	case "provider":
		if o.Level == nil {
			f.Add("level", "is required for a provider")
		}
		checkOptionalOneOf(&f, "level", o.Level, ProviderLevels)
		if o.PayerType != nil {
			f.Add("payer_type", "applies to payers only")
		}
	}
	return f.Err()
}

// Validate checks a new site; it returns EINVALID listing every bad field.
func (s *Site) Validate() error {
	var f trcledger.Fields
	checkCode(&f, s.Code)
	checkName(&f, s.Name)
	checkOneOf(&f, "kind", s.Kind, SiteKinds)
	if s.JurisdictionCode == "" {
		f.Add("jurisdiction_code", "is required")
	}
	return f.Err()
}

// Validate checks a new catalogue entry; it returns EINVALID listing every bad field.
func (s *Service) Validate() error {
	var f trcledger.Fields
	checkCode(&f, s.Code)
	checkName(&f, s.Name)
	checkOneOf(&f, "category", s.Category, ServiceCategories)
	checkOneOf(&f, "unit", s.Unit, ServiceUnits)
	return f.Err()
}

// Validate checks a new contract; it returns EINVALID listing every bad field.
func (c *Contract) Validate() error {
	var f trcledger.Fields
	checkCode(&f, c.Code)
	if c.ProviderCode == "" {
		f.Add("provider_code", "is required")
	}
	checkOneOf(&f, "currency", c.Currency, Currencies)
	checkOneOf(&f, "status", c.Status, ContractStatuses)
	if c.ValidFrom.IsZero() {
		f.Add("valid_from", "is required")
	}
	if c.ValidTo != nil && c.ValidTo.Before(c.ValidFrom) {
		f.Add("valid_to", "must not be before valid_from")
	}
	_ = f.MergeErr(c.checkClaimsTerms())
	return f.Err()
}

// checkClaimsTerms checks the appeal window and that no re-routable reason is listed twice
// (the database checks each is a review reason code); EINVALID naming the fields.
func (c *Contract) checkClaimsTerms() error {
	var f trcledger.Fields
	if c.AppealWindowDays < 0 || c.AppealWindowDays > MaxAppealWindowDays {
		f.Add("appeal_window_days", "must be from 0 to %d days", MaxAppealWindowDays)
	}
	seen := map[string]bool{}
	for i, r := range c.ReroutableReasons {
		if seen[r] {
			f.Add(fmt.Sprintf("reroutable_reasons[%d]", i), "%s is listed twice", r)
		}
		seen[r] = true
	}
	return f.Err()
}

// Validate checks a new tariff version and its items; it returns EINVALID listing every bad
// field by path (items[2].price).
func (v *TariffVersion) Validate() error {
	var f trcledger.Fields
	if v.EffectiveFrom.IsZero() {
		f.Add("effective_from", "is required")
	}
	if v.EffectiveTo != nil && !v.EffectiveTo.After(v.EffectiveFrom) {
		f.Add("effective_to", "must be after effective_from")
	}
	if v.PointValue != nil {
		checkPrice(&f, "point_value", *v.PointValue)
	}
	if len(v.Items) == 0 {
		f.Add("items", "a tariff version needs at least one item")
	}
	seen := map[string]int{}
	for i, it := range v.Items {
		p := fmt.Sprintf("items[%d]", i)
		if it.ServiceCode == "" {
			f.Add(p+".service_code", "is required")
		} else if j, dup := seen[it.ServiceCode]; dup {
			f.Add(p+".service_code", "%s is already priced by items[%d]", it.ServiceCode, j)
		} else {
			seen[it.ServiceCode] = i
		}
		checkOneOf(&f, p+".method", it.Method, TariffMethods)
		switch it.Method {
		case "fixed":
			if it.Price == nil {
				f.Add(p+".price", "is required for method fixed")
			} else {
				checkPrice(&f, p+".price", *it.Price)
			}
			if it.Points != nil {
				f.Add(p+".points", "applies to method points only")
			}
		case "points":
			if it.Points == nil {
				f.Add(p+".points", "is required for method points")
			} else {
				checkPrice(&f, p+".points", *it.Points)
			}
			if it.Price != nil {
				f.Add(p+".price", "applies to method fixed only")
			}
			if v.PointValue == nil {
				f.Add("point_value", "is required when an item is priced in points")
			}
		}
		if it.MaxQuantity != nil {
			checkPrice(&f, p+".max_quantity", *it.MaxQuantity)
		}
		if it.VATRate.IsNegative() || it.VATRate.GreaterThan(hundred) || trcledger.DecimalPlaces(it.VATRate) > 4 {
			f.Add(p+".vat_rate", "must be a percentage between 0 and 100 with at most 4 decimals")
		}
	}
	return f.Err()
}

// Validate checks a new cost-share rule; it returns EINVALID listing every bad field.
func (r *CostShareRule) Validate() error {
	var f trcledger.Fields
	if r.EffectiveFrom.IsZero() {
		f.Add("effective_from", "is required")
	}
	if r.EffectiveTo != nil && !r.EffectiveTo.After(r.EffectiveFrom) {
		f.Add("effective_to", "must be after effective_from")
	}
	checkOptionalOneOf(&f, "service_category", r.ServiceCategory, ServiceCategories)
	checkOptionalOneOf(&f, "beneficiary_category", r.BeneficiaryCategory, BeneficiaryCategories)
	if len(r.Shares) == 0 {
		f.Add("shares", "at least one share is required")
	}
	sum, seen, badShare := 0, map[string]int{}, false
	for i, s := range r.Shares {
		p := fmt.Sprintf("shares[%d]", i)
		if s.PayerCode == "" {
			f.Add(p+".payer_code", "is required")
		} else if j, dup := seen[s.PayerCode]; dup {
			f.Add(p+".payer_code", "%s already has shares[%d]", s.PayerCode, j)
		} else {
			seen[s.PayerCode] = i
		}
		switch {
		case s.BasisPoints == 0:
			// A payer listed at 0 bears nothing and would only look like a party to the lines.
			f.Add(p+".basis_points", "must be between 1 and 10000; leave out a payer that bears no share")
		case s.BasisPoints < 0 || s.BasisPoints > fullBasisPoints:
			f.Add(p+".basis_points", "must be between 1 and 10000")
			badShare = true
		}
		sum += s.BasisPoints
		if s.FallbackPayerCode != nil && *s.FallbackPayerCode == s.PayerCode {
			f.Add(p+".fallback_payer_code", "must be another payer than the share's own")
		}
	}
	if len(r.Shares) > 0 && !badShare && sum != fullBasisPoints {
		f.Add("shares", "basis points sum to %d; they must sum to exactly 10000", sum)
	}
	return f.Err()
}

// checkPrice accepts a positive value with at most 4 decimals
// and at most 9 digits before the point, so that any line it prices fits NUMERIC(18,2).
func checkPrice(f *trcledger.Fields, field string, v interface {
	IsNegative() bool
	IsZero() bool
	String() string
}) {
	s := v.String()
	intDigits := len(strings.TrimPrefix(strings.SplitN(s, ".", 2)[0], "-"))
	switch {
	case v.IsNegative():
		f.Add(field, "must not be negative")
	case v.IsZero():
		f.Add(field, "must be greater than zero")
	case strings.Contains(s, ".") && len(s)-strings.IndexByte(s, '.')-1 > 4:
		f.Add(field, "must have at most 4 decimals")
	case intDigits > 9:
		f.Add(field, "is too large")
	}
}
