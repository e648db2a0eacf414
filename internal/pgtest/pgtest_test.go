package pgtest_test

import (
	"context"
	"testing"

	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Two tests running at once must never see each other's rows.
func TestDatabasesAreIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := pgtest.NewDB(t), pgtest.NewDB(t)
	if _, err := a.ExecContext(ctx, `CREATE TABLE pgtest_probe (v int); INSERT INTO pgtest_probe VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := a.GetContext(ctx, &n, `SELECT count(*) FROM pgtest_probe`); err != nil || n != 1 {
		t.Fatalf("count in first database = %d, %v; want 1", n, err)
	}
	var exists bool
	if err := b.GetContext(ctx, &exists, `SELECT to_regclass('pgtest_probe') IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("table created in one test database is visible in another")
	}
}

// Parallel tests each get a database of their own, concurrently.
func TestParallelDatabases(t *testing.T) {
	t.Parallel()
	for i := range 4 {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			db := pgtest.NewDB(t)
			var name string
			if err := db.Get(&name, `SELECT current_database()`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`CREATE TABLE mine (i int)`); err != nil {
				t.Fatalf("database %d (%s): %v", i, name, err)
			}
		})
	}
}

// Every test database starts with the schema already migrated.
func TestTemplateIsMigrated(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	var applied int
	if err := db.Get(&applied, `SELECT count(*) FROM goose_db_version WHERE version_id > 0 AND is_applied`); err != nil {
		t.Fatal(err)
	}
	if applied == 0 {
		t.Fatal("no migration applied in the test database")
	}
	// Migrating again finds nothing to do.
	if err := pg.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
}

// NewURL hands out a database that can be opened by URL, as run() does with DATABASE_URL.
func TestNewURL(t *testing.T) {
	t.Parallel()
	url := pgtest.NewURL(t)
	db, err := pg.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied int
	if err := db.Get(&applied, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`); err != nil || applied == 0 {
		t.Fatalf("migrations applied = %d, %v; want > 0", applied, err)
	}
}

// BenchmarkNewDB measures what a test pays for a fresh database (the drops at the end are not
// timed): go test -run - -bench NewDB -benchtime 100x ./internal/pgtest
func BenchmarkNewDB(b *testing.B) {
	for b.Loop() {
		if err := pgtest.NewDB(b).Close(); err != nil {
			b.Fatal(err)
		}
	}
}
