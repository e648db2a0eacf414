package trcledger

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// Amount is money with the currency's 2 decimals, written "25.00" in JSON.
type Amount struct{ decimal.Decimal }

// Price is a price or point value (up to 4 decimals), written with at least 2 decimals ("1.80").
type Price struct{ decimal.Decimal }

// NewAmount wraps d.
func NewAmount(d decimal.Decimal) Amount { return Amount{d} }

// NewPrice wraps d.
func NewPrice(d decimal.Decimal) Price { return Price{d} }

// MarshalJSON writes the amount as a string with exactly 2 decimals.
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(`"` + a.StringFixed(2) + `"`), nil }

// String returns the amount with exactly 2 decimals.
func (a Amount) String() string { return a.StringFixed(2) }

// Format makes fmt print the amount as String does ("28.00"), not as the embedded decimal ("28").
func (a Amount) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

// MarshalJSON writes the price as a string with at least 2 decimals.
func (p Price) MarshalJSON() ([]byte, error) { return []byte(`"` + FormatPrice(p.Decimal) + `"`), nil }

// String returns the price with at least 2 decimals.
func (p Price) String() string { return FormatPrice(p.Decimal) }

// Format makes fmt print the price as String does.
func (p Price) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }

// FormatPrice writes d with at least 2 decimals and no trailing zeros beyond them.
func FormatPrice(d decimal.Decimal) string {
	s := d.String()
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return s + ".00"
	}
	if len(s)-dot-1 < 2 {
		return s + strings.Repeat("0", 2-(len(s)-dot-1))
	}
	return s
}

// DecimalPlaces returns how many decimals d is written with (after trimming trailing zeros).
func DecimalPlaces(d decimal.Decimal) int {
	s := d.String()
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		return len(s) - dot - 1
	}
	return 0
}
