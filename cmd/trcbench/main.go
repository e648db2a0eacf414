// Command trcbench measures a running trcledger server against the targets of DESIGN.md
// section 9, and the same work done the fastest raw way against the same PostgreSQL in the
// same run. scripts/bench.sh (make bench) starts a throwaway PostgreSQL and the server, then runs
// it; it prints one Markdown table on stdout and its progress on stderr.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "trcbench:", err)
		os.Exit(1)
	}
}

// sizes is how much work each measurement does.
type sizes struct {
	singleClients   int
	singleWarm      time.Duration
	singleFor       time.Duration
	importLines     int
	batchLines      int
	batchClients    int
	statementClient int
	reportReps      int
	postings        int64
	balanceN        int
	rawBalanceN     int
	monthByMonth    bool // state every month, and measure the twelfth too
}

var modes = map[string]sizes{
	"short": {singleClients: 16, singleWarm: 500 * time.Millisecond, singleFor: 10 * time.Second, importLines: 100_000, batchLines: 20_000,
		batchClients: 4, statementClient: 4, reportReps: 3, postings: 1_000_000, balanceN: 500, rawBalanceN: 50, monthByMonth: true},
	"full": {singleClients: 16, singleWarm: 2 * time.Second, singleFor: 30 * time.Second, importLines: 1_000_000, batchLines: 200_000,
		batchClients: 4, statementClient: 4, reportReps: 10, postings: 10_000_000, balanceN: 2000, rawBalanceN: 100, monthByMonth: true},
}

// bench is one run against one server and database.
type bench struct {
	api       *client
	db        *sql.DB
	dbURL     string
	psqlPath  string
	work      string
	seed      uint64
	serverPID int
	tok       *tokens
	log       io.Writer
	pgss      bool
	started   time.Time
	loadStart string
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "[%6.1fs] %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("trcbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	baseURL := fs.String("url", getenv("TRCBENCH_URL"), "base URL of the running server, e.g. http://127.0.0.1:8080")
	dbURL := fs.String("db", getenv("DATABASE_URL"), "the server's database (lib/pq URL); raw baselines run there too")
	admin := fs.String("admin-token", getenv("TRCBENCH_ADMIN_TOKEN"), "an admin token (trcledger token create --role admin)")
	pid := fs.Int("server-pid", 0, "the server's process id, to sample its resident memory")
	mode := fs.String("mode", "short", "short (under 2 minutes) or full")
	seed := fs.Uint64("seed", 1, "seed of the dataset")
	work := fs.String("work", os.TempDir(), "directory for the generated files")
	psqlPath := fs.String("psql", "psql", "the psql client, for the raw COPY baseline")
	rev := fs.String("rev", "", "the commit measured, for the header")
	pgss := fs.Bool("pgss", false, "print the top statements of each phase from pg_stat_statements (needs it preloaded)")
	only := fs.String("only", "", "comma-separated phases to run among import,batch,single,statements,report,simulation,balance (default all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sz, ok := modes[*mode]
	if !ok {
		return fmt.Errorf("unknown mode %q (short or full)", *mode)
	}
	if *baseURL == "" || *dbURL == "" || *admin == "" {
		return errors.New("--url, --db and --admin-token are required (scripts/bench.sh sets them)")
	}
	db, err := sql.Open("postgres", *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(64)
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	b := &bench{api: newClient(*baseURL), db: db, dbURL: *dbURL, psqlPath: *psqlPath, work: *work, seed: *seed,
		serverPID: *pid, log: stderr, pgss: *pgss, started: time.Now()}
	b.loadStart = loadavg()
	phases := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		if p = strings.TrimSpace(p); p != "" {
			phases[p] = true
		}
	}
	want := func(p string) bool { return len(phases) == 0 || phases[p] }

	host, err := b.environment(ctx, *mode, *rev)
	if err != nil {
		return err
	}
	b.logf("setting up reference data, contracts and tokens through the API")
	if b.tok, err = setupReference(ctx, b.api, *admin); err != nil {
		return err
	}
	if err := setupRaw(ctx, db); err != nil {
		return err
	}
	if b.pgss {
		if _, err := db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
			b.logf("pg_stat_statements not available: %v", err)
			b.pgss = false
		}
	}

	var rows []row
	var notes []string
	note := func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }
	const rssLimit = 256 << 20

	// (2) import and batch come first: they build the ledger the other measurements run on.
	var dataset string
	if want("import") {
		b.logf("writing the dataset: %s lines as CSV, one file per clinic", thousands(int64(sz.importLines)))
		files, err := b.writeImportFiles(sz.importLines)
		if err != nil {
			return err
		}
		var size int64
		for _, f := range files {
			size += f.size
		}
		b.prepare(ctx)
		b.logf("(2) POST /v1/encounters/import, %d files in turn", len(files))
		imp, err := b.runImport(ctx, files)
		if err != nil {
			return err
		}
		b.topStatements(ctx, "import")
		b.logf("    %s lines in %s: %.0f lines/s, peak RSS %s; sealed %s after, report months %s after that", thousands(int64(imp.lines)), secs(imp.elapsed),
			rate(imp.lines, imp.elapsed), mib(imp.peakRSS), secs(imp.sealLag), secs(imp.reportLag))
		b.logf("    raw: COPY of the same rows")
		rawT, rawLines, err := b.rawCopy(ctx, "I")
		if err != nil {
			return err
		}
		var encs int
		_ = db.QueryRowContext(ctx, `SELECT count(*) FROM encounters WHERE external_id LIKE 'I-%'`).Scan(&encs)
		dataset = fmt.Sprintf("%s lines in %s encounters, %d CSV files (%s)", thousands(int64(imp.lines)), thousands(int64(encs)), len(files), mib(size))
		ours, raw := rate(imp.lines, imp.elapsed), rate(rawLines, rawT)
		rows = append(rows,
			row{fmt.Sprintf("(2) POST /v1/encounters/import: %s-line CSV (%d clinic files in turn)", thousands(int64(sz.importLines)), len(files)),
				fmt.Sprintf("%s lines/s", thousands(int64(ours))), fmt.Sprintf("%s lines/s (COPY)", thousands(int64(raw))),
				ratio(ours, raw), "≥ 25,000 lines/s", yesNo(ours >= 25000)})
		limit := time.Duration(float64(45*time.Second) * float64(sz.importLines) / 1e6)
		rows = append(rows,
			row{"(2) import: wall time", secs(imp.elapsed), secs(rawT), ratio(imp.elapsed.Seconds(), rawT.Seconds()),
				fmt.Sprintf("≤ %s (45 s per 1M lines)", secs(limit)), yesNo(imp.elapsed <= limit)},
			row{"(2) import: server peak RSS", mib(imp.peakRSS), "–", "–", "≤ 256 MiB", yesNo(imp.peakRSS > 0 && imp.peakRSS <= rssLimit)},
			row{"(2) import: sealer done after the last upload", secs(imp.sealLag), "–", "–", "(info)", ""},
			row{"(2) import: report months recomputed after that", secs(imp.reportLag), "–", "–", "(info)", ""},
		)
		if imp.lines != sz.importLines {
			note("import accepted %d of %d lines: %s", imp.lines, sz.importLines, imp.note)
		}
	}

	if want("batch") {
		jobs, err := b.makeBatches(sz.batchLines)
		if err != nil {
			return err
		}
		b.prepare(ctx)
		b.logf("(2) POST /v1/encounters/batch: %s lines in %d batches, %d clients", thousands(int64(sz.batchLines)), len(jobs), sz.batchClients)
		bat, err := b.runBatches(ctx, jobs, sz.batchClients)
		if err != nil {
			return err
		}
		b.topStatements(ctx, "batch")
		b.logf("    %s lines in %s: %.0f lines/s, peak RSS %s; sealed %s after", thousands(int64(bat.lines)), secs(bat.elapsed),
			rate(bat.lines, bat.elapsed), mib(bat.peakRSS), secs(bat.sealLag))
		rawT, rawLines, err := b.rawCopy(ctx, "B")
		if err != nil {
			return err
		}
		ours, raw := rate(bat.lines, bat.elapsed), rate(rawLines, rawT)
		rows = append(rows,
			row{fmt.Sprintf("(2) POST /v1/encounters/batch: %s lines, %d batches of ≤ 1000 encounters, %d clients", thousands(int64(bat.lines)), len(jobs), sz.batchClients),
				fmt.Sprintf("%s lines/s", thousands(int64(ours))), fmt.Sprintf("%s lines/s (COPY)", thousands(int64(raw))),
				ratio(ours, raw), "≥ 25,000 lines/s", yesNo(ours >= 25000)},
			row{"(2) batch: server peak RSS", mib(bat.peakRSS), "–", "–", "≤ 256 MiB", yesNo(bat.peakRSS > 0 && bat.peakRSS <= rssLimit)},
		)
	}

	if want("import") || want("batch") {
		b.logf("VACUUM ANALYZE after the bulk load (not timed)")
		if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE) encounters, encounter_lines, line_shares, ledger_transactions, ledger_postings, ledger_chain, ledger_daily_totals`); err != nil {
			return err
		}
	}

	if want("single") {
		b.prepare(ctx)
		b.logf("(1) POST /v1/encounters from %d clients for %s", sz.singleClients, sz.singleFor)
		one, err := b.runSingle(ctx, sz.singleClients, sz.singleWarm, sz.singleFor)
		if err != nil {
			return err
		}
		b.topStatements(ctx, "single")
		b.logf("    %d posted (%.0f/s), %d errors; p50 %s p95 %s p99 %s; peak RSS %s", one.ok, rate(one.ok, one.elapsed), one.errors,
			ms(one.lat.pct(.5)), ms(one.lat.pct(.95)), ms(one.lat.pct(.99)), mib(one.peakRSS))
		if one.errors > 0 {
			note("(1) %d single posts failed; first: %s", one.errors, one.firstErr)
		}
		tpls, err := b.loadTemplates(ctx, 200)
		if err != nil {
			return err
		}
		b.checkpoint(ctx)
		b.logf("    raw: plain INSERTs of the same rows, %d connections, one transaction per encounter", sz.singleClients)
		raw, err := b.runRawSingle(ctx, tpls, sz.singleClients, sz.singleWarm, sz.singleFor)
		if err != nil {
			return err
		}
		b.logf("    raw %d (%.0f/s), %d errors; p50 %s p95 %s p99 %s", raw.ok, rate(raw.ok, raw.elapsed), raw.errors,
			ms(raw.lat.pct(.5)), ms(raw.lat.pct(.95)), ms(raw.lat.pct(.99)))
		if raw.errors > 0 {
			note("(1) raw: %d inserts failed; first: %s", raw.errors, raw.firstErr)
		}
		ours, rawR := rate(one.ok, one.elapsed), rate(raw.ok, raw.elapsed)
		lat := func(r *singleResult) string {
			return fmt.Sprintf("%s / %s / %s", ms(r.lat.pct(.5)), ms(r.lat.pct(.95)), ms(r.lat.pct(.99)))
		}
		rows = append(rows,
			row{fmt.Sprintf("(1) POST /v1/encounters (3 lines, 2 payers), %d clients × %s: throughput", sz.singleClients, sz.singleFor),
				fmt.Sprintf("%s enc/s", thousands(int64(ours))), fmt.Sprintf("%s enc/s", thousands(int64(rawR))), ratio(ours, rawR),
				"≥ 2,000 enc/s", yesNo(ours >= 2000)},
			row{"(1) latency p50 / p95 / p99", lat(one), lat(raw), ratio(one.lat.pct(.99).Seconds(), raw.lat.pct(.99).Seconds()),
				"p99 ≤ 25 ms", yesNo(one.ok > 0 && one.lat.pct(.99) <= 25*time.Millisecond)},
		)
	}

	var pairs []pair
	if want("statements") || want("balance") {
		if pairs, err = b.pairs(ctx); err != nil {
			return err
		}
	}

	if want("statements") && len(pairs) > 0 {
		period := func(m int) string { return fmt.Sprintf("%d-%02d", datasetYear, m) }
		measure := func(m int, label string) error {
			b.prepare(ctx)
			raw, err := b.rawStatements(ctx, period(m))
			if err != nil {
				return fmt.Errorf("raw statements: %w", err)
			}
			b.checkpoint(ctx)
			ours, err := b.createStatements(ctx, period(m), pairs, sz.statementClient)
			if err != nil {
				return fmt.Errorf("statements %s: %w", period(m), err)
			}
			b.topStatements(ctx, "statements "+period(m))
			b.logf("    %s: %d statements, %s lines in %s; raw %d, %s lines in %s", period(m), ours.statements, thousands(int64(ours.lines)),
				secs(ours.elapsed), raw.statements, thousands(int64(raw.lines)), secs(raw.elapsed))
			if ours.lines != raw.lines || ours.statements != raw.statements {
				note("(3) %s: ours gathered %d statements, %d lines; the raw query %d, %d", period(m), ours.statements, ours.lines, raw.statements, raw.lines)
			}
			rows = append(rows, row{fmt.Sprintf("(3) statements of %s %s: %d statements, %s lines", period(m), label, ours.statements, thousands(int64(ours.lines))),
				secs(ours.elapsed), secs(raw.elapsed), ratio(ours.elapsed.Seconds(), raw.elapsed.Seconds()), "≤ 2 s", yesNo(ours.elapsed <= 2*time.Second)})
			return nil
		}
		b.logf("(3) POST /v1/statements for %d provider-payer pairs, month by month", len(pairs))
		if err := measure(1, "(first month)"); err != nil {
			return err
		}
		for m := 2; m <= 11 && sz.monthByMonth; m++ {
			r, err := b.createStatements(ctx, period(m), pairs, sz.statementClient)
			if err != nil {
				return fmt.Errorf("statements %s: %w", period(m), err)
			}
			b.logf("    %s: %d statements, %s lines in %s (not in the table)", period(m), r.statements, thousands(int64(r.lines)), secs(r.elapsed))
		}
		if sz.monthByMonth {
			if err := measure(12, "(11 months stated before)"); err != nil {
				return err
			}
		}
	}

	if want("report") {
		for _, by := range []string{"", "service_category"} {
			b.prepare(ctx)
			b.logf("(4) GET /v1/reports/transition by=%q", by)
			ours, err := b.transition(ctx, by, sz.reportReps)
			if err != nil {
				return fmt.Errorf("transition report: %w", err)
			}
			raw, err := b.rawTransition(ctx, by, sz.reportReps)
			if err != nil {
				return fmt.Errorf("raw transition: %w", err)
			}
			b.topStatements(ctx, "transition by="+by)
			label := fmt.Sprintf("(4) GET /v1/reports/transition %d-01..%d-12 by=%s: median of %d (raw %d)", datasetYear, datasetYear, by, ours.runs, raw.runs)
			if ours.unavailable != "" {
				rows = append(rows, row{label, ours.unavailable, secs(raw.median), "–", "≤ 300 ms", "n/a"})
				b.logf("    %s; raw %s", ours.unavailable, secs(raw.median))
				continue
			}
			b.logf("    median %s, slowest %s, %d rows; raw median %s, %d rows", secs(ours.median), secs(ours.slowest), ours.rows, secs(raw.median), raw.rows)
			if ours.rows != raw.rows {
				note("(4) by=%s: ours answered %d rows, the raw aggregate %d", by, ours.rows, raw.rows)
			}
			rows = append(rows, row{label, fmt.Sprintf("%s (slowest %s)", secs(ours.median), secs(ours.slowest)),
				fmt.Sprintf("%s (slowest %s)", secs(raw.median), secs(raw.slowest)), ratio(ours.median.Seconds(), raw.median.Seconds()),
				"≤ 300 ms", yesNo(ours.median <= 300*time.Millisecond)})
			if by != "" {
				continue
			}
			// While clinics post into a month, that month is aggregated live. A mark dated in
			// the future stands for that: the server leaves marked months alone while a mark is
			// younger than a few seconds. It is taken away after (no data changed).
			const busy = "12"
			live, err := b.withBusyMonth(ctx, fmt.Sprintf("%d-%s", datasetYear, busy), func() (*reportResult, error) {
				b.logf("(4) GET /v1/reports/transition by=\"\" while %d-%s is being written to", datasetYear, busy)
				return b.transition(ctx, by, sz.reportReps)
			})
			if err != nil {
				return fmt.Errorf("transition report with a month being written: %w", err)
			}
			b.logf("    median %s, slowest %s, %d rows", secs(live.median), secs(live.slowest), live.rows)
			if live.rows != ours.rows {
				note("(4) with %d-%s aggregated live the report had %d rows, from kept rows %d", datasetYear, busy, live.rows, ours.rows)
			}
			rows = append(rows, row{fmt.Sprintf("(4) … the same while %d-%s is being written to (that month aggregated live)", datasetYear, busy),
				fmt.Sprintf("%s (slowest %s)", secs(live.median), secs(live.slowest)),
				fmt.Sprintf("%s (slowest %s)", secs(raw.median), secs(raw.slowest)), ratio(live.median.Seconds(), raw.median.Seconds()),
				"≤ 300 ms", yesNo(live.median <= 300*time.Millisecond)})
		}
	}

	if want("simulation") {
		b.prepare(ctx)
		b.logf("(6) POST /v1/reports/simulations: %d-01..%d-12 under a proposed schedule", datasetYear, datasetYear)
		ours, err := b.simulation(ctx, sz.reportReps)
		if err != nil {
			return fmt.Errorf("simulation: %w", err)
		}
		raw, err := b.rawSim(ctx, sz.reportReps)
		if err != nil {
			return fmt.Errorf("raw simulation: %w", err)
		}
		b.topStatements(ctx, "simulation")
		b.logf("    first %s (computes the kept months), then median %s, slowest %s; %s lines, %d rows; raw median %s, %d rows",
			secs(ours.first), secs(ours.median), secs(ours.slowest), thousands(ours.lines), ours.rows, secs(raw.median), raw.rows)
		if ours.rows != raw.rows || fmt.Sprintf("%.2f %.2f", ours.actual, ours.simulated) != fmt.Sprintf("%.2f %.2f", raw.actual, raw.simulated) {
			note("(6) the simulation answered %d rows (actual %.2f, simulated %.2f), the raw per-line query %d (%.2f, %.2f)",
				ours.rows, ours.actual, ours.simulated, raw.rows, raw.actual, raw.simulated)
		}
		rows = append(rows,
			row{fmt.Sprintf("(6) POST /v1/reports/simulations, %d-01..%d-12, %s lines: median of %d (raw %d)", datasetYear, datasetYear, thousands(ours.lines), ours.runs, raw.runs),
				fmt.Sprintf("%s (slowest %s)", secs(ours.median), secs(ours.slowest)), fmt.Sprintf("%s (slowest %s)", secs(raw.median), secs(raw.slowest)),
				ratio(ours.median.Seconds(), raw.median.Seconds()), "≤ 1 s", yesNo(ours.median <= time.Second)},
			row{"(6) … its first call after the load (computes the kept months)", secs(ours.first), secs(raw.median),
				ratio(ours.first.Seconds(), raw.median.Seconds()), "(info)", ""},
		)
	}

	if want("balance") && len(pairs) > 0 {
		b.logf("(5) growing the journal to %s postings (set-based SQL, sealed by ledger.Journal.Seal; not timed)", thousands(sz.postings))
		total, err := b.growPostings(ctx, sz.postings, pairs)
		if err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE) ledger_transactions, ledger_postings, ledger_chain, ledger_daily_totals`); err != nil {
			return err
		}
		probes, err := b.balanceProbes(ctx, sz.balanceN+20)
		if err != nil {
			return err
		}
		b.prepare(ctx)
		b.logf("(5) GET /v1/ledger/balances?account=&as_of=, %d requests, one client", sz.balanceN)
		lat, sums, err := b.balances(ctx, probes, 20)
		if err != nil {
			return fmt.Errorf("balances: %w", err)
		}
		b.topStatements(ctx, "balance")
		b.checkpoint(ctx)
		rawLat, rawSums, err := b.rawBalances(ctx, probes[20:20+sz.rawBalanceN], 90*time.Second)
		if err != nil {
			return fmt.Errorf("raw balances: %w", err)
		}
		bad := 0
		for i := range rawSums {
			if d := rawSums[i] - sums[i]; d > 0.005 || d < -0.005 {
				bad++
			}
		}
		if bad > 0 {
			note("(5) %d of %d balances differ from the raw sum of their postings", bad, len(rawSums))
		}
		b.logf("    p50 %s p99 %s; raw (%d) p50 %s p99 %s", ms(lat.pct(.5)), ms(lat.pct(.99)), len(rawLat), ms(rawLat.pct(.5)), ms(rawLat.pct(.99)))
		rows = append(rows, row{fmt.Sprintf("(5) GET /v1/ledger/balances as of a date, %s postings: p99 (p50) of %d / raw %d", thousands(total), len(lat), len(rawLat)),
			fmt.Sprintf("%s (%s)", ms(lat.pct(.99)), ms(lat.pct(.5))), fmt.Sprintf("%s (%s) SUM", ms(rawLat.pct(.99)), ms(rawLat.pct(.5))),
			ratio(lat.pct(.99).Seconds(), rawLat.pct(.99).Seconds()), "p99 ≤ 5 ms", yesNo(lat.pct(.99) <= 5*time.Millisecond)})
	}

	var hwm int64
	if b.serverPID > 0 {
		_, hwm, _ = memStatus(b.serverPID)
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	fmt.Fprintf(out, "\n### trcledger benchmark, BENCH=%s\n\n%s\n", *mode, host)
	if dataset != "" {
		fmt.Fprintf(out, "Dataset (seed %d): %d providers, %d payers, the 12 months of %d, %s; batches and single posts dated %s.\n",
			b.seed, len(providers), len(payers), datasetYear, dataset, extraMonth)
	}
	fmt.Fprintf(out, "Ratio ours / raw of the figures side by side: for rates (lines/s, enc/s) below 1 means slower than raw PostgreSQL, "+
		"for times and latencies above 1 means slower.\n\n")
	printTable(out, rows)
	if hwm > 0 {
		fmt.Fprintf(out, "\nServer VmHWM (peak RSS over the whole run): %s. ", mib(hwm<<10))
	}
	fmt.Fprintf(out, "Total run time %s. Load average at the start %s, at the end %s.\n", secs(time.Since(b.started)), b.loadStart, loadavg())
	for _, n := range notes {
		fmt.Fprintf(out, "- note: %s\n", n)
	}
	return nil
}

// environment describes the machine and PostgreSQL for the header.
func (b *bench) environment(ctx context.Context, mode, rev string) (string, error) {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		_, _ = fmt.Sscanf(string(data), "MemTotal: %d kB", &kb) // 0 GiB if the format changes
		mem = fmt.Sprintf(", %.1f GiB RAM", float64(kb)/(1<<20))
	}
	var version, fsync, syncCommit, shared, fpw string
	err := b.db.QueryRowContext(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit'), current_setting('shared_buffers'), current_setting('full_page_writes')`).
		Scan(&version, &fsync, &syncCommit, &shared, &fpw)
	if err != nil {
		return "", fmt.Errorf("read PostgreSQL settings: %w", err)
	}
	if rev != "" {
		rev = ", commit " + rev
	}
	b.logf("mode %s; nproc %d, %s%s; PostgreSQL %s (fsync %s, synchronous_commit %s, shared_buffers %s)", mode,
		runtime.NumCPU(), cpu, mem, version, fsync, syncCommit, shared)
	return fmt.Sprintf("%s%s. nproc %d, %s%s, %s/%s; PostgreSQL %s on the same machine over a unix socket "+
		"(fsync %s, synchronous_commit %s, full_page_writes %s, shared_buffers %s); server and load generator share the CPUs.",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), rev, runtime.NumCPU(), cpu, mem, runtime.GOOS, runtime.Version(),
		version, fsync, syncCommit, fpw, shared), nil
}

// loadavg is the 1-minute load average: other work on the machine skews every figure.
func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

// prepare starts a measured phase on a quiet database: the server done with the transition
// report's months, a checkpoint, and fresh statement statistics when pg_stat_statements is on.
func (b *bench) prepare(ctx context.Context) {
	b.waitReports(ctx)
	b.checkpoint(ctx)
	if b.pgss {
		_, _ = b.db.ExecContext(ctx, `SELECT pg_stat_statements_reset()`)
	}
}

func (b *bench) checkpoint(ctx context.Context) {
	if _, err := b.db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		b.logf("checkpoint: %v", err)
	}
}

// topStatements logs the statements that took the most database time in the phase.
func (b *bench) topStatements(ctx context.Context, phase string) {
	if !b.pgss {
		return
	}
	var exec, plan float64
	_ = b.db.QueryRowContext(ctx, `SELECT coalesce(sum(total_exec_time), 0), coalesce(sum(total_plan_time), 0) FROM pg_stat_statements
		WHERE query NOT LIKE '%pg_stat_statements%'`).Scan(&exec, &plan)
	rows, err := b.db.QueryContext(ctx, `SELECT calls, total_exec_time, mean_exec_time, mean_plan_time, regexp_replace(query, '\s+', ' ', 'g')
		FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 12`)
	if err != nil {
		b.logf("pg_stat_statements: %v", err)
		return
	}
	defer rows.Close()
	b.logf("    %s: PostgreSQL spent %.0f ms executing statements and %.0f ms planning them", phase, exec, plan)
	b.logf("    top statements of %s (calls, total ms, mean ms, mean planning ms, query):", phase)
	for rows.Next() {
		var calls int64
		var total, mean, meanPlan float64
		var q string
		if err := rows.Scan(&calls, &total, &mean, &meanPlan, &q); err != nil {
			return
		}
		if len(q) > 160 {
			q = q[:160] + "…"
		}
		fmt.Fprintf(b.log, "        %8d %10.0f %8.3f %8.3f  %s\n", calls, total, mean, meanPlan, q)
	}
	if err := rows.Err(); err != nil {
		b.logf("pg_stat_statements: %v", err)
	}
}
