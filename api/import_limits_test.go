package api_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/api"
)

// TestImportBeyondItsLimitIs413: a body longer than the import's limit is not cut silently.
// The limit falls inside row 7 (quantity 37.5 would be read as 37): the answer is 413 naming
// row 7; rows 2-4 are imported, rows 5-6 (an encounter that might go on in row 7) and later
// are not. Sending the rows from row 5 on as another file imports them, and rows 2-4 sent
// again are skipped.
func TestImportBeyondItsLimitIs413(t *testing.T) {
	t.Parallel()
	sample := sampleFile(t)
	header, _, _ := strings.Cut(sample, "\n")
	lines := strings.SplitAfter(sample, "\n") // lines[i] is row i+1
	cut := len(strings.Join(lines[:6], "")) + strings.Index(lines[6], "37.5") + len("37")
	rest := header + "\n" + strings.Join(lines[4:], "")
	for _, multipart := range []bool{false, true} {
		t.Run(map[bool]string{false: "text/csv", true: "multipart/form-data"}[multipart], func(t *testing.T) {
			t.Parallel()
			contentType, body, limit := "text/csv", bytes.NewBufferString(sample), int64(cut)
			if multipart {
				contentType, body = form(t, nil, [4]string{"file", "march.csv", "text/csv", sample})
				limit += int64(bytes.Index(body.Bytes(), []byte(sample)))
			}
			e := newEnv(t, func(c *api.Config) { c.ImportLimit = limit })
			r := e.upload(contentType, body)
			r.isProblem(t, 413)
			d, _ := r.json["detail"].(string)
			for _, want := range []string{"read up to row 7", "Rows before row 5 were imported", "rows 5 to 6 are of an encounter", "from row 5 on as another file", "already imported are skipped"} {
				if !strings.Contains(d, want) {
					t.Errorf("413 detail lacks %q: %s", want, d)
				}
			}
			if r := e.upload("text/csv", strings.NewReader(rest)); r.status != 200 || r.json["accepted"] != 5.0 || r.json["rejected"] != 0.0 {
				t.Errorf("the rest of the file: %d %s", r.status, r.raw)
			}
			if r := e.upload("text/csv", strings.NewReader(strings.Join(lines[:4], ""))); r.status != 200 || r.json["skipped"] != 3.0 {
				t.Errorf("rows 2-4 again: %d %s, want all skipped (imported before the 413, as they are)", r.status, r.raw)
			}
		})
	}
}

// TestImportRefusesAPartOfUnreadableType: a file part whose Content-Type cannot be parsed is
// 415, like any type that is not CSV; a part without a Content-Type is still read as CSV.
func TestImportRefusesAPartOfUnreadableType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, ct := range []string{"@@@", "text/csv; charset", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; x=\"y"} {
		contentType, body := form(t, nil, [4]string{"file", "march.csv", ct, sampleFile(t)})
		r := e.upload(contentType, body)
		r.isProblem(t, 415)
		if d, _ := r.json["detail"].(string); !strings.Contains(d, "text/csv") {
			t.Errorf("part of type %q: %s", ct, r.raw)
		}
	}
	contentType, body := form(t, nil, [4]string{"file", "march.csv", "", sampleFile(t)})
	if r := e.upload(contentType, body); r.status != 200 || r.json["accepted"] != 8.0 {
		t.Errorf("a part without a Content-Type: %d %s", r.status, r.raw)
	}
}
