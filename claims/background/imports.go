package background

import (
	"context"
	"sync"
	"time"

	"github.com/trcledger/trcledger/claims/imports"
)

// importWorker runs the import jobs of claims/imports beside the requests.
type importWorker struct {
	svc    *imports.Service
	poll   time.Duration
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// RunImports makes Start run svc's import jobs (one at a time, looking for queued ones every
// poll and whenever one is created) and Stop stop them; call it before Start. A job stopped
// by Stop stays running in the database and is resumed by the next Start.
func (b *Background) RunImports(svc *imports.Service, poll time.Duration) {
	b.imports = &importWorker{svc: svc, poll: poll}
}

func (w *importWorker) start(ctx context.Context) {
	if w == nil {
		return
	}
	ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	w.wg.Add(1)
	go func() { defer w.wg.Done(); w.svc.Run(ctx, w.poll) }()
}

// stop cancels the job running and waits for the worker to return, or for ctx to end.
func (w *importWorker) stop(ctx context.Context) {
	if w == nil || w.cancel == nil {
		return
	}
	w.cancel()
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
