package reports_test

import (
	"context"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/migrations"
)

// TestMigrationsFillTheQueueAndTheMarks takes a database with posted, voided, claimed, drafted
// and cancelled work back to before the claims queue and the report months (migration 0008),
// and forward again: the backfills must rebuild the queue exactly (the fixture checks it at
// the end) and mark every month, and statements and reports must go on as before.
func TestMigrationsFillTheQueueAndTheMarks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	seedTransition(t, f)
	fin := as(access.RoleFinance, "")
	st, err := f.Svc.CreateStatement(fin, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.SubmitStatement(fin, st.ID); err != nil {
		t.Fatal(err)
	}
	draft, err := f.Svc.CreateStatement(fin, demo.ProviderDZBihac, demo.PayerIOM, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.CancelStatement(fin, draft.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.CreateStatement(fin, demo.ProviderDZBihac, demo.PayerIOM, "2024-09"); err != nil {
		t.Fatal(err)
	}
	var before []string
	if err := f.DB.Select(&before, `SELECT share_id::text FROM unclaimed_shares ORDER BY share_id`); err != nil {
		t.Fatal(err)
	}

	provider, err := goose.NewProvider(goose.DialectPostgres, f.DB.DB, migrations.FS, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.DownTo(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx, f.DB); err != nil {
		t.Fatal(err)
	}

	var after []string
	if err := f.DB.Select(&after, `SELECT share_id::text FROM unclaimed_shares ORDER BY share_id`); err != nil {
		t.Fatal(err)
	}
	sameLines(t, "the queue rebuilt", after, before)
	var unmarked int
	if err := f.DB.Get(&unmarked, `SELECT count(DISTINCT to_char(service_date, 'YYYY-MM')) FROM encounters
		WHERE to_char(service_date, 'YYYY-MM') NOT IN (SELECT period FROM report_dirty)`); err != nil || unmarked != 0 {
		t.Fatalf("%d months with encounters are not marked (%v)", unmarked, err)
	}
	live, kept, mixed := keptAndLive(t, f, "2024-01", "2025-12")
	for k, want := range live {
		sameLines(t, k+" (right after migrating)", mixed[k], want)
		sameLines(t, k+" (kept)", kept[k], want)
	}
	// The queue works on: the cancelled draft's March lines are claimed again (43.00 on
	// 2025-03-03 and 8.00 on each of four visits), the 2024 ones stay on the 2024-09 draft.
	again, err := f.Svc.CreateStatement(fin, demo.ProviderDZBihac, demo.PayerIOM, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if again.Claimed.String() != "75.00" {
		t.Errorf("IOM's March statement after migrating claims %s", again.Claimed)
	}
}
