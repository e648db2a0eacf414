// Package pgtest gives tests a real, throwaway PostgreSQL: Main starts one private cluster per
// test package (initdb into a temporary directory, unix socket only, fsync off) and migrates a
// template database once; NewDB and NewURL then clone that template into a fresh database per
// test in a few tens of milliseconds.
//
// Use it from every package that talks to PostgreSQL:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		db := pgtest.NewDB(t)
//		...
//	}
//
// If TEST_DATABASE_URL is set, no cluster is started: the template and test databases are
// created on that server (the role needs CREATEDB) and dropped at the end. If no cluster can be
// started (PostgreSQL not installed, ...), tests that need one are skipped, unless CI is set, in
// which case the package fails.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger/internal/pg"
)

// env is the state Main sets up for NewDB and NewURL.
var env struct {
	skip     string              // why no database is available; tests skip with it
	urlFor   func(string) string // connection URL of a database on the server
	admin    *sqlx.DB            // connected to the maintenance database, creates and drops
	template string              // migrated database every test database is cloned from
	prefix   string              // name prefix of this process's test databases
	strategy string              // " STRATEGY file_copy" on PostgreSQL 15+, else ""
	n        atomic.Int64
	createMu sync.Mutex // one CREATE DATABASE ... TEMPLATE at a time
	drops    sync.WaitGroup
	dropMu   sync.Mutex
	dropErrs []error
}

// Main starts a PostgreSQL cluster (or uses TEST_DATABASE_URL), migrates the template database,
// runs the tests, removes everything it created and exits with the tests' status. Call it from
// TestMain. A failing migration fails the package; a cluster that cannot start makes NewDB skip,
// or fails the package when CI is set.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	teardown, err := setup()
	if err != nil {
		var unavailable *unavailableError
		if !errors.As(err, &unavailable) || os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "\n"+
				"pgtest: ==========================================================\n"+
				"pgtest: FAIL: no test database: %v\n"+
				"pgtest: ==========================================================\n\n", err)
			return 1
		}
		env.skip = "pgtest: PostgreSQL not available (set CI=1 to fail instead of skipping): " + err.Error()
		fmt.Fprintln(os.Stderr, env.skip)
	}
	code := m.Run()
	if teardown != nil {
		if err := teardown(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: teardown: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// NewDB returns a connection pool to a new database cloned from the migrated template. The
// database is dropped when the test ends. It is safe to call from parallel tests.
func NewDB(t testing.TB) *sqlx.DB {
	t.Helper()
	name := newDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := pg.Open(ctx, env.urlFor(name))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() }) // runs before the DROP registered by newDatabase
	return db
}

// NewURL returns the connection URL of a new database cloned from the migrated template, for
// tests that connect by themselves (such as end-to-end tests through run()). The database is
// dropped, connections and all, when the test ends.
func NewURL(t testing.TB) string {
	t.Helper()
	return env.urlFor(newDatabase(t))
}

func newDatabase(t testing.TB) string {
	t.Helper()
	if env.skip != "" {
		t.Skip(env.skip)
	}
	if env.admin == nil {
		t.Fatal("pgtest: no database server: call pgtest.Main(m) from TestMain")
	}
	name := fmt.Sprintf("%s%d", env.prefix, env.n.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env.createMu.Lock()
	_, err := env.admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)+
		" TEMPLATE "+pq.QuoteIdentifier(env.template)+env.strategy)
	env.createMu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	// Dropping waits up to 100 ms for the test's last backends to exit, so it happens in the
	// background; Main waits for the drops and fails the package if one fails.
	t.Cleanup(func() {
		env.drops.Add(1)
		go func() {
			defer env.drops.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := dropDatabase(ctx, env.admin, name); err != nil {
				env.dropMu.Lock()
				env.dropErrs = append(env.dropErrs, err)
				env.dropMu.Unlock()
			}
		}()
	})
	return name
}

// waitDrops waits for the background drops of newDatabase and returns their errors.
func waitDrops() error {
	env.drops.Wait()
	env.dropMu.Lock()
	defer env.dropMu.Unlock()
	return errors.Join(env.dropErrs...)
}

func dropDatabase(ctx context.Context, admin *sqlx.DB, name string) error {
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// unavailableError means no PostgreSQL could be started: tests skip, or fail when CI is set.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

func unavailable(format string, args ...any) error {
	return &unavailableError{fmt.Errorf(format, args...)}
}

// setup makes a server available and migrates the template on it. It returns a teardown that
// undoes everything.
func setup() (teardown func() error, err error) {
	tag := randomTag()
	env.prefix = "test_" + tag + "_"
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		env.template = "trcledger_tpl_" + tag
		env.urlFor = func(db string) string { return withDatabase(u, db) }
		return setupDatabases(func() error { return nil }, true)
	}
	stop, err := startCluster()
	if err != nil {
		return nil, err
	}
	env.template = "trcledger_template"
	teardown, err = setupDatabases(stop, false)
	if err != nil {
		_ = stop()
		return nil, err
	}
	return teardown, nil
}

// setupDatabases connects to the maintenance database, creates and migrates the template and
// returns the teardown, which drops this process's databases when shared is true (the server
// outlives the tests), then calls stop.
func setupDatabases(stop func() error, shared bool) (func() error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	admin, err := pg.Open(ctx, env.urlFor("postgres"))
	if err != nil {
		if shared {
			return nil, fmt.Errorf("connect to TEST_DATABASE_URL: %w", err)
		}
		return nil, unavailable("connect to test cluster: %w", err)
	}
	admin.SetMaxOpenConns(8)
	admin.SetMaxIdleConns(2)
	var version int
	if err := admin.GetContext(ctx, &version, "SELECT current_setting('server_version_num')::int"); err != nil {
		_ = admin.Close()
		return nil, fmt.Errorf("read server version: %w", err)
	}
	if version >= 150000 {
		// The template is a few MB; copying its files beats WAL-logging every block.
		env.strategy = " STRATEGY file_copy"
	}
	env.admin = admin
	teardown := func() error {
		errs := []error{waitDrops()}
		if shared {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			errs = append(errs, dropOwnDatabases(ctx, admin))
		}
		errs = append(errs, admin.Close(), stop())
		env.admin = nil
		return errors.Join(errs...)
	}
	if err := createTemplate(ctx, admin); err != nil {
		return nil, errors.Join(err, teardown())
	}
	return teardown, nil
}

func createTemplate(ctx context.Context, admin *sqlx.DB) error {
	tpl := pq.QuoteIdentifier(env.template)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+tpl+" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	db, err := pg.Open(ctx, env.urlFor(env.template))
	if err != nil {
		return fmt.Errorf("connect to template database: %w", err)
	}
	err = pg.Migrate(ctx, db)
	if err == nil {
		// Set hint bits once here rather than in every clone (rows from seed migrations).
		_, err = db.ExecContext(ctx, "VACUUM (FREEZE, ANALYZE)")
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("template database: %w", err)
	}
	// No connections from now on, so cloning never finds the template busy.
	if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+tpl+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("mark template database: %w", err)
	}
	return nil
}

// dropOwnDatabases drops the template and any test database of this process left behind.
func dropOwnDatabases(ctx context.Context, admin *sqlx.DB) error {
	var names []string
	if err := admin.SelectContext(ctx, &names,
		"SELECT datname FROM pg_database WHERE starts_with(datname, $1)", env.prefix); err != nil {
		return fmt.Errorf("list test databases: %w", err)
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, dropDatabase(ctx, admin, name))
	}
	if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+pq.QuoteIdentifier(env.template)+" WITH IS_TEMPLATE false"); err != nil {
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "3D000" { // invalid_catalog_name: never created
			errs = append(errs, fmt.Errorf("unmark template database: %w", err))
		}
	}
	errs = append(errs, dropDatabase(ctx, admin, env.template))
	return errors.Join(errs...)
}

// withDatabase returns the connection string u (URL or key=value form) pointing at database db.
func withDatabase(u, db string) string {
	if strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://") {
		if parsed, err := url.Parse(u); err == nil {
			parsed.Path = "/" + db
			parsed.RawPath = ""
			q := parsed.Query()
			if q.Has("dbname") {
				q.Set("dbname", db)
				parsed.RawQuery = q.Encode()
			}
			return parsed.String()
		}
	}
	return u + " dbname=" + db // the last of repeated keys wins
}

func randomTag() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startCluster runs initdb into a new directory under /tmp and starts postgres on a unix socket
// in that directory. It returns stop, which shuts the server down and removes the directory.
func startCluster() (stop func() error, err error) {
	c, stop, err := launchCluster(initdb, nil)
	if err != nil {
		return nil, err
	}
	env.urlFor = c.url
	return stop, nil
}

// cluster is where a cluster lives and how its binaries are run.
type cluster struct {
	dir        string   // the cluster's directory: its socket, and data/ below it
	data       string   // the data directory
	bindir     string   // initdb, postgres, pg_basebackup, ...
	asPostgres []string // the prefix that runs a binary as the cluster's owner (runuser as root)
}

func (c *cluster) url(db string) string {
	return "postgres:///" + db + "?host=" + c.dir + "&user=postgres&sslmode=disable"
}

// initdb creates c's data directory.
func initdb(c *cluster) error {
	out, err := command(c.dir, c.asPostgres, filepath.Join(c.bindir, "initdb"),
		"--no-sync", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "-D", c.data).CombinedOutput()
	if err != nil {
		return unavailable("initdb: %w\n%s", err, out)
	}
	return nil
}

// launchCluster makes a new cluster directory, fills its data directory with prepare (initdb,
// or a base backup) and starts postgres there on a unix socket in that directory only, with the
// test settings and then settings ("name=value", later ones win). It returns stop, which shuts
// the server down and removes the directory.
//
// postgres runs under a small sh watchdog that reads its stdin, a pipe whose only writer is this
// process: whenever this process ends, even by a panic in a test or SIGKILL, the read returns,
// and the watchdog stops postgres and removes the directory.
func launchCluster(prepare func(*cluster) error, settings []string) (c *cluster, stop func() error, err error) {
	bindir, err := findBinDir()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp(clusterParent(), "pgt")
	if err != nil {
		return nil, nil, unavailable("create cluster directory: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	asPostgres, err := runAs(dir)
	if err != nil {
		return nil, nil, err
	}
	c = &cluster{dir: dir, data: filepath.Join(dir, "data"), bindir: bindir, asPostgres: asPostgres}
	if err := prepare(c); err != nil {
		return nil, nil, err
	}

	const watchdog = `dir=$1; shift
exec 3<&0 </dev/null
"$@" 3<&- &
pg=$!
( read -r _ <&3; kill -QUIT "$pg" ) >/dev/null 2>&1 &
watcher=$!
exec 3<&-
wait "$pg"; rc=$?
kill "$watcher" 2>/dev/null
rm -rf "$dir"
exit "$rc"`
	args := []string{"-c", watchdog, "pgtest-watchdog", dir,
		filepath.Join(bindir, "postgres"), "-D", c.data,
		"-c", "listen_addresses=", "-k", dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200", "-c", "shared_buffers=128MB",
		// An autovacuum worker in the template makes every clone wait for it to go away.
		"-c", "autovacuum=off"}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	cmd := command(dir, asPostgres, "/bin/sh", args...)
	// Its own process group, so a ^C at the terminal reaches only the test binary, whose
	// death the watchdog then notices.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logTail := &tailBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = logTail, logTail
	lifeline, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, unavailable("start postgres: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, unavailable("start postgres: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	stop = func() error {
		_ = lifeline.Close()
		// The exit status of a cluster being stopped says nothing: only that it is gone matters.
		select {
		case <-exited: //nolint:errcheck
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited //nolint:errcheck
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove cluster directory: %w", err)
		}
		return nil
	}
	if err := waitReady(exited, c.url("postgres")); err != nil {
		_ = stop()
		return nil, nil, unavailable("postgres did not start: %w\n%s", err, logTail.String())
	}
	return c, stop, nil
}

// clusterParent returns where to put the cluster: /dev/shm if it is a tmpfs with room to
// spare, since cloning the template writes ~8 MB and takes ~15 ms there but 100-400 ms on a busy
// disk even with fsync off; else /tmp. Not $TMPDIR: the socket path must stay under ~100 bytes.
func clusterParent() string {
	const tmpfsMagic = 0x01021994
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Type == tmpfsMagic &&
		st.Bavail*uint64(st.Bsize) >= 2<<30 && syscall.Access("/dev/shm", 0o7) == nil { //nolint:gosec // a block size is small and positive
		return "/dev/shm"
	}
	return "/tmp"
}

// waitReady polls until the server accepts connections, it exits, or a minute passes.
func waitReady(exited <-chan error, url string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		db, err := pg.Open(ctx, url)
		cancel()
		if err == nil {
			return db.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("postgres exited: %w", werr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// findBinDir returns the directory of initdb and postgres: the newest
// /usr/lib/postgresql/<version>/bin (Debian, Ubuntu), else the one of initdb on $PATH.
func findBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExecutable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", unavailable("initdb and postgres not found in /usr/lib/postgresql/*/bin or $PATH")
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// runAs returns the command prefix that runs the PostgreSQL binaries, which refuse to run as
// root: nothing normally, "runuser -u postgres --" as root, after handing dir to postgres.
func runAs(dir string) ([]string, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, unavailable("running as root and no postgres user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, unavailable("hand cluster directory to postgres: %w", err)
	}
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		return nil, unavailable("running as root and runuser not found: %w", err)
	}
	return []string{runuser, "-u", "postgres", "--"}, nil
}

func command(dir string, prefix []string, name string, args ...string) *exec.Cmd {
	argv := append(append(prefix[:len(prefix):len(prefix)], name), args...)
	// initdb, postgres or runuser, named by this package; a cluster outlives any one context and
	// its stop function ends it.
	//nolint:gosec,noctx
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir // the postgres user may not be able to enter the caller's directory
	return cmd
}

// tailBuffer keeps the last max bytes written to it: the server log, shown if startup fails.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

var _ io.Writer = (*tailBuffer)(nil)

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if extra := b.buf.Len() - b.max; extra > 0 {
		b.buf.Next(extra)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
