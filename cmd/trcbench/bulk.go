package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// importFile is one clinic's CSV file of the dataset.
type importFile struct {
	provider string
	path     string
	lines    int
	size     int64
}

// writeImportFiles writes the dataset, lines lines over the 12 months of datasetYear, as one
// CSV file per provider (a clinic's token posts on its own provider's contracts only).
func (b *bench) writeImportFiles(lines int) ([]importFile, error) {
	perProvider := split(lines, providerWeights())
	var files []importFile
	for pi, p := range providers {
		path := filepath.Join(b.work, "import-"+p.Code+".csv")
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		g := newGen(b.seed, pi, "import", perProvider[pi]/6)
		for m, n := range split(perProvider[pi], seasonal[:]) {
			month := fmt.Sprintf("%d-%02d", datasetYear, m+1)
			if err := writeCSV(w, m == 0, g.month("I", month, n)); err != nil {
				f.Close()
				return nil, err
			}
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return nil, err
		}
		st, _ := f.Stat()
		if err := f.Close(); err != nil {
			return nil, err
		}
		files = append(files, importFile{provider: p.Code, path: path, lines: perProvider[pi], size: st.Size()})
	}
	return files, nil
}

type importResult struct {
	Accepted int `json:"accepted"`
	Skipped  int `json:"skipped"`
	Rejected int `json:"rejected"`
	Errors   []struct {
		Row     int    `json:"row"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// bulkResult is what one bulk phase measured.
type bulkResult struct {
	lines   int
	elapsed time.Duration
	peakRSS int64
	sealLag time.Duration // from the end of the phase until the sealer had chained everything
	// from the end of the sealer's work until the server had recomputed the transition report's
	// kept months (it waits for a month to be quiet for a few seconds first)
	reportLag time.Duration
	note      string
}

// runImport uploads the files one after the other, as a stream each, and measures the wall
// time of the whole and the server's peak RSS.
func (b *bench) runImport(ctx context.Context, files []importFile) (*bulkResult, error) {
	res := &bulkResult{}
	rss := sampleRSS(b.serverPID)
	start := time.Now()
	var rejected int
	for _, f := range files {
		fh, err := os.Open(f.path)
		if err != nil {
			rss.Stop()
			return nil, err
		}
		var out importResult
		err = b.api.call(ctx, "POST", "/v1/encounters/import", b.tok.clinic[f.provider],
			map[string]string{"Content-Type": "text/csv"}, fh, f.size, &out)
		fh.Close()
		if err != nil {
			rss.Stop()
			return nil, fmt.Errorf("import %s: %w", filepath.Base(f.path), err)
		}
		res.lines += out.Accepted
		rejected += out.Rejected
		if out.Rejected > 0 && res.note == "" {
			e := out.Errors[0]
			res.note = fmt.Sprintf("%s: %d rows rejected, first: row %d %s %s", f.provider, out.Rejected, e.Row, e.Code, e.Message)
		}
		b.logf("  import %-12s %8s lines accepted, %d skipped, %d rejected (%.1f s so far)", f.provider,
			thousands(int64(out.Accepted)), out.Skipped, out.Rejected, time.Since(start).Seconds())
	}
	res.elapsed = time.Since(start)
	res.peakRSS = rss.Stop()
	if rejected > 0 {
		b.logf("  WARNING: %s", res.note)
	}
	res.sealLag = b.waitSealed(ctx)
	res.reportLag = b.waitReports(ctx)
	return res, nil
}

// batchJob is one POST /v1/encounters/batch.
type batchJob struct {
	provider string
	key      string
	body     []byte
	lines    int
}

// makeBatches generates lines lines dated in extraMonth, as batches of up to 1000 encounters
// per provider, encoded before the clock starts.
func (b *bench) makeBatches(lines int) ([]batchJob, error) {
	var jobs []batchJob
	for pi, p := range providers {
		n := split(lines, providerWeights())[pi]
		if n == 0 {
			continue
		}
		g := newGen(b.seed, pi, "batch", n/6)
		encs := g.month("B", extraMonth, n)
		for i := 0; i < len(encs); i += 1000 {
			part := encs[i:min(i+1000, len(encs))]
			body, err := json.Marshal(map[string]any{"encounters": part})
			if err != nil {
				return nil, err
			}
			nl := 0
			for _, e := range part {
				nl += len(e.Lines)
			}
			jobs = append(jobs, batchJob{p.Code, fmt.Sprintf("bench-batch-%s-%d", p.Code, i), body, nl})
		}
	}
	return jobs, nil
}

// runBatches posts the batches from clients concurrent clients.
func (b *bench) runBatches(ctx context.Context, jobs []batchJob, clients int) (*bulkResult, error) {
	res := &bulkResult{}
	ch := make(chan batchJob)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	rss := sampleRSS(b.serverPID)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				err := b.api.call(ctx, "POST", "/v1/encounters/batch", b.tok.clinic[j.provider],
					map[string]string{"Idempotency-Key": j.key}, bytes.NewReader(j.body), int64(len(j.body)), nil)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					res.lines += j.lines
				}
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	res.elapsed = time.Since(start)
	res.peakRSS = rss.Stop()
	if firstErr != nil {
		return nil, fmt.Errorf("batch: %w", firstErr)
	}
	res.sealLag = b.waitSealed(ctx)
	return res, nil
}

// waitSealed waits until the server's sealer has chained every ledger transaction and returns
// how long that took.
func (b *bench) waitSealed(ctx context.Context) time.Duration {
	return b.waitNone(ctx, "unsealed transactions", `SELECT count(*) FROM ledger_unsealed_transactions()`)
}

// waitReports waits until the server has brought the transition report's kept months up to
// date (no change left to fold, no mark left to recompute), so that what it does in the
// background does not weigh on the next measurement, and returns how long that took.
func (b *bench) waitReports(ctx context.Context) time.Duration {
	return b.waitNone(ctx, "report changes", `SELECT (SELECT count(*) FROM report_dirty) + (SELECT count(*) FROM report_changes)`)
}

// waitNone polls count until it is zero and returns how long that took (-1 after 15 minutes or
// on an error).
func (b *bench) waitNone(ctx context.Context, what, count string) time.Duration {
	start := time.Now()
	for time.Since(start) < 15*time.Minute {
		var n int64
		if err := b.db.QueryRowContext(ctx, count).Scan(&n); err != nil {
			b.logf("  count %s: %v", what, err)
			return -1
		}
		if n == 0 {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return -1
}

// copyTables are the tables a posted encounter writes rows to, in the order the raw COPY loads
// them, with the query that selects the rows of encounters whose external_id starts with %s.
var copyTables = []struct{ table, query string }{
	{"ledger_transactions", `SELECT t.* FROM ledger_transactions t JOIN encounters e ON e.ledger_transaction_id = t.id WHERE e.external_id LIKE '%s-%%'`},
	{"ledger_postings", `SELECT p.* FROM ledger_postings p JOIN encounters e ON e.ledger_transaction_id = p.transaction_id WHERE e.external_id LIKE '%s-%%'`},
	{"encounters", `SELECT e.* FROM encounters e WHERE e.external_id LIKE '%s-%%'`},
	{"encounter_lines", `SELECT l.* FROM encounter_lines l JOIN encounters e ON e.id = l.encounter_id WHERE e.external_id LIKE '%s-%%'`},
	{"line_shares", `SELECT s.* FROM line_shares s JOIN encounters e ON e.id = s.encounter_id WHERE e.external_id LIKE '%s-%%'`},
}

// rawCopy is the raw baseline of a bulk phase: the very rows the service wrote for the
// encounters with this external id prefix are exported to files (not timed), then loaded with
// COPY into the raw tables from a psql client in one transaction (timed).
func (b *bench) rawCopy(ctx context.Context, prefix string) (time.Duration, int, error) {
	var export, load strings.Builder
	for _, t := range copyTables {
		file := filepath.Join(b.work, "raw-"+prefix+"-"+t.table+".copy")
		fmt.Fprintf(&export, "\\copy (%s) TO '%s'\n", fmt.Sprintf(t.query, prefix), file)
		fmt.Fprintf(&load, "\\copy raw.%s FROM '%s'\n", t.table, file)
	}
	if err := b.psql(ctx, export.String(), false); err != nil {
		return 0, 0, fmt.Errorf("export rows for raw COPY: %w", err)
	}
	var lines int
	if err := b.db.QueryRowContext(ctx, `SELECT count(*) FROM encounter_lines l JOIN encounters e ON e.id = l.encounter_id
		WHERE e.external_id LIKE $1 || '-%'`, prefix).Scan(&lines); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := b.psql(ctx, load.String(), true); err != nil {
		return 0, 0, fmt.Errorf("raw COPY: %w", err)
	}
	d := time.Since(start)
	for _, t := range copyTables {
		os.Remove(filepath.Join(b.work, "raw-"+prefix+"-"+t.table+".copy"))
	}
	return d, lines, nil
}

// psql runs a script with the psql client, in one transaction if single.
func (b *bench) psql(ctx context.Context, script string, single bool) error {
	args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", b.dbURL}
	if single {
		args = append(args, "-1")
	}
	cmd := exec.CommandContext(ctx, b.psqlPath, append(args, "-f", "-")...) //nolint:gosec // the psql of the -psql flag, run by whoever runs the benchmark
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}
