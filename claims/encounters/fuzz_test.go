package encounters

import (
	"strings"
	"testing"
)

// FuzzImportCSV feeds arbitrary files to the CSV import's parser: it must never panic, every
// data row is accounted for (in an encounter or rejected), and every encounter either converts
// or says why not.
func FuzzImportCSV(f *testing.F) {
	f.Add("external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,service_code,quantity\nA,C,S,P,unknown,2025-03-01,consultation,PZZ-01,1\nA,C,S,P,unknown,2025-03-01,consultation,LAB-01,2\n")
	f.Add("external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,service_code,quantity,birth_year,diagnoses\nA,C,S,P,unknown,2025-02-30,x,PZZ-01,1e5,abc,J06.9;;\n\"unterminated\n")
	f.Add("external_id,quantity\n,\n,,,\n")
	f.Add("\ufeffexternal_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,service_code,quantity,referral_number,referral_to_level\nB,C,S,P,refugee,2025-03-01,referral,SKZ-01,1,R-1,secondary\nB,C,S,Q,refugee,2025-03-01,referral,SKZ-01,1,R-1,secondary\n")
	f.Add("external_id;contract_code;site_code;patient_id;beneficiary_category;service_date;kind;service_code;quantity\r\nA;C;S;P;unknown;15.03.2025.;consultation;PZZ-01;1,5\r\n;;;;;;;;\r\n\"A;C\r\n")
	f.Add("external_id,quantity\n\"open,1\nB,2\n\"x\"y,3\n")
	f.Fuzz(func(t *testing.T, file string) {
		cr, err := newCSVReader(strings.NewReader(file), "")
		if err != nil {
			return
		}
		header, err := cr.header()
		if err != nil {
			return
		}
		cols, err := readHeader(header)
		if err != nil {
			return
		}
		cr.cols = cols
		headerLine := cr.line
		rows, rejected := 0, 0
		seen := map[int]bool{}
		count := func(row int) {
			if seen[row] || row <= headerLine {
				t.Fatalf("row %d counted twice or before the header (line %d)", row, headerLine)
			}
			seen[row] = true
		}
		err = scanImport(cr, cols, func(row int, _, _ string) { count(row); rejected++ }, func(g *importGroup) error {
			rows += len(g.rows)
			for _, r := range g.rows {
				count(r.n)
			}
			if _, problem := g.input(); problem == "" && len(g.rows) == 0 {
				t.Fatalf("an empty encounter converted")
			}
			return nil
		})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		// Every line after the header that holds anything but delimiters, quotes and spaces is
		// a row, counted once.
		lines := strings.Split(file, "\n")
		want := 0
		for _, l := range lines[min(headerLine, len(lines)):] {
			if strings.Trim(l, " \t\r\v\f,;\"\u0085\u00a0") != "" {
				want++
			}
		}
		if rows+rejected < want {
			t.Fatalf("%d rows counted of %d lines with text after the header", rows+rejected, want)
		}
	})
}
