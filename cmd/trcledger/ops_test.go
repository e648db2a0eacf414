package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/internal/pgtest"
)

// opsServer is a trcledger database on a cluster of the test's own (migrated, demo data), and
// the demo tokens by role.
type opsServer struct {
	t       *testing.T
	cluster *pgtest.Cluster
	env     map[string]string
	token   map[string]string
}

func newOpsServer(t *testing.T, cluster *pgtest.Cluster) *opsServer {
	t.Helper()
	admin := cluster.Open(t, "postgres")
	if _, err := admin.Exec(`CREATE DATABASE trcledger`); err != nil {
		t.Fatal(err)
	}
	s := &opsServer{t: t, cluster: cluster, token: map[string]string{}, env: map[string]string{
		"DATABASE_URL": cluster.URL("trcledger"), "LISTEN_ADDR": "127.0.0.1:0", "PSEUDONYM_KEY": "ops-key-0123456789abcdef"}}
	tokens := filepath.Join(t.TempDir(), "tokens")
	s.run("migrate")
	s.run("seed-demo", "--tokens-file", tokens)
	b, err := os.ReadFile(tokens)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line) // role org token
		s.token[f[0]] = f[2]
	}
	return s
}

func (s *opsServer) getenv(k string) string { return s.env[k] }

func (s *opsServer) run(args ...string) {
	s.t.Helper()
	var out, errs bytes.Buffer
	if err := run(context.Background(), args, s.getenv, &out, &errs); err != nil {
		s.t.Fatalf("%v: %v\n%s%s", args, err, out.String(), errs.String())
	}
}

// call sends a request as role to the server at addr and answers the status and body.
func call(t *testing.T, addr, role, token, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("ops-%s-%d", role, time.Now().UnixNano()))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post posts one GP consultation of DZ Bihać at TRC Lipa as the demo clinic.
func (s *opsServer) post(addr, external, patient, day string) {
	s.t.Helper()
	status, body := call(s.t, addr, "clinic", s.token["clinic"], "POST", "/v1/encounters", `{"contract_code":"IOM-DZBIH-2024",
		"site_code":"TRC-LIPA","external_id":"`+external+`","patient_id":"`+patient+`","beneficiary_category":"asylum_seeker",
		"service_date":"`+day+`","kind":"consultation","diagnoses":["J06.9"],"lines":[{"service_code":"PZZ-01","quantity":"1"},{"service_code":"LAB-01","quantity":"2"}]}`)
	if status != 201 {
		s.t.Fatalf("post %s: %d %s", external, status, body)
	}
}

// readings are the answers that may come from the replica: the transition report (by site and
// by nothing), a statement's CSV export and every ledger account.
func (s *opsServer) readings(addr, statementID string) map[string]string {
	s.t.Helper()
	out := map[string]string{}
	for name, path := range map[string]string{
		"transition":         "/v1/reports/transition?from=2025-01&to=2025-12",
		"transition by site": "/v1/reports/transition?from=2025-01&to=2025-12&by=site",
		"export.csv":         "/v1/statements/" + statementID + "/export.csv",
		"ledger accounts":    "/v1/ledger/accounts",
	} {
		status, body := call(s.t, addr, "finance", s.token["finance"], "GET", path, "")
		if status != 200 {
			s.t.Fatalf("GET %s: %d %s", path, status, body)
		}
		out[name] = body
	}
	return out
}

// waitLog waits until the server's log holds text.
func waitLog(t *testing.T, log *syncBuffer, text string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(log.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not log %q within %s:\n%s", text, within, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicaAnswersAsThePrimary starts a real streaming replica of a cluster (pg_basebackup -R)
// and a server with REPLICA_DATABASE_URL: once the replica has caught up, the transition report,
// a statement's CSV export and the ledger accounts it answers are those the primary answered
// (byte for byte), and the export's audit entry is written on the primary. That the reads do
// come from the replica shows when its replay is paused: a post is missing from the report
// until REPLICA_MAX_LAG has passed, then the server reads the primary; when replay resumes, the
// replica is used again.
func TestReplicaAnswersAsThePrimary(t *testing.T) {
	t.Parallel()
	primary := pgtest.NewCluster(t)
	s := newOpsServer(t, primary)
	replica := primary.NewReplica(t)

	// Writes and the answers of a server on the primary alone.
	addr, _, stop := serveForTest(t, context.Background(), s.getenv)
	for i, day := range []string{"2025-03-10", "2025-03-11", "2025-09-01", "2025-09-02", "2025-09-03", "2025-09-04", "2025-09-05"} {
		s.post(addr, fmt.Sprintf("LIPA-%d", i), fmt.Sprintf("SFA-%d", i), day)
	}
	status, body := call(t, addr, "finance", s.token["finance"], "POST", "/v1/statements", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-09"}`)
	if status != 201 {
		t.Fatalf("create statement: %d %s", status, body)
	}
	var st struct {
		ID    string `json:"id"`
		Lines int    `json:"line_count"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Lines < 7 {
		t.Fatalf("statement: %v, %d lines, want at least 7 (one per encounter)", err, st.Lines)
	}
	want := s.readings(addr, st.ID)
	stop()

	// The same reads from a server whose reads go to the caught-up replica.
	primary.WaitCaughtUp(t, replica, 30*time.Second)
	s.env["REPLICA_DATABASE_URL"] = replica.URL("trcledger")
	s.env["REPLICA_MAX_LAG"] = "3s"
	addr, log, stop := serveForTest(t, context.Background(), s.getenv)
	defer stop()
	waitLog(t, log, "reads go to the replica", 10*time.Second)
	db := primary.Open(t, "trcledger")
	audited := func() int {
		var n int
		if err := db.Get(&n, `SELECT count(*) FROM audit_log WHERE action = 'read' AND object_id = $1`, st.ID); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := audited()
	got := s.readings(addr, st.ID)
	for name := range want {
		if got[name] != want[name] {
			t.Errorf("%s from the replica differs from the primary's:\nreplica: %s\nprimary: %s", name, got[name], want[name])
		}
	}
	if n := audited(); n != before+1 {
		t.Errorf("audit entries of the export on the primary: %d, want %d", n, before+1)
	}

	// Replay paused: the replica falls behind, and after REPLICA_MAX_LAG the primary answers.
	standby := replica.Open(t, "postgres")
	if _, err := standby.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	s.post(addr, "LIPA-LATE", "SFA-LATE", "2025-09-06")
	report := func() string {
		_, b := call(t, addr, "finance", s.token["finance"], "GET", "/v1/reports/transition?from=2025-01&to=2025-12", "")
		return b
	}
	if r := report(); r != want["transition"] {
		t.Errorf("right after a post, with replay paused, the report already counts it: the read did not come from the replica\n%s", r)
	}
	waitLog(t, log, "reads go to the primary", 15*time.Second)
	if r := report(); r == want["transition"] {
		t.Error("with the replica too far behind, the report still misses the post")
	}
	if _, err := standby.Exec(`SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, log, "reads go to the replica", 2, 15*time.Second)
	if r := report(); r == want["transition"] {
		t.Error("the replica, caught up again, misses the post")
	}
}

// waitFor waits until the log holds text n times.
func waitFor(t *testing.T, log *syncBuffer, text string, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		l := log.String()
		if strings.Count(l, text) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not log %q %d times within %s:\n%s", text, n, within, l)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scriptsDir is the checkout's scripts/.
func scriptsDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../../scripts")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// serverDirs makes directories the PostgreSQL server's user can use (as root, PostgreSQL runs
// as postgres, and the test's temporary directories are closed to it): under /tmp, given to
// that user, removed at the end. The first is the parent of the others.
func serverDirs(t *testing.T, names ...string) []string {
	t.Helper()
	d, err := os.MkdirTemp("/tmp", "trcops")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	dirs := []string{d}
	for _, n := range names {
		p := filepath.Join(d, n)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, p)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range dirs {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dirs
}

// TestBackupRestoresToAPointInTime: a cluster archives its WAL with scripts/archive-wal.sh; a
// base backup is taken with scripts/backup.sh; encounter A is posted, the time T noted, then B.
// scripts/restore.sh restores the backup into a fresh cluster up to T: `trcledger verify` passes
// on it, A is there and B is not.
func TestBackupRestoresToAPointInTime(t *testing.T) {
	t.Parallel()
	// Archiving needs a directory and the script where the server's user reaches them.
	dirs := serverDirs(t, "wal")
	dir, archive := dirs[0], dirs[1]
	script := filepath.Join(dir, "archive-wal.sh")
	src, err := os.ReadFile(filepath.Join(scriptsDir(t), "archive-wal.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, src, 0o755); err != nil { //nolint:gosec // run by the server's user
		t.Fatal(err)
	}
	primary := pgtest.NewCluster(t, "archive_mode=on", "archive_command="+script+" "+archive+" %p %f", "full_page_writes=on")
	s := newOpsServer(t, primary)

	backups := filepath.Join(t.TempDir(), "backups")
	cmd := exec.Command(filepath.Join(scriptsDir(t), "backup.sh"), "-d", primary.URL("postgres"), backups) //nolint:noctx
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backup.sh: %v\n%s", err, out)
	}

	addr, _, stop := serveForTest(t, context.Background(), s.getenv)
	s.post(addr, "BEFORE-TARGET", "SFA-A", "2025-09-01")
	db := primary.Open(t, "trcledger")
	time.Sleep(300 * time.Millisecond)
	var target string
	if err := db.Get(&target, `SELECT clock_timestamp()::text`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	s.post(addr, "AFTER-TARGET", "SFA-B", "2025-09-02")
	stop()
	// Close the segment holding B and wait for it to be archived.
	var segment string
	if err := db.Get(&segment, `SELECT pg_walfile_name(pg_switch_wal())`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var archived string
		if err := db.Get(&archived, `SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver`); err != nil {
			t.Fatal(err)
		}
		if archived >= segment {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("segment %s not archived within 30 s (last: %q)", segment, archived)
		}
		time.Sleep(50 * time.Millisecond)
	}

	restored := filepath.Join(dir, "restored")
	cmd = exec.Command(filepath.Join(scriptsDir(t), "restore.sh"), "--backup", backups, "--archive", archive, //nolint:noctx
		"--data", restored, "--target-time", target, "--set", "max_connections=200", "--start", "--socket-dir", dir)
	out, err := cmd.CombinedOutput()
	t.Cleanup(func() {
		_ = primary.Command("pg_ctl", "-D", restored, "-m", "immediate", "-w", "stop").Run()
	})
	if err != nil {
		t.Fatalf("restore.sh: %v\n%s", err, out)
	}

	url := "postgres:///trcledger?host=" + dir + "&user=postgres&sslmode=disable"
	var verifyOut, verifyErr bytes.Buffer
	if err := run(context.Background(), []string{"verify"}, func(k string) string {
		return map[string]string{"DATABASE_URL": url}[k]
	}, &verifyOut, &verifyErr); err != nil || !strings.Contains(verifyOut.String(), "ledger ok") {
		t.Fatalf("verify on the restored cluster: %v\n%s%s", err, verifyOut.String(), verifyErr.String())
	}
	rdb, err := pg.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	var externals []string
	if err := rdb.Select(&externals, `SELECT external_id FROM encounters ORDER BY external_id`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(externals, ",") != "BEFORE-TARGET" {
		t.Errorf("restored encounters: %v, want only BEFORE-TARGET (the one after %s must be absent)", externals, target)
	}
}
