package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger/internal/pg"
)

// TestDevClusterFromAnUnreachableCheckout runs scripts/pg-up.sh (what make run starts with) in a
// copy of the checkout under a mode-700 directory, as a clone in /root or under mktemp -d is:
// as root, PostgreSQL runs as postgres, which cannot enter it, so the cluster must live
// elsewhere, and pg-up must say where.
func TestDevClusterFromAnUnreachableCheckout(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs PostgreSQL as another user (postgres)")
	}
	if _, err := user.Lookup("postgres"); err != nil {
		t.Skip("no postgres user")
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl"); len(m) == 0 {
		if _, err := exec.LookPath("pg_ctl"); err != nil {
			t.Skip("PostgreSQL is not installed")
		}
	}
	t.Parallel()
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	checkout := filepath.Join(parent, "trcledger")
	if err := os.MkdirAll(filepath.Join(checkout, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"pg-env.sh", "pg-up.sh", "pg-down.sh"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "scripts", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(checkout, "scripts", f), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script := func(name string, args ...string) (string, string, error) {
		cmd := exec.Command(filepath.Join(checkout, "scripts", name), args...)
		cmd.Dir = checkout
		cmd.Env = append(os.Environ(), "TRCLEDGER_PGDIR=") // the default place, not an override
		var out, errs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errs
		err := cmd.Run()
		return out.String(), errs.String(), err
	}
	t.Cleanup(func() {
		if _, errs, err := script("pg-down.sh", "--remove"); err != nil {
			t.Errorf("pg-down.sh --remove: %v\n%s", err, errs)
		}
	})
	out, errs, err := script("pg-up.sh")
	if err != nil {
		t.Fatalf("pg-up.sh in a checkout under a mode-700 directory: %v\n%s", err, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	url := lines[len(lines)-1]
	host := ""
	if _, after, ok := strings.Cut(url, "host="); ok {
		host, _, _ = strings.Cut(after, "&")
	}
	if !strings.HasPrefix(host, "/var/tmp/trcledger-trcledger-") {
		t.Errorf("the cluster is in %q, want /var/tmp/trcledger-trcledger-<hash>", host)
	}
	if !strings.Contains(errs, host) {
		t.Errorf("pg-up.sh does not say where the cluster is:\n%s", errs)
	}
	if fi, err := os.Stat(host); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cluster directory %s: %v %v, want mode 700", host, fi.Mode(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pg.Open(ctx, url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	var one int
	if err := db.GetContext(ctx, &one, "SELECT 1"); err != nil || one != 1 {
		t.Errorf("SELECT 1: %v", err)
	}
	db.Close()
	// Again while it runs: harmless, same URL.
	if again, errs, err := script("pg-up.sh"); err != nil || !strings.HasSuffix(strings.TrimSpace(again), url) {
		t.Errorf("second pg-up.sh: %v %q\n%s", err, again, errs)
	}
	if _, errs, err := script("pg-down.sh", "--remove"); err != nil {
		t.Fatalf("pg-down.sh --remove: %v\n%s", err, errs)
	}
	if _, err := os.Stat(host); !os.IsNotExist(err) {
		t.Errorf("pg-down.sh --remove left %s: %v", host, err)
	}
}
