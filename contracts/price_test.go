package contracts

import (
	"errors"
	"math/rand"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }
func dp(s string) *decimal.Decimal {
	v := d(s)
	return &v
}
func sp(s string) *string { return &s }
func date(s string) trcledger.Date {
	v, err := trcledger.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return v
}
func datep(s string) *trcledger.Date {
	v := date(s)
	return &v
}

func iom100() *CostShareRule {
	return &CostShareRule{ID: 1, Shares: []Share{{PayerCode: "IOM", BasisPoints: 10000}}}
}

func TestPriceLine(t *testing.T) {
	version := &TariffVersion{Version: 3, PointValue: dp("0.3333"), Items: []TariffItem{
		{ServiceCode: "FIX", Method: "fixed", Price: dp("20")},
		{ServiceCode: "HALF", Method: "fixed", Price: dp("0.125")},
		{ServiceCode: "HALF2", Method: "fixed", Price: dp("2.345")},
		{ServiceCode: "KM", Method: "fixed", Price: dp("1.80")},
		{ServiceCode: "ODD", Method: "fixed", Price: dp("12.35")},
		{ServiceCode: "PTS", Method: "points", Points: dp("13")},
		{ServiceCode: "VAT", Method: "fixed", Price: dp("10"), VATRate: d("17")},
		{ServiceCode: "VATHALF", Method: "fixed", Price: dp("10.05"), VATRate: d("17")},
		{ServiceCode: "LIMIT", Method: "fixed", Price: dp("5"), MaxQuantity: dp("2")},
	}}
	tests := []struct {
		name, service, qty          string
		unit, net, vat, amount, iom string
	}{
		{"fixed price", "FIX", "1", "20.00", "20.00", "0.00", "20.00", "20.00"},
		{"half a cent rounds up", "HALF", "1", "0.125", "0.13", "0.00", "0.13", "0.13"},
		{"x.xx5 rounds up", "HALF2", "1", "2.345", "2.35", "0.00", "2.35", "2.35"},
		{"half cent from a fractional quantity", "ODD", "1.5", "12.35", "18.53", "0.00", "18.53", "18.53"},
		{"quantity 0.25", "ODD", "0.25", "12.35", "3.09", "0.00", "3.09", "3.09"},
		{"kilometres", "KM", "12.5", "1.80", "22.50", "0.00", "22.50", "22.50"},
		{"points with a 4-digit point value", "PTS", "1", "4.3329", "4.33", "0.00", "4.33", "4.33"},
		{"points, unit price not rounded before the quantity", "PTS", "3", "4.3329", "13.00", "0.00", "13.00", "13.00"},
		{"VAT", "VAT", "1", "10.00", "10.00", "1.70", "11.70", "11.70"},
		{"VAT half cent", "VATHALF", "1", "10.05", "10.05", "1.71", "11.76", "11.76"},
		{"at the maximum quantity", "LIMIT", "2", "5.00", "10.00", "0.00", "10.00", "10.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PriceLine(version, iom100(), tt.service, d(tt.qty))
			if err != nil {
				t.Fatal(err)
			}
			check := func(what, got, want string) {
				if got != want {
					t.Errorf("%s = %s, want %s", what, got, want)
				}
			}
			check("unit", got.UnitPrice.String(), tt.unit)
			check("net", got.Net.String(), tt.net)
			check("vat", got.VAT.String(), tt.vat)
			check("amount", got.Amount.String(), tt.amount)
			check("IOM share", got.Shares[0].Amount.String(), tt.iom)
			if got.TariffVersion != 3 {
				t.Errorf("tariff version = %d", got.TariffVersion)
			}
		})
	}
}

func TestPriceLineErrors(t *testing.T) {
	version := &TariffVersion{Version: 1, Items: []TariffItem{
		{ServiceCode: "LIMIT", Method: "fixed", Price: dp("5"), MaxQuantity: dp("2")},
		{ServiceCode: "PTS", Method: "points", Points: dp("10")},
	}}
	tests := []struct {
		name, service, qty, reason string
		rule                       *CostShareRule
	}{
		{"over the maximum", "LIMIT", "2.0001", "quantity_exceeded", iom100()},
		{"zero quantity", "LIMIT", "0", "invalid_quantity", iom100()},
		{"negative quantity", "LIMIT", "-1", "invalid_quantity", iom100()},
		{"service not in the tariff", "NOPE", "1", "service_not_in_tariff", iom100()},
		{"points without a point value", "PTS", "1", "tariff_error", iom100()},
		{"shares short of 10000", "LIMIT", "1", "invalid_cost_share_rule", &CostShareRule{Shares: []Share{{PayerCode: "IOM", BasisPoints: 9999}}}},
		{"no shares", "LIMIT", "1", "invalid_cost_share_rule", &CostShareRule{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PriceLine(version, tt.rule, tt.service, d(tt.qty))
			var e *trcledger.Error
			if !errors.As(err, &e) || e.Reason != tt.reason {
				t.Fatalf("err = %v, want reason %s", err, tt.reason)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name   string
		amount string
		bps    []int
		want   []string
	}{
		{"30/70", "20.00", []int{3000, 7000}, []string{"6.00", "14.00"}},
		{"60/40 of an odd amount", "18.53", []int{6000, 4000}, []string{"11.12", "7.41"}},
		{"thirds", "10.00", []int{3333, 3333, 3334}, []string{"3.33", "3.33", "3.34"}},
		{"thirds of a cent", "0.01", []int{3333, 3333, 3334}, []string{"0.00", "0.00", "0.01"}},
		{"half a cent rounds up for the first", "0.01", []int{5000, 5000}, []string{"0.01", "0.00"}},
		{"uneven 3-way", "0.03", []int{2500, 2500, 5000}, []string{"0.01", "0.01", "0.01"}},
		{"uneven 2-way", "0.05", []int{3333, 6667}, []string{"0.02", "0.03"}},
		{"10000/0", "25.00", []int{10000, 0}, []string{"25.00", "0.00"}},
		{"0/10000", "25.00", []int{0, 10000}, []string{"0.00", "25.00"}},
		{"one basis point", "100.00", []int{1, 9999}, []string{"0.01", "99.99"}},
		{"single payer", "1200.00", []int{10000}, []string{"1200.00"}},
		{"a payer at 0 last gets no rounding cent", "0.10", []int{3333, 3333, 3334, 0}, []string{"0.03", "0.03", "0.04", "0.00"}},
		{"payers at 0 last and between", "0.01", []int{5000, 0, 5000, 0, 0}, []string{"0.01", "0.00", "0.00", "0.00", "0.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shares := make([]Share, len(tt.bps))
			for i, bp := range tt.bps {
				shares[i] = Share{PayerCode: string(rune('A' + i)), BasisPoints: bp}
			}
			got := Split(d(tt.amount), shares)
			sum := decimal.Zero
			for i, g := range got {
				if g.Amount.String() != tt.want[i] {
					t.Errorf("share %d = %s, want %s", i, g.Amount, tt.want[i])
				}
				sum = sum.Add(g.Amount.Decimal)
			}
			if !sum.Equal(d(tt.amount)) {
				t.Errorf("shares add up to %s, not %s", sum, tt.amount)
			}
		})
	}
}

func TestSplitAlwaysAddsUp(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	for i := 0; i < 20000; i++ {
		amount := decimal.New(rng.Int63n(10_000_000), -2)
		n := 1 + rng.Intn(5)
		shares := make([]Share, n)
		left := 10000
		for j := 0; j < n-1; j++ {
			bp := rng.Intn(left + 1)
			shares[j] = Share{BasisPoints: bp}
			left -= bp
		}
		shares[n-1] = Share{BasisPoints: left}
		sum := decimal.Zero
		for _, s := range Split(amount, shares) {
			if s.Amount.IsNegative() || s.Amount.Exponent() < -2 {
				t.Fatalf("amount %s shares %v: bad share %s", amount, shares, s.Amount)
			}
			if s.BasisPoints == 0 && s.Amount.IsPositive() {
				t.Fatalf("amount %s shares %v: a payer at 0 basis points gets %s", amount, shares, s.Amount)
			}
			sum = sum.Add(s.Amount.Decimal)
		}
		if !sum.Equal(amount) {
			t.Fatalf("amount %s shares %v add up to %s", amount, shares, sum)
		}
	}
}

func TestSelectRule(t *testing.T) {
	rules := []CostShareRule{
		{ID: 1, EffectiveFrom: date("2024-01-01"), Shares: []Share{{PayerCode: "IOM", BasisPoints: 10000}}},
		{ID: 2, EffectiveFrom: date("2024-01-01"), EffectiveTo: datep("2024-07-01"), ServiceCategory: sp("primary_care"), Shares: []Share{{PayerCode: "IOM", BasisPoints: 10000}}},
		{ID: 3, EffectiveFrom: date("2024-07-01"), ServiceCategory: sp("primary_care"), Shares: []Share{{PayerCode: "ZZO", BasisPoints: 3000}, {PayerCode: "IOM", BasisPoints: 7000}}},
		{ID: 4, EffectiveFrom: date("2024-01-01"), ServiceCategory: sp("primary_care"), BeneficiaryCategory: sp("asylum_seeker"), Shares: []Share{{PayerCode: "ZZO", BasisPoints: 10000}}},
		{ID: 5, EffectiveFrom: date("2024-01-01"), ServiceCategory: sp("primary_care"), BeneficiaryCategory: sp("refugee"), SiteCode: sp("LIPA"), Shares: []Share{{PayerCode: "ZZO", BasisPoints: 10000}}},
	}
	tests := []struct {
		name                 string
		on, cat, benef, site string
		want                 int64
		reason               string
	}{
		{"only the catch-all matches", "2024-03-01", "emergency", "unknown", "LIPA", 1, ""},
		{"category beats catch-all", "2024-03-01", "primary_care", "unknown", "LIPA", 2, ""},
		{"effective_to is exclusive", "2024-07-01", "primary_care", "unknown", "LIPA", 3, ""},
		{"last day of a phase", "2024-06-30", "primary_care", "unknown", "", 2, ""},
		{"two fields beat one", "2024-03-01", "primary_care", "asylum_seeker", "LIPA", 4, ""},
		{"three fields beat two", "2024-03-01", "primary_care", "refugee", "LIPA", 5, ""},
		{"three fields need all three", "2024-03-01", "primary_care", "refugee", "BORICI", 2, ""},
		{"before any rule", "2023-12-31", "primary_care", "unknown", "", 0, "no_cost_share_rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectRule(rules, LineScope{On: date(tt.on), ServiceCategory: tt.cat, BeneficiaryCategory: tt.benef, SiteCode: tt.site})
			if tt.reason != "" {
				if e := (*trcledger.Error)(nil); !errors.As(err, &e) || e.Reason != tt.reason {
					t.Fatalf("err = %v, want %s", err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tt.want {
				t.Errorf("rule %d, want %d", got.ID, tt.want)
			}
		})
	}
}

func TestCollidesWith(t *testing.T) {
	base := CostShareRule{EffectiveFrom: date("2024-01-01"), EffectiveTo: datep("2024-07-01"), ServiceCategory: sp("primary_care")}
	tests := []struct {
		name  string
		other CostShareRule
		want  bool
	}{
		{"same scope, overlapping", CostShareRule{EffectiveFrom: date("2024-06-01"), ServiceCategory: sp("primary_care")}, true},
		{"same scope, adjacent", CostShareRule{EffectiveFrom: date("2024-07-01"), ServiceCategory: sp("primary_care")}, false},
		{"same scope, before", CostShareRule{EffectiveFrom: date("2023-01-01"), EffectiveTo: datep("2024-01-01"), ServiceCategory: sp("primary_care")}, false},
		{"other category", CostShareRule{EffectiveFrom: date("2024-01-01"), ServiceCategory: sp("emergency")}, false},
		{"other field at the same specificity", CostShareRule{EffectiveFrom: date("2024-01-01"), SiteCode: sp("LIPA")}, true},
		{"more specific", CostShareRule{EffectiveFrom: date("2024-01-01"), ServiceCategory: sp("primary_care"), SiteCode: sp("LIPA")}, false},
		{"catch-all", CostShareRule{EffectiveFrom: date("2024-01-01")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := base.CollidesWith(&tt.other); got != tt.want {
				t.Errorf("collides = %v, want %v", got, tt.want)
			}
			if got := tt.other.CollidesWith(&base); got != tt.want {
				t.Errorf("symmetric: collides = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSplitNeverNegative(t *testing.T) {
	got := Split(d("0.03"), []Share{{PayerCode: "A", BasisPoints: 1667}, {PayerCode: "B", BasisPoints: 1667}, {PayerCode: "C", BasisPoints: 1667}, {PayerCode: "D", BasisPoints: 1667}, {PayerCode: "E", BasisPoints: 1667}, {PayerCode: "F", BasisPoints: 1665}})
	want := []string{"0.01", "0.01", "0.01", "0.00", "0.00", "0.00"}
	for i, g := range got {
		if g.Amount.String() != want[i] {
			t.Errorf("share %d = %s, want %s", i, g.Amount, want[i])
		}
	}
}
