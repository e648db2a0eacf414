package encounters_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/claims/encounters"
)

// TestImportKeepsRejectedRowsForTheReport: with KeepRejectedRows, each rejected row comes back
// with its cells in the file's own column order (for the clinic's report of rows to fix), the
// patient_id cell empty; without it, nothing is kept.
func TestImportKeepsRejectedRowsForTheReport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	file := strings.Join([]string{
		"external_id;service_code;quantity;contract_code;site_code;patient_id;beneficiary_category;service_date;kind;diagnoses",
		"K-1;PZZ-01;1;IOM-DZBIH-2024;TRC-LIPA;SFA-1;irregular_migrant;03.03.2025.;consultation;J06.9",
		"K-2;PZZ-01;abc;IOM-DZBIH-2024;TRC-LIPA;SFA-2;irregular_migrant;03.03.2025.;consultation;J06.9",
		"K-3;PZZ-01;1;IOM-DZBIH-2024",
		`K-4;"PZZ-01;1`,
	}, "\r\n") + "\r\n"
	res, err := f.Svc.ImportFile(f.Clinic, strings.NewReader(file), encounters.ImportOptions{KeepRejectedRows: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || res.Rejected != 3 || len(res.Errors) != 3 {
		t.Fatalf("import = %+v", res)
	}
	if res.Header[0] != "external_id" || len(res.Header) != 10 {
		t.Errorf("header = %q", res.Header)
	}
	want := map[int][]string{
		3: {"K-2", "PZZ-01", "abc", "IOM-DZBIH-2024", "TRC-LIPA", "", "irregular_migrant", "03.03.2025.", "consultation", "J06.9"},
		4: {"K-3", "PZZ-01", "1", "IOM-DZBIH-2024"},
		5: nil, // a quote not closed: the row has no cells to show
	}
	for _, e := range res.Errors {
		if !slices.Equal(e.Cells, want[e.Row]) {
			t.Errorf("row %d (%s): cells %q, want %q", e.Row, e.Code, e.Cells, want[e.Row])
		}
	}
	res, err = f.Svc.ImportFile(f.Clinic, strings.NewReader(file), encounters.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Header != nil || res.Skipped != 1 || res.Errors[0].Cells != nil {
		t.Errorf("without KeepRejectedRows: %+v", res)
	}
}
