package ledger

import (
	"fmt"
	"testing"

	"github.com/shopspring/decimal"
)

func TestCents(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0.01", "-0.05", "20.00", "-20.00", "1234.56", "9999999999999999.99", "-9999999999999999.99"} {
		c, err := parseCents(s)
		if err != nil {
			t.Fatalf("parseCents(%q): %v", s, err)
		}
		if got := string(appendCents(nil, c)); got != s {
			t.Errorf("%q read as %d cents, written %q", s, c, got)
		}
		if want := decimal.RequireFromString(s).StringFixed(2); string(appendCents(nil, c)) != want {
			t.Errorf("%q: cents written %q, decimal writes %q", s, appendCents(nil, c), want)
		}
	}
	for _, s := range []string{"", "-", "20", "20.0", "20.000", "1e5", "12.3a", "+1.00", "--1.00", "1.-0", "99999999999999999.99"} {
		if c, err := parseCents(s); err == nil {
			t.Errorf("parseCents(%q) = %d, want an error", s, c)
		}
	}
}

func TestSumsDoNotOverflow(t *testing.T) {
	t.Parallel()
	const big = 999999999999999999 // the largest numeric(18,2), in cents
	var es []entry
	for range 10 {
		es = append(es, entry{"a", "BAM", big})
	}
	if got := fmt.Sprint(unbalanced(es)); got != "[BAM]" {
		t.Fatalf("unbalanced = %s, want [BAM]", got)
	}
	for range 10 {
		es = append(es, entry{"b", "BAM", -big})
	}
	es = append(es, entry{"c", "EUR", 1}, entry{"d", "EUR", -1})
	if got := unbalanced(es); len(got) != 0 {
		t.Fatalf("unbalanced = %v, want none", got)
	}
	var tot total
	for range 20 {
		tot.add(big)
	}
	if want := decimal.New(big, -2).Mul(decimal.New(20, 0)); !tot.value().Equal(want) {
		t.Fatalf("total = %s, want %s", tot.value(), want)
	}
}
