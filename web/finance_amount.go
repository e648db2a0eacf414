package web

import (
	"regexp"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/web/i18n"
)

var (
	// groupedAmount is digits grouped by thousands with sep (. or ,), then optional decimals
	// after the other mark.
	groupedDot   = regexp.MustCompile(`^[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?$`)
	groupedComma = regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$`)
	plainAmount  = regexp.MustCompile(`^[0-9]+([.,][0-9]+)?$`)
)

// finParseAmount reads an amount as a person types it in the reader's locale: "1.234,56",
// "1234,56" (and "1234.56", which nobody means otherwise) in the local locales, "1,234.56" and
// "1234.56" in English; spaces and a trailing KM are ignored. In the local locales a dot
// followed by exactly three digits and no comma ("1.234") is a thousands separator, in English
// a comma is. It reports false for anything else (letters, two decimal marks, a sign).
func finParseAmount(tr i18n.Translator, s string) (decimal.Decimal, bool) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "'", "").Replace(strings.TrimSpace(s))
	for _, unit := range []string{"KM", "km", "КМ", "BAM"} {
		s = strings.TrimSuffix(s, unit)
	}
	if s == "" {
		return decimal.Zero, false
	}
	var norm string
	switch {
	case tr.Local() && groupedDot.MatchString(s):
		norm = strings.ReplaceAll(strings.ReplaceAll(s, ".", ""), ",", ".")
	case !tr.Local() && groupedComma.MatchString(s):
		norm = strings.ReplaceAll(s, ",", "")
	case plainAmount.MatchString(s):
		norm = strings.ReplaceAll(s, ",", ".")
	default:
		return decimal.Zero, false
	}
	d, err := decimal.NewFromString(norm)
	if err != nil {
		return decimal.Zero, false
	}
	return d, true
}

// finInputAmount writes an amount as the reader would type it back: 1234,56 in the local locales,
// 1234.56 in English (no grouping, so that it reads back the same).
func finInputAmount(tr i18n.Translator, d decimal.Decimal) string {
	s := d.StringFixed(2)
	if tr.Local() {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// finParseDate reads a date from a form: YYYY-MM-DD (what a date input sends) or the local
// 15.03.2025. (a browser without date inputs).
func finParseDate(s string) (trcledger.Date, bool) {
	s = strings.TrimSpace(s)
	if d, err := trcledger.ParseDate(s); err == nil {
		return d, true
	}
	for _, layout := range []string{"02.01.2006.", "02.01.2006", "2.1.2006.", "2.1.2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return trcledger.DateOf(t), true
		}
	}
	return trcledger.Date{}, false
}
