package locale

import (
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
)

// TestLocalesAreTheUsersLocales: the languages pages and PDFs speak are those a user may choose.
func TestLocalesAreTheUsersLocales(t *testing.T) {
	if !slices.Equal(Locales, access.Locales) {
		t.Errorf("locale.Locales %q, access.Locales %q", Locales, access.Locales)
	}
	if !Supported(Default) {
		t.Errorf("default %q is not supported", Default)
	}
}

func TestFormats(t *testing.T) {
	d := trcledger.NewDate(2025, time.March, 15)
	for _, c := range []struct{ loc, date, money string }{
		{"bs", "15.03.2025.", "1.234,57\u00a0KM"},
		{"sr-Cyrl", "15.03.2025.", "1.234,57\u00a0КМ"},
		{"en", "2025-03-15", "1,234.57\u00a0KM"},
	} {
		if got := Date(c.loc, d); got != c.date {
			t.Errorf("%s: Date = %q, want %q", c.loc, got, c.date)
		}
		if got := Money(c.loc, decimal.RequireFromString("1234.565"), "BAM"); got != c.money {
			t.Errorf("%s: Money = %q, want %q", c.loc, got, c.money)
		}
	}
	if got := Number("hr", decimal.RequireFromString("-1234567.5"), 1); got != "−1.234.567,5" {
		t.Errorf("Number = %q", got)
	}
}
