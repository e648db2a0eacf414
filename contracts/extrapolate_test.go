package contracts

import "testing"

// TestExtrapolationRounding: the rate is rejected ÷ sampled rounded half up to a millionth, and
// an extrapolated line approves amount × (1 − rate) rounded half up to the cent (figures worked
// out by hand).
func TestExtrapolationRounding(t *testing.T) {
	for _, c := range []struct{ rejected, sampled, want string }{
		{"0.00", "36.00", "0.000000"},
		{"36.00", "36.00", "1.000000"},
		{"1.00", "3.00", "0.333333"},
		{"2.00", "3.00", "0.666667"},
		{"12.00", "96.00", "0.125000"},
		{"0.05", "80000.00", "0.000001"}, // 0.000000625: half up
		{"0.01", "80000.00", "0.000000"}, // 0.000000125
		{"5.00", "0.00", "0.000000"},     // nothing sampled
	} {
		if got := ExtrapolationRate(d(c.rejected), d(c.sampled)).StringFixed(6); got != c.want {
			t.Errorf("rate %s/%s = %s, want %s", c.rejected, c.sampled, got, c.want)
		}
	}
	for _, c := range []struct{ amount, rate, want string }{
		{"10.00", "0.125", "8.75"},
		{"0.05", "0.5", "0.03"},       // 0.025: half up
		{"12.34", "0.333333", "8.23"}, // 8.2266670
		{"7.20", "0.666667", "2.40"},  // 2.3999976
		{"10.10", "0.05", "9.60"},     // 9.595: half up
		{"7.20", "1", "0.00"},
		{"7.20", "0", "7.20"},
		{"0.01", "0.499999", "0.01"}, // 0.00500001
		{"0.01", "0.500001", "0.00"}, // 0.00499999
	} {
		if got := Extrapolate(d(c.amount), d(c.rate)).StringFixed(2); got != c.want {
			t.Errorf("%s × (1 − %s) = %s, want %s", c.amount, c.rate, got, c.want)
		}
	}
}
