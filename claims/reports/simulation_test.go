package reports_test

import (
	"fmt"
	"math/big"
	"testing"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// category of the demo services the simulation tests post.
var simCategory = map[string]string{"PZZ-01": "primary_care", "PZZ-02": "primary_care", "PZZ-04": "primary_care", "PZZ-03": "emergency", "TRN-01": "transport"}

// cents reads an amount or price with up to 4 decimals into units of 1/10000.
func tenThousandths(s string) int64 {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	r.Mul(r, big.NewRat(10000, 1))
	if !r.IsInt() {
		panic(s)
	}
	return r.Num().Int64()
}

// halfUp divides a non-negative n by d, rounding half up.
func halfUp(n, d int64) int64 { return (2*n + d) / (2 * d) }

// simPosts posts a set of DZ Bihać encounters in March and April 2025 whose lines round
// differently when split one by one than when summed first: primary care of 10.00, 12.00 and
// 20.00, emergencies, ambulance kilometres, an asylum seeker's consultation and a voided visit.
func simPosts(t *testing.T, f *fixture) []*encounters.Encounter {
	t.Helper()
	var out []*encounters.Encounter
	post := func(ext, day, benef string, lines ...encounters.LineInput) {
		in := visit(ext, lines...)
		in.ServiceDate, in.BeneficiaryCategory, in.PatientID = date(day), benef, "SFA-SIM-"+ext
		res, err := f.Svc.PostEncounter(f.Clinic, in, key(ext))
		if err != nil {
			t.Fatalf("post %s: %v", ext, err)
		}
		out = append(out, res.Encounters[0])
	}
	l := func(code, q string) encounters.LineInput {
		return encounters.LineInput{ServiceCode: code, Quantity: dec(q)}
	}
	for i := range 3 {
		post(fmt.Sprintf("SIM-A%d", i), "2025-03-03", "irregular_migrant", l("PZZ-04", "1"))
		post(fmt.Sprintf("SIM-B%d", i), "2025-03-20", "irregular_migrant", l("PZZ-02", "1"), l("PZZ-04", "3"))
	}
	post("SIM-C", "2025-03-25", "asylum_seeker", l("PZZ-01", "1"))
	post("SIM-D", "2025-04-02", "refugee", l("PZZ-03", "1"), l("TRN-01", "3.7"))
	post("SIM-E", "2025-04-10", "irregular_migrant", l("PZZ-01", "1"), l("TRN-01", "12.3"))
	post("SIM-F", "2025-04-11", "irregular_migrant", l("PZZ-01", "1"))
	if _, err := f.Svc.VoidEncounter(f.Clinic, out[len(out)-1].ID, "entered twice"); err != nil {
		t.Fatal(err)
	}
	return out[:len(out)-1]
}

// expectSimulation computes, line by line and in integers, what the simulation must answer:
// primary care from from on split fund/IOM at fundBP (the fund's share rounded half up, IOM the
// rest), transport priced again at +pct percent (pct in hundredths of a percent), anything
// else split as it was posted. Keys are "period payer", values cents: actual, simulated.
func expectSimulation(encs []*encounters.Encounter, from string, fundBP int64, pct int64) map[string][2]int64 {
	want := map[string][2]int64{}
	add := func(period, payer string, i int, c int64) {
		v := want[period+" "+payer]
		v[i] += c
		want[period+" "+payer] = v
	}
	for _, e := range encs {
		period := e.ServiceDate.String()[:7]
		for _, ln := range e.Lines {
			for _, sh := range ln.Shares {
				add(period, sh.PayerCode, 0, tenThousandths(sh.Amount.String())/100)
			}
			cat := simCategory[ln.ServiceCode]
			amount := tenThousandths(ln.Amount.String()) / 100
			switch {
			case cat == "primary_care" && e.ServiceDate.String() >= from:
				fund := halfUp(amount*fundBP, 10000)
				add(period, demo.PayerZZOUSK, 1, fund)
				add(period, demo.PayerIOM, 1, amount-fund)
			case cat == "transport":
				unit := halfUp(tenThousandths(ln.UnitPrice.String())*(10000+pct), 10000) // 1/10000 of a KM
				qty := tenThousandths(ln.Quantity.String())                              // 1/10000 of a km
				net := halfUp(unit*qty, 1000000)                                         // cents
				add(period, ln.Shares[0].PayerCode, 1, net)                              // IOM alone carries transport
			default:
				for _, sh := range ln.Shares {
					add(period, sh.PayerCode, 1, tenThousandths(sh.Amount.String())/100)
				}
			}
		}
	}
	return want
}

func simRule(from string, fundBP int) contracts.CostShareRule {
	pc := "primary_care"
	return contracts.CostShareRule{EffectiveFrom: date(from), ServiceCategory: &pc,
		Shares: []contracts.Share{{PayerCode: demo.PayerZZOUSK, BasisPoints: fundBP}, {PayerCode: demo.PayerIOM, BasisPoints: 10000 - fundBP}}}
}

func checkSimulation(t *testing.T, got *reports.Simulation, want map[string][2]int64) {
	t.Helper()
	seen := map[string]bool{}
	for _, it := range got.Items {
		k := it.Period + " " + it.PayerCode
		seen[k] = true
		w := want[k]
		a, s, d := tenThousandths(it.Actual.String())/100, tenThousandths(it.Simulated.String())/100, tenThousandths(it.Difference.String())/100
		if a != w[0] || s != w[1] || d != w[1]-w[0] {
			t.Errorf("%s: actual %s simulated %s difference %s; want %d, %d cents", k, it.Actual, it.Simulated, it.Difference, w[0], w[1])
		}
	}
	for k, w := range want {
		if !seen[k] && (w[0] != 0 || w[1] != 0) {
			t.Errorf("%s missing from the answer; want %v cents", k, w)
		}
	}
}

// TestSimulationSplitsEachLineAsPostingWould: every line is split with the proposed rule as
// posting splits it (per line, half up, the rest to the last payer), transport is priced again,
// and lines no proposed rule covers keep their posted split; voided encounters are left out.
// Three dressings of 10.00 at 33.33% give the fund 3 × 3.33, not 10.00.
func TestSimulationSplitsEachLineAsPostingWould(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	encs := simPosts(t, f)
	req := reports.SimulationRequest{From: "2025-03", To: "2025-04",
		Rules:         []contracts.CostShareRule{simRule("2025-01-01", 3333)},
		TariffChanges: []reports.TariffChange{{ServiceCategory: "transport", Percent: dec("7.5")}}}
	finance := as(access.RoleFinance, "")
	got, err := f.Svc.Simulate(finance, req)
	if err != nil {
		t.Fatal(err)
	}
	checkSimulation(t, got, expectSimulation(encs, "2025-01-01", 3333, 750))
	if got.Lines != 14 {
		t.Errorf("lines %d, want 14", got.Lines)
	}
	for _, it := range got.Items {
		if it.PayerCode == demo.PayerZZOUSK && it.PayerType != "state_fund" {
			t.Errorf("payer type %q", it.PayerType)
		}
	}

	// A rule that starts in the middle of March: those months are aggregated by day, the March
	// lines before the 16th keep their posted split.
	req.Rules = []contracts.CostShareRule{simRule("2025-03-16", 2500)}
	got, err = f.Svc.Simulate(finance, req)
	if err != nil {
		t.Fatal(err)
	}
	checkSimulation(t, got, expectSimulation(encs, "2025-03-16", 2500, 750))

	// A later post lands in the kept month: the next simulation counts it.
	in := visit("SIM-G", encounters.LineInput{ServiceCode: "PZZ-04", Quantity: dec("1")})
	in.ServiceDate, in.PatientID = date("2025-03-05"), "SFA-SIM-G"
	res, err := f.Svc.PostEncounter(f.Clinic, in, key("SIM-G"))
	if err != nil {
		t.Fatal(err)
	}
	encs = append(encs, res.Encounters[0])
	req.Rules = []contracts.CostShareRule{simRule("2025-01-01", 3333)}
	got, err = f.Svc.Simulate(finance, req)
	if err != nil {
		t.Fatal(err)
	}
	checkSimulation(t, got, expectSimulation(encs, "2025-01-01", 3333, 750))

	// Only one contract: another contract's lines (none here) are left out; DZ Bihać's stay.
	req.ContractCodes = []string{demo.ContractDZKS}
	got, err = f.Svc.Simulate(finance, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 0 {
		t.Errorf("DZ KS alone: %+v, want nothing", got.Items)
	}
}

// TestSimulationNoProposalIsThePostedSplit: with no rule and no tariff change, every line
// splits as it was posted.
func TestSimulationNoProposalIsThePostedSplit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	simPosts(t, f)
	got, err := f.Svc.Simulate(as(access.RoleAdmin, ""), reports.SimulationRequest{From: "2025-01", To: "2025-12"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) == 0 {
		t.Fatal("no rows")
	}
	for _, it := range got.Items {
		if !it.Difference.IsZero() || !it.Actual.Equal(it.Simulated.Decimal) {
			t.Errorf("%+v: want the posted split", it)
		}
	}
}

func TestSimulationAccessAndValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	req := reports.SimulationRequest{From: "2025-01", To: "2025-03"}
	for _, ctx := range []struct{ role, org string }{{access.RoleReviewer, demo.PayerZZOUSK}, {access.RoleClinic, demo.ProviderDZBihac}} {
		_, err := f.Svc.Simulate(as(ctx.role, ctx.org), req)
		wantCode(t, err, trcledger.EFORBIDDEN, "")
	}
	site := "NOWHERE"
	bad := reports.SimulationRequest{From: "2025-05", To: "2025-01", ContractCodes: []string{"NO-SUCH"},
		Rules: []contracts.CostShareRule{simRule("2025-01-01", 3000), simRule("2025-02-01", 4000),
			{EffectiveFrom: date("2025-01-01"), SiteCode: &site, Shares: []contracts.Share{{PayerCode: "NOBODY", BasisPoints: 10000}}}},
		TariffChanges: []reports.TariffChange{{ServiceCategory: "transport", Percent: dec("-100")}, {ServiceCategory: "transport", Percent: dec("1.234")}}}
	e := wantError(t, mustFail(f.Svc.Simulate(as(access.RoleFinance, ""), bad)), trcledger.EINVALID, "")
	fs := fieldSet(e)
	for _, field := range []string{"to", "rules[1]", "tariff_changes[0].percent", "tariff_changes[1].service_category", "tariff_changes[1].percent"} {
		if !fs[field] {
			t.Errorf("no problem with %s: %v", field, e.Fields)
		}
	}
	bad.From, bad.To, bad.TariffChanges, bad.Rules = "2025-01", "2025-02", nil, bad.Rules[2:]
	e = wantError(t, mustFail(f.Svc.Simulate(as(access.RoleFinance, ""), bad)), trcledger.EINVALID, "")
	fs = fieldSet(e)
	for _, field := range []string{"contract_codes[0]", "rules[0].site_code", "rules[0].shares[0].payer_code"} {
		if !fs[field] {
			t.Errorf("no problem with %s: %v", field, e.Fields)
		}
	}
}

func mustFail(_ *reports.Simulation, err error) error { return err }
