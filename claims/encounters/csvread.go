package encounters

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/trcledger/trcledger"
)

// Limits of the text of one import file, so that no row can take much memory.
const (
	// MaxImportCell is the longest cell of an import file, in bytes of UTF-8 text.
	MaxImportCell = 4 << 10
	// maxImportLine is the longest row, line break included; a longer one is skipped unread.
	maxImportLine = 64 << 10
)

// Character sets an import file may be written in.
const (
	charsetUTF8 = iota
	charsetWindows1250
	charsetISO88592
)

// legacyText maps the upper half of Windows-1250 and ISO-8859-2 to UTF-8.
var legacyText = func() (t [3][128]string) {
	for i := range 128 {
		t[charsetWindows1250][i] = string(charmap.Windows1250.DecodeByte(byte(0x80 + i)))
		t[charsetISO88592][i] = string(charmap.ISO8859_2.DecodeByte(byte(0x80 + i)))
	}
	return t
}()

// charsetOf reads a declared charset (the charset= of a Content-Type); "" means detect it.
func charsetOf(name string) (cs int, declared bool, err error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "":
		return charsetUTF8, false, nil
	case "utf-8", "utf8", "us-ascii":
		return charsetUTF8, true, nil
	case "windows-1250", "cp1250", "x-cp1250":
		return charsetWindows1250, true, nil
	case "iso-8859-2", "iso8859-2", "latin2", "iso_8859-2":
		return charsetISO88592, true, nil
	}
	return 0, false, trcledger.Errorf(trcledger.EUNSUPPORTED,
		"the import reads text in UTF-8 or Windows-1250 (charset=utf-8 or charset=windows-1250), not %q; or leave charset out and it is detected",
		strings.ToValidUTF8(name, "?"))
}

// csvReader reads an import file one line at a time. A line break always ends a row (no
// column of the import needs one inside a cell), so a quote left open spoils its own row
// only, and a row's number is its line number, as a spreadsheet shows it. Cells are separated
// by the delimiter the header row uses; a line is UTF-8 text or, when it is not valid UTF-8
// (or the client said so), Windows-1250.
type csvReader struct {
	br       *bufio.Reader
	comma    byte
	charset  int
	declared bool     // the charset was declared or a BOM said UTF-8: no detection per line
	line     int      // the number of the last line read
	cols     []string // the header's names, for messages
	decoded  []byte
	rec      []byte
	ends     []int
	fields   []string
	last     []string // the cells of the row next returned last (nil for a row it could not split)
}

// newCSVReader looks at the start of the file: a BOM, or a file that is no CSV at all (a
// workbook, UTF-16 text).
func newCSVReader(r io.Reader, charset string) (*csvReader, error) {
	cs, declared, err := charsetOf(charset)
	if err != nil {
		return nil, err
	}
	cr := &csvReader{br: bufio.NewReaderSize(r, maxImportLine), comma: ',', charset: cs, declared: declared}
	head, _ := cr.br.Peek(4) // errors come back on the first read
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		_, _ = cr.br.Discard(3)
		cr.charset, cr.declared = charsetUTF8, true
	case bytes.HasPrefix(head, []byte("\xff\xfe")) || bytes.HasPrefix(head, []byte("\xfe\xff")):
		return nil, (&trcledger.Fields{}).AddErr("file", `the file is UTF-16 text (Excel's "Unicode Text"); in Excel choose Save As, "CSV UTF-8 (Comma delimited)" or "CSV (Comma delimited)", and upload that file`)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0")):
		return nil, (&trcledger.Fields{}).AddErr("file", `the file is an Excel workbook, not CSV; in Excel choose Save As, "CSV UTF-8 (Comma delimited)" or "CSV (Comma delimited)", and upload that file`)
	}
	return cr, nil
}

// readError is a failure to read the request body (cut off, not what its Content-Type says).
type readError struct{ err error }

func (e *readError) Error() string { return "read import: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// readLine returns the next line without its line break, decoded to UTF-8, or a problem when
// the line is too long to read; io.EOF at the end.
func (r *csvReader) readLine() ([]byte, string, error) {
	b, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.line++
		for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of the line unread
			_, err = r.br.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, "", &readError{err}
		}
		return nil, fmt.Sprintf("the row is longer than %d KiB (a cell may hold at most %d characters); it was not read",
			maxImportLine>>10, MaxImportCell), nil
	}
	if err != nil && (!errors.Is(err, io.EOF) || len(b) == 0) {
		if errors.Is(err, io.EOF) {
			return nil, "", io.EOF
		}
		return nil, "", &readError{err}
	}
	r.line++
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	return r.decode(b), "", nil
}

// decode returns b as UTF-8. Unless the charset was declared, each line is looked at on its
// own: valid UTF-8 is taken as it is, anything else is Windows-1250 (what Excel's "CSV" writes
// on a Bosnian, Croatian or Serbian Windows). A Windows-1250 line is valid UTF-8 only if each
// of its letters outside ASCII is a capital such as Č followed by š, ž or a dash, which these
// languages do not write; and one damaged line of a UTF-8 file leaves the others as they are.
func (r *csvReader) decode(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	if i == len(b) {
		return b
	}
	cs := r.charset
	if cs == charsetUTF8 {
		if r.declared || utf8.Valid(b[i:]) {
			return b // declared UTF-8 that is not: cleanRecord rejects the row
		}
		cs = charsetWindows1250
	}
	table := &legacyText[cs]
	out := append(r.decoded[:0], b[:i]...)
	for _, c := range b[i:] {
		if c < utf8.RuneSelf {
			out = append(out, c)
		} else {
			out = append(out, table[c-0x80]...)
		}
	}
	r.decoded = out
	return out
}

// next returns the next row that is not blank (an empty line, or only delimiters and
// spaces, as Excel writes below a table), with its line number, or a problem a clinic can act
// on when the row cannot be read; io.EOF at the end.
func (r *csvReader) next() (row int, rec []string, problem string, err error) {
	for {
		line, problem, err := r.readLine()
		r.last = nil
		if err != nil || problem != "" {
			return r.line, nil, problem, err
		}
		rec, problem := r.split(line)
		r.last = rec
		if problem != "" || !blank(rec) {
			return r.line, rec, problem, nil
		}
	}
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// split cuts a line into cells. A cell in quotes may hold the delimiter and quotes written
// twice (""); a cell that does not start with a quote may hold none (Excel never writes one,
// and it is most often what is left of a row a quote broke).
func (r *csvReader) split(line []byte) ([]string, string) {
	r.rec, r.ends = r.rec[:0], r.ends[:0]
	i := 0
	for col := 0; ; col++ {
		start := len(r.rec)
		if i < len(line) && line[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(line[i:], '"')
				if j < 0 {
					return nil, fmt.Sprintf("the quote (\") that opens %s is not closed on this row; a cell cannot hold a line break, and a quote inside a cell is written twice (\"\")", r.column(col))
				}
				r.rec = append(r.rec, line[i:i+j]...)
				i += j + 1
				if i < len(line) && line[i] == '"' {
					r.rec = append(r.rec, '"')
					i++
					continue
				}
				break
			}
			if i < len(line) && line[i] != r.comma {
				return nil, fmt.Sprintf("%s has text after its closing quote (\"); a quote inside a cell is written twice (\"\")", r.column(col))
			}
		} else {
			j := bytes.IndexByte(line[i:], r.comma)
			if j < 0 {
				j = len(line) - i
			}
			if bytes.IndexByte(line[i:i+j], '"') >= 0 {
				return nil, fmt.Sprintf("%s holds a quote (\") but does not start with one; put the cell in quotes and write the quote inside it twice (\"\")", r.column(col))
			}
			r.rec = append(r.rec, line[i:i+j]...)
			i += j
		}
		if len(r.rec)-start > MaxImportCell {
			return nil, fmt.Sprintf("%s is longer than %d characters", r.column(col), MaxImportCell)
		}
		r.ends = append(r.ends, len(r.rec))
		if i >= len(line) {
			break
		}
		i++ // the delimiter
	}
	s := string(r.rec)
	r.fields = r.fields[:0]
	prev := 0
	for _, end := range r.ends {
		r.fields = append(r.fields, s[prev:end])
		prev = end
	}
	return r.fields, ""
}

// column names the col-th column (from 0) for a message.
func (r *csvReader) column(col int) string {
	if col < len(r.cols) && r.cols[col] != "" {
		return "column " + r.cols[col]
	}
	return fmt.Sprintf("column %d", col+1)
}

// delimiters an import file may use; the one that makes the header row name the most known
// columns wins, the first on a tie.
var delimiters = []byte{',', ';', '\t'}

// header reads the first row that is not blank, chooses the delimiter by it (unless a line
// sep=X before it names one) and returns its cells.
func (r *csvReader) header() ([]string, error) {
	var line []byte
	sep := byte(0)
	for {
		l, problem, err := r.readLine()
		if errors.Is(err, io.EOF) {
			return nil, (&trcledger.Fields{}).AddErr("file", "the file is empty; the first row must name the columns")
		}
		if err != nil {
			return nil, err
		}
		if problem != "" {
			return nil, (&trcledger.Fields{}).AddErr("header", "the first row must name the columns: %s", problem)
		}
		if len(l) == 5 && sep == 0 && bytes.HasPrefix(bytes.ToLower(l), []byte("sep=")) {
			sep = l[4] // the line Excel reads as "the delimiter is": sep=;
			continue
		}
		if len(bytes.TrimSpace(l)) > 0 {
			line = l
			break
		}
	}
	if sep != 0 {
		r.comma = sep
		cells, problem := r.split(line)
		if problem != "" {
			return nil, (&trcledger.Fields{}).AddErr("header", "the first row must name the columns: %s", problem)
		}
		return append([]string(nil), cells...), nil
	}
	best, bestKnown := delimiters[0], 0
	for _, d := range delimiters {
		r.comma = d
		cells, _ := r.split(line)
		known := 0
		for _, c := range cells {
			if isImportColumn(c) {
				known++
			}
		}
		if known > bestKnown {
			best, bestKnown = d, known
		}
	}
	r.comma = best
	cells, problem := r.split(line)
	if problem != "" {
		return nil, (&trcledger.Fields{}).AddErr("header", "the first row must name the columns: %s", problem)
	}
	return append([]string(nil), cells...), nil
}

func isImportColumn(c string) bool {
	c = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(c, "\ufeff")))
	for _, k := range ImportColumns {
		if c == k {
			return true
		}
	}
	return false
}
