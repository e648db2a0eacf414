package reports

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	"github.com/shopspring/decimal"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/locale"
)

// The bulletin printed (the approach of claims/statements/pdf.go: fpdf with the Go fonts, which
// cover Latin Extended and Serbian Cyrillic; labels per locale here, sr-Cyrl transliterated).

// BulletinPDFLocales are the languages a bulletin is printed in.
var BulletinPDFLocales = locale.Locales

// ExportPDF writes the bulletin of period as a printable PDF in the locale loc: the month, when
// and by whom it was published, the chain head (position, transaction, hash) and the items'
// hash; a table of the month's totals and one per grouping, with suppressed counts shown as a
// dash; and, when the month has been restated since, the figures now and the differences. Dates
// and amounts are written the locale's way. It returns Get's errors, EINVALID (lang) for an
// unknown locale, or a failure to render or to write w.
func (b *Bulletins) ExportPDF(ctx context.Context, period, loc string, w io.Writer) error {
	if !slices.Contains(BulletinPDFLocales, loc) {
		return (&trcledger.Fields{}).AddErr("lang", "must be one of %s", strings.Join(BulletinPDFLocales, ", "))
	}
	bl, err := b.Get(ctx, period)
	if err != nil {
		return err
	}
	p := &bulletinPDF{b: bl, loc: loc, pdf: fpdf.New("P", "mm", "A4", ""), today: trcledger.Today(b.now())}
	p.render()
	var buf bytes.Buffer
	if err := p.pdf.Output(&buf); err != nil {
		return fmt.Errorf("render bulletin PDF: %w", err)
	}
	_, err = buf.WriteTo(w)
	return err
}

type bulletinPDF struct {
	b     *Bulletin
	loc   string
	pdf   *fpdf.Fpdf
	today trcledger.Date
}

func (p *bulletinPDF) label(key string, args ...any) string {
	return bulletinLabels.Get(p.loc, key, args...)
}

func (p *bulletinPDF) cell(w, h float64, text, border string, ln int, align string, fill bool) {
	p.pdf.CellFormat(w, h, bulletinText(text), border, ln, align, fill, 0, "")
}

// month writes YYYY-MM as its name and year: "mart 2025.", "March 2025".
func (p *bulletinPDF) month(period string) string {
	t, err := time.Parse("2006-01", period)
	if err != nil {
		return period
	}
	name := p.label(fmt.Sprintf("month.%d", t.Month()))
	if locale.Local(p.loc) {
		return fmt.Sprintf("%s %d.", name, t.Year())
	}
	return fmt.Sprintf("%s %d", name, t.Year())
}

func (p *bulletinPDF) render() {
	b, pdf := p.b, p.pdf
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	pdf.SetMargins(10, 10, 10)
	pdf.SetAutoPageBreak(true, 15)
	pdf.SetLang(p.loc)
	pdf.SetTitle(bulletinText(p.label("title", p.month(b.Period))), true)
	pdf.SetCreator("trcledger", false)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-10)
		pdf.SetFont("go", "", 7)
		p.cell(0, 4, p.label("footer", b.Period, b.ChainHead[:16], pdf.PageNo(), "{nb}"), "", 0, "C", false)
	})
	pdf.AddPage()
	pdf.SetFont("go", "B", 14)
	p.cell(0, 8, p.label("title", p.month(b.Period)), "", 1, "L", false)
	pdf.Ln(1)
	tx := "—"
	if b.Chain.TransactionID != nil {
		tx = fmt.Sprint(*b.Chain.TransactionID)
	}
	published := locale.Date(p.loc, trcledger.Today(b.PublishedAt.Time)) + " " + b.PublishedAt.In(sarajevo()).Format("15:04")
	for _, kv := range [][2]string{
		{p.label("published"), published + " · " + b.PublishedBy},
		{p.label("chain"), p.label("chain.link", b.Chain.Position, tx)},
		{p.label("chain_head"), b.ChainHead},
		{p.label("items_hash"), b.ItemsHash},
	} {
		pdf.SetFont("go", "B", 9)
		p.cell(50, 5, kv[0], "", 0, "L", false)
		pdf.SetFont("go", "", 8)
		pdf.MultiCell(0, 5, bulletinText(kv[1]), "", "L", false)
	}
	pdf.SetFont("go", "", 8)
	pdf.MultiCell(0, 4, bulletinText(p.label("explain")), "", "L", false)
	pdf.Ln(3)
	for _, g := range BulletinGroupings {
		p.table(g, b.Items)
	}
	if b.Restated == nil {
		pdf.SetFont("go", "B", 10)
		p.cell(0, 6, p.label("not_restated", locale.Date(p.loc, p.today)), "", 1, "L", false)
		return
	}
	pdf.AddPage()
	pdf.SetFont("go", "B", 12)
	p.cell(0, 7, p.label("restated", locale.Date(p.loc, p.today)), "", 1, "L", false)
	p.table("", b.Restated.Items)
	p.differences(b.Restated.Difference)
}

// columns of the tables: label key and width (mm), filling 190 mm.
var bulletinColumns = []struct {
	key   string
	width float64
}{{"col.group", 34}, {"col.total", 22}, {"col.international", 20}, {"col.donor", 17}, {"col.state_fund", 22}, {"col.government", 18},
	{"col.state_share", 18}, {"col.encounters", 19}, {"col.patients", 20}}

func (p *bulletinPDF) header(first string) {
	p.pdf.SetFont("go", "B", 7)
	p.pdf.SetFillColor(230, 230, 230)
	for i, c := range bulletinColumns {
		text := p.label(c.key)
		if i == 0 {
			text = first
		}
		align := "R"
		if i == 0 {
			align = "L"
		}
		// A long word shrinks until it fits its column.
		size := 7.0
		p.pdf.SetFontSize(size)
		for size > 4.5 && p.pdf.GetStringWidth(bulletinText(text)) > c.width-2*p.pdf.GetCellMargin() {
			size -= 0.5
			p.pdf.SetFontSize(size)
		}
		p.cell(c.width, 6, text, "1", 0, align, true)
	}
	p.pdf.Ln(-1)
	p.pdf.SetFont("go", "", 7)
}

func (p *bulletinPDF) count(n *int) string {
	if n == nil {
		return "—*"
	}
	return locale.Number(p.loc, decimal.NewFromInt(int64(*n)), 0)
}

// table writes the rows of one grouping under its heading.
func (p *bulletinPDF) table(grouping string, rows []BulletinRow) {
	pdf := p.pdf
	pdf.SetFont("go", "B", 10)
	p.cell(0, 6, p.label("by."+groupingKey(grouping)), "", 1, "L", false)
	first := p.label("col.currency")
	if grouping != "" {
		first = p.label("col.group")
	}
	p.header(first)
	n := 0
	for _, r := range rows {
		if r.Grouping != grouping {
			continue
		}
		n++
		name := locale.Unit(p.loc, r.Currency)
		if r.Group != nil {
			name = *r.Group
			if r.Currency != "BAM" {
				name += " (" + r.Currency + ")"
			}
		}
		money := func(a trcledger.Amount) string { return locale.Number(p.loc, a.Decimal, 2) }
		values := []string{name, money(r.Total), money(r.ByPayerType.International), money(r.ByPayerType.Donor), money(r.ByPayerType.StateFund),
			money(r.ByPayerType.Government), locale.Number(p.loc, mustDecimal(r.StateShare), 2) + " %", p.count(r.Encounters), p.count(r.Patients)}
		for i, c := range bulletinColumns {
			align := "R"
			if i == 0 {
				align = "L"
			}
			p.cell(c.width, 5, values[i], "1", 0, align, false)
		}
		pdf.Ln(-1)
	}
	if n == 0 {
		p.cell(0, 5, p.label("no_rows"), "1", 1, "L", false)
	}
	pdf.SetFont("go", "", 6)
	p.cell(0, 4, p.label("suppressed", MinReportedPatients), "", 1, "L", false)
	pdf.Ln(2)
}

// differences writes every changed row: now minus published.
func (p *bulletinPDF) differences(ds []BulletinDifference) {
	pdf := p.pdf
	pdf.SetFont("go", "B", 10)
	p.cell(0, 6, p.label("difference"), "", 1, "L", false)
	p.header(p.label("col.group"))
	for _, d := range ds {
		name := p.label("by." + groupingKey(d.Grouping))
		if d.Group != nil {
			name = *d.Group
		}
		money := func(a trcledger.Amount) string { return locale.Number(p.loc, a.Decimal, 2) }
		values := []string{name, money(d.Total), money(d.ByPayerType.International), money(d.ByPayerType.Donor), money(d.ByPayerType.StateFund),
			money(d.ByPayerType.Government), locale.Number(p.loc, mustDecimal(d.StateShare), 2) + " pp", p.count(d.Encounters), p.count(d.Patients)}
		for i, c := range bulletinColumns {
			align := "R"
			if i == 0 {
				align = "L"
			}
			p.cell(c.width, 5, values[i], "1", 0, align, false)
		}
		pdf.Ln(-1)
	}
}

func groupingKey(g string) string {
	if g == "" {
		return "month"
	}
	return g
}

func sarajevo() *time.Location {
	if loc, err := time.LoadLocation("Europe/Sarajevo"); err == nil {
		return loc
	}
	return time.UTC
}

// bulletinGlyphs says which characters of the Basic Multilingual Plane both Go fonts show.
var bulletinGlyphs = sync.OnceValue(func() []bool {
	has := make([]bool, 0x10000)
	for i := range has {
		has[i] = true
	}
	for _, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			panic("reports: parse a built-in PDF font: " + err.Error())
		}
		var buf sfnt.Buffer
		for r := range has {
			if has[r] {
				g, err := f.GlyphIndex(&buf, rune(r))
				has[r] = err == nil && g != 0
			}
		}
	}
	return has
})

// bulletinText returns s as the PDF can print it: fpdf panics on a character beyond U+FFFF, so
// such a character, one the fonts lack and invalid UTF-8 become '?'; control characters spaces.
func bulletinText(s string) string {
	glyphs := bulletinGlyphs()
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			b.WriteByte(' ')
		case r == utf8.RuneError || r > 0xFFFF || !glyphs[r]:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mustDecimal reads a percentage the report wrote; 0 for anything else.
func mustDecimal(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}
