package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trcledger/trcledger/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// syncBuffer is a bytes.Buffer safe to write from the server goroutine and read from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCommandsEndToEnd(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	env := map[string]string{"DATABASE_URL": url, "LISTEN_ADDR": "127.0.0.1:0", "PSEUDONYM_KEY": "test-key-0123456789abcdef"}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	runOK := func(args ...string) string {
		t.Helper()
		var out, errs bytes.Buffer
		if err := run(ctx, args, getenv, &out, &errs); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errs.String())
		}
		return out.String()
	}
	runOK("migrate")
	runOK("migrate") // twice is harmless
	tokensFile := filepath.Join(t.TempDir(), "demo-tokens")
	out := runOK("seed-demo", "--tokens-file", tokensFile)
	for _, role := range []string{"admin", "clinic", "reviewer", "finance"} {
		if !strings.Contains(out, role) {
			t.Errorf("seed-demo printed no %s token:\n%s", role, out)
		}
	}
	file, err := os.ReadFile(tokensFile)
	if err != nil || !strings.Contains(out, string(file)) {
		t.Errorf("tokens file %q does not hold the printed tokens: %v", file, err)
	}
	if again := runOK("seed-demo", "--tokens-file", tokensFile); !strings.Contains(again, "already") {
		t.Errorf("second seed-demo: %s", again)
	}
	out = runOK("token", "create", "--role", "clinic", "--org", "DZ-KS", "--name", "nurse Blažuj")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	clinicToken := lines[len(lines)-1]
	if !strings.HasPrefix(clinicToken, "trc_") {
		t.Fatalf("token create printed %q", out)
	}
	var errs bytes.Buffer
	if err := run(ctx, []string{"token", "create", "--role", "clinic", "--name", "x"}, getenv, io.Discard, &errs); err == nil {
		t.Error("a clinic token without --org was issued")
	}

	// serve until cancelled, as SIGTERM does.
	addr, stderr, stop := serveForTest(t, ctx, getenv)
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/contracts", nil)
	req.Header.Set("Authorization", "Bearer "+clinicToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Items []struct {
			Code string `json:"code"`
		} `json:"items"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body.Items) != 1 || body.Items[0].Code != "IOM-DZKS-2024" {
		t.Errorf("clinic contracts: %d %+v", resp.StatusCode, body)
	}
	req, _ = http.NewRequest("POST", "http://"+addr+"/v1/encounters", strings.NewReader(`{"contract_code":"IOM-DZKS-2024",
		"site_code":"TRC-USIVAK","external_id":"USIVAK-1","patient_id":"SFA-1","beneficiary_category":"unknown",
		"service_date":"2025-09-01","kind":"consultation","diagnoses":["J06.9"],"lines":[{"service_code":"PZZ-01","quantity":"1"}]}`))
	req.Header.Set("Authorization", "Bearer "+clinicToken)
	req.Header.Set("Idempotency-Key", "usivak-1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("post encounter: %d", resp.StatusCode)
	}
	stop()
	if out := runOK("verify"); !strings.Contains(out, "ledger ok: 1 transactions") {
		t.Errorf("verify: %s", out)
	}
	if !strings.Contains(stderr.String(), `"msg":"request"`) || strings.Contains(stderr.String(), clinicToken) {
		t.Errorf("request log missing or leaking the token:\n%s", stderr.String())
	}
}

func TestServeRefusesWithoutPseudonymKey(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": "postgres:///nowhere"}
	err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PSEUDONYM_KEY") {
		t.Errorf("err = %v", err)
	}
	if err := run(context.Background(), []string{"bogus"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("unknown command accepted")
	}
}
