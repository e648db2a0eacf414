package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/internal/pgtest"
)

// walkthrough is the README's tour of the API: every sh block between these two headings.
const (
	walkthroughFrom = "## The API at a glance"
	walkthroughTo   = "## Roles"
)

// expectedStatus marks a command the README expects to be refused: "... # 404" at a line's end.
var expectedStatus = regexp.MustCompile(`#\s*([45]\d\d)\s*$`)

// walkthroughScript returns the README's walk-through as one shell script, and the error statuses
// it says some of its commands answer.
func walkthroughScript(t *testing.T) (string, []string) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "docs", "api-guide.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	from, to := strings.Index(text, walkthroughFrom), strings.Index(text, walkthroughTo)
	if from < 0 || to < from {
		t.Fatalf("README has no section between %q and %q", walkthroughFrom, walkthroughTo)
	}
	var script strings.Builder
	var want []string
	in := false
	for _, line := range strings.Split(text[from:to], "\n") {
		switch {
		case line == "```sh":
			in = true
		case line == "```":
			in = false
		case in:
			script.WriteString(line + "\n")
			if m := expectedStatus.FindStringSubmatch(line); m != nil {
				want = append(want, m[1])
			}
		}
	}
	return script.String(), want
}

// TestReadmeWalkthrough runs the README's walk-through as written, on the demo data of a fresh
// database, against a real server: a newcomer's first tour must work from top to bottom.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("the README's walk-through needs %s (.ci/run installs it): %v", tool, err)
			}
			t.Skipf("the README's walk-through needs %s: %v", tool, err)
		}
	}
	script, wantErrors := walkthroughScript(t)

	dir := t.TempDir()
	for _, d := range []string{"var", "claims/testdata"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	csv, err := os.ReadFile(filepath.Join("..", "..", "claims", "testdata", "encounters.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "claims", "testdata", "encounters.csv"), csv, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": pgtest.NewURL(t), "LISTEN_ADDR": "127.0.0.1:0", "PSEUDONYM_KEY": "walkthrough-key-0123456789"}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, args := range [][]string{{"migrate"}, {"seed-demo", "--tokens-file", filepath.Join(dir, "var", "demo-tokens")}} {
		var errs bytes.Buffer
		if err := run(ctx, args, getenv, &bytes.Buffer{}, &errs); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errs.String())
		}
	}
	addr, _, stop := serveForTest(t, ctx, getenv)
	defer stop()

	// Every curl reports its status on stderr, so the test knows what each command answered.
	prelude := "set -euo pipefail\ncurl() { command curl -w '%{stderr}HTTP %{http_code} %{method} %{url_effective}\\n' \"$@\"; }\n"
	body := strings.ReplaceAll(script, "localhost:8080", addr)
	cmd := exec.CommandContext(ctx, "bash", "-c", prelude+body)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the walk-through stopped: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}

	var gotErrors []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "HTTP" && !strings.HasPrefix(f[1], "2") {
			gotErrors = append(gotErrors, f[1])
			t.Logf("refused as expected or not: %s", line)
		}
	}
	sort.Strings(gotErrors)
	sort.Strings(wantErrors)
	if strings.Join(gotErrors, ",") != strings.Join(wantErrors, ",") {
		t.Errorf("the walk-through's commands answered errors %v; the README marks %v\nstdout:\n%s\nstderr:\n%s",
			gotErrors, wantErrors, stdout.String(), stderr.String())
	}

	// The figures the README states for the statement at the end of the tour.
	finance := tokenOf(t, filepath.Join(dir, "var", "demo-tokens"), "finance")
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/statements?period=2025-03&payer_code=ZZO-USK", nil)
	req.Header.Set("Authorization", "Bearer "+finance)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Items) != 1 {
		t.Fatalf("statements of 2025-03 on ZZO-USK: %v %v", err, list.Items)
	}
	want := map[string]string{"status": "partially_paid", "claimed": "63.20", "approved": "41.20", "rejected": "22.00", "paid": "10.00", "outstanding": "31.20"}
	for k, v := range want {
		if got := list.Items[0][k]; got != v {
			t.Errorf("the statement's %s is %v; the README says %s", k, got, v)
		}
	}
	if !strings.Contains(stdout.String(), `"accepted":8`) {
		t.Errorf("the import did not accept the sample's 8 rows:\n%s", stdout.String())
	}
}

// tokenOf reads one role's token from a tokens file written by seed-demo.
func tokenOf(t *testing.T, file, role string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == role {
			return f[2]
		}
	}
	t.Fatalf("no %s token in %s", role, file)
	return ""
}
