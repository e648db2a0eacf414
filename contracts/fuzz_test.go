package contracts

import (
	"testing"

	"github.com/shopspring/decimal"
)

// FuzzPriceLine prices random lines: no panic, net + VAT = amount, and the shares, none
// negative, add up to the amount to the cent.
func FuzzPriceLine(f *testing.F) {
	f.Add(int64(2000), int64(0), int64(100), int64(10000), int64(0), int64(0), int64(1700))
	f.Add(int64(1), int64(3333), int64(1234), int64(3333), int64(3333), int64(1), int64(0))
	f.Add(int64(999999), int64(9), int64(25), int64(1), int64(9998), int64(0), int64(2000))
	f.Fuzz(func(t *testing.T, price, pointValue, qty, bp1, bp2, bp3, vat int64) {
		if price <= 0 || qty <= 0 || bp1 < 0 || bp2 < 0 || bp3 < 0 || vat < 0 || vat > 10000 || pointValue < 0 {
			return
		}
		price, qty = price%100_000_000+1, qty%10_000_000+1
		item := TariffItem{ServiceCode: "S", Method: "fixed", VATRate: decimal.New(vat, -2)}
		v := &TariffVersion{Version: 1}
		if pointValue > 0 {
			pv := decimal.New(pointValue%1_000_000+1, -4)
			pts := decimal.New(price, -2)
			item.Method, item.Points, v.PointValue = "points", &pts, &pv
		} else {
			p := decimal.New(price, -4)
			item.Price = &p
		}
		v.Items = []TariffItem{item}
		bp1, bp2 = bp1%10001, bp2%10001
		if bp1+bp2 > 10000 {
			bp2 = 10000 - bp1
		}
		rule := &CostShareRule{Shares: []Share{{PayerCode: "A", BasisPoints: int(bp1)}, {PayerCode: "B", BasisPoints: int(bp2)}, {PayerCode: "C", BasisPoints: 10000 - int(bp1) - int(bp2)}}}
		line, err := PriceLine(v, rule, "S", decimal.New(qty, -4))
		if err != nil {
			t.Fatalf("price: %v", err)
		}
		if !line.Net.Add(line.VAT.Decimal).Equal(line.Amount.Decimal) {
			t.Fatalf("net %s + vat %s != amount %s", line.Net, line.VAT, line.Amount)
		}
		sum := decimal.Zero
		for _, s := range line.Shares {
			if s.Amount.IsNegative() || s.Amount.Exponent() < -2 {
				t.Fatalf("bad share %s of %s", s.Amount, line.Amount)
			}
			sum = sum.Add(s.Amount.Decimal)
		}
		if !sum.Equal(line.Amount.Decimal) {
			t.Fatalf("shares add up to %s, not %s", sum, line.Amount)
		}
	})
}
