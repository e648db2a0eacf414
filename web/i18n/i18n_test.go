package i18n

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

func TestToCyrillic(t *testing.T) {
	for in, want := range map[string]string{
		"Ljekar nije odobrio":         "Љекар није одобрио",
		"Džemper NJEGOV":              "Џемпер ЊЕГОВ",
		"Učitaj CSV datoteku":         "Учитај CSV датотеку",
		"%d stavki od %[2]s":          "%d ставки од %[2]s",
		"Iznos: %s KM, 100%% plaćeno": "Износ: %s КМ, 100%% плаћено",
		"ICD-10 šifra":                "ICD-10 шифра",
	} {
		if got := ToCyrillic(in); got != want {
			t.Errorf("ToCyrillic(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for header, want := range map[string]string{
		"":                         Default,
		"de-DE,de;q=0.9":           Default,
		"hr-HR,hr;q=0.9,en;q=0.8":  "hr",
		"sr-Cyrl-BA,sr;q=0.9":      "sr-Cyrl",
		"sr-RS":                    "sr-Latn",
		"sr":                       "sr-Latn",
		"en-GB,en;q=0.9":           "en",
		"de;q=0.9,bs;q=0.8":        "bs",
		"*":                        Default,
		"this is not ; a header ,": Default,
	} {
		if got := Negotiate(header); got != want {
			t.Errorf("Negotiate(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestFormats(t *testing.T) {
	d := trcledger.NewDate(2025, time.March, 15)
	amount := decimal.RequireFromString("1234.565")
	for _, c := range []struct{ locale, date, money, month string }{
		{"bs", "15.03.2025.", "1.234,57\u00a0KM", "mart 2025."},
		{"hr", "15.03.2025.", "1.234,57\u00a0KM", "ožujak 2025."},
		{"sr-Latn", "15.03.2025.", "1.234,57\u00a0KM", "mart 2025."},
		{"sr-Cyrl", "15.03.2025.", "1.234,57\u00a0КМ", "март 2025."},
		{"en", "2025-03-15", "1,234.57\u00a0KM", "March 2025"},
	} {
		tr := For(c.locale)
		if got := tr.Date(d); got != c.date {
			t.Errorf("%s: Date = %q, want %q", c.locale, got, c.date)
		}
		if got := tr.Money(amount, "BAM"); got != c.money {
			t.Errorf("%s: Money = %q, want %q", c.locale, got, c.money)
		}
		if got := tr.Month("2025-03"); got != c.month {
			t.Errorf("%s: Month = %q, want %q", c.locale, got, c.month)
		}
	}
	if got := For("bs").Money(decimal.RequireFromString("-1234567.5"), "BAM"); got != "−1.234.567,50\u00a0KM" {
		t.Errorf("negative millions: %q", got)
	}
	if got := For("en").Money(decimal.RequireFromString("0.1"), "EUR"); got != "0.10\u00a0EUR" {
		t.Errorf("other currency: %q", got)
	}
}
