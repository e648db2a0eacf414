package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/internal/pgtest"
)

// TestMetricsAreScrapedWithEveryNamedSeries serves with the demo data, posts an encounter and
// imports a file, then scrapes /metrics from the API port (loopback) and checks every series
// the operations issue names, and that no label carries an id or a token.
func TestMetricsAreScrapedWithEveryNamedSeries(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": pgtest.NewURL(t), "LISTEN_ADDR": "127.0.0.1:0", "PSEUDONYM_KEY": "metrics-key-0123456789abcdef"}
	getenv := func(k string) string { return env[k] }
	tokensFile := filepath.Join(t.TempDir(), "tokens")
	for _, args := range [][]string{{"migrate"}, {"seed-demo", "--tokens-file", tokensFile}} {
		var errs bytes.Buffer
		if err := run(context.Background(), args, getenv, io.Discard, &errs); err != nil {
			t.Fatalf("%v: %v %s", args, err, errs.String())
		}
	}
	raw, err := os.ReadFile(tokensFile)
	if err != nil {
		t.Fatal(err)
	}
	var clinic string
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "clinic" {
			clinic = f[2]
		}
	}
	addr, _, stop := serveForTest(t, context.Background(), getenv)
	defer stop()
	base := "http://" + addr
	send := func(method, path, ctype, body string, headers ...string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+clinic)
		req.Header.Set("Content-Type", ctype)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			t.Logf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return res.StatusCode
	}
	post := `{"contract_code":"IOM-DZBIH-2024","site_code":"TRC-LIPA","external_id":"MET-1","patient_id":"SFA-METRICS-1",
		"beneficiary_category":"irregular_migrant","sex":"M","birth_year":1994,"service_date":"2025-03-15","kind":"consultation","diagnoses":["J06.9"],
		"lines":[{"service_code":"PZZ-01","quantity":"1"}]}`
	if got := send("POST", "/v1/encounters", "application/json", post, "Idempotency-Key", "metrics-1"); got != 201 {
		t.Fatalf("post: %d", got)
	}
	csv := "external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,diagnoses,service_code,quantity\n" +
		"MET-2,IOM-DZBIH-2024,TRC-LIPA,SFA-METRICS-2,irregular_migrant,2025-03-16,consultation,J06.9,PZZ-01,1\n" +
		"MET-3,IOM-DZBIH-2024,TRC-LIPA,SFA-METRICS-3,irregular_migrant,2025-03-16,consultation,J06.9,NO-SUCH,1\n"
	if got := send("POST", "/v1/encounters/import", "text/csv", csv); got != 200 {
		t.Fatalf("import: %d", got)
	}
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	text := string(body)
	if res.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", res.StatusCode, text)
	}
	for _, want := range []string{
		`trcledger_http_requests_total{method="POST",route="/v1/encounters",status="201"} 1`,
		`trcledger_http_request_duration_seconds_bucket{method="POST",route="/v1/encounters",le="+Inf"} 1`,
		`trcledger_group_commit_size_count 1`,
		`trcledger_import_encounters_total{outcome="accepted"} 1`,
		`trcledger_import_encounters_total{outcome="rejected"} 1`,
		`trcledger_sealer_lag_seconds `,
		`trcledger_report_refresh_lag_seconds `,
		`go_sql_max_open_connections{db_name="trcledger"} `,
		`go_sql_in_use_connections{db_name="trcledger"} `,
		`go_goroutines `,
		`go_memstats_heap_alloc_bytes `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, secret := range []string{clinic, "SFA-METRICS", "MET-1", "metrics-1"} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics shows %q", secret)
		}
	}
}

// TestMetricsAddrMovesThemOffTheAPIPort: with METRICS_ADDR the API port answers /metrics 404 and
// the metrics port answers it.
func TestMetricsAddrMovesThemOffTheAPIPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	env := map[string]string{"DATABASE_URL": pgtest.NewURL(t), "LISTEN_ADDR": "127.0.0.1:0", "PSEUDONYM_KEY": "metrics-key-0123456789abcdef", "METRICS_ADDR": metricsAddr}
	getenv := func(k string) string { return env[k] }
	if err := run(context.Background(), []string{"migrate"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	addr, _, stop := serveForTest(t, context.Background(), getenv)
	defer stop()
	for target, want := range map[string]int{"http://" + addr + "/metrics": 404, "http://" + metricsAddr + "/metrics": 200} {
		res, err := http.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: %d, want %d", target, res.StatusCode, want)
		}
	}
}
