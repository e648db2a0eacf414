package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/api"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/background"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/imports"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/icd10"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/internal/metrics"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/ledger"
	"github.com/trcledger/trcledger/web"
)

func openDB(ctx context.Context, getenv func(string) string) (*sqlx.DB, error) {
	url := getenv("DATABASE_URL")
	if url == "" {
		return nil, errors.New("DATABASE_URL is not set (make run starts a private PostgreSQL and sets it)")
	}
	return pg.Open(ctx, url)
}

func newLogger(getenv func(string) string, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(getenv("LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

func serve(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	log := newLogger(getenv, stderr)
	key, err := pseudonymKey(getenv)
	if err != nil {
		return err
	}
	headerTimeout, err := durationEnv(getenv, "HEADER_TIMEOUT", 10*time.Second)
	if err != nil {
		return err
	}
	authFailures, err := authFailureLimit(getenv)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := startProfiler(ctx, getenv("PPROF_ADDR"), log); err != nil {
		return err
	}
	addr := getenv("LISTEN_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	tlsCfg, err := tlsConfig(getenv)
	if err != nil {
		return err
	}
	proxies, proxyHeader, err := trustedProxies(getenv)
	if err != nil {
		return err
	}
	// Reports, exports and ledger reads go to the replica while it is caught up (docs/operations.md).
	replica, err := openReplica(ctx, getenv, db, log)
	if err != nil {
		return err
	}
	defer replica.Close()
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	ln = serveTLS(ln, tlsCfg)
	journal := ledger.New(db)
	journal.SetReplica(replica)
	rate, err := intEnv(getenv, "RATE_LIMIT", 300)
	if err != nil {
		return err
	}
	encountersSvc := encounters.NewService(db, time.Now, key, journal)
	reportsSvc := reports.NewService(db)
	reportsSvc.SetReplica(replica)
	// The group committer, the sealer and the report refresher (claims/background).
	bg := background.New(encountersSvc, reportsSvc, journal, log)
	// Import jobs (docs/import-jobs.md): run by the background, resumed after a restart.
	importsSvc := imports.NewService(db, encountersSvc, time.Now, log)
	importPoll, err := durationEnv(getenv, "IMPORT_JOB_POLL", 2*time.Second)
	if err != nil {
		return err
	}
	bg.RunImports(importsSvc, importPoll)
	bg.Start(ctx)
	stopped := false
	defer func() {
		if !stopped {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = bg.Stop(sctx)
		}
	}()
	// Idempotency keys recorded before migration 0013 hold a plain digest of their request;
	// they are keyed before the first request is answered (docs/idempotency.md).
	if n, err := claims.NewKeys(db, key).RekeyLegacyIdempotencyKeys(ctx); err != nil {
		return fmt.Errorf("rekey idempotency keys: %w", err)
	} else if n > 0 {
		log.Info("rekeyed legacy idempotency keys", "keys", n)
	}
	contractsStore := contracts.NewStore(db, time.Now)
	statementsSvc := statements.NewService(db, time.Now, key, journal)
	statementsSvc.SetReplica(replica)
	// The place of issue printed on statement PDFs; unset: the provider's jurisdiction (docs/pdf-statement.md).
	statementsSvc.SetIssuePlace(getenv("STATEMENT_ISSUE_PLACE"))
	tokens, users := access.NewTokens(db, time.Now), access.NewUsers(db, time.Now)
	loginAddressLimit := 0 // "0": off, behind a proxy that hides client addresses
	if getenv("LOGIN_ADDRESS_LIMIT") != "0" {
		if loginAddressLimit, err = intEnv(getenv, "LOGIN_ADDRESS_LIMIT", access.DefaultLoginAddressLimit); err != nil {
			return err
		}
	}
	users.SetLoginAddressLimit(loginAddressLimit)
	// Prometheus metrics: requests, group commits, imports, lags, the pool and the runtime.
	m := metrics.New(db.DB, metrics.Lags{Sealer: journal.SealLag, Reports: reportsSvc.RefreshLag})
	encountersSvc.OnGroupCommit(m.GroupCommitted)
	importsSvc.OnRows(m.Imported)
	importsSvc.OnFinish(m.ImportJobFinished)
	srv := api.NewServer(api.Config{
		RateLimit:  rate,
		Contracts:  contractsStore,
		Encounters: encountersSvc,
		Statements: statementsSvc,
		Reports:    reportsSvc,
		Imports:    importsSvc,
		Journal:    journal,
		Tokens:     tokens,
		Users:      users,
		Ready:      db.PingContext,
		Logger:     log,

		// A client has this long for its request line and headers; the body then has 5 min.
		HeaderTimeout: headerTimeout,
		// About this many failed authentications a minute from one address (IPv6: one /64)
		// before its unknown tokens are refused (429); off when AUTH_FAILURE_LIMIT=0.
		AuthFailures: authFailures,
		Metrics:      m,
		// The web application's upload page streams its file as the API's import does, and
		// gets the same long body timeout.
		StreamedPaths: web.StreamedRoutes(),
		// Behind a reverse proxy: whose X-Real-IP and X-Forwarded-Proto to believe.
		TrustedProxies: proxies,
		ProxyHeader:    proxyHeader,
	})
	metricsAddr, err := serveMetrics(ctx, getenv("METRICS_ADDR"), srv.App, m, log)
	if err != nil {
		return err
	}
	if metricsAddr != "" {
		fmt.Fprintf(stdout, "trcledger metrics on %s\n", metricsAddr)
	}
	// The web application for people, at / beside the API at /v1, over the same services.
	web.Register(srv.App, web.Config{Contracts: contractsStore, Encounters: encountersSvc, Statements: statementsSvc,
		Reports: reportsSvc, Imports: importsSvc, Journal: journal, Tokens: tokens, Users: users, ICD10: icd10.NewStore(db, time.Now), Logger: log})
	errc := make(chan error, 1)
	go func() { errc <- srv.App.Listener(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "tls", tlsCfg != nil, "trusted_proxies", len(proxies), "replica", replica != nil)
	fmt.Fprintf(stdout, "trcledger listening on %s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if err := srv.App.ShutdownWithTimeout(15 * time.Second); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	// Every request has been answered, so no post waits in the committer any more; Stop
	// still drains it first, then stops the sealer and the refresher and seals the rest.
	stopped = true
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return bg.Stop(sctx)
}

// pseudonymKey is PSEUDONYM_KEY; in development a missing key is replaced by a random one
// (patient keys then differ from run to run, which only matters for demo data).
func pseudonymKey(getenv func(string) string) ([]byte, error) {
	if k := getenv("PSEUDONYM_KEY"); k != "" {
		if len(k) < 16 {
			return nil, errors.New("PSEUDONYM_KEY must be at least 16 characters")
		}
		return []byte(k), nil
	}
	if getenv("TRCLEDGER_ENV") != "development" {
		return nil, errors.New("PSEUDONYM_KEY is not set; it is required outside development (TRCLEDGER_ENV=development)")
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("make a pseudonym key: %w", err)
	}
	return k, nil
}

// verify seals what is waiting and recomputes the whole hash chain; it fails naming the first
// bad transaction.
func verify(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := ledger.New(db).Verify(ctx)
	if err != nil {
		return err
	}
	if !res.OK {
		fmt.Fprintf(stdout, "ledger verification FAILED after %d transactions: transaction %d: %s\n", res.TransactionsChecked, *res.FirstBad, res.Reason)
		return fmt.Errorf("ledger verification failed at transaction %d", *res.FirstBad)
	}
	fmt.Fprintf(stdout, "ledger ok: %d transactions, every one balanced and chained\n", res.TransactionsChecked)
	return nil
}

func migrate(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := pg.Migrate(ctx, db); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

func seedDemo(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed-demo", flag.ContinueOnError)
	tokensFile := fs.String("tokens-file", "", "also write the demo tokens to this file")
	usersFile := fs.String("users-file", "", "also write the demo users' passwords to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	tokens, err := demo.Seed(ctx, contracts.NewStore(db, time.Now), access.NewTokens(db, time.Now))
	switch {
	case errors.Is(err, demo.ErrSeeded):
		fmt.Fprintln(stdout, "demo data is already loaded")
	case err != nil:
		return err
	default:
		var b strings.Builder
		for _, t := range tokens {
			fmt.Fprintf(&b, "%-9s %-8s %s\n", t.Role, t.Org, t.Secret)
		}
		fmt.Fprintln(stdout, "demo data loaded; one token per role (shown once):")
		fmt.Fprint(stdout, b.String())
		if err := writeSecrets(*tokensFile, b.String()); err != nil {
			return err
		}
	}
	// Demo users are seeded on their own, so a demo database from before the web application
	// gets them once.
	users, err := demo.SeedUsers(ctx, access.NewUsers(db, time.Now))
	switch {
	case errors.Is(err, demo.ErrSeeded):
		fmt.Fprintln(stdout, "demo users are already there; nothing more to do")
		return nil
	case err != nil:
		return err
	}
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "%-9s %-8s %-13s %-8s %s\n", u.Role, u.Org, u.Username, u.Locale, u.Password)
	}
	fmt.Fprintln(stdout, "demo users for the web application (role, organization, username, language, password; shown once):")
	fmt.Fprint(stdout, b.String())
	return writeSecrets(*usersFile, b.String())
}

// writeSecrets writes demo secrets to path (readable by the owner only); "" writes nothing.
func writeSecrets(path, text string) error {
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func token(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: trcledger token create --role R [--org CODE] --name N [--expires RFC3339]")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	role := fs.String("role", "", "admin, clinic, reviewer or finance")
	org := fs.String("org", "", "the provider (clinic) or payer (reviewer) the token is bound to")
	name := fs.String("name", "", "who or what the token is for")
	expires := fs.String("expires", "", "expiry time, RFC 3339 (optional)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	in := access.NewToken{Name: *name, Role: *role, OrgCode: *org}
	if *expires != "" {
		at, err := time.Parse(time.RFC3339, *expires)
		if err != nil {
			return fmt.Errorf("--expires: %w", err)
		}
		in.ExpiresAt = &at
	}
	db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	t, secret, err := access.NewTokens(db, time.Now).CreateToken(ctx, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token %s for %s (%s %s); shown once:\n%s\n", t.ID, t.Name, t.Role, *org, secret)
	return nil
}

// intEnv reads a positive whole number from the environment, or def when it is unset.
func intEnv(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s must be a positive whole number, not %q", name, v)
	}
	return n, nil
}

// authFailureLimit reads AUTH_FAILURE_LIMIT, the failed authentications a minute one client
// address may make (default 20), as api.Config.AuthFailures: 0 turns the throttle off, which
// that field spells as a negative number.
func authFailureLimit(getenv func(string) string) (int, error) {
	v := getenv("AUTH_FAILURE_LIMIT")
	if v == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("AUTH_FAILURE_LIMIT must be a whole number, 0 for no limit, not %q", v)
	}
	if n == 0 {
		return -1, nil
	}
	return n, nil
}

// durationEnv reads a positive duration (10s, 1m30s) from the environment, or def when unset.
func durationEnv(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration such as 10s, not %q", name, v)
	}
	return d, nil
}
