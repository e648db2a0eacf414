package statements

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ExportCSV writes the statement as CSV, one row a line, with its flags and decisions; it is
// read (and audited) as FindStatementByID reads it, and returns its errors (ENOTFOUND) or a
// failure to write w.
func (s *Service) ExportCSV(ctx context.Context, id string, w io.Writer) error {
	st, err := s.FindStatementByID(ctx, id)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"statement", "period", "provider_code", "payer_code", "line_id", "encounter_id", "external_id", "line_no",
		"service_date", "service_code", "site_code", "patient_key", "beneficiary_category", "quantity", "line_amount", "basis_points",
		"amount", "flags", "decision", "approved_amount", "reason_code", "note", "diagnoses"})
	for _, l := range st.Lines {
		approved := ""
		if l.ApprovedAmount != nil {
			approved = l.ApprovedAmount.String()
		}
		_ = cw.Write([]string{st.Number, st.Period, st.ProviderCode, st.PayerCode, fmt.Sprint(l.ID), l.EncounterID, csvSafe(l.ExternalID),
			fmt.Sprint(l.LineNo), l.ServiceDate.String(), l.ServiceCode, l.SiteCode, l.PatientKey, l.BeneficiaryCategory,
			l.Quantity.String(), l.LineAmount.String(), fmt.Sprint(l.BasisPoints), l.Amount.String(), strings.Join(l.Flags, ";"),
			str(l.Decision), approved, str(l.ReasonCode), csvSafe(str(l.Note)), strings.Join(l.Diagnoses, ";")})
	}
	cw.Flush()
	return cw.Error()
}

// ExportPDF writes a printable statement: parties, period, number, status, content hash, the
// lines, the totals and a signature block. The statement is read as FindStatementByID reads it;
// it returns its errors (ENOTFOUND), or a failure to render or to write w.
func (s *Service) ExportPDF(ctx context.Context, id string, w io.Writer) error {
	st, err := s.FindStatementByID(ctx, id)
	if err != nil {
		return err
	}
	names := map[string]string{}
	var orgs []struct {
		Code string `db:"code"`
		Name string `db:"name"`
	}
	if err := s.db.SelectContext(ctx, &orgs, `SELECT code, name FROM organizations WHERE code IN ($1, $2)`, st.ProviderCode, st.PayerCode); err != nil {
		return fmt.Errorf("load parties: %w", err)
	}
	for _, o := range orgs {
		names[o.Code] = o.Name
	}
	return writeStatementPDF(st, names, w)
}

// writeStatementPDF renders the statement with the names of its parties (by code).
func writeStatementPDF(st *Statement, names map[string]string, w io.Writer) error {
	p := newStatementPDF(st, names)
	p.parties()
	p.lines()
	p.totals()
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
	pdf   *fpdf.Fpdf
	st    *Statement
	names map[string]string // organisation names by code
}

// newStatementPDF starts the document: fonts, title, page breaks and the footer of each page.
func newStatementPDF(st *Statement, names map[string]string) *statementPDF {
	p := &statementPDF{pdf: fpdf.New("P", "mm", "A4", ""), st: st, names: names}
	p.pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	p.pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	p.pdf.SetTitle(pdfText("Claims statement "+st.Number), true)
	p.pdf.SetAutoPageBreak(true, 15)
	p.pdf.AliasNbPages("{nb}")
	p.pdf.SetFooterFunc(func() {
		p.pdf.SetY(-10)
		p.pdf.SetFont("go", "", 7)
		p.cell(0, 4, fmt.Sprintf("%s · content hash %s · page %d of {nb}", st.Number, str(st.ContentHash), p.pdf.PageNo()), "", 0, "C", false)
	})
	return p
}

// cell writes one cell. Every text goes through pdfText: fpdf panics on a character its font
// cannot map.
func (p *statementPDF) cell(w, h float64, text, border string, ln int, align string, fill bool) {
	p.pdf.CellFormat(w, h, pdfText(text), border, ln, align, fill, 0, "")
}

// parties writes the first page's title and the statement's header: parties, period, status,
// currency and content hash.
func (p *statementPDF) parties() {
	st, pdf := p.st, p.pdf
	pdf.AddPage()
	pdf.SetFont("go", "B", 14)
	p.cell(0, 8, "Claims statement "+st.Number, "", 1, "L", false)
	pdf.SetFont("go", "", 9)
	for _, kv := range [][2]string{
		{"Provider", st.ProviderCode + " — " + p.names[st.ProviderCode]},
		{"Payer", st.PayerCode + " — " + p.names[st.PayerCode]},
		{"Period", st.Period},
		{"Status", st.Status},
		{"Currency", st.Currency},
		{"Content hash", str(st.ContentHash)},
	} {
		pdf.SetFont("go", "B", 9)
		p.cell(30, 5, kv[0], "", 0, "L", false)
		pdf.SetFont("go", "", 9)
		p.cell(0, 5, kv[1], "", 1, "L", false)
	}
	pdf.Ln(3)
}

// pdfColumns are the columns of the table of lines.
var pdfColumns = []struct {
	title string
	width float64
	align string
}{{"Line", 12, "R"}, {"Date", 20, "L"}, {"Record", 30, "L"}, {"Service", 18, "L"}, {"Qty", 12, "R"}, {"Amount", 20, "R"},
	{"Flags", 32, "L"}, {"Decision", 16, "L"}, {"Approved", 20, "R"}}

// columnHeader writes the header row of the table of lines (again on each new page).
func (p *statementPDF) columnHeader() {
	p.pdf.SetFont("go", "B", 8)
	p.pdf.SetFillColor(230, 230, 230)
	for _, c := range pdfColumns {
		p.cell(c.width, 6, c.title, "1", 0, c.align, true)
	}
	p.pdf.Ln(-1)
	p.pdf.SetFont("go", "", 8)
}

// lines writes the table of lines, one row a line.
func (p *statementPDF) lines() {
	p.columnHeader()
	for _, l := range p.st.Lines {
		if p.pdf.GetY() > 270 {
			p.pdf.AddPage()
			p.columnHeader()
		}
		approved := ""
		if l.ApprovedAmount != nil {
			approved = l.ApprovedAmount.String()
		}
		cells := []string{fmt.Sprint(l.ID), l.ServiceDate.String(), l.ExternalID, l.ServiceCode, l.Quantity.String(), l.Amount.String(),
			strings.Join(l.Flags, ", "), str(l.Decision), approved}
		for i, c := range pdfColumns {
			p.cell(c.width, 5, truncate(cells[i], int(c.width/1.6)), "1", 0, c.align, false)
		}
		p.pdf.Ln(-1)
	}
	p.pdf.Ln(4)
}

// totals writes the statement's totals: lines, claimed, approved, rejected, paid, outstanding.
func (p *statementPDF) totals() {
	st := p.st
	approved, rejected := "—", "—"
	if st.Approved != nil {
		approved, rejected = st.Approved.String(), st.Rejected.String()
	}
	p.pdf.SetFont("go", "B", 9)
	for _, kv := range [][2]string{{"Lines", fmt.Sprint(len(st.Lines))}, {"Claimed", st.Claimed.String()}, {"Approved", approved},
		{"Rejected", rejected}, {"Paid", st.Paid.String()}, {"Outstanding", st.Outstanding.String()}} {
		p.cell(40, 5, kv[0], "", 0, "L", false)
		p.cell(30, 5, kv[1]+" "+st.Currency, "", 1, "R", false)
	}
}

// signatures writes the signature block of both parties, on a new page if it does not fit.
func (p *statementPDF) signatures() {
	pdf := p.pdf
	if pdf.GetY() > 240 {
		pdf.AddPage()
	}
	pdf.Ln(12)
	pdf.SetFont("go", "", 9)
	y := pdf.GetY()
	for i, who := range []string{"For the provider: " + p.names[p.st.ProviderCode], "For the payer: " + p.names[p.st.PayerCode]} {
		x := 10 + float64(i)*95
		pdf.SetXY(x, y)
		pdf.MultiCell(85, 5, pdfText(who), "", "L", false)
		pdf.SetXY(x, y+18)
		p.cell(85, 5, "Name, signature and stamp", "T", 0, "L", false)
		pdf.SetXY(x, y+30)
		p.cell(40, 5, "Date", "T", 0, "L", false)
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n || n < 2 {
		return s
	}
	return string(r[:n-1]) + "…"
}
