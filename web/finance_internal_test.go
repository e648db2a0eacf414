package web

import (
	"math"
	"net/url"
	"testing"

	"github.com/trcledger/trcledger/web/i18n"
)

func TestParseLocalAmount(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		locale, in, want string
		ok               bool
	}{
		{"bs", "1.234,56", "1234.56", true},
		{"bs", "1234,56", "1234.56", true},
		{"bs", "1234.56", "1234.56", true},
		{"bs", "1.234", "1234", true},
		{"bs", " 1 234,56 KM ", "1234.56", true},
		{"sr-Cyrl", "50,25 КМ", "50.25", true},
		{"hr", "1.234.567,8", "1234567.8", true},
		{"bs", "12,345", "12.345", true}, // read, then refused for its 3 decimals
		{"bs", "1,234.56", "", false},
		{"bs", "12,3,4", "", false},
		{"bs", "-5", "", false},
		{"bs", "dvanaest", "", false},
		{"bs", "", "", false},
		{"en", "1,234.56", "1234.56", true},
		{"en", "1234.56", "1234.56", true},
		{"en", "1,234", "1234", true},
		{"en", "1.234,56", "", false},
	} {
		got, ok := finParseAmount(i18n.For(c.locale), c.in)
		if ok != c.ok || ok && got.String() != c.want {
			t.Errorf("%s %q: %s %v, want %s %v", c.locale, c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestNiceScaleHoldsTheLargestBar(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ max, top, step float64 }{
		{408, 600, 200}, {1488, 1500, 500}, {72, 80, 20}, {0, 4, 1}, {0.3, 0.3, 0.1}, {1000, 1000, 250}, {1001, 1500, 500}, {990, 1000, 250},
	} {
		top, step := finNiceScale(c.max)
		if math.Abs(top-c.top) > 1e-9 || math.Abs(step-c.step) > 1e-9 || top < c.max {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", c.max, top, step, c.top, c.step)
		}
	}
}

func TestPaginateKeepsTheFilters(t *testing.T) {
	t.Parallel()
	q := url.Values{"period": {"2025-03"}, "status": {""}, "page": {"2"}}
	p, lo, hi := finPaginate("/finance", q, 60, "2")
	if lo != 25 || hi != 50 || p.Pages != 3 || p.Prev != "/finance?period=2025-03" || p.Next != "/finance?page=3&period=2025-03" {
		t.Errorf("page 2 of 60: %+v [%d:%d]", p, lo, hi)
	}
	if p, lo, hi := finPaginate("/finance", url.Values{}, 3, "9"); p.Page != 1 || lo != 0 || hi != 3 || p.Next != "" || p.Prev != "" {
		t.Errorf("a page past the end: %+v [%d:%d]", p, lo, hi)
	}
}
