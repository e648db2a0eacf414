// Command trcledger is the billing ledger of migrant health care in Bosnia and Herzegovina:
// trcledger serve | migrate | seed-demo | token create | verify.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "trcledger:", err)
		os.Exit(1)
	}
}

const usage = `usage: trcledger <command>

commands:
  serve                 serve the HTTP API on LISTEN_ADDR (default :8080)
  migrate               apply the database migrations
  seed-demo [--tokens-file F]
                        load the illustrative demo data once and print one token per role
  token create --role R [--org CODE] --name N [--expires 2026-12-31T00:00:00Z]
                        issue an API token; the token is printed on the last line
  verify                recompute the ledger's hash chain; fails naming the first bad transaction
  icd10 load FILE       load the national ICD-10 list: a CSV with a header code,bs,hr,sr-Latn,sr-Cyrl,en
                        (any of the languages); it replaces the list loaded before

environment: DATABASE_URL (required), LISTEN_ADDR, PSEUDONYM_KEY (required unless
TRCLEDGER_ENV=development), LOG_LEVEL (debug, info, warn, error), TRCLEDGER_ENV,
HEADER_TIMEOUT (default 10s), AUTH_FAILURE_LIMIT (default 20 a minute, 0 for none),
REPLICA_DATABASE_URL, REPLICA_MAX_LAG (default 10s), TLS_CERT_FILE, TLS_KEY_FILE,
TRUSTED_PROXIES, PROXY_HEADER (default X-Real-IP); see docs/operations.md`

// run is the whole program, callable from tests: it returns when ctx is cancelled (serve) or
// the command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, getenv, stdout)
	case "seed-demo":
		return seedDemo(ctx, args[1:], getenv, stdout)
	case "verify":
		return verify(ctx, getenv, stdout)
	case "token":
		return token(ctx, args[1:], getenv, stdout)
	case "icd10":
		return icd10Command(ctx, args[1:], getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
