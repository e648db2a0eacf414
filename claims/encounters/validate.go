package encounters

import (
	"context"
	"crypto/sha256"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
)

var icd10 = regexp.MustCompile(`^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$`)

// Limits on what one encounter may hold.
const (
	MaxLines     = 100
	MaxDiagnoses = 20
	maxText      = 64
)

// price validates one encounter and prices its lines, recording every problem in f under
// prefix ("" or "encounters[3]."). It returns nil when the encounter is not valid.
func (s *Service) price(ctx context.Context, ref *refData, in *EncounterInput, prefix string, f *trcledger.Fields) (*Encounter, error) {
	before := f.Len()
	s.checkFields(ref, in, prefix, f)
	pricing, err := findPricing(ctx, ref, in, prefix, f)
	if err != nil {
		return nil, err
	}
	e := &Encounter{
		ExternalID: in.ExternalID, SiteCode: in.SiteCode, BeneficiaryCategory: in.BeneficiaryCategory,
		Sex: in.Sex, BirthYear: in.BirthYear, ServiceDate: in.ServiceDate, Kind: in.Kind, Status: "posted",
		Diagnoses: in.Diagnoses, Referral: in.Referral, PractitionerRef: in.PractitionerRef, Corrects: in.Corrects,
		CapturedAt: trcledger.TimePtr(in.CapturedAt),
	}
	if e.Lines, err = priceLines(ref, pricing, in, prefix, f); err != nil {
		return nil, err
	}
	if f.Len() > before {
		return nil, nil
	}
	e.ContractCode = pricing.Contract.Code
	e.ProviderCode = pricing.Contract.ProviderCode
	e.Currency = pricing.Contract.Currency
	e.contractID = pricing.Contract.ID
	e.contractRev = pricing.Contract.UpdatedAt.Time
	e.PatientKey = claims.PatientKey(s.pseudonymKey, in.PatientID)
	total := e.Lines[0].Amount.Decimal
	for _, l := range e.Lines[1:] {
		total = total.Add(l.Amount.Decimal)
	}
	if total.GreaterThanOrEqual(maxTotal) {
		f.Add(prefix+"lines", "the encounter comes to %s, more than any one visit can cost", total.StringFixed(2))
		return nil, nil
	}
	if !total.IsPositive() {
		f.Add(prefix+"lines", "the encounter comes to 0.00; there is nothing to bill")
		return nil, nil
	}
	e.Total = trcledger.NewAmount(total)
	e.contentHash = contentHash(e)
	return e, nil
}

// checkFields checks the encounter's own fields (all but its contract and its lines' prices).
func (s *Service) checkFields(ref *refData, in *EncounterInput, prefix string, f *trcledger.Fields) {
	add := func(field, format string, args ...any) { f.Add(prefix+field, format, args...) }
	text := func(field, v string, required bool) {
		switch {
		case v == "" && required:
			add(field, "is required")
		case len(v) > maxText:
			add(field, "must be at most %d characters", maxText)
		}
	}
	text("external_id", in.ExternalID, true)
	text("patient_id", claims.NormalizePatientID(in.PatientID), true)
	text("site_code", in.SiteCode, true)
	text("contract_code", in.ContractCode, true)
	if in.PractitionerRef != nil {
		text("practitioner_ref", *in.PractitionerRef, false)
	}
	if in.SiteCode != "" && !ref.sites[in.SiteCode] {
		add("site_code", "unknown site %s", in.SiteCode)
	}
	if !slices.Contains(contracts.BeneficiaryCategories, in.BeneficiaryCategory) {
		add("beneficiary_category", "must be one of %s", strings.Join(contracts.BeneficiaryCategories, ", "))
	}
	if in.Sex != nil && !slices.Contains(Sexes, *in.Sex) {
		add("sex", "must be F, M or X")
	}
	today := trcledger.Today(s.now())
	if in.BirthYear != nil && (*in.BirthYear < 1900 || *in.BirthYear > today.Time().Year()) {
		add("birth_year", "must be between 1900 and %d", today.Time().Year())
	}
	if !slices.Contains(EncounterKinds, in.Kind) {
		add("kind", "must be one of %s", strings.Join(EncounterKinds, ", "))
	}
	if in.ServiceDate.IsZero() {
		add("service_date", "is required")
	} else if in.ServiceDate.After(today) {
		add("service_date", "must not be in the future (today is %s)", today)
	}
	checkDiagnoses(in, prefix, f)
	needsReferral := in.Kind == "referral"
	if len(in.Lines) == 0 {
		add("lines", "at least one line is required")
	} else if len(in.Lines) > MaxLines {
		add("lines", "at most %d lines", MaxLines)
	}
	for _, l := range in.Lines {
		if svc := ref.services[l.ServiceCode]; svc != nil && svc.RequiresReferral {
			needsReferral = true
		}
	}
	checkReferral(in, ref, needsReferral, prefix, f)
	if in.Corrects != nil && !claims.UUIDPattern.MatchString(*in.Corrects) {
		add("corrects", "must be the id of the voided encounter this one corrects")
	}
}

// findPricing is the pricing of the encounter's contract, nil (with the field named) when the
// contract is unknown or not the caller's provider's.
func findPricing(ctx context.Context, ref *refData, in *EncounterInput, prefix string, f *trcledger.Fields) (*contracts.Pricing, error) {
	if in.ContractCode == "" || len(in.ContractCode) > maxText {
		return nil, nil
	}
	p, err := ref.contract(ctx, in.ContractCode)
	if err != nil {
		return nil, err
	}
	if p == nil || !access.CanPostEncounter(access.PrincipalFrom(ctx), p.Contract.ProviderCode) {
		f.Add(prefix+"contract_code", "unknown contract %s", in.ContractCode)
		return nil, nil
	}
	return p, nil
}

// priceLines checks and prices every line; a line is priced only when the encounter's
// contract, date and beneficiary category are good.
func priceLines(ref *refData, pricing *contracts.Pricing, in *EncounterInput, prefix string, f *trcledger.Fields) ([]contracts.PricedLine, error) {
	lines := make([]contracts.PricedLine, 0, len(in.Lines))
	for i, l := range in.Lines {
		p := fmt.Sprintf("%slines[%d].", prefix, i)
		svc := ref.services[l.ServiceCode]
		switch {
		case l.ServiceCode == "":
			f.Add(p+"service_code", "is required")
			continue
		case svc == nil:
			f.Add(p+"service_code", "unknown service %s", l.ServiceCode)
			continue
		case !l.Quantity.IsPositive() || trcledger.DecimalPlaces(l.Quantity) > 4 || l.Quantity.GreaterThan(maxQuantity):
			f.Add(p+"quantity", "must be a positive number with at most 4 decimals")
			continue
		}
		if pricing == nil || in.ServiceDate.IsZero() || f.Has(prefix+"service_date") || f.Has(prefix+"beneficiary_category") {
			continue
		}
		line, err := pricing.Price(contracts.LineInput{Service: svc, Quantity: l.Quantity, Scope: contracts.LineScope{
			On: in.ServiceDate, BeneficiaryCategory: in.BeneficiaryCategory, SiteCode: in.SiteCode,
		}}, contracts.FieldNames{Date: prefix + "service_date", ServiceCode: p + "service_code", Quantity: p + "quantity"})
		if err := f.MergeErr(err); err != nil {
			return nil, err
		}
		line.LineNo = i + 1
		lines = append(lines, line)
	}
	return lines, nil
}

var (
	maxQuantity = decimal.RequireFromString("99999999")
	maxTotal    = decimal.RequireFromString("1000000000000") // far below what NUMERIC(18,2) holds
)

func checkDiagnoses(in *EncounterInput, prefix string, f *trcledger.Fields) {
	if len(in.Diagnoses) > MaxDiagnoses {
		f.Add(prefix+"diagnoses", "at most %d diagnoses", MaxDiagnoses)
		return
	}
	for i, d := range in.Diagnoses {
		d = strings.ToUpper(strings.TrimSpace(d))
		in.Diagnoses[i] = d
		if !icd10.MatchString(d) {
			f.Add(fmt.Sprintf("%sdiagnoses[%d]", prefix, i), "must be an ICD-10 code such as J06.9")
		}
	}
	if len(in.Diagnoses) == 0 && slices.Contains(kindsNeedingDiag, in.Kind) {
		f.Add(prefix+"diagnoses", "at least one ICD-10 diagnosis is required for a %s", in.Kind)
	}
}

func checkReferral(in *EncounterInput, ref *refData, needed bool, prefix string, f *trcledger.Fields) {
	r := in.Referral
	if r == nil {
		if needed {
			f.Add(prefix+"referral", "is required for a referral or a service that needs one")
		}
		return
	}
	if r.Number == "" {
		f.Add(prefix+"referral.number", "is required")
	} else if len(r.Number) > maxText {
		f.Add(prefix+"referral.number", "must be at most %d characters", maxText)
	}
	if !slices.Contains(ReferralLevels, r.ToLevel) {
		f.Add(prefix+"referral.to_level", "must be secondary or tertiary")
	}
	if r.ToProviderCode != nil && !ref.providers[*r.ToProviderCode] {
		f.Add(prefix+"referral.to_provider_code", "unknown provider %s", *r.ToProviderCode)
	}
}

// contentHash identifies what was posted, so that a CSV row imported again with the same
// content is recognised and skipped. It covers the pseudonymised patient, never the raw id.
func contentHash(e *Encounter) []byte {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
	}
	opt := func(p *string) string {
		if p == nil {
			return "\x00"
		}
		return *p
	}
	birth := "\x00"
	if e.BirthYear != nil {
		birth = fmt.Sprint(*e.BirthYear)
	}
	w(e.ContractCode, e.SiteCode, e.ExternalID, e.PatientKey, e.BeneficiaryCategory, opt(e.Sex), birth,
		e.ServiceDate.String(), e.Kind, opt(e.PractitionerRef), opt(e.Corrects))
	diags := append([]string(nil), e.Diagnoses...)
	sort.Strings(diags)
	w(diags...)
	if r := e.Referral; r != nil {
		w("referral", r.Number, r.ToLevel, opt(r.ToProviderCode))
	}
	for _, l := range e.Lines {
		w(l.ServiceCode, l.Quantity.String())
	}
	return h.Sum(nil)
}
