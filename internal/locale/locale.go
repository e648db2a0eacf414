// Package locale holds what the web application and the printed statement share about the five
// languages of trcledger (bs, hr, sr-Latn, sr-Cyrl, en): choosing one from an Accept-Language
// header, Serbian Latin to Cyrillic, and how dates and amounts are written. The catalogues stay
// with what they label (web/i18n for pages, claims/statements for the PDF).
package locale

import (
	"slices"
	"strings"

	"github.com/shopspring/decimal"
	"golang.org/x/text/language"

	"github.com/trcledger/trcledger"
)

// Locales are the languages of trcledger; Default is used when nothing else decides.
var Locales = []string{"bs", "hr", "sr-Latn", "sr-Cyrl", "en"}

// Default is the locale of a reader whose browser asks for none of ours.
const Default = "bs"

// Supported reports whether loc is one of Locales.
func Supported(loc string) bool { return slices.Contains(Locales, loc) }

// Negotiate picks the locale for an Accept-Language header: the first of its tags that names
// one of our languages, else Default. Plain "sr" (and sr-RS, sr-BA) read as Serbian Latin,
// sr-Cyrl as Cyrillic.
func Negotiate(acceptLanguage string) string {
	if len(acceptLanguage) > 1000 {
		acceptLanguage = acceptLanguage[:1000]
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Default
	}
	for _, t := range tags {
		base, _ := t.Base()
		script, conf := t.Script()
		switch base.String() {
		case "bs", "hr", "en":
			return base.String()
		case "sr":
			if conf == language.Exact && script.String() == "Cyrl" {
				return "sr-Cyrl"
			}
			return "sr-Latn"
		}
	}
	return Default
}

// Local reports whether loc writes dates and numbers the local way (15.03.2025., 1.234,56):
// every locale but English.
func Local(loc string) bool { return !strings.HasPrefix(loc, "en") }

// Date writes d as 15.03.2025. in the local locales and 2025-03-15 in English; "" for a zero
// date.
func Date(loc string, d trcledger.Date) string {
	if d.IsZero() {
		return ""
	}
	if Local(loc) {
		return d.Time().Format("02.01.2006.")
	}
	return d.String()
}

// Number writes a decimal with exactly places decimals, grouped by thousands: 1.234,56 in the
// local locales and 1,234.56 in English; a negative number starts with a minus sign (−).
// Rounding is half away from zero, for display only.
func Number(loc string, d decimal.Decimal, places int32) string {
	s := d.Round(places).StringFixed(places)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	group, point := ",", "."
	if Local(loc) {
		group, point = ".", ","
	}
	var b strings.Builder
	if neg {
		b.WriteString("−")
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString(point)
		b.WriteString(frac)
	}
	return b.String()
}

// Unit is how an amount's currency is written: KM for convertible marks (КМ in Cyrillic);
// another currency keeps its ISO code.
func Unit(loc, currency string) string {
	if currency != "" && currency != "BAM" {
		return currency
	}
	if loc == "sr-Cyrl" {
		return "КМ"
	}
	return "KM"
}

// Money writes an amount with 2 decimals and its unit, joined by a no-break space:
// 1.234,56 KM.
func Money(loc string, d decimal.Decimal, currency string) string {
	return Number(loc, d, 2) + "\u00a0" + Unit(loc, currency)
}
