package claims

import (
	"encoding/csv"
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
	f.Fuzz(func(t *testing.T, file string) {
		cr := csv.NewReader(strings.NewReader(file))
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		header, err := cr.Read()
		if err != nil {
			return
		}
		cols, err := readHeader(header)
		if err != nil {
			return
		}
		rows, rejected := 0, 0
		err = scanImport(cr, cols, func(int, string, string) { rejected++ }, func(g *importGroup) error {
			rows += len(g.rows)
			if _, problem := g.input(); problem == "" && len(g.rows) == 0 {
				t.Fatalf("an empty encounter converted")
			}
			return nil
		})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		if rows+rejected == 0 && strings.Count(file, "\n") > 1 && !strings.Contains(file, "\"") {
			// Rows were present but neither grouped nor rejected.
			lines := strings.Split(strings.TrimRight(file, "\n"), "\n")
			if len(lines) > 1 && strings.TrimSpace(lines[1]) != "" {
				t.Fatalf("%d data lines vanished", len(lines)-1)
			}
		}
	})
}
