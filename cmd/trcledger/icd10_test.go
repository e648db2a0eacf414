package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/internal/pgtest"
)

// TestICD10LoadCommand: `trcledger icd10 load FILE` loads a CSV of codes and titles per
// language, replacing the national list; a file with a bad row is refused whole, naming the row.
func TestICD10LoadCommand(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	getenv := func(k string) string { return map[string]string{"DATABASE_URL": url}[k] }
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := file("mkb10.csv", "code,bs,hr,sr-Latn,sr-Cyrl,en\n"+
		"A00.0,Kolera uzrokovana Vibrio cholerae 01,Kolera uzrokovana Vibrio cholerae 01,Kolera izazvana Vibrio cholerae 01,Колера изазвана Vibrio cholerae 01,Cholera due to Vibrio cholerae 01\n"+
		"J06.9,\"Akutna infekcija gornjih disajnih puteva, neoznačena\",,,,\"Acute upper respiratory infection, unspecified\"\n")
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"icd10", "load", good}, getenv, &out, &errs); err != nil {
		t.Fatalf("load: %v", err)
	}
	if !strings.Contains(out.String(), "loaded 2 ICD-10 codes") || !strings.Contains(out.String(), "1 new") {
		t.Errorf("output: %s", out.String())
	}
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var title string
	if err := db.Get(&title, `SELECT title FROM icd10_titles WHERE code = 'A00.0' AND locale = 'sr-Cyrl'`); err != nil || title != "Колера изазвана Vibrio cholerae 01" {
		t.Errorf("A00.0 in sr-Cyrl: %q %v", title, err)
	}
	var loads int
	if err := db.Get(&loads, `SELECT count(*) FROM icd10_loads`); err != nil || loads != 1 {
		t.Errorf("%d loads recorded (%v)", loads, err)
	}
	bad := file("bad.csv", "code,en\nA01.0,Typhoid fever\nA01 0,Typhoid\n")
	err = run(context.Background(), []string{"icd10", "load", bad}, getenv, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "row 3") {
		t.Errorf("bad file: %v", err)
	}
	if err := db.Get(&loads, `SELECT count(*) FROM icd10_codes WHERE code = 'A01.0'`); err != nil || loads != 0 {
		t.Errorf("a refused file wrote %d codes (%v)", loads, err)
	}
	if err := run(context.Background(), []string{"icd10", "import"}, getenv, &out, &errs); err == nil {
		t.Error("icd10 without load FILE accepted")
	}
}
