package pg

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// Prepared statements for a hot path of fixed queries: PostgreSQL parses a prepared statement
// once per connection and, after a few executions, reuses its plan, where a plain
// parameterised query is parsed and planned on every call. Statements is the set of one pool;
// On(tx) runs the queries of a transaction through it.
//
// Each query is prepared on first use, on the pool (database/sql then prepares it again on
// each connection the first time a transaction there uses it). A query that could not be
// prepared (the database was away, the pool was busy) runs as a plain query, and is prepared
// again after prepareRetry. Only queries with fixed text belong here: each distinct text is
// one statement on every connection, and beyond maxPrepared the rest run plain.

// Limits of a Statements set.
const (
	maxPrepared    = 64               // distinct queries prepared per set
	prepareTimeout = 2 * time.Second  // a prepare waits this long for a connection of the pool
	prepareRetry   = 30 * time.Second // after a failed prepare, the query runs plain this long
)

// Statements prepares the queries run through On once per pool, lazily. It is safe for
// concurrent use.
type Statements struct {
	db *sqlx.DB

	mu    sync.Mutex
	stmts map[string]*preparedStmt
}

// preparedStmt is one query of the set: stmt once prepared, else the time of the last failure.
type preparedStmt struct {
	mu       sync.Mutex // held while preparing
	stmt     *sqlx.Stmt
	failedAt time.Time
}

// NewStatements returns an empty set of statements of db.
func NewStatements(db *sqlx.DB) *Statements {
	return &Statements{db: db, stmts: map[string]*preparedStmt{}}
}

// prepared returns the statement of query, preparing it if it is not yet, or nil when it
// cannot be used now: the query then runs plain. It never waits for another caller's prepare.
func (s *Statements) prepared(ctx context.Context, query string) *sqlx.Stmt {
	s.mu.Lock()
	p := s.stmts[query]
	if p == nil {
		if len(s.stmts) >= maxPrepared {
			s.mu.Unlock()
			return nil
		}
		p = &preparedStmt{}
		s.stmts[query] = p
	}
	s.mu.Unlock()
	if !p.mu.TryLock() {
		return nil // another caller is preparing it
	}
	defer p.mu.Unlock()
	if p.stmt != nil || (!p.failedAt.IsZero() && time.Since(p.failedAt) < prepareRetry) {
		return p.stmt
	}
	// The caller holds a connection (its transaction's); bound the wait for a second one, so
	// that callers holding the whole pool cannot wait on each other.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), prepareTimeout)
	defer cancel()
	st, err := s.db.PreparexContext(pctx, query)
	if err != nil {
		p.failedAt = time.Now()
		return nil
	}
	p.stmt = st
	return st
}

// On returns tx as an sqlx.ExtContext whose queries run as the set's prepared statements (a
// query that cannot be prepared now runs plain, on tx all the same). Use it for a transaction's
// fixed queries, through the sqlx functions (sqlx.SelectContext(ctx, q, ...)); tx is
// unchanged.
func (s *Statements) On(tx *sqlx.Tx) sqlx.ExtContext {
	return preparedTx{tx: tx, set: s}
}

// preparedTx is a transaction seen through a Statements set.
type preparedTx struct {
	tx  *sqlx.Tx
	set *Statements
}

// stmt is query's prepared statement bound to the transaction, or nil to run it plain.
func (t preparedTx) stmt(ctx context.Context, query string) *sqlx.Stmt {
	st := t.set.prepared(ctx, query)
	if st == nil {
		return nil
	}
	return t.tx.StmtxContext(ctx, st)
}

func (t preparedTx) DriverName() string { return t.tx.DriverName() }

func (t preparedTx) Rebind(query string) string { return t.tx.Rebind(query) }

func (t preparedTx) BindNamed(query string, arg any) (string, []any, error) {
	return t.tx.BindNamed(query, arg)
}

func (t preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t preparedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t preparedTx) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryxContext(ctx, args...)
	}
	return t.tx.QueryxContext(ctx, query, args...)
}

func (t preparedTx) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowxContext(ctx, args...)
	}
	return t.tx.QueryRowxContext(ctx, query, args...)
}
