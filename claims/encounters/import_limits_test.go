package encounters_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/internal/memtest"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
)

// shortRows streams encounters of lines rows each, every cell short (all 17 columns).
type shortRows struct {
	encounters, lines int
	i                 int
	buf               []byte
}

func (r *shortRows) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.i >= r.encounters*r.lines {
			return 0, io.EOF
		}
		r.buf = fmt.Appendf(r.buf[:0], "E%d,C,S,P,u,,,1.3.2025,k,,,,,,,X,x\n", r.i/r.lines)
		r.i++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// TestImportChunkCountsItsRows: a file of 2000 encounters of 100 short rows each (4.6 MB)
// is held a chunk at a time, and a chunk is counted by what its rows take in memory, not by
// the text of their cells alone: the heap grows by a few MiB, not by the 241 MiB one chunk of
// 200,000 rows took as maps.
func TestImportChunkCountsItsRows(t *testing.T) {
	f := newFixture(t)
	head := strings.Join(encounters.ImportColumns, ",") + "\n"
	var res *encounters.ImportResult
	var err error
	grew := memtest.PeakHeap(func() {
		res, err = f.Svc.Import(f.Clinic, stream(head, &shortRows{encounters: 2000, lines: encounters.MaxLines}))
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 0 || res.Rejected != 2000*encounters.MaxLines || !res.ErrorsTruncated {
		t.Errorf("import = accepted %d, rejected %d, truncated %v", res.Accepted, res.Rejected, res.ErrorsTruncated)
	}
	t.Logf("2000 encounters of %d short rows: the heap grew by %d MiB", encounters.MaxLines, grew/mib)
	if grew > 64*mib {
		t.Errorf("the heap grew by %d MiB importing 200,000 short rows", grew/mib)
	}
}

// TestImportRejectsABlankExternalID: a row without an external_id is rejected on its own,
// once, saying so; it does not join the rows around it into one "encounter ".
func TestImportRejectsABlankExternalID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	head, rows := sampleParts(t)
	blank := func(row string) string { return row[strings.IndexByte(row, ','):] }
	// Rows 2-4 the first three of the sample; rows 5-6 two rows without an external_id (one
	// of another patient); row 7 one more, then the rest of the sample.
	file := head + strings.Join(rows[:3], "") + blank(rows[3]) + blank(rows[0]) +
		strings.Repeat(blank(rows[3]), 1) + strings.Join(rows[3:], "")
	res, err := f.Svc.Import(f.Clinic, strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 8 || res.Rejected != 3 || len(res.Errors) != 3 {
		t.Fatalf("import = %+v, want the 8 sample rows accepted and the 3 blank ones rejected", res)
	}
	for i, e := range res.Errors {
		if e.Row != 5+i || e.Code != "invalid" || !strings.Contains(e.Message, "external_id is required") {
			t.Errorf("error %d = %+v, want row %d: external_id is required", i, e, 5+i)
		}
	}
}

// TestImportStalePricingSaysWhatWasImported: an encounter whose contract keeps changing while
// it is priced stops the import with a 503 that says which rows were imported and that the
// file is sent again as it is (an import takes no Idempotency-Key).
func TestImportStalePricingSaysWhatWasImported(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.Svc.SetImportChunk(1)
	f.Svc.StaleImportPricing("LIPA-2025-0003") // rows 5-6 of the sample
	_, err := f.Svc.Import(f.Clinic, strings.NewReader(sampleCSV(t)))
	e := wantError(t, err, trcledger.EUNAVAILABLE, "")
	if !strings.Contains(e.Message, "rows before row 5 were imported") || !strings.Contains(e.Message, "send the whole file again") ||
		strings.Contains(e.Message, "Idempotency-Key") || strings.Contains(e.Message, "nothing was written") {
		t.Errorf("503 = %q", e.Message)
	}
}
