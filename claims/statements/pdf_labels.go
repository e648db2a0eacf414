package statements

import (
	"fmt"
	"maps"
	"slices"

	"github.com/trcledger/trcledger/internal/locale"
)

// pdfLabels are the words of the printed statement per locale (bs, hr, sr-Latn, en; sr-Cyrl is
// transliterated from sr-Latn). They live with the PDF because this package cannot read the web
// application's catalogues; TestPDFLabelsComplete fails when a locale lacks a key English has.
// Keys: heading and column names, status.<status>, decision.<decision>, reason.<reason_code>,
// flag.<flag>, month.<1..12>, watermark.<status> and notice.<status> (draft and cancelled).
var pdfLabels = func() map[string]map[string]string {
	out := map[string]map[string]string{"en": pdfEN, "bs": pdfBS, "hr": pdfHR, "sr-Latn": pdfSR}
	cyr := make(map[string]string, len(pdfSR))
	for k, v := range pdfSR {
		cyr[k] = locale.ToCyrillic(v)
	}
	out["sr-Cyrl"] = cyr
	return out
}()

// pdfLabel returns the label of key in loc (English when loc lacks it, the key when English
// does too), formatted with args.
func pdfLabel(loc, key string, args ...any) string {
	msg, ok := pdfLabels[loc][key]
	if !ok {
		if msg, ok = pdfEN[key]; !ok {
			msg = key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// PDFLocales are the languages the statement PDF is printed in (locale.Locales).
var PDFLocales = locale.Locales

var pdfEN = map[string]string{
	"title":           "Claims statement %s",
	"subject":         "Claims statement %s, %s, %s to %s",
	"number":          "Number",
	"provider":        "Provider",
	"payer":           "Payer",
	"period":          "Period",
	"status":          "Status",
	"currency":        "Currency",
	"content_hash":    "Content hash",
	"col.no":          "No.",
	"col.date":        "Date",
	"col.record":      "Record",
	"col.service":     "Service",
	"col.quantity":    "Qty",
	"col.amount":      "Amount",
	"col.decision":    "Decision",
	"col.approved":    "Approved",
	"flags":           "Flags: %s",
	"reason":          "Reason: %s",
	"note":            "Note: %s",
	"no_lines":        "The statement has no lines.",
	"total.lines":     "Lines",
	"total.claimed":   "Claimed",
	"total.approved":  "Approved",
	"total.rejected":  "Rejected",
	"total.paid":      "Paid",
	"total.due":       "Outstanding",
	"total.undecided": "not yet reviewed",
	"issued":          "Place and date of issue: %s, %s",
	"sign.provider":   "For the provider: %s",
	"sign.payer":      "For the payer: %s",
	"sign.name":       "Name, signature and stamp",
	"sign.date":       "Date",
	"footer":          "%s · page %d of %s",
	"footer.hash":     "%s · content hash %s · page %d of %s",

	"watermark.draft":     "DRAFT",
	"watermark.cancelled": "CANCELLED",
	"notice.draft":        "DRAFT — not submitted; its lines may still change.",
	"notice.cancelled":    "CANCELLED — never submitted; it claims nothing.",

	"status.draft":          "Draft",
	"status.submitted":      "Submitted",
	"status.under_review":   "Under review",
	"status.reviewed":       "Reviewed",
	"status.partially_paid": "Partially paid",
	"status.paid":           "Paid",
	"status.cancelled":      "Cancelled",

	"decision.approve": "Approved",
	"decision.reject":  "Rejected",
	"decision.adjust":  "Adjusted",

	"reason.duplicate":             "Duplicate",
	"reason.not_covered":           "Not covered",
	"reason.missing_referral":      "Missing referral",
	"reason.not_eligible":          "Not eligible",
	"reason.tariff_error":          "Tariff error",
	"reason.quantity_exceeded":     "Quantity exceeded",
	"reason.documentation_missing": "Documentation missing",
	"reason.other":                 "Other",

	"flag.duplicate":        "possible duplicate",
	"flag.missing_referral": "missing referral",
	"flag.quantity_limit":   "over the quantity limit",
	"flag.late":             "from an earlier month",
	"flag.high_value":       "high value",
	"flag.over_cap":         "over the budget ceiling",
	"flag.above_parity":     "above the fund's own tariff",
	"flag.rerouted":         "re-routed from another payer",

	"month.1": "January", "month.2": "February", "month.3": "March", "month.4": "April",
	"month.5": "May", "month.6": "June", "month.7": "July", "month.8": "August",
	"month.9": "September", "month.10": "October", "month.11": "November", "month.12": "December",
}

var pdfBS = map[string]string{
	"title":           "Izvještaj o potraživanjima %s",
	"subject":         "Izvještaj o potraživanjima %s, %s, %s prema %s",
	"number":          "Broj",
	"provider":        "Davalac usluga",
	"payer":           "Platilac",
	"period":          "Period",
	"status":          "Status",
	"currency":        "Valuta",
	"content_hash":    "Otisak sadržaja",
	"col.no":          "R. br.",
	"col.date":        "Datum",
	"col.record":      "Protokol",
	"col.service":     "Usluga",
	"col.quantity":    "Kol.",
	"col.amount":      "Iznos",
	"col.decision":    "Odluka",
	"col.approved":    "Odobreno",
	"flags":           "Oznake: %s",
	"reason":          "Razlog: %s",
	"note":            "Napomena: %s",
	"no_lines":        "Izvještaj nema stavki.",
	"total.lines":     "Broj stavki",
	"total.claimed":   "Potraživano",
	"total.approved":  "Odobreno",
	"total.rejected":  "Odbijeno",
	"total.paid":      "Plaćeno",
	"total.due":       "Preostalo za plaćanje",
	"total.undecided": "još nije pregledano",
	"issued":          "Mjesto i datum izdavanja: %s, %s",
	"sign.provider":   "Za davaoca usluga: %s",
	"sign.payer":      "Za platioca: %s",
	"sign.name":       "Ime i prezime, potpis i pečat",
	"sign.date":       "Datum",
	"footer":          "%s · stranica %d od %s",
	"footer.hash":     "%s · otisak sadržaja %s · stranica %d od %s",

	"watermark.draft":     "NACRT",
	"watermark.cancelled": "OTKAZANO",
	"notice.draft":        "NACRT — izvještaj nije podnesen; stavke se još mogu mijenjati.",
	"notice.cancelled":    "OTKAZANO — izvještaj nije podnesen i ništa ne potražuje.",

	"status.draft":          "Nacrt",
	"status.submitted":      "Podnesen",
	"status.under_review":   "U pregledu",
	"status.reviewed":       "Pregledan",
	"status.partially_paid": "Djelimično plaćen",
	"status.paid":           "Plaćen",
	"status.cancelled":      "Otkazan",

	"decision.approve": "Odobreno",
	"decision.reject":  "Odbijeno",
	"decision.adjust":  "Korigovano",

	"reason.duplicate":             "Dupla stavka",
	"reason.not_covered":           "Nije pokriveno ugovorom",
	"reason.missing_referral":      "Nedostaje uputnica",
	"reason.not_eligible":          "Nema pravo na uslugu",
	"reason.tariff_error":          "Greška u tarifi",
	"reason.quantity_exceeded":     "Prekoračena količina",
	"reason.documentation_missing": "Nedostaje dokumentacija",
	"reason.other":                 "Drugo",

	"flag.duplicate":        "moguća dupla stavka",
	"flag.missing_referral": "nema uputnice",
	"flag.quantity_limit":   "iznad dozvoljene količine",
	"flag.late":             "iz ranijeg mjeseca",
	"flag.high_value":       "visok iznos",
	"flag.over_cap":         "iznad budžetskog limita",
	"flag.rerouted":         "preusmjereno od drugog platioca",
	"flag.above_parity":     "iznad tarife fonda za osiguranike",

	"month.1": "januar", "month.2": "februar", "month.3": "mart", "month.4": "april",
	"month.5": "maj", "month.6": "juni", "month.7": "juli", "month.8": "august",
	"month.9": "septembar", "month.10": "oktobar", "month.11": "novembar", "month.12": "decembar",
}

var pdfHR = map[string]string{
	"title":           "Izvješće o potraživanjima %s",
	"subject":         "Izvješće o potraživanjima %s, %s, %s prema %s",
	"number":          "Broj",
	"provider":        "Pružatelj usluga",
	"payer":           "Platitelj",
	"period":          "Razdoblje",
	"status":          "Status",
	"currency":        "Valuta",
	"content_hash":    "Otisak sadržaja",
	"col.no":          "R. br.",
	"col.date":        "Datum",
	"col.record":      "Protokol",
	"col.service":     "Usluga",
	"col.quantity":    "Kol.",
	"col.amount":      "Iznos",
	"col.decision":    "Odluka",
	"col.approved":    "Odobreno",
	"flags":           "Oznake: %s",
	"reason":          "Razlog: %s",
	"note":            "Napomena: %s",
	"no_lines":        "Izvješće nema stavki.",
	"total.lines":     "Broj stavki",
	"total.claimed":   "Potraživano",
	"total.approved":  "Odobreno",
	"total.rejected":  "Odbijeno",
	"total.paid":      "Plaćeno",
	"total.due":       "Preostalo za plaćanje",
	"total.undecided": "još nije pregledano",
	"issued":          "Mjesto i datum izdavanja: %s, %s",
	"sign.provider":   "Za pružatelja usluga: %s",
	"sign.payer":      "Za platitelja: %s",
	"sign.name":       "Ime i prezime, potpis i pečat",
	"sign.date":       "Datum",
	"footer":          "%s · stranica %d od %s",
	"footer.hash":     "%s · otisak sadržaja %s · stranica %d od %s",

	"watermark.draft":     "NACRT",
	"watermark.cancelled": "OTKAZANO",
	"notice.draft":        "NACRT — izvješće nije podneseno; stavke se još mogu mijenjati.",
	"notice.cancelled":    "OTKAZANO — izvješće nije podneseno i ništa ne potražuje.",

	"status.draft":          "Nacrt",
	"status.submitted":      "Podnesen",
	"status.under_review":   "U pregledu",
	"status.reviewed":       "Pregledan",
	"status.partially_paid": "Djelomično plaćen",
	"status.paid":           "Plaćen",
	"status.cancelled":      "Otkazan",

	"decision.approve": "Odobreno",
	"decision.reject":  "Odbijeno",
	"decision.adjust":  "Korigirano",

	"reason.duplicate":             "Dvostruka stavka",
	"reason.not_covered":           "Nije pokriveno ugovorom",
	"reason.missing_referral":      "Nedostaje uputnica",
	"reason.not_eligible":          "Nema pravo na uslugu",
	"reason.tariff_error":          "Pogreška u tarifi",
	"reason.quantity_exceeded":     "Prekoračena količina",
	"reason.documentation_missing": "Nedostaje dokumentacija",
	"reason.other":                 "Ostalo",

	"flag.duplicate":        "moguća dvostruka stavka",
	"flag.missing_referral": "nema uputnice",
	"flag.quantity_limit":   "iznad dopuštene količine",
	"flag.late":             "iz ranijeg mjeseca",
	"flag.high_value":       "visok iznos",
	"flag.over_cap":         "iznad proračunskog limita",
	"flag.above_parity":     "iznad tarife zavoda za osiguranike",
	"flag.rerouted":         "preusmjereno s drugog platitelja",

	"month.1": "siječanj", "month.2": "veljača", "month.3": "ožujak", "month.4": "travanj",
	"month.5": "svibanj", "month.6": "lipanj", "month.7": "srpanj", "month.8": "kolovoz",
	"month.9": "rujan", "month.10": "listopad", "month.11": "studeni", "month.12": "prosinac",
}

var pdfSR = map[string]string{
	"title":           "Izveštaj o potraživanjima %s",
	"subject":         "Izveštaj o potraživanjima %s, %s, %s prema %s",
	"number":          "Broj",
	"provider":        "Davalac usluga",
	"payer":           "Platilac",
	"period":          "Period",
	"status":          "Status",
	"currency":        "Valuta",
	"content_hash":    "Otisak sadržaja",
	"col.no":          "R. br.",
	"col.date":        "Datum",
	"col.record":      "Protokol",
	"col.service":     "Usluga",
	"col.quantity":    "Kol.",
	"col.amount":      "Iznos",
	"col.decision":    "Odluka",
	"col.approved":    "Odobreno",
	"flags":           "Oznake: %s",
	"reason":          "Razlog: %s",
	"note":            "Napomena: %s",
	"no_lines":        "Izveštaj nema stavki.",
	"total.lines":     "Broj stavki",
	"total.claimed":   "Potraživano",
	"total.approved":  "Odobreno",
	"total.rejected":  "Odbijeno",
	"total.paid":      "Plaćeno",
	"total.due":       "Preostalo za plaćanje",
	"total.undecided": "još nije pregledano",
	"issued":          "Mesto i datum izdavanja: %s, %s",
	"sign.provider":   "Za davaoca usluga: %s",
	"sign.payer":      "Za platioca: %s",
	"sign.name":       "Ime i prezime, potpis i pečat",
	"sign.date":       "Datum",
	"footer":          "%s · strana %d od %s",
	"footer.hash":     "%s · otisak sadržaja %s · strana %d od %s",

	"watermark.draft":     "NACRT",
	"watermark.cancelled": "OTKAZANO",
	"notice.draft":        "NACRT — izveštaj nije podnet; stavke se još mogu menjati.",
	"notice.cancelled":    "OTKAZANO — izveštaj nije podnet i ništa ne potražuje.",

	"status.draft":          "Nacrt",
	"status.submitted":      "Podnet",
	"status.under_review":   "U pregledu",
	"status.reviewed":       "Pregledan",
	"status.partially_paid": "Delimično plaćen",
	"status.paid":           "Plaćen",
	"status.cancelled":      "Otkazan",

	"decision.approve": "Odobreno",
	"decision.reject":  "Odbijeno",
	"decision.adjust":  "Korigovano",

	"reason.duplicate":             "Dupla stavka",
	"reason.not_covered":           "Nije pokriveno ugovorom",
	"reason.missing_referral":      "Nedostaje uput",
	"reason.not_eligible":          "Nema pravo na uslugu",
	"reason.tariff_error":          "Greška u tarifi",
	"reason.quantity_exceeded":     "Prekoračena količina",
	"reason.documentation_missing": "Nedostaje dokumentacija",
	"reason.other":                 "Drugo",

	"flag.duplicate":        "moguća dupla stavka",
	"flag.missing_referral": "nema uputa",
	"flag.quantity_limit":   "iznad dozvoljene količine",
	"flag.late":             "iz ranijeg meseca",
	"flag.high_value":       "visok iznos",
	"flag.over_cap":         "iznad budžetskog limita",
	"flag.rerouted":         "preusmereno od drugog platioca",
	"flag.above_parity":     "iznad tarife fonda za osiguranike",

	"month.1": "januar", "month.2": "februar", "month.3": "mart", "month.4": "april",
	"month.5": "maj", "month.6": "jun", "month.7": "jul", "month.8": "avgust",
	"month.9": "septembar", "month.10": "oktobar", "month.11": "novembar", "month.12": "decembar",
}

// pdfLabelKeys returns the keys English has (for the completeness test).
func pdfLabelKeys() []string { return slices.Sorted(maps.Keys(pdfEN)) }
