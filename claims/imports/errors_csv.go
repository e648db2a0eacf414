package imports

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger/claims/encounters"
)

// ErrorColumns are the columns errors.csv puts before the file's own.
var ErrorColumns = []string{"row", "code", "reason"}

// WriteErrorsCSV writes the rejected rows of job id as CSV (UTF-8 with a BOM, as Excel reads
// it): the row's number in the file, the code and the reason, then the file's own columns as
// its header row named them, with the row's cells (the patient_id cell empty: a raw patient id
// is never given back). A row whose cells were not kept has only its first three columns. It
// returns Find's errors (ENOTFOUND) or a failure to write w; reading is audited.
func (s *Service) WriteErrorsCSV(ctx context.Context, id string, w io.Writer) error {
	j, err := s.find(ctx, s.db, id)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(append(append([]string(nil), ErrorColumns...), j.Header...))
	j, err = s.EachError(ctx, id, func(e encounters.ImportError) error {
		rec := []string{strconv.Itoa(e.Row), e.Code, csvCell(e.Message)}
		for _, c := range e.Cells {
			rec = append(rec, csvCell(c))
		}
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	if j.ErrorsTruncated {
		_ = cw.Write([]string{"", "", fmt.Sprintf("not every rejected row is listed here: %d rows were rejected in all", j.Rejected)})
	}
	cw.Flush()
	return cw.Error()
}

// csvCell keeps a spreadsheet from reading a cell as a formula; a number such as -1 stays as
// it is, so that the fixed file imports the same values.
func csvCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := decimal.NewFromString(strings.Replace(s, ",", ".", 1)); err == nil {
		return s
	}
	return "'" + s
}
