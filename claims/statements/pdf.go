package statements

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/locale"
)

// SetIssuePlace sets the place of issue printed on every statement PDF (STATEMENT_ISSUE_PLACE);
// "" prints the name of the provider's jurisdiction. Call it before the service is used.
func (s *Service) SetIssuePlace(place string) { s.issuePlace = strings.TrimSpace(place) }

// ExportPDF writes the printable statement in the default locale (bs); see ExportPDFIn.
func (s *Service) ExportPDF(ctx context.Context, id string, w io.Writer) error {
	return s.ExportPDFIn(ctx, id, locale.Default, w)
}

// ExportPDFIn writes a printable statement in the locale loc (one of PDFLocales): its parties,
// period, number, status and content hash; its lines numbered 1…n with the service's name, each
// rejected or adjusted line with its reason and the reviewer's note; the totals; the place and
// date of issue; a signature block; and, before submission, a DRAFT watermark. Dates, amounts and
// the currency are written the locale's way (15.03.2025., 1.234,56 KM). The statement is read as
// FindStatementByID reads it (from the replica when one is set and caught up: SetReplica); it
// returns its errors (ENOTFOUND), EINVALID for an unknown locale, or a failure to render or to
// write w.
func (s *Service) ExportPDFIn(ctx context.Context, id, loc string, w io.Writer) error {
	if !slices.Contains(PDFLocales, loc) {
		return (&trcledger.Fields{}).AddErr("lang", "must be one of %s", strings.Join(PDFLocales, ", "))
	}
	st, err := s.exportStatement(ctx, id)
	if err != nil {
		return err
	}
	rdb := s.reads()
	d := pdfDoc{st: st, locale: loc, names: map[string]string{}, services: map[string]string{}, place: s.issuePlace}
	var orgs []struct {
		Code         string `db:"code"`
		Name         string `db:"name"`
		Jurisdiction string `db:"jurisdiction"`
	}
	if err := rdb.SelectContext(ctx, &orgs, `SELECT o.code, o.name, j.name AS jurisdiction
		FROM organizations o JOIN jurisdictions j ON j.code = o.jurisdiction_code
		WHERE o.code IN ($1, $2)`, st.ProviderCode, st.PayerCode); err != nil {
		return fmt.Errorf("load parties: %w", err)
	}
	for _, o := range orgs {
		d.names[o.Code] = o.Name
		if o.Code == st.ProviderCode && d.place == "" {
			d.place = o.Jurisdiction
		}
	}
	codes := map[string]bool{}
	for _, l := range st.Lines {
		codes[l.ServiceCode] = true
	}
	var services []struct {
		Code string `db:"code"`
		Name string `db:"name"`
	}
	if err := rdb.SelectContext(ctx, &services, `SELECT code, name FROM services WHERE code = ANY($1)`,
		pq.Array(slices.Sorted(maps.Keys(codes)))); err != nil {
		return fmt.Errorf("load services: %w", err)
	}
	for _, sv := range services {
		d.services[sv.Code] = sv.Name
	}
	d.issued = trcledger.Today(s.now())
	if st.SubmittedAt != nil {
		d.issued = trcledger.Today(st.SubmittedAt.Time)
	}
	return writeStatementPDF(d, w)
}

// pdfDoc is what one printed statement shows besides the statement itself.
type pdfDoc struct {
	st       *Statement
	locale   string            // one of PDFLocales
	names    map[string]string // organisation names by code
	services map[string]string // service names by code
	place    string            // the place of issue
	issued   trcledger.Date    // the date of issue: the submission, or today for a draft
}

// writeStatementPDF renders the statement.
func writeStatementPDF(d pdfDoc, w io.Writer) error {
	if _, ok := pdfLabels[d.locale]; !ok {
		d.locale = locale.Default
	}
	p := newStatementPDF(d)
	p.parties()
	p.lines()
	p.totals()
	p.issue()
	p.signatures()
	var buf bytes.Buffer
	if err := p.pdf.Output(&buf); err != nil {
		return fmt.Errorf("render statement PDF: %w", err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// statementPDF draws one statement, top to bottom.
type statementPDF struct {
	pdfDoc
	pdf *fpdf.Fpdf
}

// Page geometry (mm): A4 with 10 mm side margins and 15 mm kept free at the bottom for the footer.
const (
	pdfPageW, pdfPageH = 210.0, 297.0
	pdfMargin          = 10.0
	pdfBottom          = 15.0
	pdfRowH            = 5.0
	pdfDetailH         = 4.0
)

// newStatementPDF starts the document: fonts, metadata, the watermark and footer of each page.
func newStatementPDF(d pdfDoc) *statementPDF {
	p := &statementPDF{pdfDoc: d, pdf: fpdf.New("P", "mm", "A4", "")}
	st, pdf := d.st, p.pdf
	// Go regular and bold (BSD licence, embedded through golang.org/x/image): Latin Extended
	// and the whole Serbian Cyrillic alphabet, so every locale prints in its own letters.
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetLang(d.locale)
	pdf.SetTitle(pdfText(p.label("title", st.Number)), true)
	pdf.SetSubject(pdfText(p.label("subject", st.Number, st.Period, st.ProviderCode, st.PayerCode)), true)
	pdf.SetCreator("trcledger", false)
	pdf.SetAutoPageBreak(true, pdfBottom)
	pdf.AliasNbPages("{nb}")
	pdf.SetHeaderFunc(p.watermark)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-10)
		pdf.SetFont("go", "", 7)
		text := p.label("footer", st.Number, pdf.PageNo(), "{nb}")
		if h := str(st.ContentHash); h != "" {
			text = p.label("footer.hash", st.Number, h, pdf.PageNo(), "{nb}")
		}
		p.cell(0, 4, text, "", 0, "C", false)
	})
	return p
}

func (p *statementPDF) label(key string, args ...any) string { return pdfLabel(p.locale, key, args...) }

// money writes an amount with its unit, the locale's way: 1.234,56 KM.
func (p *statementPDF) money(a trcledger.Amount) string {
	return locale.Money(p.locale, a.Decimal, p.st.Currency)
}

// watermark writes DRAFT (in the locale) across a statement that was never submitted: a draft,
// or a cancelled draft. It is drawn first on each page, under everything else.
func (p *statementPDF) watermark() {
	var text string
	switch p.st.Status {
	case StatusDraft:
		text = p.label("watermark.draft")
	case StatusCancelled:
		text = p.label("watermark.cancelled")
	default:
		return
	}
	pdf := p.pdf
	pdf.SetFont("go", "B", 96)
	pdf.SetTextColor(222, 222, 222)
	text = pdfText(text)
	w := pdf.GetStringWidth(text)
	cx, cy := pdfPageW/2, pdfPageH/2
	pdf.TransformBegin()
	pdf.TransformRotate(50, cx, cy)
	pdf.Text(cx-w/2, cy+12, text)
	pdf.TransformEnd()
	pdf.SetTextColor(0, 0, 0)
}

// cell writes one cell. Every text goes through pdfText: fpdf panics on a character its font
// cannot map.
func (p *statementPDF) cell(w, h float64, text, border string, ln int, align string, fill bool) {
	p.pdf.CellFormat(w, h, pdfText(text), border, ln, align, fill, 0, "")
}

// fit shortens text with an ellipsis until it fits a cell w mm wide in the current font.
func (p *statementPDF) fit(text string, w float64) string {
	text = pdfText(text)
	room := w - 2*p.pdf.GetCellMargin()
	if p.pdf.GetStringWidth(text) <= room {
		return text
	}
	r := []rune(text)
	for len(r) > 1 && p.pdf.GetStringWidth(string(r)+"…") > room {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// period writes a month YYYY-MM as its name and year: "mart 2025.", "March 2025".
func (p *statementPDF) period() string {
	t, err := time.Parse("2006-01", p.st.Period)
	if err != nil {
		return p.st.Period
	}
	name := p.label(fmt.Sprintf("month.%d", t.Month()))
	if locale.Local(p.locale) {
		return fmt.Sprintf("%s %d.", name, t.Year())
	}
	return fmt.Sprintf("%s %d", name, t.Year())
}

// parties writes the first page's title and the statement's header: parties, period, status,
// currency and content hash.
func (p *statementPDF) parties() {
	st, pdf := p.st, p.pdf
	pdf.AddPage()
	pdf.SetFont("go", "B", 14)
	p.cell(0, 8, p.label("title", st.Number), "", 1, "L", false)
	if st.Status == StatusDraft || st.Status == StatusCancelled { // the watermark, in words a reader can copy
		pdf.SetFont("go", "B", 10)
		pdf.SetTextColor(170, 0, 0)
		p.cell(0, 6, p.label("notice."+st.Status), "", 1, "L", false)
		pdf.SetTextColor(0, 0, 0)
	}
	pdf.Ln(1)
	rows := [][2]string{
		{p.label("provider"), st.ProviderCode + " — " + p.names[st.ProviderCode]},
		{p.label("payer"), st.PayerCode + " — " + p.names[st.PayerCode]},
		{p.label("period"), p.period()},
		{p.label("status"), p.label("status." + st.Status)},
		{p.label("currency"), locale.Unit(p.locale, st.Currency)},
	}
	if h := str(st.ContentHash); h != "" {
		rows = append(rows, [2]string{p.label("content_hash"), h})
	}
	for _, kv := range rows {
		pdf.SetFont("go", "B", 9)
		p.cell(38, 5, kv[0], "", 0, "L", false)
		pdf.SetFont("go", "", 9)
		pdf.MultiCell(0, 5, pdfText(kv[1]), "", "L", false)
	}
	pdf.Ln(4)
}

// pdfColumns are the columns of the table of lines: label key, width (mm), alignment. They fill
// the 190 mm between the margins.
var pdfColumns = []struct {
	key   string
	width float64
	align string
}{{"col.no", 11, "R"}, {"col.date", 19, "L"}, {"col.record", 24, "L"}, {"col.service", 64, "L"}, {"col.quantity", 12, "R"},
	{"col.amount", 21, "R"}, {"col.decision", 18, "L"}, {"col.approved", 21, "R"}}

// columnHeader writes the header row of the table of lines (again on each new page).
func (p *statementPDF) columnHeader() {
	p.pdf.SetFont("go", "B", 8)
	p.pdf.SetFillColor(230, 230, 230)
	for _, c := range pdfColumns {
		p.cell(c.width, 6, p.label(c.key), "1", 0, c.align, true)
	}
	p.pdf.Ln(-1)
	p.pdf.SetFont("go", "", 8)
}

// lineDetail is what is said below a line: its flags, and the decision's reason and note.
func (p *statementPDF) lineDetail(l StatementLine) []string {
	var out []string
	if len(l.Flags) > 0 {
		names := make([]string, len(l.Flags))
		for i, f := range l.Flags {
			names[i] = p.label("flag." + f)
		}
		out = append(out, p.label("flags", strings.Join(names, ", ")))
	}
	note := strings.TrimSpace(str(l.Note))
	switch {
	case l.ReasonCode != nil:
		reason := p.label("reason." + *l.ReasonCode)
		if note != "" {
			reason += " — " + note
		}
		out = append(out, p.label("reason", reason))
	case note != "":
		out = append(out, p.label("note", note))
	}
	return out
}

// lines writes the table of lines, numbered 1…n, one row a line, with a row below a line that
// has flags or a reason.
func (p *statementPDF) lines() {
	pdf := p.pdf
	p.columnHeader()
	if len(p.st.Lines) == 0 {
		p.cell(0, pdfRowH, p.label("no_lines"), "1", 1, "L", false)
	}
	width := pdfPageW - 2*pdfMargin
	for i, l := range p.st.Lines {
		var detail []string
		pdf.SetFont("go", "", 7)
		for _, d := range p.lineDetail(l) {
			detail = append(detail, pdf.SplitText(pdfText(d), width-pdfColumns[0].width-2)...)
		}
		pdf.SetFont("go", "", 8)
		if pdf.GetY()+pdfRowH+float64(len(detail))*pdfDetailH > pdfPageH-pdfBottom {
			pdf.AddPage()
			p.columnHeader()
		}
		decision, approved := "", ""
		if l.Decision != nil {
			decision = p.label("decision." + *l.Decision)
		}
		if l.ApprovedAmount != nil {
			approved = locale.Number(p.locale, l.ApprovedAmount.Decimal, 2)
		}
		service := l.ServiceCode
		if name := p.services[l.ServiceCode]; name != "" {
			service += " " + name
		}
		border := "1"
		if len(detail) > 0 {
			border = "LTR"
		}
		cells := []string{fmt.Sprintf("%d.", i+1), locale.Date(p.locale, l.ServiceDate), l.ExternalID, service,
			locale.Number(p.locale, l.Quantity, quantityPlaces(l.Quantity)), locale.Number(p.locale, l.Amount.Decimal, 2), decision, approved}
		for j, c := range pdfColumns {
			pdf.CellFormat(c.width, pdfRowH, p.fit(cells[j], c.width), border, 0, c.align, false, 0, "")
		}
		pdf.Ln(-1)
		if len(detail) > 0 {
			pdf.SetFont("go", "", 7)
			for k, text := range detail {
				b := "LR"
				if k == len(detail)-1 {
					b = "LRB"
				}
				pdf.CellFormat(pdfColumns[0].width, pdfDetailH, "", b, 0, "L", false, 0, "")
				pdf.CellFormat(width-pdfColumns[0].width, pdfDetailH, text, b, 1, "L", false, 0, "")
			}
			pdf.SetFont("go", "", 8)
		}
	}
	pdf.Ln(4)
}

// quantityPlaces is how many decimals a quantity shows: as many as it has (1, 1,5, 2,25).
func quantityPlaces(q decimal.Decimal) int32 {
	trimmed, err := decimal.NewFromString(q.String()) // String drops trailing zeros: 1.5000 is 1.5
	if err != nil {
		return 0
	}
	return max(0, -trimmed.Exponent())
}

// totals writes the statement's totals: lines, claimed, approved, rejected, paid, outstanding.
func (p *statementPDF) totals() {
	st, pdf := p.st, p.pdf
	if pdf.GetY() > pdfPageH-pdfBottom-6*pdfRowH {
		pdf.AddPage()
	}
	approved, rejected := "—", "—"
	if st.Approved != nil && st.Rejected != nil {
		approved, rejected = p.money(*st.Approved), p.money(*st.Rejected)
	}
	x := pdfPageW - pdfMargin - 100
	for _, kv := range [][2]string{{p.label("total.lines"), fmt.Sprint(len(st.Lines))}, {p.label("total.claimed"), p.money(st.Claimed)},
		{p.label("total.approved"), approved}, {p.label("total.rejected"), rejected}, {p.label("total.paid"), p.money(st.Paid)},
		{p.label("total.due"), p.money(st.Outstanding)}} {
		pdf.SetX(x)
		pdf.SetFont("go", "", 9)
		p.cell(60, pdfRowH, kv[0], "", 0, "L", false)
		pdf.SetFont("go", "B", 9)
		p.cell(40, pdfRowH, kv[1], "", 1, "R", false)
	}
	pdf.Ln(4)
}

// issue writes the place and date of issue.
func (p *statementPDF) issue() {
	place := p.place
	if place == "" {
		place = "—"
	}
	p.pdf.SetFont("go", "", 9)
	p.cell(0, pdfRowH, p.label("issued", place, locale.Date(p.locale, p.issued)), "", 1, "L", false)
}

// signatures writes the signature block of both parties, on a new page if it does not fit.
func (p *statementPDF) signatures() {
	pdf := p.pdf
	if pdf.GetY() > 235 {
		pdf.AddPage()
	}
	pdf.Ln(10)
	pdf.SetFont("go", "", 9)
	y := pdf.GetY()
	for i, who := range []string{p.label("sign.provider", p.names[p.st.ProviderCode]), p.label("sign.payer", p.names[p.st.PayerCode])} {
		x := pdfMargin + float64(i)*95
		pdf.SetXY(x, y)
		pdf.MultiCell(85, 5, pdfText(who), "", "L", false)
		pdf.SetXY(x, y+18)
		p.cell(85, 5, p.label("sign.name"), "T", 0, "L", false)
		pdf.SetXY(x, y+30)
		p.cell(40, 5, p.label("sign.date"), "T", 0, "L", false)
	}
}
