package ledger

import (
	"math"
	"slices"

	"github.com/shopspring/decimal"
)

// total is a sum of non-negative cents; it spills into a decimal rather than overflow.
type total struct {
	cents   int64
	spilled decimal.Decimal
}

func (t *total) add(c int64) {
	if t.cents > math.MaxInt64-c {
		t.spilled = t.spilled.Add(decimal.New(t.cents, -2))
		t.cents = 0
	}
	t.cents += c
}

func (t *total) value() decimal.Decimal { return t.spilled.Add(decimal.New(t.cents, -2)) }

// dayKey identifies a row of ledger_daily_totals.
type dayKey struct {
	account, currency string
	date              string // YYYY-MM-DD
}

// dayTotal is a row of ledger_daily_totals: debits and credits, both positive.
type dayTotal struct{ debits, credits total }

func (d *dayTotal) add(cents int64) {
	if cents > 0 {
		d.debits.add(cents)
	} else {
		d.credits.add(-cents)
	}
}

// dayTotals adds up postings per account, currency and effective date.
type dayTotals map[dayKey]*dayTotal

func (m dayTotals) add(date string, es []entry) {
	for _, e := range es {
		k := dayKey{e.account, e.currency, date}
		d := m[k]
		if d == nil {
			d = &dayTotal{}
			m[k] = d
		}
		d.add(e.cents)
	}
}

// unbalanced returns the currencies, sorted, whose entries do not sum to zero.
func unbalanced(es []entry) []string {
	type sum struct {
		currency string
		cents    int64
		big      decimal.Decimal // used once cents would overflow
		spilled  bool
	}
	var sums []sum
	for _, e := range es {
		i := slices.IndexFunc(sums, func(s sum) bool { return s.currency == e.currency })
		if i < 0 {
			sums = append(sums, sum{currency: e.currency})
			i = len(sums) - 1
		}
		s := &sums[i]
		if s.spilled {
			s.big = s.big.Add(decimal.New(e.cents, 0))
			continue
		}
		r := s.cents + e.cents
		if (e.cents > 0 && r < s.cents) || (e.cents < 0 && r > s.cents) {
			s.spilled, s.big = true, decimal.New(s.cents, 0).Add(decimal.New(e.cents, 0))
			continue
		}
		s.cents = r
	}
	var out []string
	for _, s := range sums {
		if (s.spilled && !s.big.IsZero()) || (!s.spilled && s.cents != 0) {
			out = append(out, s.currency)
		}
	}
	slices.Sort(out)
	return out
}
