package reports_test

import (
	"slices"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// publishFundTariff gives ZZO USK a tariff for insured citizens: until April PZZ-01 at 18.00
// (the contract's 20.00 is above it), PZZ-02 at 12.00 (at it), PZZ-04 at 12.00 (below the
// contract's 10.00); from April PZZ-01 at 25 points × 0.80 = 20.00 (at).
func publishFundTariff(t *testing.T, f *fixture) {
	t.Helper()
	st := contracts.NewStore(f.DB, time.Now)
	admin := as(access.RoleAdmin, "")
	april := date("2025-04-01")
	if _, err := st.AddReferenceTariff(admin, demo.PayerZZOUSK, contracts.ReferenceTariff{EffectiveFrom: date("2025-01-01"), Items: []contracts.ReferenceTariffItem{
		{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("18")}, {ServiceCode: "PZZ-02", Method: "fixed", Price: decp("12")},
		{ServiceCode: "PZZ-04", Method: "fixed", Price: decp("12")}}}); err != nil {
		t.Fatal(err)
	}
	v2, err := st.AddReferenceTariff(admin, demo.PayerZZOUSK, contracts.ReferenceTariff{EffectiveFrom: april, PointValue: decp("0.8"),
		Items: []contracts.ReferenceTariffItem{{ServiceCode: "PZZ-01", Method: "points", Points: decp("25")}}})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 {
		t.Errorf("version %d", v2.Version)
	}
	list, err := st.ListReferenceTariffs(admin, demo.PayerZZOUSK)
	if err != nil || len(list) != 2 || list[0].EffectiveTo == nil || *list[0].EffectiveTo != april {
		t.Fatalf("versions %+v, %v: the first should be closed on April 1st", list, err)
	}
	_, err = st.AddReferenceTariff(admin, demo.PayerIOM, contracts.ReferenceTariff{EffectiveFrom: april,
		Items: []contracts.ReferenceTariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("1")}}})
	wantCode(t, err, trcledger.EINVALID, "not_a_state_fund")
	_, err = st.AddReferenceTariff(admin, demo.PayerZZOUSK, contracts.ReferenceTariff{EffectiveFrom: date("2025-02-01"), EffectiveTo: &april,
		Items: []contracts.ReferenceTariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("1")}}})
	wantCode(t, err, trcledger.ECONFLICT, "reference_tariff_overlap")
}

// TestParityReport compares each line ZZO USK shares with the fund's price on its date,
// counted here line by line from the posted encounters.
func TestParityReport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	encs := simPosts(t, f)
	publishFundTariff(t, f)
	ref := func(service, day string) (int64, bool) { // in 1/10000
		switch {
		case day < "2025-04-01" && service == "PZZ-01":
			return 180000, true
		case day < "2025-04-01" && (service == "PZZ-02" || service == "PZZ-04"):
			return 120000, true
		case day >= "2025-04-01" && service == "PZZ-01":
			return 200000, true
		}
		return 0, false
	}
	type row struct{ above, at, below, none, amount int64 }
	want := map[string]*row{}
	for _, e := range encs {
		for _, ln := range e.Lines {
			shared := false
			for _, sh := range ln.Shares {
				shared = shared || (sh.PayerCode == demo.PayerZZOUSK && sh.Amount.IsPositive())
			}
			if !shared {
				continue
			}
			r := want[ln.ServiceCode]
			if r == nil {
				r = &row{}
				want[ln.ServiceCode] = r
			}
			unit, qty := tenThousandths(ln.UnitPrice.String()), tenThousandths(ln.Quantity.String())
			p, ok := ref(ln.ServiceCode, e.ServiceDate.String())
			switch {
			case !ok:
				r.none++
			case unit > p:
				r.above++
				r.amount += (unit - p) * qty // in 1e-8
			case unit == p:
				r.at++
			default:
				r.below++
			}
		}
	}
	got, err := f.Svc.ParityReport(as(access.RoleFinance, ""), reports.ParityFilter{From: "2025-01", To: "2025-12", PayerCode: demo.PayerZZOUSK})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != len(want) {
		t.Errorf("%d services, want %d: %+v", len(got.Items), len(want), got.Items)
	}
	for _, it := range got.Items {
		w := want[it.ServiceCode]
		if w == nil {
			t.Errorf("unexpected %+v", it)
			continue
		}
		if it.LinesAbove != w.above || it.LinesAt != w.at || it.LinesBelow != w.below || it.LinesUnreferenced != w.none ||
			tenThousandths(it.AmountAbove.String())*10000 != halfUp(w.amount, 1000000)*1000000 {
			t.Errorf("%s: %+v, want %+v", it.ServiceCode, it, *w)
		}
	}
	if w := want["PZZ-01"]; w == nil || w.above == 0 || w.at == 0 {
		t.Errorf("the test should have PZZ-01 lines above and at parity: %+v", w)
	}

	// The fund's reviewer sees its own report; another fund's reviewer gets 404 for it.
	if _, err := f.Svc.ParityReport(as(access.RoleReviewer, demo.PayerZZOUSK), reports.ParityFilter{From: "2025-01", To: "2025-12"}); err != nil {
		t.Error(err)
	}
	_, err = f.Svc.ParityReport(as(access.RoleReviewer, "ZZO-KS"), reports.ParityFilter{From: "2025-01", To: "2025-12", PayerCode: demo.PayerZZOUSK})
	wantCode(t, err, trcledger.ENOTFOUND, "")
	_, err = f.Svc.ParityReport(as(access.RoleFinance, ""), reports.ParityFilter{From: "2025-01", To: "2025-12", PayerCode: demo.PayerIOM})
	if e := wantError(t, err, trcledger.EINVALID, ""); !fieldSet(e)["payer_code"] {
		t.Errorf("%v", e.Fields)
	}
	_, err = f.Svc.ParityReport(as(access.RoleClinic, demo.ProviderDZBihac), reports.ParityFilter{From: "2025-01", To: "2025-12", PayerCode: demo.PayerZZOUSK})
	wantCode(t, err, trcledger.EFORBIDDEN, "")
}

// TestAboveParityFlag: submitting a statement flags the lines whose unit price is above the
// statement payer's own tariff on the service date, and only those.
func TestAboveParityFlag(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	encs := simPosts(t, f)
	publishFundTariff(t, f)
	st := f.StatementIn(t, "submitted", "2025-03")
	above := map[string]bool{} // encounter id: its PZZ-01 line is above parity (March, 20.00 > 18.00)
	for _, e := range encs {
		for _, ln := range e.Lines {
			if ln.ServiceCode == "PZZ-01" && e.ServiceDate.String() < "2025-04-01" {
				above[e.ID] = true
			}
		}
	}
	if len(above) == 0 {
		t.Fatal("no line above parity in March")
	}
	n := 0
	for _, l := range st.Lines {
		flagged := slices.Contains(l.Flags, "above_parity")
		if flagged != (above[l.EncounterID] && l.ServiceCode == "PZZ-01") {
			t.Errorf("line %s %s flags %v", l.EncounterID, l.ServiceCode, l.Flags)
		}
		if flagged {
			n++
		}
	}
	if n != len(above) {
		t.Errorf("%d lines flagged above_parity, want %d", n, len(above))
	}
}
