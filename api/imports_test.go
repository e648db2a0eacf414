package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/api"
	"github.com/trcledger/trcledger/claims/imports"
)

// TestImportJobOverHTTP: POST /v1/imports answers 202 with the job and where to read it; GET
// shows it queued, then, once the worker ran it, succeeded with the import's counts; errors.csv
// gives the rejected rows in the file's own columns after row, code and reason, the patient id
// left out; a bad header is 422 and a file beyond the import limit 413, nothing stored.
func TestImportJobOverHTTP(t *testing.T) {
	t.Parallel()
	var svc *imports.Service
	e := newEnv(t, func(c *api.Config) { svc, c.ImportLimit = c.Imports, 4096 })
	file := "external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,diagnoses,service_code,quantity\n" +
		"H-1,IOM-DZBIH-2024,TRC-LIPA,SFA-1,unknown,2025-03-03,consultation,J06.9,PZZ-01,1\n" +
		"H-2,IOM-DZBIH-2024,TRC-LIPA,SFA-PRIVATE,unknown,2025-03-03,consultation,J06.9,PZZ-99,1\n"
	res := e.do("POST", "/v1/imports", "clinic", file, "Content-Type", "text/csv; charset=utf-8")
	if res.status != 202 || res.json["state"] != "queued" || res.header.Get("Location") != "/v1/imports/"+res.json["id"].(string) {
		t.Fatalf("POST /v1/imports: %d %s %v", res.status, res.raw, res.header)
	}
	id := res.json["id"].(string)
	if links := res.json["links"].(map[string]any); links["errors"] != "/v1/imports/"+id+"/errors.csv" {
		t.Errorf("links: %v", links)
	}
	if got := e.do("GET", "/v1/imports/"+id, "clinic", ""); got.status != 200 || got.json["state"] != "queued" || got.json["rows_read"] != float64(0) {
		t.Errorf("queued: %d %s", got.status, got.raw)
	}
	if ran, err := svc.RunNext(context.Background()); !ran || err != nil {
		t.Fatalf("run: %v %v", ran, err)
	}
	got := e.do("GET", "/v1/imports/"+id, "clinic", "")
	if got.json["state"] != "succeeded" || got.json["rows_read"] != float64(2) || got.json["accepted"] != float64(1) || got.json["rejected"] != float64(1) ||
		got.json["started_at"] == nil || got.json["finished_at"] == nil {
		t.Errorf("done: %s", got.raw)
	}
	csv := e.do("GET", "/v1/imports/"+id+"/errors.csv", "clinic", "")
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(csv.raw, "\ufeff")), "\n")
	if csv.status != 200 || len(lines) != 2 || lines[0] != "row,code,reason,"+strings.TrimSpace(strings.SplitN(file, "\n", 2)[0]) ||
		!strings.HasPrefix(lines[1], "3,invalid,") || !strings.HasSuffix(lines[1], ",H-2,IOM-DZBIH-2024,TRC-LIPA,,unknown,2025-03-03,consultation,J06.9,PZZ-99,1") {
		t.Errorf("errors.csv: %d\n%s", csv.status, csv.raw)
	}
	if strings.Contains(csv.raw, "PRIVATE") {
		t.Error("errors.csv gives the patient id back")
	}
	if l := e.do("GET", "/v1/imports", "clinic", ""); l.status != 200 || !strings.Contains(l.raw, id) {
		t.Errorf("list: %d %s", l.status, l.raw)
	}
	if bad := e.do("POST", "/v1/imports", "clinic", "colour\nred\n", "Content-Type", "text/csv"); bad.status != 422 {
		t.Errorf("bad header: %d %s", bad.status, bad.raw)
	}
	big := file + strings.Repeat("H-3,IOM-DZBIH-2024,TRC-LIPA,SFA-1,unknown,2025-03-03,consultation,J06.9,PZZ-01,1\n", 100)
	if res := e.do("POST", "/v1/imports", "clinic", big, "Content-Type", "text/csv"); res.status != 413 {
		t.Errorf("beyond the limit: %d %s", res.status, res.raw)
	}
	if l := e.do("GET", "/v1/imports", "clinic", ""); strings.Count(l.raw, `"id"`) != 1 {
		t.Errorf("refused uploads were stored: %s", l.raw)
	}
}
