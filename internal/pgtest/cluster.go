package pgtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/internal/pg"
)

// Cluster is a PostgreSQL cluster of one test's own, beside the package's shared one, for the
// tests that need a whole server: streaming replication, base backups, WAL archiving and
// point-in-time recovery. It listens on a unix socket in Dir only, runs with the shared
// cluster's test settings (fsync off, ...) and is stopped and removed when the test ends.
//
// The default configuration of initdb already allows replication: wal_level=replica,
// max_wal_senders=10, and trust for "local replication all" in pg_hba.conf.
type Cluster struct {
	c *cluster
}

// NewCluster starts a new cluster with settings ("archive_mode=on", ...) on top of the test
// settings. Without PostgreSQL the test is skipped, or fails when CI is set.
func NewCluster(t testing.TB, settings ...string) *Cluster {
	t.Helper()
	return start(t, initdb, settings)
}

func start(t testing.TB, prepare func(*cluster) error, settings []string) *Cluster {
	t.Helper()
	c, stop, err := launchCluster(prepare, settings)
	if err != nil {
		var un *unavailableError
		if errors.As(err, &un) && os.Getenv("CI") == "" {
			t.Skipf("pgtest: PostgreSQL not available (set CI=1 to fail instead of skipping): %v", err)
		}
		t.Fatalf("pgtest: FAIL: cannot start a cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return &Cluster{c: c}
}

// URL is the connection URL of database db on the cluster (as user postgres, a superuser).
func (c *Cluster) URL(db string) string { return c.c.url(db) }

// Dir is the cluster's directory: its unix socket is there, its data directory is Dir/data.
// It belongs to the user the server runs as.
func (c *Cluster) Dir() string { return c.c.dir }

// BinDir is the directory of the PostgreSQL binaries (pg_basebackup, pg_ctl, ...).
func (c *Cluster) BinDir() string { return c.c.bindir }

// Owner is the user the server runs as ("" when it runs as the test's user; "postgres" as root).
func (c *Cluster) Owner() string {
	if len(c.c.asPostgres) == 0 {
		return ""
	}
	return "postgres"
}

// Command prepares a PostgreSQL binary of BinDir (pg_basebackup, psql, ...), or any program
// when name is a path, to run as the cluster's owner in Dir.
func (c *Cluster) Command(name string, args ...string) *exec.Cmd {
	if !strings.Contains(name, "/") {
		name = filepath.Join(c.c.bindir, name)
	}
	return command(c.c.dir, c.c.asPostgres, name, args...)
}

// Open connects to database db on the cluster; the pool is closed when the test ends.
func (c *Cluster) Open(t testing.TB, db string) *sqlx.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pg.Open(ctx, c.URL(db))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	return pool
}

// NewReplica starts a streaming replica (a hot standby) of c: a base backup taken with
// `pg_basebackup -R` over c's unix socket (which writes primary_conninfo and standby.signal),
// started in a directory of its own with the same settings. It is stopped before c when the
// test ends.
func (c *Cluster) NewReplica(t testing.TB, settings ...string) *Cluster {
	t.Helper()
	return start(t, func(r *cluster) error {
		out, err := command(r.dir, r.asPostgres, filepath.Join(r.bindir, "pg_basebackup"),
			"-d", "host="+c.c.dir+" user=postgres", "-D", r.data, "-R", "-X", "stream",
			"--checkpoint=fast", "--no-sync").CombinedOutput()
		if err != nil {
			return &buildError{"pg_basebackup: " + err.Error() + "\n" + string(out)}
		}
		return nil
	}, settings)
}

// buildError is a failure to build a cluster once PostgreSQL was found: never a reason to skip.
type buildError struct{ msg string }

func (e *buildError) Error() string { return e.msg }

// WaitCaughtUp waits until replica has replayed everything c had written when it was called,
// failing the test after timeout.
func (c *Cluster) WaitCaughtUp(t testing.TB, replica *Cluster, timeout time.Duration) {
	t.Helper()
	primary, standby := c.Open(t, "postgres"), replica.Open(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var lsn string
	if err := primary.GetContext(ctx, &lsn, `SELECT pg_current_wal_insert_lsn()::text`); err != nil {
		t.Fatalf("pgtest: primary position: %v", err)
	}
	for {
		var done bool
		err := standby.GetContext(ctx, &done, `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, lsn)
		if err == nil && done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pgtest: replica did not replay %s within %s (%v)", lsn, timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
