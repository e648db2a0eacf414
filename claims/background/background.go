// Package background owns the work that runs beside the requests: the group committer of single
// posts (claims/encounters), the ledger's sealer, the transition report's refresher
// (claims/reports) and the worker of import jobs (claims/imports). It writes no table of its
// own. serve starts it, and stops it after the HTTP server has stopped taking requests.
package background

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/ledger"
)

// Background owns the group committer of single posts, the ledger's sealer and the transition
// report's refresher. Stop answers every post already accepted before it stops anything else.
type Background struct {
	encounters *encounters.Service
	reports    *reports.Service
	journal    *ledger.Journal
	log        *slog.Logger

	// SealEvery and RefreshEvery are the sealer's and the refresher's ticks (1 s and 2 s).
	SealEvery, RefreshEvery time.Duration

	cancel context.CancelFunc
	wg     sync.WaitGroup

	imports *importWorker // import jobs, when RunImports was called (imports.go)
}

// New returns the owner of the background work of enc and rep; journal is the ledger enc kicks.
// The committer runs from encounters.NewService on (posts need it); Start starts the rest.
func New(enc *encounters.Service, rep *reports.Service, journal *ledger.Journal, log *slog.Logger) *Background {
	return &Background{encounters: enc, reports: rep, journal: journal, log: log, SealEvery: time.Second, RefreshEvery: 2 * time.Second}
}

// Start starts the sealer and the refresher; they run until Stop (not until ctx ends: a
// shutdown must still seal what the last posts wrote).
func (b *Background) Start(ctx context.Context) {
	ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.wg.Add(3)
	go func() { defer b.wg.Done(); b.journal.Run(ctx, b.SealEvery) }()
	go func() { defer b.wg.Done(); b.reports.RunReports(ctx, b.RefreshEvery, b.log) }()
	go func() { defer b.wg.Done(); b.refreshSimulations(ctx) }()
	b.imports.start(ctx)
}

// Stop stops taking single posts, writes and answers every post accepted before, then stops
// the sealer and the refresher and seals what is left, so the chain covers every answered
// post. It returns ctx's error if ctx ends first (posts still queued are then written and
// answered later, by the committer, if the process lives), or a sealing failure.
func (b *Background) Stop(ctx context.Context) error {
	// An import job stops first (it stays running, to be resumed), while posts still work.
	b.imports.stop(ctx)
	if err := b.encounters.StopPosts(ctx); err != nil {
		return fmt.Errorf("answer the accepted posts: %w", err)
	}
	if b.cancel != nil {
		b.cancel()
		b.wg.Wait()
	}
	if _, err := b.journal.Seal(ctx); err != nil {
		return fmt.Errorf("seal the journal: %w", err)
	}
	return nil
}

// simulationsEvery is how often the simulation aggregates are brought up to date; a month is
// left alone until its last change is simulationsQuiet old (a bulk import is not folded chunk
// by chunk).
const (
	simulationsEvery = 30 * time.Second
	simulationsQuiet = 10 * time.Second
)

// refreshSimulations keeps the what-if simulation's monthly aggregates up to date, so that the
// first simulation after a bulk load does not pay for computing them.
func (b *Background) refreshSimulations(ctx context.Context) {
	t := time.NewTicker(simulationsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := b.reports.RefreshSimulations(ctx, simulationsQuiet); err != nil && ctx.Err() == nil {
				b.log.Error("refresh simulation months", "error", err)
			}
		}
	}
}
