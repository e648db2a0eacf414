package encounters_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/trcledger/trcledger"
)

func sampleCSV(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/encounters.csv")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestImportThenImportAgain(t *testing.T) {
	t.Parallel()
	for _, chunk := range []int{0, 2} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if chunk > 0 {
				f.Svc.SetImportChunk(chunk) // the reader prices a chunk while another is stored
			}
			importThenImportAgain(t, f)
		})
	}
}

func importThenImportAgain(t *testing.T, f *fixture) {
	csv := sampleCSV(t)
	res, err := f.Svc.Import(f.Clinic, strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 8 || res.Skipped != 0 || res.Rejected != 0 {
		t.Fatalf("first import = %+v", res)
	}
	// LIPA-2025-0001 at 2025-03-03 (60/40): PZZ-01 20.00 -> ZZO 12.00 / IOM 8.00, LAB-01 12.00 IOM.
	// LIPA-2025-0002 asylum seeker: PZZ-01 all ZZO 20.00. 0003 emergency 35.00 IOM + PZZ-04 2 × 10
	// at 60/40 = 12.00 / 8.00. 0004 transport 37.5 km × 1.80 = 67.50 IOM. 0005 PZZ-02 12.00 at
	// 60/40 = 7.20 / 4.80. 0006 PZZ-01 12.00 / 8.00. ZZO: 63.20, IOM: 143.30 (206.50 in all).
	if got := balance(t, f.Journal, "payable:ZZO-USK:DZ-BIHAC"); got != "-63.20" {
		t.Errorf("ZZO-USK payable = %s, want -63.20", got)
	}
	if got := balance(t, f.Journal, "payable:IOM:DZ-BIHAC"); got != "-143.30" {
		t.Errorf("IOM payable = %s, want -143.30", got)
	}
	res, err = f.Svc.Import(f.Clinic, strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 0 || res.Skipped != 8 || res.Rejected != 0 {
		t.Errorf("second import = %+v", res)
	}
	// A fixed spreadsheet: one row changed, one bad row added; the rest is skipped.
	changed := strings.Replace(csv, "TRN-01,37.5", "TRN-01,40", 1) +
		"LIPA-2025-0007,IOM-DZBIH-2024,TRC-LIPA,SFA-2025-00060,irregular_migrant,F,2003,2025-02-30,consultation,J06.9,,,,,,PZZ-01,1\n" +
		"LIPA-2025-0008,IOM-DZBIH-2024,TRC-LIPA,SFA-2025-00061,irregular_migrant,F,2003,2025-03-08,consultation,J06.9,,,,,,PZZ-01,1\n" +
		"too,few,fields\n"
	res, err = f.Svc.Import(f.Clinic, strings.NewReader(changed))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || res.Skipped != 7 || res.Rejected != 3 {
		t.Fatalf("third import = %+v", res)
	}
	codes := map[int]string{}
	for i, e := range res.Errors {
		codes[e.Row] = e.Code
		if i > 0 && res.Errors[i-1].Row >= e.Row {
			t.Errorf("errors out of row order: %+v", res.Errors)
		}
	}
	if codes[7] != "duplicate_external_id" || codes[10] != "invalid" || codes[12] != "malformed_row" {
		t.Errorf("errors = %+v", res.Errors)
	}
}

func TestImportRefusesABadHeader(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, body := range []string{"", "external_id,colour\nX,red\n", "external_id,external_id\n"} {
		_, err := f.Svc.Import(f.Clinic, strings.NewReader(body))
		wantCode(t, err, trcledger.EINVALID, "")
	}
}

// TestImportRepeatsAnExternalIDFurtherDown imports a file in which the first encounter comes
// back after the others, the same or changed, with chunks small enough that the two copies are
// in neighbouring chunks (stored two at a time) or farther apart. The first copy is posted; the
// later one is skipped when it is the same and refused when it is not, every time.
func TestImportRepeatsAnExternalIDFurtherDown(t *testing.T) {
	t.Parallel()
	for _, chunk := range []int{1, 2, 5} {
		for _, changed := range []bool{false, true} {
			t.Run(fmt.Sprintf("chunk=%d changed=%v", chunk, changed), func(t *testing.T) {
				t.Parallel()
				for run := 0; run < 3; run++ {
					f := newFixture(t)
					f.Svc.SetImportChunk(chunk)
					lines := strings.Split(strings.TrimRight(sampleCSV(t), "\n"), "\n")
					first, second := lines[1], lines[2] // LIPA-2025-0001: PZZ-01 and LAB-01 × 2
					if changed {
						second = strings.Replace(second, "LAB-01,2", "LAB-01,3", 1)
					}
					again := strings.Join(append(lines, first, second), "\n") + "\n" // rows 10 and 11
					res, err := f.Svc.Import(f.Clinic, strings.NewReader(again))
					if err != nil {
						t.Fatal(err)
					}
					switch {
					case !changed && (res.Accepted != 8 || res.Skipped != 2 || res.Rejected != 0):
						t.Errorf("run %d: import = %+v, want 8 posted and the repeat skipped", run, res)
					case changed && (res.Accepted != 8 || res.Skipped != 0 || res.Rejected != 2):
						t.Errorf("run %d: import = %+v, want 8 posted and the changed repeat refused", run, res)
					}
					for _, e := range res.Errors {
						if e.Row < 10 || e.Code != "duplicate_external_id" {
							t.Errorf("run %d: error %+v", run, e)
						}
					}
					// The first copy is the one in the ledger (LAB-01 × 2 = 12.00 of IOM's 143.30).
					if got := balance(t, f.Journal, "payable:IOM:DZ-BIHAC"); got != "-143.30" {
						t.Errorf("run %d: IOM payable = %s, want -143.30", run, got)
					}
				}
			})
		}
	}
}
