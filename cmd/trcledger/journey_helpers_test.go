package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trcledger/trcledger/internal/browsertest"
	"github.com/trcledger/trcledger/internal/pgtest"
)

// journey is the real server (`serve`, API and pages) over a fresh demo database, with the demo
// users' passwords and tokens, and a headless Chromium tab.
type journey struct {
	t        *testing.T
	base     string
	ctx      context.Context
	password map[string]string // username -> password
	token    map[string]string // role -> API token
	getenv   func(string) string
}

// newJourney migrates and seeds a fresh database, serves it, and opens a browser. It skips
// without Chromium (and fails under CI).
func newJourney(t *testing.T) *journey {
	t.Helper()
	ctx := browsertest.New(t)
	env := map[string]string{"DATABASE_URL": pgtest.NewURL(t), "LISTEN_ADDR": "127.0.0.1:0", "PSEUDONYM_KEY": "journey-key-0123456789abcdef"}
	getenv := func(k string) string { return env[k] }
	dir := t.TempDir()
	for _, args := range [][]string{{"migrate"}, {"seed-demo", "--tokens-file", filepath.Join(dir, "tokens"), "--users-file", filepath.Join(dir, "users")}} {
		var out, errs bytes.Buffer
		if err := run(context.Background(), args, getenv, &out, &errs); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errs.String())
		}
	}
	j := &journey{t: t, ctx: ctx, password: map[string]string{}, token: map[string]string{}, getenv: getenv}
	users, err := os.ReadFile(filepath.Join(dir, "users"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(users)), "\n") {
		f := strings.Fields(line) // role org username locale password
		j.password[f[2]] = f[4]
	}
	tokens, err := os.ReadFile(filepath.Join(dir, "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(tokens)), "\n") {
		f := strings.Fields(line) // role org token
		j.token[f[0]] = f[2]
	}
	addr, logs, stop := serveForTest(t, context.Background(), getenv)
	t.Cleanup(stop)
	t.Cleanup(func() { // a failed journey shows the server's last requests (what it was waiting for)
		if t.Failed() {
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			t.Logf("the server's last log lines:\n%s", strings.Join(lines[max(0, len(lines)-25):], "\n"))
		}
	})
	j.base = "http://" + strings.Replace(addr, "[::]", "127.0.0.1", 1)
	return j
}

// run runs browser actions, failing the test (with a screenshot) on an error.
func (j *journey) run(actions ...chromedp.Action) {
	j.t.Helper()
	if err := chromedp.Run(j.ctx, actions...); err != nil {
		browsertest.Screenshot(j.t, j.ctx, "failed")
		j.t.Fatal(err)
	}
}

// signIn opens the login page and signs in as username with the demo password.
func (j *journey) signIn(username string) {
	j.t.Helper()
	j.run(
		chromedp.Navigate(j.base+"/login"),
		chromedp.WaitVisible(`#username`, chromedp.ByQuery),
		chromedp.SendKeys(`#username`, username, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, j.password[username], chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`form.signout`, chromedp.ByQuery),
	)
}

// text returns the visible text of the first element matching sel.
func (j *journey) text(sel string) string {
	j.t.Helper()
	var s string
	j.run(chromedp.Text(sel, &s, chromedp.ByQuery, chromedp.NodeVisible))
	return s
}

// attr returns an attribute of the first element matching sel.
func (j *journey) attr(sel, name string) string {
	j.t.Helper()
	var v string
	var ok bool
	j.run(chromedp.AttributeValue(sel, name, &v, &ok, chromedp.ByQuery))
	return v
}

// location is the tab's current path and query.
func (j *journey) location() string {
	j.t.Helper()
	var u string
	j.run(chromedp.Location(&u))
	return strings.TrimPrefix(u, j.base)
}

// waitFor polls cond until it holds or 15 s pass.
func (j *journey) waitFor(what string, cond func() bool) {
	j.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			browsertest.Screenshot(j.t, j.ctx, "timeout")
			j.t.Fatalf("waited 15 s for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
