package i18n

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/locale"
)

// bih is the time zone dates and times are shown in.
var bih = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Sarajevo")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

// Date writes d as 15.03.2025. in the local locales and 2025-03-15 in English; "" for a zero date.
func (tr Translator) Date(d trcledger.Date) string { return locale.Date(tr.Locale, d) }

// Time writes t in Sarajevo's time: 15.03.2025. 14:05 (local) or 2025-03-15 14:05 (English).
func (tr Translator) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if tr.Local() {
		return t.In(bih).Format("02.01.2006. 15:04")
	}
	return t.In(bih).Format("2006-01-02 15:04")
}

// Month writes a period YYYY-MM as the month's name and year ("mart 2025.", "March 2025"),
// from the catalogue's common.month.N keys; a malformed period is returned as it is.
func (tr Translator) Month(period string) string {
	t, err := time.Parse("2006-01", period)
	if err != nil {
		return period
	}
	name := tr.T("common.month." + t.Format("1"))
	if tr.Local() {
		return name + " " + t.Format("2006") + "."
	}
	return name + " " + t.Format("2006")
}

// Number writes a decimal with exactly places decimals, grouped by thousands: 1.234,56 in the
// local locales and 1,234.56 in English. Rounding is half away from zero, for display only.
func (tr Translator) Number(d decimal.Decimal, places int32) string {
	return locale.Number(tr.Locale, d, places)
}

// Money writes an amount in convertible marks: 1.234,56 KM (КМ in Cyrillic); another currency
// keeps its ISO code.
func (tr Translator) Money(d decimal.Decimal, currency string) string {
	return locale.Money(tr.Locale, d, currency)
}
