// Package memtest measures what a piece of code costs in memory, for tests that hold the
// server to its memory bounds (issue 10: a request may not exhaust the server), and makes large
// inputs without holding them.
package memtest

import (
	"io"
	"runtime"
	"sync/atomic"
	"time"
)

// PeakHeap runs f and returns how far the heap in use rose above where it stood before, sampled
// every few milliseconds. Call it from a test that is not parallel: other tests' allocations
// would count.
func PeakHeap(f func()) uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapInuse
	var peak atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	if peak.Load() < base {
		return 0
	}
	return peak.Load() - base
}

// Repeated is a reader of S, N times over, that never holds more than S.
type Repeated struct {
	S   string
	N   int
	off int
}

func (r *Repeated) Read(p []byte) (int, error) {
	if r.N == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.S[r.off:])
	r.off += k
	if r.off == len(r.S) {
		r.off, r.N = 0, r.N-1
	}
	return k, nil
}
