package statements

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/locale"
)

// pdfToText extracts the text of a PDF with poppler's pdftotext (Debian's poppler-utils, which
// .ci/run installs): skipped without it on a developer's machine, failed when CI is set. No-break
// spaces read as spaces.
func pdfToText(t *testing.T, pdf []byte, layout bool) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftotext not found; CI must install Debian's poppler-utils (.ci/run does)")
		}
		t.Skip("pdftotext not found (apt-get install poppler-utils)")
	}
	args := []string{"-enc", "UTF-8"}
	if layout {
		args = append(args, "-layout")
	}
	cmd := exec.Command(bin, append(args, "-", "-")...)
	cmd.Stdin = bytes.NewReader(pdf)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pdftotext: %v: %s", err, stderr.String())
	}
	return strings.ReplaceAll(out.String(), "\u00a0", " ")
}

// watermarkPixels renders the first page in grey at 30 dpi with poppler's pdftoppm and counts
// the light grey pixels (the watermark's colour) in the middle of the page, below the short
// sample's text.
func watermarkPixels(t *testing.T, pdf []byte) int {
	t.Helper()
	bin, err := exec.LookPath("pdftoppm")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftoppm not found; CI must install Debian's poppler-utils (.ci/run does)")
		}
		t.Skip("pdftoppm not found (apt-get install poppler-utils)")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "page.pdf"), filepath.Join(dir, "page")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(bin, "-r", "30", "-gray", "-png", "-singlefile", "-f", "1", "-l", "1", in, out).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, msg)
	}
	raw, err := os.ReadFile(out + ".png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("decode the rendered page: %v", err)
	}
	b := img.Bounds()
	n := 0
	for y := b.Min.Y + b.Dy()*62/100; y < b.Min.Y+b.Dy()*88/100; y++ {
		for x := b.Min.X + b.Dx()*25/100; x < b.Min.X+b.Dx()*75/100; x++ {
			if g := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y; g > 200 && g < 240 {
				n++
			}
		}
	}
	return n
}

// artifactDir is where the rendered statements go for a person to look at: $TEST_ARTIFACTS, else
// var/test-artifacts at the repository's root.
func artifactDir() string {
	if d := os.Getenv("TEST_ARTIFACTS"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "var", "test-artifacts")
}

// sampleStatement is a reviewed statement of three lines: one approved, one rejected as a
// duplicate with a note, one adjusted for a tariff error, the second flagged.
func sampleStatement(status string) *Statement {
	amt := func(s string) trcledger.Amount { return trcledger.NewAmount(decimal.RequireFromString(s)) }
	ptr := func(s string) *string { return &s }
	amount := func(s string) *trcledger.Amount { a := amt(s); return &a }
	hash := "9f2c4e7a1b3d5f6e8a0c2e4f6a8b0d1e3f5a7c9e1b3d5f7a9c1e3f5a7b9d1f3e"
	st := &Statement{Number: "ST-2025-03-DZBIHAC-ZZOUSK", ProviderCode: "DZ-BIHAC", PayerCode: "ZZO-USK", Period: "2025-03",
		Status: status, Currency: "BAM", Claimed: amt("1334.56"), Paid: amt("0"), Outstanding: amt("1334.56"), ContentHash: &hash,
		Lines: []StatementLine{
			{ID: 901, ExternalID: "LIPA-0001", ServiceCode: "BOL-01", ServiceDate: trcledger.NewDate(2025, time.March, 15),
				Quantity: decimal.NewFromInt(1), Amount: amt("1234.56")},
			{ID: 902, ExternalID: "LIPA-0002", ServiceCode: "PZZ-01", ServiceDate: trcledger.NewDate(2025, time.March, 16),
				Quantity: decimal.NewFromInt(1), Amount: amt("20.00"), Flags: pq.StringArray{"duplicate"}},
			{ID: 903, ExternalID: "LIPA-0003", ServiceCode: "TRN-01", ServiceDate: trcledger.NewDate(2025, time.March, 17),
				Quantity: decimal.RequireFromString("44.5"), Amount: amt("80.00")},
		}}
	if status == StatusReviewed {
		st.Approved, st.Rejected, st.Outstanding = amount("1294.56"), amount("40.00"), amt("1294.56")
		st.Lines[0].Decision, st.Lines[0].ApprovedAmount = ptr("approve"), amount("1234.56")
		st.Lines[1].Decision, st.Lines[1].ApprovedAmount, st.Lines[1].ReasonCode, st.Lines[1].Note =
			ptr("reject"), amount("0.00"), ptr("duplicate"), ptr("same visit as LIPA-0001")
		st.Lines[2].Decision, st.Lines[2].ApprovedAmount, st.Lines[2].ReasonCode, st.Lines[2].Note =
			ptr("adjust"), amount("60.00"), ptr("tariff_error"), ptr("Bihać–Lipa is 33 km")
	}
	if status == StatusDraft {
		st.ContentHash = nil
	}
	return st
}

func samplePDF(t *testing.T, st *Statement, loc string) []byte {
	t.Helper()
	var buf bytes.Buffer
	d := pdfDoc{st: st, locale: loc, place: "Bihać", issued: trcledger.NewDate(2025, time.April, 2),
		names:    map[string]string{"DZ-BIHAC": "JU Dom zdravlja Bihać", "ZZO-USK": "Zavod zdravstvenog osiguranja Unsko-sanskog kantona"},
		services: map[string]string{"BOL-01": "Hospital case", "PZZ-01": "GP consultation", "TRN-01": "Ambulance per km"}}
	if err := writeStatementPDF(d, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPDFInTheReadersLanguage prints a reviewed statement and its draft in each locale and reads
// the text back: the headings, totals, dates and reasons in the locale's words and formats, the
// lines numbered 1…n with their services, and the draft watermark only on the draft.
func TestPDFInTheReadersLanguage(t *testing.T) {
	for _, c := range []struct {
		loc, title, claimed, date, reason, adjusted, quantity, place, watermark, status string
	}{
		{"bs", "Izvještaj o potraživanjima ST-2025-03-DZBIHAC-ZZOUSK", "Potraživano 1.334,56 KM", "15.03.2025.",
			"Razlog: Dupla stavka — same visit as LIPA-0001", "Razlog: Greška u tarifi — Bihać–Lipa is 33 km", "44,5",
			"Mjesto i datum izdavanja: Bihać, 02.04.2025.", "NACRT", "Pregledan"},
		{"hr", "Izvješće o potraživanjima ST-2025-03-DZBIHAC-ZZOUSK", "Potraživano 1.334,56 KM", "15.03.2025.",
			"Razlog: Dvostruka stavka — same visit as LIPA-0001", "Razlog: Pogreška u tarifi — Bihać–Lipa is 33 km", "44,5",
			"Mjesto i datum izdavanja: Bihać, 02.04.2025.", "NACRT", "Pregledan"},
		{"sr-Latn", "Izveštaj o potraživanjima ST-2025-03-DZBIHAC-ZZOUSK", "Potraživano 1.334,56 KM", "15.03.2025.",
			"Razlog: Dupla stavka — same visit as LIPA-0001", "Razlog: Greška u tarifi — Bihać–Lipa is 33 km", "44,5",
			"Mesto i datum izdavanja: Bihać, 02.04.2025.", "NACRT", "Pregledan"},
		{"sr-Cyrl", "Извештај о потраживањима ST-2025-03-DZBIHAC-ZZOUSK", "Потраживано 1.334,56 КМ", "15.03.2025.",
			"Разлог: Дупла ставка — same visit as LIPA-0001", "Разлог: Грешка у тарифи — Bihać–Lipa is 33 km", "44,5",
			"Место и датум издавања: Bihać, 02.04.2025.", "НАЦРТ", "Прегледан"},
		{"en", "Claims statement ST-2025-03-DZBIHAC-ZZOUSK", "Claimed 1,334.56 KM", "2025-03-15",
			"Reason: Duplicate — same visit as LIPA-0001", "Reason: Tariff error — Bihać–Lipa is 33 km", "44.5",
			"Place and date of issue: Bihać, 2025-04-02", "DRAFT", "Reviewed"},
	} {
		t.Run(c.loc, func(t *testing.T) {
			reviewed := samplePDF(t, sampleStatement(StatusReviewed), c.loc)
			draft := samplePDF(t, sampleStatement(StatusDraft), c.loc)
			if dir := artifactDir(); os.MkdirAll(dir, 0o755) == nil {
				_ = os.WriteFile(filepath.Join(dir, "statement-"+c.loc+".pdf"), reviewed, 0o644)
				_ = os.WriteFile(filepath.Join(dir, "statement-draft-"+c.loc+".pdf"), draft, 0o644)
			}
			text := pdfToText(t, reviewed, true)
			flat := strings.Join(strings.Fields(text), " ") // one space between words, lines joined
			for _, want := range []string{c.title, c.claimed, c.date, c.reason, c.adjusted, c.place, c.status,
				"BOL-01 Hospital case", "PZZ-01 GP consultation", "TRN-01 Ambulance per km", "JU Dom zdravlja Bihać"} {
				if !strings.Contains(flat, want) {
					t.Errorf("the PDF lacks %q:\n%s", want, text)
				}
			}
			money := locale.Money(c.loc, decimal.RequireFromString("1294.56"), "BAM")
			if !strings.Contains(flat, strings.ReplaceAll(money, "\u00a0", " ")) {
				t.Errorf("the PDF lacks the approved total %q", money)
			}
			// The lines in order, numbered 1…n, each with its date, record and service.
			layout := text
			var nums []string
			row := regexp.MustCompile(`(?m)^\s*(\d+)\.\s+(\S+)\s+(LIPA-\d+)\s+([A-Z]{3}-\d\d)`)
			for _, m := range row.FindAllStringSubmatch(layout, -1) {
				nums = append(nums, m[1]+" "+m[3]+" "+m[4])
				if m[1] == "1" && m[2] != c.date {
					t.Errorf("line 1 dated %q, want %q", m[2], c.date)
				}
			}
			if want := []string{"1 LIPA-0001 BOL-01", "2 LIPA-0002 PZZ-01", "3 LIPA-0003 TRN-01"}; !slices.Equal(nums, want) {
				t.Errorf("numbered lines %q, want %q:\n%s", nums, want, layout)
			}
			if strings.Contains(text, c.watermark) {
				t.Errorf("a reviewed statement carries the draft watermark %q", c.watermark)
			}
			if dt := pdfToText(t, draft, false); !strings.Contains(dt, c.watermark) {
				t.Errorf("the draft lacks the notice %q:\n%s", c.watermark, dt)
			}
			// The diagonal watermark itself: light grey across the empty middle of the page.
			if n := watermarkPixels(t, draft); n < 100 {
				t.Errorf("the draft's page shows %d watermark pixels", n)
			}
			if n := watermarkPixels(t, reviewed); n != 0 {
				t.Errorf("the reviewed statement's page shows %d watermark pixels", n)
			}
		})
	}
}

// TestPDFLabelsComplete: every locale names everything English does, with the same fmt verbs,
// and the fonts can draw every letter of every label (a missing glyph would print as "?").
func TestPDFLabelsComplete(t *testing.T) {
	verbs := regexp.MustCompile(`%(\[\d+\])?[a-z%]`)
	glyphs := pdfGlyphs()
	for _, loc := range PDFLocales {
		labels := pdfLabels[loc]
		if labels == nil {
			t.Errorf("no labels for %s", loc)
			continue
		}
		for _, k := range pdfLabelKeys() {
			v, ok := labels[k]
			if !ok {
				t.Errorf("%s lacks %q", loc, k)
				continue
			}
			if got, want := verbs.FindAllString(v, -1), verbs.FindAllString(pdfEN[k], -1); len(got) != len(want) {
				t.Errorf("%s %q = %q: verbs %q, English has %q", loc, k, v, got, want)
			}
			for _, r := range v {
				if r > 0xFFFF || !glyphs[r] {
					t.Errorf("%s %q: the fonts have no glyph for %q", loc, k, r)
				}
			}
		}
		if len(labels) != len(pdfEN) {
			t.Errorf("%s has %d labels, English %d", loc, len(labels), len(pdfEN))
		}
	}
	for _, group := range []struct {
		prefix string
		values []string
	}{{"status.", StatementStatuses}, {"decision.", Decisions}, {"reason.", ReasonCodes}, {"flag.", LineFlags}} {
		for _, v := range group.values {
			if _, ok := pdfEN[group.prefix+v]; !ok {
				t.Errorf("no label %s%s", group.prefix, v)
			}
		}
	}
	for m := 1; m <= 12; m++ {
		if _, ok := pdfEN[fmt.Sprintf("month.%d", m)]; !ok {
			t.Errorf("no label month.%d", m)
		}
	}
}

// TestPDFManyLinesNumbered: a statement longer than a page keeps numbering across pages and
// repeats the column header; its footer counts the pages.
func TestPDFManyLinesNumbered(t *testing.T) {
	st := sampleStatement(StatusSubmitted)
	base := st.Lines[0]
	st.Lines = nil
	for i := range 120 {
		l := base
		l.ExternalID = fmt.Sprintf("LIPA-%04d", i+1)
		st.Lines = append(st.Lines, l)
	}
	layout := pdfToText(t, samplePDF(t, st, "bs"), true)
	row := regexp.MustCompile(`(?m)^\s*(\d+)\.\s+15\.03\.2025\.\s+LIPA-(\d{4})`)
	ms := row.FindAllStringSubmatch(layout, -1)
	if len(ms) != 120 {
		t.Fatalf("found %d numbered lines, want 120", len(ms))
	}
	for i, m := range ms {
		if m[1] != fmt.Sprint(i+1) || m[2] != fmt.Sprintf("%04d", i+1) {
			t.Fatalf("row %d reads %q", i+1, m[0])
		}
	}
	pages := strings.Count(layout, "\f")
	if pages < 3 || strings.Count(layout, "R. br.") != pages {
		t.Errorf("%d pages, %d column headers", pages, strings.Count(layout, "R. br."))
	}
	if !strings.Contains(layout, fmt.Sprintf("stranica %d od %d", pages, pages)) {
		t.Errorf("no footer counting %d pages", pages)
	}
}
