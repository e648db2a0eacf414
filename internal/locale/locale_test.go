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

func TestToCyrillic(t *testing.T) {
	for in, want := range map[string]string{
		"Ljekar nije odobrio":                       "Љекар није одобрио",
		"Džemper NJEGOV, NACRT":                     "Џемпер ЊЕГОВ, НАЦРТ",
		"%d stavki od %[2]s":                        "%d ставки од %[2]s",
		"Iznos: %s KM, 100%% plaćeno":               "Износ: %s КМ, 100%% плаћено",
		"mora biti ICD-10 šifra, npr. J06.9":        "мора бити ICD-10 шифра, нпр. J06.9",
		"jedno od: asylum_seeker, refugee, unknown": "једно од: asylum_seeker, refugee, unknown",
		"obavezno, npr. payable:IOM:DZ-BIHAC":       "обавезно, нпр. payable:IOM:DZ-BIHAC",
		"mora biti F, M ili X; approve ili reject":  "мора бити F, M или X; approve или reject",
		"vreme, npr. 2026-12-31T23:59:59Z (UTF-8)":  "време, нпр. 2026-12-31T23:59:59Z (UTF-8)",
		"u obliku GGGG-MM, u shares[%d], items[%d]": "у облику ГГГГ-ММ, у shares[%d], items[%d]",
		"MKB-10 šifra, npr. J06.9, R50.9; PZZ-01":   "МКБ-10 шифра, нпр. J06.9, R50.9; PZZ-01",
	} {
		if got := ToCyrillic(in); got != want {
			t.Errorf("ToCyrillic(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLabelsFallBackToEnglishThenTheKey(t *testing.T) {
	l := NewLabels(map[string]string{"a": "Amount %s", "b": "Both"}, map[string]string{"a": "Iznos %s"}, map[string]string{}, map[string]string{"a": "Iznos %s"})
	for _, c := range []struct {
		loc, key, want string
		args           []any
	}{
		{"bs", "a", "Iznos 1", []any{"1"}}, {"sr-Cyrl", "a", "Износ 1", []any{"1"}}, {"hr", "a", "Amount 1", []any{"1"}},
		{"bs", "b", "Both", nil}, {"xx", "c", "c", nil},
	} {
		if got := l.Get(c.loc, c.key, c.args...); got != c.want {
			t.Errorf("Get(%s, %s) = %q, want %q", c.loc, c.key, got, c.want)
		}
	}
}
