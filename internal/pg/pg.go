// Package pg holds what trcledger needs from PostgreSQL beyond database/sql: opening a pool,
// running the embedded migrations, and running a function in a transaction that is retried on
// serialization failures and deadlocks.
package pg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/trcledger/trcledger/migrations"
)

// Pool settings used by Open.
const (
	maxOpenConns    = 32
	maxIdleConns    = 32
	connMaxIdleTime = 5 * time.Minute
)

// Retry settings used by WithTxOpts.
const (
	maxRetries = 10
	minBackoff = time.Millisecond
	maxBackoff = 50 * time.Millisecond
)

// Open opens a connection pool to the PostgreSQL database at url (a lib/pq URL or key=value
// DSN) and pings it. It returns a wrapped driver or network error if the database cannot be
// reached; the caller closes the returned pool.
func Open(ctx context.Context, url string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", withBinaryParameters(url))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return db, nil
}

// Migrate applies every pending migration of package migrations to db, in order, each in its
// own transaction. A session-level advisory lock makes it safe for several processes to call
// Migrate on the same database at once: the others wait, then find nothing to do. It returns a
// wrapped error naming the failing migration if one fails.
func Migrate(ctx context.Context, db *sqlx.DB) error {
	// Retry the advisory lock every second (the default is every 5 s) for up to 10 minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
	if err != nil {
		return fmt.Errorf("create migration locker: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db.DB, migrations.FS,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithVerbose(false),
	)
	if err != nil {
		return fmt.Errorf("create migration provider: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// WithTx runs fn in a READ COMMITTED transaction and commits it; see WithTxOpts.
func WithTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	return WithTxOpts(ctx, db, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, fn)
}

// WithTxOpts begins a transaction with opts (nil means READ COMMITTED), runs fn in it and
// commits. The transaction is rolled back if fn returns an error or panics (the panic goes on).
//
// If fn or the commit fails with a PostgreSQL serialization failure (40001) or deadlock (40P01),
// anywhere in the error chain, the whole transaction is retried, up to 10 times, after a short
// jittered pause; fn must therefore have no effects outside tx. The error of fn is returned
// unwrapped, so domain errors pass through unchanged; begin and commit errors are wrapped. If
// ctx ends while waiting to retry, the error wraps ctx.Err().
func WithTxOpts(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	if opts == nil {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	for attempt := 0; ; attempt++ {
		err := runTx(ctx, db, opts, fn)
		if err == nil || !retryable(err) || attempt >= maxRetries {
			return err
		}
		timer := time.NewTimer(backoff(attempt))
		select {
		case <-ctx.Done():
			timer.Stop()
			// Only the cancellation is wrapped: callers must not mistake a retryable conflict for the cause.
			return fmt.Errorf("retry transaction after %d attempts: %w (last error: %v)", attempt+1, ctx.Err(), err) //nolint:errorlint
		case <-timer.C:
		}
	}
}

// runTx runs one attempt of a transaction. The deferred rollback also runs while a panic in fn
// unwinds, and the panic then carries on to the caller.
func runTx(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	done = true // after Commit the transaction is over whether or not it succeeded
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// retryable reports whether err is a serialization failure or a deadlock, which PostgreSQL
// expects the client to resolve by running the transaction again.
func retryable(err error) bool {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	switch pqErr.Code {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	}
	return false
}

// backoff returns the pause before retry attempt+1: 1 ms doubling up to 50 ms, with full
// jitter in its upper half so that conflicting transactions drift apart.
func backoff(attempt int) time.Duration {
	d := minBackoff << min(attempt, 6)
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// withBinaryParameters asks lib/pq to send a parameterised statement in one round trip
// (parse, bind and execute together) instead of two; []byte arguments then go as binary, which
// the code only uses for bytea columns.
func withBinaryParameters(url string) string {
	if strings.Contains(url, "binary_parameters") {
		return url
	}
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		if strings.Contains(url, "?") {
			return url + "&binary_parameters=yes"
		}
		return url + "?binary_parameters=yes"
	}
	return url + " binary_parameters=yes"
}
