package imports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/imports"
	"github.com/trcledger/trcledger/claims/internal/claimstest"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const header = "external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,diagnoses,service_code,quantity\n"

// fileOf is an import file of n one-line consultations of DZ Bihać, LIPA-<prefix>-<i>.
func fileOf(prefix string, n int) string {
	var b strings.Builder
	b.WriteString(header)
	for i := range n {
		fmt.Fprintf(&b, "%s-%d,IOM-DZBIH-2024,TRC-LIPA,SFA-%d,unknown,2025-03-%02d,consultation,J06.9,PZZ-01,1\n", prefix, i, i%977, 1+i%28)
	}
	return b.String()
}

func newService(t *testing.T) (*claimstest.Fixture, *imports.Service) {
	t.Helper()
	f := claimstest.New(t)
	return f, imports.NewService(f.DB, f.Svc.Encounters, time.Now, slog.New(slog.DiscardHandler))
}

func runAll(t *testing.T, svc *imports.Service) {
	t.Helper()
	for {
		ran, err := svc.RunNext(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

// TestJobImportsTheFileAndListsItsRejectedRows: a job stores the file, the worker imports it,
// the counts are the import's, and errors.csv gives the rejected rows in the file's own columns
// (patient_id empty) after row, code and reason; the stored file is gone once the job is done.
func TestJobImportsTheFileAndListsItsRejectedRows(t *testing.T) {
	t.Parallel()
	f, svc := newService(t)
	file := header +
		"A-1,IOM-DZBIH-2024,TRC-LIPA,SFA-1,unknown,2025-03-03,consultation,J06.9,PZZ-01,1\n" +
		"A-2,IOM-DZBIH-2024,TRC-LIPA,SFA-2,unknown,2025-03-03,consultation,J06.9,PZZ-01,1\n" +
		"A-2,IOM-DZBIH-2024,TRC-LIPA,SFA-2,unknown,2025-03-03,consultation,J06.9,LAB-01,2\n" +
		"A-3,IOM-DZBIH-2024,TRC-LIPA,SFA-3,unknown,2025-03-03,consultation,J06.9,NOPE-1,1\n" +
		"A-4,IOM-DZBIH-2024,TRC-LIPA,SFA-4,unknown,2025-03-03,consultation,J06.9\n"
	job, err := svc.Create(f.Clinic, strings.NewReader(file), imports.CreateOptions{FileName: "march.csv", Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if job.State != imports.StateQueued || job.Size != int64(len(file)) || job.Links.Errors != "/v1/imports/"+job.ID+"/errors.csv" {
		t.Fatalf("created: %+v", job)
	}
	runAll(t, svc)
	job, err = svc.Find(f.Clinic, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if job.State != imports.StateSucceeded || job.Accepted != 3 || job.Skipped != 0 || job.Rejected != 2 || job.RowsRead != 5 || job.FinishedAt == nil || job.StartedAt == nil || job.Attempts != 1 {
		t.Fatalf("finished: %+v", job)
	}
	if n := f.Count(t, `SELECT count(*) FROM encounters WHERE external_id LIKE 'A-%'`); n != 2 {
		t.Errorf("%d encounters stored, want 2", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM import_job_chunks`); n != 0 {
		t.Errorf("%d pieces of the file kept after the job", n)
	}
	var buf bytes.Buffer
	if err := svc.WriteErrorsCSV(f.Clinic, job.ID, &buf); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || strings.Join(recs[0], ",") != "row,code,reason,"+strings.TrimSpace(header) {
		t.Fatalf("errors.csv:\n%s", buf.String())
	}
	if recs[1][0] != "5" || recs[1][1] != "invalid" || recs[1][3] != "A-3" || recs[1][6] != "" || recs[1][11] != "NOPE-1" {
		t.Errorf("row 5: %q", recs[1])
	}
	if recs[2][0] != "6" || recs[2][1] != "malformed_row" || recs[2][6] != "" {
		t.Errorf("row 6: %q", recs[2])
	}
	// Another clinic, and a reviewer, see no such job.
	other := claimstest.As(access.RoleClinic, "DZ-KS")
	if _, err := svc.Find(other, job.ID); err == nil {
		t.Error("another clinic reads the job")
	} else {
		claimstest.WantCode(t, err, trcledger.ENOTFOUND, "")
	}
	if err := svc.WriteErrorsCSV(claimstest.As(access.RoleReviewer, demo.PayerZZOUSK), job.ID, &buf); err == nil {
		t.Error("a reviewer reads the rejected rows")
	}
	if jobs, _ := svc.List(other, 0); len(jobs) != 0 {
		t.Errorf("another clinic lists %d jobs", len(jobs))
	}
	if jobs, _ := svc.List(f.Clinic, 0); len(jobs) != 1 || jobs[0].ID != job.ID {
		t.Errorf("the clinic lists %v", jobs)
	}
	if n := f.Count(t, `SELECT count(*) FROM audit_log WHERE object_id = $1 AND action = 'read'`, job.ID); n != 1 {
		t.Errorf("%d audited reads of the rejected rows, want 1", n)
	}
}

// TestCreateRefusesWhatTheImportWouldRefuse: a bad header, an unknown charset or a file beyond
// the limit store nothing; only clinic staff create jobs.
func TestCreateRefusesWhatTheImportWouldRefuse(t *testing.T) {
	t.Parallel()
	f, svc := newService(t)
	_, err := svc.Create(f.Clinic, strings.NewReader("external_id,colour\nA,red\n"), imports.CreateOptions{})
	claimstest.WantCode(t, err, trcledger.EINVALID, "")
	_, err = svc.Create(f.Clinic, strings.NewReader(""), imports.CreateOptions{})
	claimstest.WantCode(t, err, trcledger.EINVALID, "")
	_, err = svc.Create(f.Clinic, strings.NewReader(fileOf("B", 10)), imports.CreateOptions{Charset: "koi8-r"})
	claimstest.WantCode(t, err, trcledger.EUNSUPPORTED, "")
	big := fileOf("B", 40000) // about 3 MiB: beyond the limit after the first pieces were stored
	_, err = svc.Create(f.Clinic, strings.NewReader(big), imports.CreateOptions{Limit: 2 << 20})
	claimstest.WantCode(t, err, trcledger.ETOOLARGE, "")
	_, err = svc.Create(claimstest.As(access.RoleAdmin, ""), strings.NewReader(fileOf("B", 1)), imports.CreateOptions{})
	claimstest.WantCode(t, err, trcledger.EFORBIDDEN, "")
	if n := f.Count(t, `SELECT count(*) FROM import_jobs`) + f.Count(t, `SELECT count(*) FROM import_job_chunks`); n != 0 {
		t.Errorf("%d rows stored by refused uploads", n)
	}
}

// TestInterruptedJobResumes: a job stopped after its first chunk committed stays running; the
// next run reads the file again, skips what was stored and counts only the rows after it, so
// every row is counted once and every encounter is stored once. A job interrupted more than
// MaxAttempts times fails, keeping what it stored.
func TestInterruptedJobResumes(t *testing.T) {
	t.Parallel()
	f, svc := newService(t)
	const n = 5000 // three chunks of the import
	job, err := svc.Create(f.Clinic, strings.NewReader(fileOf("C", n)), imports.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc.OnRows(func(a, s, r int) { cancel() }) // stop once the first chunk is counted
	if ran, err := svc.RunNext(ctx); !ran || err == nil {
		t.Fatalf("interrupted run: %v %v", ran, err)
	}
	mid, err := svc.Find(f.Clinic, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if mid.State != imports.StateRunning || mid.RowsRead == 0 || mid.RowsRead >= n {
		t.Fatalf("after the interruption: %+v", mid)
	}
	svc.OnRows(func(a, s, r int) {})
	runAll(t, svc)
	done, err := svc.Find(f.Clinic, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != imports.StateSucceeded || done.Attempts != 2 || done.RowsRead != n || done.Rejected != 0 || done.Accepted < mid.Accepted {
		t.Fatalf("resumed: %+v (after the first run: %+v)", done, mid)
	}
	if got := f.Count(t, `SELECT count(*) FROM encounters WHERE external_id LIKE 'C-%'`); got != n {
		t.Errorf("%d encounters stored, want %d", got, n)
	}
	// A job the server stopped under three times fails, with what it stored kept.
	job2, err := svc.Create(f.Clinic, strings.NewReader(fileOf("C", 3)), imports.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.DB.Exec(`UPDATE import_jobs SET state = 'running', attempts = 3 WHERE id = $1`, job2.ID); err != nil {
		t.Fatal(err)
	}
	runAll(t, svc)
	failed, _ := svc.Find(f.Clinic, job2.ID)
	if failed.State != imports.StateFailed || failed.Error == nil || failed.Error.Code != "interrupted" {
		t.Fatalf("after 3 interruptions: %+v", failed)
	}
}
