// Package demo loads the illustrative dataset of DESIGN.md section 10: invented prices, not
// real tariffs, but the shape of the real transition from IOM to the state's health funds.
package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
)

// ErrSeeded is returned when the demo data is already there.
var ErrSeeded = errors.New("demo data already loaded")

// Token is a demo token, shown once.
type Token struct {
	Role, Org, Secret string
}

func s(v string) *string { return &v }

func dec(v string) *decimal.Decimal {
	d := decimal.RequireFromString(v)
	return &d
}

func date(v string) trcledger.Date {
	d, err := trcledger.ParseDate(v)
	if err != nil {
		panic(err)
	}
	return d
}

func datep(v string) *trcledger.Date {
	d := date(v)
	return &d
}

// Contract codes of the demo, one per provider.
const (
	ContractDZBihac   = "IOM-DZBIH-2024"
	ContractDZKS      = "IOM-DZKS-2024"
	ContractKBBihac   = "IOM-KBBIH-2024"
	ContractKCUS      = "IOM-KCUS-2024"
	ProviderDZBihac   = "DZ-BIHAC"
	ProviderDZKS      = "DZ-KS"
	ProviderKBBihac   = "KB-BIHAC"
	ProviderKCUS      = "KCUS"
	PayerIOM          = "IOM"
	PayerZZOUSK       = "ZZO-USK"
	PayerZZOKS        = "ZZO-KS"
	PayerMinSecurity  = "MSB"
	demoContractStart = "2024-01-01"
)

// Seed loads the demo data and issues one token per role (the clinic token is bound to DZ Bihać,
// the reviewer token to ZZO USK). It returns ErrSeeded when the data is already there.
func Seed(ctx context.Context, st *contracts.Store, tokens *access.Tokens) ([]Token, error) {
	if _, err := st.FindOrganizationByCode(ctx, PayerIOM); err == nil {
		return nil, ErrSeeded
	}
	steps := []func(context.Context, *contracts.Store) error{seedReference, seedContracts}
	for _, step := range steps {
		if err := step(ctx, st); err != nil {
			return nil, err
		}
	}
	var out []Token
	for _, t := range []access.NewToken{
		{Name: "demo admin", Role: access.RoleAdmin},
		{Name: "demo clinic DZ Bihać", Role: access.RoleClinic, OrgCode: ProviderDZBihac},
		{Name: "demo reviewer ZZO USK", Role: access.RoleReviewer, OrgCode: PayerZZOUSK},
		{Name: "demo finance IOM", Role: access.RoleFinance},
	} {
		_, secret, err := tokens.CreateToken(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("demo token %s: %w", t.Name, err)
		}
		org := t.OrgCode
		if org == "" {
			org = "-"
		}
		out = append(out, Token{Role: t.Role, Org: org, Secret: secret})
	}
	return out, nil
}

func seedReference(ctx context.Context, st *contracts.Store) error {
	for _, j := range []contracts.Jurisdiction{
		{Code: "BA", Name: "Bosnia and Herzegovina"},
		{Code: "BA-FBIH", Name: "Federation of Bosnia and Herzegovina", ParentCode: s("BA")},
		{Code: "BA-RS", Name: "Republika Srpska", ParentCode: s("BA")},
		{Code: "BA-BD", Name: "Brčko District", ParentCode: s("BA")},
		{Code: "BA-FBIH-USK", Name: "Una-Sana Canton", ParentCode: s("BA-FBIH")},
		{Code: "BA-FBIH-KS", Name: "Sarajevo Canton", ParentCode: s("BA-FBIH")},
		{Code: "BA-FBIH-HNK", Name: "Herzegovina-Neretva Canton", ParentCode: s("BA-FBIH")},
		{Code: "BA-FBIH-TK", Name: "Tuzla Canton", ParentCode: s("BA-FBIH")},
	} {
		if _, err := st.CreateJurisdiction(ctx, j); err != nil {
			return fmt.Errorf("demo jurisdiction %s: %w", j.Code, err)
		}
	}
	for _, o := range []contracts.Organization{
		{Code: ProviderDZBihac, Name: "JU Dom zdravlja Bihać", Kind: "provider", Level: s("primary"), JurisdictionCode: "BA-FBIH-USK"},
		{Code: ProviderDZKS, Name: "JU Dom zdravlja Kantona Sarajevo", Kind: "provider", Level: s("primary"), JurisdictionCode: "BA-FBIH-KS"},
		{Code: ProviderKBBihac, Name: "JZU Kantonalna bolnica Bihać", Kind: "provider", Level: s("secondary"), JurisdictionCode: "BA-FBIH-USK"},
		{Code: ProviderKCUS, Name: "Klinički centar Univerziteta u Sarajevu", Kind: "provider", Level: s("tertiary"), JurisdictionCode: "BA-FBIH-KS"},
		{Code: PayerIOM, Name: "IOM Bosnia and Herzegovina", Kind: "payer", PayerType: s("international"), JurisdictionCode: "BA"},
		{Code: PayerZZOUSK, Name: "Zavod zdravstvenog osiguranja Unsko-sanskog kantona", Kind: "payer", PayerType: s("state_fund"), JurisdictionCode: "BA-FBIH-USK"},
		{Code: PayerZZOKS, Name: "Zavod zdravstvenog osiguranja Kantona Sarajevo", Kind: "payer", PayerType: s("state_fund"), JurisdictionCode: "BA-FBIH-KS"},
		{Code: PayerMinSecurity, Name: "Ministarstvo sigurnosti BiH", Kind: "payer", PayerType: s("government"), JurisdictionCode: "BA"},
	} {
		if _, err := st.CreateOrganization(ctx, o); err != nil {
			return fmt.Errorf("demo organization %s: %w", o.Code, err)
		}
	}
	for _, site := range []contracts.Site{
		{Code: "TRC-LIPA", Name: "TRC Lipa", Kind: "trc", JurisdictionCode: "BA-FBIH-USK"},
		{Code: "TRC-BORICI", Name: "TRC Borići", Kind: "trc", JurisdictionCode: "BA-FBIH-USK"},
		{Code: "TRC-BLAZUJ", Name: "TRC Blažuj", Kind: "trc", JurisdictionCode: "BA-FBIH-KS"},
		{Code: "TRC-USIVAK", Name: "TRC Ušivak", Kind: "trc", JurisdictionCode: "BA-FBIH-KS"},
		{Code: "MOBILE-USK", Name: "Mobile medical team Una-Sana", Kind: "mobile", JurisdictionCode: "BA-FBIH-USK"},
	} {
		if _, err := st.CreateSite(ctx, site); err != nil {
			return fmt.Errorf("demo site %s: %w", site.Code, err)
		}
	}
	for _, svc := range []contracts.Service{
		{Code: "PZZ-01", Name: "GP consultation", Category: "primary_care", Unit: "visit"},
		{Code: "PZZ-02", Name: "Follow-up visit", Category: "primary_care", Unit: "visit"},
		{Code: "PZZ-03", Name: "Emergency examination", Category: "emergency", Unit: "visit"},
		{Code: "PZZ-04", Name: "Wound dressing", Category: "primary_care", Unit: "item"},
		{Code: "PZZ-07", Name: "Mental-health screening", Category: "mental_health", Unit: "visit"},
		{Code: "DEN-01", Name: "Tooth extraction", Category: "dental", Unit: "item"},
		{Code: "LAB-01", Name: "Complete blood count", Category: "diagnostics", Unit: "item"},
		{Code: "RTG-01", Name: "Chest X-ray", Category: "diagnostics", Unit: "item"},
		{Code: "SKZ-01", Name: "Specialist consultation on referral", Category: "specialist", Unit: "visit", RequiresReferral: true},
		{Code: "TRN-01", Name: "Ambulance transport", Category: "transport", Unit: "km"},
		{Code: "BOL-01", Name: "Hospital case", Category: "hospital", Unit: "case", RequiresReferral: true},
	} {
		if _, err := st.CreateService(ctx, svc); err != nil {
			return fmt.Errorf("demo service %s: %w", svc.Code, err)
		}
	}
	return nil
}

func fixed(code, price string) contracts.TariffItem {
	return contracts.TariffItem{ServiceCode: code, Method: "fixed", Price: dec(price)}
}

func points(code, pts string) contracts.TariffItem {
	return contracts.TariffItem{ServiceCode: code, Method: "points", Points: dec(pts)}
}

func withMax(it contracts.TariffItem, max string) contracts.TariffItem {
	it.MaxQuantity = dec(max)
	return it
}

func primaryTariff(gp string) []contracts.TariffItem {
	return []contracts.TariffItem{
		fixed("PZZ-01", gp), fixed("PZZ-02", "12"), fixed("PZZ-03", "35"), withMax(fixed("PZZ-04", "10"), "5"),
		fixed("PZZ-07", "25"), withMax(fixed("DEN-01", "25"), "4"), withMax(fixed("LAB-01", "6"), "10"),
		fixed("RTG-01", "25"), withMax(fixed("TRN-01", "1.80"), "400"),
	}
}

func hospitalTariff() []contracts.TariffItem {
	return []contracts.TariffItem{
		points("SKZ-01", "40"), points("RTG-01", "25"), withMax(points("LAB-01", "6"), "10"),
		fixed("PZZ-03", "35"), withMax(fixed("BOL-01", "1200"), "1"), withMax(fixed("TRN-01", "1.80"), "400"),
	}
}

func share(payer string, bp int) contracts.Share {
	return contracts.Share{PayerCode: payer, BasisPoints: bp}
}

// primaryCareSchedule is the transition of primary care onto the canton's fund: 2024 H1 IOM,
// 2024 H2 30% state, 2025 H1 60%, from 2025-07 all state; emergency and transport stay with
// IOM; asylum-card holders' primary care is the state's from the start.
func primaryCareSchedule(fund string) []contracts.CostShareRule {
	pc := s("primary_care")
	return []contracts.CostShareRule{
		{EffectiveFrom: date("2024-01-01"), Shares: []contracts.Share{share(PayerIOM, 10000)}},
		{EffectiveFrom: date("2024-01-01"), EffectiveTo: datep("2024-07-01"), ServiceCategory: pc, Shares: []contracts.Share{share(PayerIOM, 10000)}},
		{EffectiveFrom: date("2024-07-01"), EffectiveTo: datep("2025-01-01"), ServiceCategory: pc, Shares: []contracts.Share{share(fund, 3000), share(PayerIOM, 7000)}},
		{EffectiveFrom: date("2025-01-01"), EffectiveTo: datep("2025-07-01"), ServiceCategory: pc, Shares: []contracts.Share{share(fund, 6000), share(PayerIOM, 4000)}},
		{EffectiveFrom: date("2025-07-01"), ServiceCategory: pc, Shares: []contracts.Share{share(fund, 10000)}},
		{EffectiveFrom: date("2024-01-01"), ServiceCategory: s("emergency"), Shares: []contracts.Share{share(PayerIOM, 10000)}},
		{EffectiveFrom: date("2024-01-01"), ServiceCategory: s("transport"), Shares: []contracts.Share{share(PayerIOM, 10000)}},
		{EffectiveFrom: date("2024-01-01"), ServiceCategory: pc, BeneficiaryCategory: s("asylum_seeker"), Shares: []contracts.Share{share(fund, 10000)}},
	}
}

// hospitalSchedule: specialist care moves half onto the fund in 2025, hospital cases are
// shared with the Ministry of Security from 2025.
func hospitalSchedule(fund string) []contracts.CostShareRule {
	return []contracts.CostShareRule{
		{EffectiveFrom: date("2024-01-01"), Shares: []contracts.Share{share(PayerIOM, 10000)}},
		{EffectiveFrom: date("2024-01-01"), EffectiveTo: datep("2025-01-01"), ServiceCategory: s("specialist"), Shares: []contracts.Share{share(PayerIOM, 10000)}},
		{EffectiveFrom: date("2025-01-01"), ServiceCategory: s("specialist"), Shares: []contracts.Share{share(fund, 5000), share(PayerIOM, 5000)}},
		{EffectiveFrom: date("2025-01-01"), ServiceCategory: s("hospital"), Shares: []contracts.Share{share(PayerMinSecurity, 5000), share(PayerIOM, 5000)}},
	}
}

func seedContracts(ctx context.Context, st *contracts.Store) error {
	type plan struct {
		code, provider string
		versions       []contracts.TariffVersion
		rules          []contracts.CostShareRule
	}
	plans := []plan{
		{ContractDZBihac, ProviderDZBihac, []contracts.TariffVersion{
			{EffectiveFrom: date(demoContractStart), Items: primaryTariff("20")},
			{EffectiveFrom: date("2026-01-01"), Items: primaryTariff("22")},
		}, primaryCareSchedule(PayerZZOUSK)},
		{ContractDZKS, ProviderDZKS, []contracts.TariffVersion{
			{EffectiveFrom: date(demoContractStart), Items: primaryTariff("20")},
		}, primaryCareSchedule(PayerZZOKS)},
		{ContractKBBihac, ProviderKBBihac, []contracts.TariffVersion{
			{EffectiveFrom: date(demoContractStart), PointValue: dec("1.00"), Items: hospitalTariff()},
		}, hospitalSchedule(PayerZZOUSK)},
		{ContractKCUS, ProviderKCUS, []contracts.TariffVersion{
			{EffectiveFrom: date(demoContractStart), PointValue: dec("0.90"), Items: hospitalTariff()},
		}, hospitalSchedule(PayerZZOKS)},
	}
	for _, p := range plans {
		if _, err := st.CreateContract(ctx, contracts.Contract{
			Code: p.code, ProviderCode: p.provider, PayerCode: s(PayerIOM), Currency: "BAM",
			ValidFrom: date(demoContractStart), ValidTo: datep("2026-12-31"), Status: "active",
		}); err != nil {
			return fmt.Errorf("demo contract %s: %w", p.code, err)
		}
		for _, v := range p.versions {
			if _, err := st.AddTariffVersion(ctx, p.code, v); err != nil {
				return fmt.Errorf("demo tariff of %s: %w", p.code, err)
			}
		}
		for _, r := range p.rules {
			if _, err := st.AddCostShareRule(ctx, p.code, r); err != nil {
				return fmt.Errorf("demo cost-share rule of %s: %w", p.code, err)
			}
		}
	}
	return nil
}
