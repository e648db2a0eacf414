// Package contracts holds the reference data (jurisdictions, institutions, sites, services) and the
// contracts with their tariff versions and cost-share rules; price.go prices and splits a line.
package contracts

import (
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

// Enumerations of DESIGN.md section 2.
var (
	OrganizationKinds     = []string{"provider", "payer"}
	PayerTypes            = []string{"international", "donor", "state_fund", "government"}
	ProviderLevels        = []string{"primary", "secondary", "tertiary"}
	SiteKinds             = []string{"trc", "mobile", "health_facility"}
	ServiceCategories     = []string{"primary_care", "emergency", "specialist", "diagnostics", "dental", "mental_health", "vaccination", "transport", "hospital", "team_day"}
	ServiceUnits          = []string{"visit", "item", "km", "day", "case"}
	ContractStatuses      = []string{"draft", "active", "terminated"}
	BeneficiaryCategories = []string{"asylum_seeker", "irregular_migrant", "refugee", "subsidiary_protection", "unknown"}
	TariffMethods         = []string{"fixed", "points"}
	// Currencies the service accepts, all with 2 decimals.
	Currencies = []string{"BAM", "EUR", "USD", "CHF", "GBP"}
)

// Jurisdiction is a node of the tree BA -> entities -> cantons.
type Jurisdiction struct {
	Code       string         `json:"code" db:"code"`
	Name       string         `json:"name" db:"name"`
	ParentCode *string        `json:"parent_code" db:"parent_code"`
	CreatedAt  trcledger.Time `json:"created_at" db:"created_at"`
}

// Organization is a provider institution or a payer.
type Organization struct {
	Code             string         `json:"code" db:"code"`
	Name             string         `json:"name" db:"name"`
	Kind             string         `json:"kind" db:"kind"`
	JurisdictionCode string         `json:"jurisdiction_code" db:"jurisdiction_code"`
	PayerType        *string        `json:"payer_type,omitempty" db:"payer_type"`
	Level            *string        `json:"level,omitempty" db:"level"`
	CreatedAt        trcledger.Time `json:"created_at" db:"created_at"`
}

// Site is a place where care is given.
type Site struct {
	Code             string         `json:"code" db:"code"`
	Name             string         `json:"name" db:"name"`
	Kind             string         `json:"kind" db:"kind"`
	JurisdictionCode string         `json:"jurisdiction_code" db:"jurisdiction_code"`
	CreatedAt        trcledger.Time `json:"created_at" db:"created_at"`
}

// Service is an entry of the service catalogue.
type Service struct {
	Code             string         `json:"code" db:"code"`
	Name             string         `json:"name" db:"name"`
	Category         string         `json:"category" db:"category"`
	Unit             string         `json:"unit" db:"unit"`
	RequiresReferral bool           `json:"requires_referral" db:"requires_referral"`
	CreatedAt        trcledger.Time `json:"created_at" db:"created_at"`
}

// Contract binds a provider to a payer's tariff. ValidTo is inclusive; nil is open.
type Contract struct {
	ID           int64           `json:"-" db:"id"`
	Code         string          `json:"code" db:"code"`
	ProviderCode string          `json:"provider_code" db:"provider_code"`
	PayerCode    *string         `json:"payer_code" db:"payer_code"`
	Currency     string          `json:"currency" db:"currency"`
	ValidFrom    trcledger.Date  `json:"valid_from" db:"valid_from"`
	ValidTo      *trcledger.Date `json:"valid_to" db:"valid_to"`
	Status       string          `json:"status" db:"status"`
	CreatedAt    trcledger.Time  `json:"created_at" db:"created_at"`
	UpdatedAt    trcledger.Time  `json:"updated_at" db:"updated_at"`

	// ReroutableReasons are the review reason codes that move a rejected share to its fallback
	// payer (DefaultReroutableReasons unless set); AppealWindowDays is how many days after a
	// completed review the provider may appeal a line (DefaultAppealWindowDays unless set).
	ReroutableReasons pq.StringArray `json:"reroutable_reasons" db:"reroutable_reasons"`
	AppealWindowDays  int            `json:"appeal_window_days" db:"appeal_window_days"`
}

// Defaults of a contract's re-routable reasons and appeal window (docs/appeals-and-rerouting.md).
var (
	DefaultReroutableReasons = []string{"not_eligible", "not_covered"}
	DefaultAppealWindowDays  = 60
)

// MaxAppealWindowDays is the longest appeal window a contract may set.
const MaxAppealWindowDays = 3650

// Covers reports whether d lies within the contract's validity (both ends inclusive).
func (c *Contract) Covers(d trcledger.Date) bool {
	return !d.Before(c.ValidFrom) && (c.ValidTo == nil || !d.After(*c.ValidTo))
}

// TariffItem prices one service in a tariff version.
type TariffItem struct {
	ServiceCode string           `json:"service_code" db:"service_code"`
	Method      string           `json:"method" db:"method"`
	Price       *decimal.Decimal `json:"price,omitempty" db:"price"`
	Points      *decimal.Decimal `json:"points,omitempty" db:"points"`
	MaxQuantity *decimal.Decimal `json:"max_quantity,omitempty" db:"max_quantity"`
	VATRate     decimal.Decimal  `json:"vat_rate" db:"vat_rate"`
}

// TariffVersion is a contract's price list in force over [EffectiveFrom, EffectiveTo).
type TariffVersion struct {
	ID            int64            `json:"-" db:"id"`
	ContractCode  string           `json:"contract_code" db:"contract_code"`
	Version       int              `json:"version" db:"version"`
	EffectiveFrom trcledger.Date   `json:"effective_from" db:"effective_from"`
	EffectiveTo   *trcledger.Date  `json:"effective_to" db:"effective_to"`
	PointValue    *decimal.Decimal `json:"point_value" db:"point_value"`
	Items         []TariffItem     `json:"items" db:"-"`
	CreatedAt     trcledger.Time   `json:"created_at" db:"created_at"`
}

// Item returns the item for serviceCode, or nil.
func (v *TariffVersion) Item(serviceCode string) *TariffItem {
	for i := range v.Items {
		if v.Items[i].ServiceCode == serviceCode {
			return &v.Items[i]
		}
	}
	return nil
}

// Share is one payer's part of a cost-share rule, in basis points (10000 = 100%).
type Share struct {
	PayerCode   string `json:"payer_code" db:"payer_code"`
	BasisPoints int    `json:"basis_points" db:"basis_points"`
	// FallbackPayerCode takes over what PayerCode rejects in review with a reason the contract
	// marks re-routable (Contract.ReroutableReasons); nil: nobody does.
	FallbackPayerCode *string `json:"fallback_payer_code,omitempty" db:"fallback_payer_code"`
}

// CostShareRule splits the lines it covers between payers over [EffectiveFrom, EffectiveTo).
// Nil scope fields match any value.
type CostShareRule struct {
	ID                  int64           `json:"id" db:"id"`
	ContractCode        string          `json:"contract_code" db:"contract_code"`
	EffectiveFrom       trcledger.Date  `json:"effective_from" db:"effective_from"`
	EffectiveTo         *trcledger.Date `json:"effective_to" db:"effective_to"`
	ServiceCategory     *string         `json:"service_category" db:"service_category"`
	BeneficiaryCategory *string         `json:"beneficiary_category" db:"beneficiary_category"`
	SiteCode            *string         `json:"site_code" db:"site_code"`
	Shares              []Share         `json:"shares" db:"-"`
	CreatedAt           trcledger.Time  `json:"created_at" db:"created_at"`
}
