package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// jobUpload sends a file to /clinic/imports as the form without JavaScript does.
func (v *visitor) jobUpload(from page, name string, file []byte) page {
	v.s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("_csrf", csrfOf(from))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, name))
	h.Set("Content-Type", "text/csv")
	w, _ := mw.CreatePart(h)
	_, _ = w.Write(file)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", v.s.base+"/clinic/imports", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return v.do(req)
}

// TestClinicStartsAnImportJob: the clinic uploads its file on the jobs page, sees the job
// waiting (the page polls while it waits), and once the worker has run it, the counts and the
// report of the rejected rows in its own language, with the file's columns and no patient id.
func TestClinicStartsAnImportJob(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	v.signIn("clinic")
	form := v.get("/clinic/imports")
	if form.status != 200 || !strings.Contains(form.body, `enctype="multipart/form-data"`) || !strings.Contains(form.body, "/static/import_jobs.js") {
		t.Fatalf("jobs page: %d\n%s", form.status, form.body)
	}
	if !strings.Contains(form.body, `href="/clinic/imports"`) {
		t.Error("the navigation has no entry for the jobs page")
	}
	file := "external_id;contract_code;site_code;patient_id;beneficiary_category;service_date;kind;diagnoses;service_code;quantity\n" +
		"W-1;IOM-DZBIH-2024;TRC-LIPA;SFA-1;unknown;03.03.2025.;consultation;J06.9;PZZ-01;1\n" +
		"W-2;IOM-DZBIH-2024;TRC-LIPA;SFA-SECRET-2;unknown;03.03.2025.;consultation;J06.9;PZZ-01;nula\n"
	p := v.jobUpload(form, "mart.csv", []byte(file))
	if p.status != 200 || !strings.HasPrefix(p.url, "/clinic/imports") || !strings.Contains(p.body, "mart.csv") {
		t.Fatalf("after the upload: %d at %s\n%s", p.status, p.url, p.body)
	}
	if !strings.Contains(p.body, `data-state="queued"`) || !strings.Contains(p.body, `data-poll="/clinic/imports"`) || !strings.Contains(p.body, "Čeka") {
		t.Errorf("the new job is not shown waiting, or the page does not poll:\n%s", p.body)
	}
	if ran, err := s.cfg.Imports.RunNext(context.Background()); !ran || err != nil {
		t.Fatalf("run the job: %v %v", ran, err)
	}
	p = v.get("/clinic/imports")
	if !strings.Contains(p.body, `data-state="succeeded"`) || strings.Contains(p.body, "data-poll") || !strings.Contains(p.body, "Završeno") {
		t.Fatalf("the job is not shown done:\n%s", p.body)
	}
	start := strings.Index(p.body, `/clinic/imports/`)
	end := strings.Index(p.body[start:], `"`)
	link := p.body[start : start+end]
	if !strings.HasSuffix(link, "/errors.csv") {
		t.Fatalf("no link to the rejected rows: %q", link)
	}
	rep := v.get(link)
	if rep.status != 200 || !strings.HasPrefix(rep.header.Get("Content-Type"), "text/csv") || strings.Contains(rep.body, "SECRET") {
		t.Fatalf("report: %d %s\n%s", rep.status, rep.header.Get("Content-Type"), rep.body)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(rep.body, "\ufeff")))
	r.Comma, r.FieldsPerRecord = ';', -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("report rows %v: %v\n%s", recs, err, rep.body)
	}
	if recs[0][0] != "row" || recs[0][2] != "external_id" || recs[1][0] != "3" || recs[1][2] != "W-2" || recs[1][5] != "" || recs[1][11] != "nula" || !strings.Contains(recs[1][1], "quantity") {
		t.Errorf("report: %q", recs)
	}
	// Another clinic's staff cannot read it.
	if other := s.visitor(); other != nil {
		other.signIn("reviewer")
		if q := other.get(link); q.status != http.StatusForbidden {
			t.Errorf("a reviewer reads the report: %d", q.status)
		}
	}
	// A file the import cannot read is refused next to the file field, and nothing is queued.
	bad := v.jobUpload(p, "x.csv", []byte("colour\nred\n"))
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `aria-invalid="true"`) {
		t.Errorf("a bad file: %d\n%s", bad.status, bad.body)
	}
	if ran, _ := s.cfg.Imports.RunNext(context.Background()); ran {
		t.Error("a refused file was queued")
	}
}
