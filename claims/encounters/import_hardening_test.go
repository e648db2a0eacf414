package encounters_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/internal/memtest"

	"golang.org/x/text/encoding/charmap"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
)

// stream is a file made of parts, each a string or a reader, read as a stream.
func stream(parts ...any) io.Reader {
	var rs []io.Reader
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			rs = append(rs, strings.NewReader(p))
		case io.Reader:
			rs = append(rs, p)
		}
	}
	return io.MultiReader(rs...)
}

// sampleParts returns the sample's header line and its data lines, each ending in "\n".
func sampleParts(t *testing.T) (string, []string) {
	lines := strings.SplitAfter(sampleCSV(t), "\n")
	return lines[0], lines[1 : len(lines)-1]
}

const (
	// repeatRow is an encounter's row; a file of it repeated is one encounter without end.
	repeatRow = "LIPA-2025-0009,IOM-DZBIH-2024,TRC-LIPA,SFA-2025-00090,irregular_migrant,M,1994,2025-03-03,consultation,J06.9,,,,dr-hadzic,,PZZ-01,1\n"
	mib       = 1 << 20
)

// TestImportRefusesAnEncounterPastItsLineLimit: rows beyond an encounter's 100 lines are
// rejected as they are read (each one counted and reported), the encounter is refused whole,
// the next one is imported, and a file of one encounter repeated 300,000 times (40 MB) does
// not take the memory its rows would.
func TestImportRefusesAnEncounterPastItsLineLimit(t *testing.T) {
	f := newFixture(t)
	head, rows := sampleParts(t)
	res, err := f.Svc.Import(f.Clinic, stream(head, strings.Join(rows[:3], ""), &memtest.Repeated{S: repeatRow, N: encounters.MaxLines + 3}, strings.Join(rows[3:], "")))
	if err != nil {
		t.Fatal(err)
	}
	// Rows 2–4: LIPA-2025-0001 and 0002; rows 5–107 the long encounter; rows 108–112 the rest.
	if res.Accepted != 8 || res.Skipped != 0 || res.Rejected != encounters.MaxLines+3 || len(res.Errors) != encounters.MaxLines+3 {
		t.Fatalf("import = accepted %d, skipped %d, rejected %d, %d errors; want 8 accepted and the %d rows of the long encounter rejected",
			res.Accepted, res.Skipped, res.Rejected, len(res.Errors), encounters.MaxLines+3)
	}
	for i, e := range res.Errors {
		if e.Row != 5+i || e.Code != "invalid" || !strings.Contains(e.Message, "at most 100") {
			t.Fatalf("error %d = %+v", i, e)
		}
	}
	if got := balance(t, f.Journal, "payable:IOM:DZ-BIHAC"); got != "-143.30" {
		t.Errorf("IOM payable = %s, want -143.30 (the sample alone)", got)
	}

	const n = 300_000
	var big *encounters.ImportResult
	grew := memtest.PeakHeap(func() {
		big, err = f.Svc.Import(f.Clinic, stream(head, &memtest.Repeated{S: repeatRow, N: n}))
	})
	if err != nil {
		t.Fatal(err)
	}
	if big.Accepted != 0 || big.Rejected != n || !big.ErrorsTruncated || len(big.Errors) != encounters.MaxImportErrors {
		t.Errorf("import of one encounter in %d rows = accepted %d, rejected %d, truncated %v, %d errors", n, big.Accepted, big.Rejected, big.ErrorsTruncated, len(big.Errors))
	}
	t.Logf("a %d MB file of one encounter: the heap grew by %d MiB", n*len(repeatRow)/1e6, grew/mib)
	if grew > 48*mib {
		t.Errorf("the heap grew by %d MiB importing one encounter repeated %d times; rows past its limit are kept", grew/mib, n)
	}
}

// TestImportCapsACell: a cell longer than 4 KiB rejects its row, named with its column; a
// 50 MB cell is skipped as it streams past, and the rows after it are imported.
func TestImportCapsACell(t *testing.T) {
	f := newFixture(t)
	head, rows := sampleParts(t)
	long := strings.Replace(rows[2], "dr-hadzic", strings.Repeat("ž", encounters.MaxImportCell/2+1), 1) // 4098 bytes
	res, err := f.Svc.Import(f.Clinic, strings.NewReader(head+strings.Join(rows[:3], "")+long+strings.Join(rows[3:], "")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 8 || res.Rejected != 1 || res.Errors[0].Row != 5 || res.Errors[0].Code != "malformed_row" ||
		res.Errors[0].Message != "column practitioner_ref is longer than 4096 characters" {
		t.Errorf("import with a long cell = %+v", res)
	}

	huge := "LIPA-2025-0009,IOM-DZBIH-2024,TRC-LIPA,SFA-2025-00090,irregular_migrant,M,1994,2025-03-03,consultation,J06.9,,,,\""
	chunk := strings.Repeat("x", 64<<10)
	grew := memtest.PeakHeap(func() {
		res, err = f.Svc.Import(f.Clinic, stream(head, huge, &memtest.Repeated{S: chunk, N: 800}, "\",,PZZ-01,1\n", "LIPA-2025-0010"+rows[0][len("LIPA-2025-0001"):]))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a 50 MB cell: the heap grew by %d MiB", grew/mib)
	if grew > 24*mib {
		t.Errorf("the heap grew by %d MiB reading a 50 MB cell", grew/mib)
	}
	if res.Accepted != 1 || res.Rejected != 1 || res.Errors[0].Row != 2 || !strings.Contains(res.Errors[0].Message, "a cell may hold at most 4096 characters") {
		t.Errorf("import with a 50 MB cell = %+v", res)
	}
}

// excel writes the sample as Excel does on a Bosnian, Croatian or Serbian desktop: semicolons,
// dates 03.03.2025 (or 3.3.2025. in every other encounter), decimal commas, CRLF, a cell
// holding a semicolon in quotes.
func excel(t *testing.T, canonical string) string {
	var out strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(canonical, "\n"), "\n") {
		cells := strings.Split(line, ",")
		if i > 0 {
			var y, m, d int
			if _, err := fmt.Sscanf(cells[7], "%d-%d-%d", &y, &m, &d); err != nil {
				t.Fatal(err)
			}
			cells[7] = fmt.Sprintf("%02d.%02d.%d", d, m, y)
			if cells[0][len(cells[0])-1]%2 == 0 {
				cells[7] = fmt.Sprintf("%d.%d.%d.", d, m, y)
			}
			cells[16] = strings.Replace(cells[16], ".", ",", 1)
		}
		for j, c := range cells {
			if strings.Contains(c, ";") {
				cells[j] = `"` + c + `"`
			}
		}
		out.WriteString(strings.Join(cells, ";") + "\r\n")
	}
	return out.String()
}

// TestImportReadsWhatExcelWrites imports the sample as Excel saves it ("CSV" in Windows-1250,
// "CSV UTF-8" with a BOM): everything is posted, and the same file in the API's own format
// (UTF-8, commas, ISO dates) is then skipped as the same content.
func TestImportReadsWhatExcelWrites(t *testing.T) {
	t.Parallel()
	canonical := strings.ReplaceAll(sampleCSV(t), "dr-hadzic", "dr-Hadžić")
	win1250 := func(s string) string {
		b, err := charmap.Windows1250.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	xl := excel(t, canonical)
	header, data, _ := strings.Cut(xl, "\r\n")
	// Excel writes rows of empty cells below a table it once formatted; 64 KiB of them push
	// the first letter that is not ASCII past what is sniffed at the start.
	emptyRows := strings.Repeat(";;;;;;;;;;;;;;;;\r\n", 4000)
	lines := strings.SplitAfter(xl, "\r\n")
	for _, tc := range []struct {
		name, file, charset string
	}{
		{"CSV (Windows-1250)", win1250(xl), ""},
		{"CSV UTF-8 (with a BOM)", "\ufeff" + xl, ""},
		{"CSV (Windows-1250) declared in charset=", win1250(xl), "windows-1250"},
		{"CSV (Windows-1250), its first letter beyond 64 KiB", win1250(header + "\r\n" + emptyRows + data), ""},
		{"sep=; before the header", "sep=;\r\n" + xl, ""},
		{"CSV UTF-8 without a BOM, its first row in Windows-1250", lines[0] + win1250(lines[1]) + strings.Join(lines[2:], ""), ""},
		{"LF and no final line break", strings.TrimSuffix(strings.ReplaceAll(xl, "\r\n", "\n"), "\n"), "utf-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			res, err := f.Svc.ImportFile(f.Clinic, strings.NewReader(tc.file), encounters.ImportOptions{Charset: tc.charset})
			if err != nil {
				t.Fatal(err)
			}
			if res.Accepted != 8 || res.Rejected != 0 {
				t.Fatalf("import = %+v", res)
			}
			if got := balance(t, f.Journal, "payable:IOM:DZ-BIHAC"); got != "-143.30" {
				t.Errorf("IOM payable = %s, want -143.30 (37,5 km read as 37.5)", got)
			}
			res, err = f.Svc.Import(f.Clinic, strings.NewReader(canonical))
			if err != nil {
				t.Fatal(err)
			}
			if res.Skipped != 8 {
				t.Errorf("the same content in UTF-8 with commas and ISO dates = %+v, want all skipped", res)
			}
		})
	}
	t.Run("not CSV", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		_, err := f.Svc.ImportFile(f.Clinic, strings.NewReader(xl), encounters.ImportOptions{Charset: "ebcdic"})
		wantCode(t, err, trcledger.EUNSUPPORTED, "")
		_, err = f.Svc.Import(f.Clinic, strings.NewReader("PK\x03\x04\x14\x00\x06\x00"))
		if e := wantError(t, err, trcledger.EINVALID, ""); len(e.Fields) != 1 || !strings.Contains(e.Fields[0].Message, "Excel workbook") {
			t.Errorf("a workbook: %+v", e.Fields)
		}
	})
}

// TestImportCountsEveryRowOnce: a quote left open, or closed on the next line, or followed by
// text, spoils its own row only; every data row is accepted, skipped or rejected exactly
// once, and the message says what is wrong in words, not in Go's.
func TestImportCountsEveryRowOnce(t *testing.T) {
	t.Parallel()
	head, rows := sampleParts(t)
	with := func(row int, old, new string) string { // the sample with data row `row` (from 2) changed
		r := append([]string(nil), rows...)
		r[row-2] = strings.Replace(r[row-2], old, new, 1)
		return head + strings.Join(r, "")
	}
	for _, tc := range []struct {
		name, file string
		row        int
		message    string
	}{
		{"a quote never closed", with(4, "O26.9;R10.4", `"O26.9;R10.4`), 4, `the quote (") that opens column diagnoses is not closed on this row`},
		{"a quote closed on the next row", strings.Replace(with(4, "O26.9;R10.4", `"O26.9;R10.4`), "\nLIPA-2025-0003,", "\nLIPA-2025-0003\",", 1), 4, "not closed on this row"},
		{"a quote inside a cell", with(9, "dr-hadzic", `dr "hadzic"`), 9, `column practitioner_ref holds a quote (")`},
		{"text after a closing quote", with(9, "dr-hadzic", `"dr"hadzic`), 9, `column practitioner_ref has text after its closing quote`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			res, err := f.Svc.Import(f.Clinic, strings.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if res.Accepted+res.Skipped+res.Rejected != 8 {
				t.Errorf("accepted %d + skipped %d + rejected %d != the 8 data rows", res.Accepted, res.Skipped, res.Rejected)
			}
			if len(res.Errors) == 0 || res.Errors[0].Row != tc.row || res.Errors[0].Code != "malformed_row" || !strings.Contains(res.Errors[0].Message, tc.message) {
				t.Fatalf("errors = %+v, want row %d: %s", res.Errors, tc.row, tc.message)
			}
			for _, e := range res.Errors {
				if strings.Contains(e.Message, "quoted-field") || strings.Contains(e.Message, "parse error") {
					t.Errorf("a message in Go's words: %+v", e)
				}
			}
		})
	}
}
