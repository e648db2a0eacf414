package contracts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func seeded(t *testing.T) (*contracts.Store, *sqlx.DB) {
	t.Helper()
	db := pgtest.NewDB(t)
	st := contracts.NewStore(db, time.Now)
	if _, err := demo.Seed(context.Background(), st, access.NewTokens(db, time.Now)); err != nil {
		t.Fatalf("seed demo: %v", err)
	}
	return st, db
}

func date(s string) trcledger.Date {
	d, err := trcledger.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func sp(s string) *string { return &s }

func wantReason(t *testing.T, err error, code, reason string) *trcledger.Error {
	t.Helper()
	var e *trcledger.Error
	if !errors.As(err, &e) || e.Code != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("err = %v, want %s/%s", err, code, reason)
	}
	return e
}

func shares(line *contracts.PricedLine) string {
	var parts []string
	for _, s := range line.Shares {
		parts = append(parts, s.PayerCode+"="+s.Amount.String())
	}
	return strings.Join(parts, " ")
}

func TestQuoteFollowsTheTransitionSchedule(t *testing.T) {
	t.Parallel()
	st, _ := seeded(t)
	ctx := context.Background()
	tests := []struct {
		contract, service, qty, on, benef, site string
		amount, shares                          string
		version                                 int
	}{
		{demo.ContractDZBihac, "PZZ-01", "1", "2024-03-15", "unknown", "TRC-LIPA", "20.00", "IOM=20.00", 1},
		{demo.ContractDZBihac, "PZZ-01", "1", "2024-09-15", "unknown", "TRC-LIPA", "20.00", "ZZO-USK=6.00 IOM=14.00", 1},
		{demo.ContractDZBihac, "PZZ-01", "1", "2025-03-15", "unknown", "TRC-LIPA", "20.00", "ZZO-USK=12.00 IOM=8.00", 1},
		{demo.ContractDZBihac, "PZZ-01", "1", "2025-09-15", "irregular_migrant", "TRC-LIPA", "20.00", "ZZO-USK=20.00", 1},
		{demo.ContractDZBihac, "PZZ-01", "1", "2024-03-15", "asylum_seeker", "TRC-BORICI", "20.00", "ZZO-USK=20.00", 1},
		{demo.ContractDZBihac, "PZZ-01", "1", "2026-03-15", "unknown", "", "22.00", "ZZO-USK=22.00", 2},
		{demo.ContractDZBihac, "PZZ-03", "1", "2025-09-15", "unknown", "TRC-LIPA", "35.00", "IOM=35.00", 1},
		{demo.ContractDZBihac, "TRN-01", "12.5", "2025-03-15", "unknown", "MOBILE-USK", "22.50", "IOM=22.50", 1},
		{demo.ContractDZBihac, "PZZ-04", "3", "2024-09-15", "refugee", "TRC-LIPA", "30.00", "ZZO-USK=9.00 IOM=21.00", 1},
		{demo.ContractKCUS, "SKZ-01", "1", "2025-03-15", "unknown", "", "36.00", "ZZO-KS=18.00 IOM=18.00", 1},
		{demo.ContractKBBihac, "BOL-01", "1", "2025-03-15", "unknown", "", "1200.00", "MSB=600.00 IOM=600.00", 1},
	}
	for _, tt := range tests {
		line, err := st.Quote(ctx, tt.contract, contracts.QuoteInput{
			ServiceCode: tt.service, Quantity: decimal.RequireFromString(tt.qty), On: date(tt.on),
			BeneficiaryCategory: tt.benef, SiteCode: tt.site,
		})
		if err != nil {
			t.Fatalf("%s %s on %s: %v", tt.contract, tt.service, tt.on, err)
		}
		if line.Amount.String() != tt.amount || shares(line) != tt.shares || line.TariffVersion != tt.version {
			t.Errorf("%s %s on %s: amount %s shares %s version %d, want %s %s %d", tt.contract, tt.service, tt.on,
				line.Amount, shares(line), line.TariffVersion, tt.amount, tt.shares, tt.version)
		}
	}
}

func TestQuoteErrors(t *testing.T) {
	t.Parallel()
	st, _ := seeded(t)
	ctx := context.Background()
	q := func(contract, service, qty, on string) error {
		_, err := st.Quote(ctx, contract, contracts.QuoteInput{ServiceCode: service, Quantity: decimal.RequireFromString(qty), On: date(on), BeneficiaryCategory: "unknown"})
		return err
	}
	e := wantReason(t, q(demo.ContractDZBihac, "PZZ-01", "1", "2023-12-31"), trcledger.EINVALID, "")
	if e.Fields[0].Field != "on" {
		t.Errorf("fields = %v", e.Fields)
	}
	e = wantReason(t, q(demo.ContractDZBihac, "PZZ-04", "6", "2024-03-15"), trcledger.EINVALID, "quantity_exceeded")
	if e.Fields[0].Field != "quantity" {
		t.Errorf("fields = %v", e.Fields)
	}
	_ = wantReason(t, q(demo.ContractDZBihac, "BOL-01", "1", "2024-03-15"), trcledger.EINVALID, "validation_failed")
	_ = wantReason(t, q(demo.ContractDZBihac, "NOPE", "1", "2024-03-15"), trcledger.EINVALID, "validation_failed")
	_ = wantReason(t, q("NO-SUCH", "PZZ-01", "1", "2024-03-15"), trcledger.ENOTFOUND, "")

	// A contract whose schedule does not cover a category cannot price it.
	if _, err := st.CreateContract(ctx, contracts.Contract{Code: "BARE", ProviderCode: demo.ProviderDZKS, ValidFrom: date("2024-01-01"), Status: "active"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddTariffVersion(ctx, "BARE", contracts.TariffVersion{EffectiveFrom: date("2024-01-01"), Items: []contracts.TariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("20")}}}); err != nil {
		t.Fatal(err)
	}
	_ = wantReason(t, q("BARE", "PZZ-01", "1", "2024-03-15"), trcledger.EINVALID, "no_cost_share_rule")

	// A draft contract prices nothing.
	if _, err := st.CreateContract(ctx, contracts.Contract{Code: "DRAFT", ProviderCode: demo.ProviderDZKS, ValidFrom: date("2024-01-01")}); err != nil {
		t.Fatal(err)
	}
	_ = wantReason(t, q("DRAFT", "PZZ-01", "1", "2024-03-15"), trcledger.EINVALID, "")
}

func decp(s string) *decimal.Decimal {
	d := decimal.RequireFromString(s)
	return &d
}

func TestTariffVersionsCloseAndNeverOverlap(t *testing.T) {
	t.Parallel()
	st, db := seeded(t)
	ctx := context.Background()
	versions, err := st.ListTariffVersions(ctx, demo.ContractDZBihac)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 || versions[0].EffectiveTo == nil || versions[0].EffectiveTo.String() != "2026-01-01" || versions[1].EffectiveTo != nil {
		t.Fatalf("versions = %+v", versions)
	}
	// Starting inside a closed version overlaps it.
	_, err = st.AddTariffVersion(ctx, demo.ContractDZBihac, contracts.TariffVersion{EffectiveFrom: date("2025-06-01"), Items: []contracts.TariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("21")}}})
	e := wantReason(t, err, trcledger.ECONFLICT, "tariff_overlap")
	if e.Extra["conflicting_version"] != 1 {
		t.Errorf("extra = %v", e.Extra)
	}
	// A later version closes the open one.
	v3, err := st.AddTariffVersion(ctx, demo.ContractDZBihac, contracts.TariffVersion{EffectiveFrom: date("2026-07-01"), Items: []contracts.TariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("23.5")}}})
	if err != nil {
		t.Fatal(err)
	}
	if v3.Version != 3 {
		t.Errorf("version = %d", v3.Version)
	}
	versions, _ = st.ListTariffVersions(ctx, demo.ContractDZBihac)
	if versions[1].EffectiveTo == nil || versions[1].EffectiveTo.String() != "2026-07-01" {
		t.Errorf("version 2 not closed: %+v", versions[1])
	}
	// The database refuses an overlap even behind the service's back.
	_, err = db.Exec(`INSERT INTO tariff_versions (contract_id, version, effective_from) SELECT id, 99, '2024-05-01' FROM contracts WHERE code = $1`, demo.ContractDZBihac)
	if err == nil || !strings.Contains(err.Error(), "tariff_versions_no_overlap") {
		t.Errorf("overlap accepted by the database: %v", err)
	}
	// Items are never edited.
	_, err = db.Exec(`UPDATE tariff_items SET price = 1`)
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("tariff items updated: %v", err)
	}
}

func TestTariffValidation(t *testing.T) {
	t.Parallel()
	st, _ := seeded(t)
	_, err := st.AddTariffVersion(context.Background(), demo.ContractDZKS, contracts.TariffVersion{
		EffectiveFrom: date("2027-01-01"),
		Items: []contracts.TariffItem{
			{ServiceCode: "PZZ-01", Method: "points", Points: decp("10")},
			{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("-1")},
			{ServiceCode: "XXX-99", Method: "fixed", Price: decp("1.23456")},
		},
	})
	e := wantReason(t, err, trcledger.EINVALID, "validation_failed")
	got := map[string]bool{}
	for _, f := range e.Fields {
		got[f.Field] = true
	}
	for _, want := range []string{"point_value", "items[1].service_code", "items[1].price", "items[2].price"} {
		if !got[want] {
			t.Errorf("no error for %s in %v", want, e.Fields)
		}
	}
	// Unknown services are named by index once the shape is right.
	_, err = st.AddTariffVersion(context.Background(), demo.ContractDZKS, contracts.TariffVersion{
		EffectiveFrom: date("2027-01-01"),
		Items:         []contracts.TariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("1")}, {ServiceCode: "XXX-99", Method: "fixed", Price: decp("1")}},
	})
	e = wantReason(t, err, trcledger.EINVALID, "validation_failed")
	if len(e.Fields) != 1 || e.Fields[0].Field != "items[1].service_code" {
		t.Errorf("fields = %v", e.Fields)
	}
}

func TestCostShareRules(t *testing.T) {
	t.Parallel()
	st, db := seeded(t)
	ctx := context.Background()
	rules, err := st.ListCostShareRules(ctx, demo.ContractDZBihac)
	if err != nil {
		t.Fatal(err)
	}
	var phase2 int64
	for _, r := range rules {
		if r.ServiceCategory != nil && *r.ServiceCategory == "primary_care" && r.BeneficiaryCategory == nil && r.EffectiveFrom.String() == "2024-07-01" {
			phase2 = r.ID
		}
	}
	// Same scope, overlapping period: ambiguous, and the error names the rule.
	_, err = st.AddCostShareRule(ctx, demo.ContractDZBihac, contracts.CostShareRule{
		EffectiveFrom: date("2024-10-01"), EffectiveTo: datep("2024-11-01"), ServiceCategory: sp("primary_care"),
		Shares: []contracts.Share{{PayerCode: demo.PayerIOM, BasisPoints: 10000}},
	})
	e := wantReason(t, err, trcledger.ECONFLICT, "ambiguous_cost_share_rule")
	if e.Extra["conflicting_rule_id"] != phase2 {
		t.Errorf("conflicting rule = %v, want %d", e.Extra["conflicting_rule_id"], phase2)
	}
	// One field of another kind at the same specificity is just as ambiguous.
	_, err = st.AddCostShareRule(ctx, demo.ContractDZBihac, contracts.CostShareRule{
		EffectiveFrom: date("2024-10-01"), SiteCode: sp("TRC-LIPA"),
		Shares: []contracts.Share{{PayerCode: demo.PayerIOM, BasisPoints: 10000}},
	})
	_ = wantReason(t, err, trcledger.ECONFLICT, "ambiguous_cost_share_rule")
	// More specific is fine and wins.
	_, err = st.AddCostShareRule(ctx, demo.ContractDZBihac, contracts.CostShareRule{
		EffectiveFrom: date("2024-10-01"), ServiceCategory: sp("dental"), SiteCode: sp("TRC-LIPA"),
		Shares: []contracts.Share{{PayerCode: demo.PayerZZOUSK, BasisPoints: 3333}, {PayerCode: demo.PayerMinSecurity, BasisPoints: 3333}, {PayerCode: demo.PayerIOM, BasisPoints: 3334}},
	})
	if err != nil {
		t.Fatal(err)
	}
	line, err := st.Quote(ctx, demo.ContractDZBihac, contracts.QuoteInput{ServiceCode: "DEN-01", Quantity: decimal.NewFromInt(1), On: date("2024-12-01"), BeneficiaryCategory: "unknown", SiteCode: "TRC-LIPA"})
	if err != nil {
		t.Fatal(err)
	}
	if shares(line) != "ZZO-USK=8.33 MSB=8.33 IOM=8.34" {
		t.Errorf("shares = %s", shares(line))
	}
	// Payers must be payers; sites must exist.
	_, err = st.AddCostShareRule(ctx, demo.ContractDZBihac, contracts.CostShareRule{
		EffectiveFrom: date("2024-10-01"), ServiceCategory: sp("vaccination"), SiteCode: sp("NOWHERE"),
		Shares: []contracts.Share{{PayerCode: demo.ProviderDZKS, BasisPoints: 5000}, {PayerCode: "NOBODY", BasisPoints: 5000}},
	})
	e = wantReason(t, err, trcledger.EINVALID, "validation_failed")
	if len(e.Fields) != 3 {
		t.Errorf("fields = %v", e.Fields)
	}
	// The database refuses shares that do not sum to 10000, even behind the service's back.
	tx := db.MustBegin()
	var id int64
	if err := tx.Get(&id, `INSERT INTO cost_share_rules (contract_id, effective_from, service_category) SELECT id, '2030-01-01', 'team_day' FROM contracts WHERE code = $1 RETURNING id`, demo.ContractDZBihac); err != nil {
		t.Fatal(err)
	}
	tx.MustExec(`INSERT INTO cost_share_rule_shares (rule_id, position, payer_code, basis_points) VALUES ($1, 1, 'IOM', 9000)`, id)
	if err := tx.Commit(); err == nil || !strings.Contains(err.Error(), "10000") {
		t.Errorf("commit of a 9000-point rule: %v", err)
	}
}

func datep(s string) *trcledger.Date {
	d := date(s)
	return &d
}

func TestClinicSeesOnlyItsOwnContracts(t *testing.T) {
	t.Parallel()
	st, _ := seeded(t)
	ctx := access.WithPrincipal(context.Background(), access.Principal{TokenID: "t", Role: access.RoleClinic, OrgCode: demo.ProviderDZKS})
	list, err := st.ListContracts(ctx, contracts.ContractFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Code != demo.ContractDZKS {
		t.Errorf("clinic of DZ-KS sees %v", list)
	}
	list, _ = st.ListContracts(ctx, contracts.ContractFilter{ProviderCode: demo.ProviderDZBihac})
	if len(list) != 0 {
		t.Errorf("clinic of DZ-KS sees DZ Bihać's contracts: %v", list)
	}
	_, err = st.FindContractByCode(ctx, demo.ContractDZBihac)
	_ = wantReason(t, err, trcledger.ENOTFOUND, "")
	_, err = st.Quote(ctx, demo.ContractDZBihac, contracts.QuoteInput{ServiceCode: "PZZ-01", Quantity: decimal.NewFromInt(1), On: date("2024-03-15"), BeneficiaryCategory: "unknown"})
	_ = wantReason(t, err, trcledger.ENOTFOUND, "")
	_, err = st.ListTariffVersions(ctx, demo.ContractDZBihac)
	_ = wantReason(t, err, trcledger.ENOTFOUND, "")
}

func TestContractsAndReferenceData(t *testing.T) {
	t.Parallel()
	st, db := seeded(t)
	ctx := context.Background()
	_, err := st.CreateContract(ctx, contracts.Contract{Code: "X-1", ProviderCode: demo.PayerIOM, PayerCode: sp(demo.ProviderDZKS), ValidFrom: date("2024-01-01")})
	e := wantReason(t, err, trcledger.EINVALID, "")
	if len(e.Fields) != 2 {
		t.Errorf("fields = %v", e.Fields)
	}
	_, err = st.CreateContract(ctx, contracts.Contract{Code: demo.ContractDZKS, ProviderCode: demo.ProviderDZKS, ValidFrom: date("2024-01-01")})
	_ = wantReason(t, err, trcledger.ECONFLICT, "duplicate")
	_, err = st.CreateOrganization(ctx, contracts.Organization{Code: "NEW", Name: "New", Kind: "payer", PayerType: sp("donor"), JurisdictionCode: "BA-XX"})
	e = wantReason(t, err, trcledger.EINVALID, "")
	if e.Fields[0].Field != "jurisdiction_code" {
		t.Errorf("fields = %v", e.Fields)
	}
	// Status moves: draft -> active -> terminated, never back.
	if _, err := st.CreateContract(ctx, contracts.Contract{Code: "X-2", ProviderCode: demo.ProviderKCUS, ValidFrom: date("2024-01-01")}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ status, reason string }{{"active", ""}, {"draft", "invalid_state"}, {"terminated", ""}, {"active", "invalid_state"}} {
		_, err := st.UpdateContract(ctx, "X-2", contracts.ContractChange{Status: sp(step.status)})
		if step.reason == "" && err != nil {
			t.Fatalf("to %s: %v", step.status, err)
		}
		if step.reason != "" {
			_ = wantReason(t, err, trcledger.ESTATE, step.reason)
		}
	}
	// Every change is in the audit log.
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM audit_log WHERE object_type = 'contract' AND object_id = 'X-2'`); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("audit entries for X-2 = %d, want 3 (create, two updates)", n)
	}
	jur, err := st.ListJurisdictions(ctx)
	if err != nil || jur[0].Code != "BA" {
		t.Errorf("tree = %v, %v", jur, err)
	}
}
