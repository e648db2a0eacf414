package api

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// The throttle forgets an address when its window ends, and tracks a bounded number of
// addresses however many fail.
func TestAuthThrottleWindowAndMemory(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newAuthThrottle(3, time.Minute)
	th.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if w := th.blocked("a"); w != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		th.fail("a")
		now = now.Add(time.Second)
	}
	if w := th.blocked("a"); w != 57*time.Second {
		t.Errorf("after 3 failures: wait %v, want the 57 s left of the window", w)
	}
	if w := th.blocked("b"); w != 0 {
		t.Errorf("another address waits %v", w)
	}
	now = now.Add(57 * time.Second)
	if w := th.blocked("a"); w != 0 {
		t.Errorf("after the window: wait %v", w)
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 4*maxThrottledAddresses; i++ {
		th.fail(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
	}
	if n := len(th.addrs); n > maxThrottledAddresses {
		t.Errorf("%d addresses tracked, want at most %d", n, maxThrottledAddresses)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 32<<20 {
		t.Errorf("the throttle holds %d MiB after %d addresses failed", grown>>20, 4*maxThrottledAddresses)
	}
	// Once their windows end, new addresses are tracked again.
	now = now.Add(time.Minute)
	th.fail("c")
	th.fail("c")
	th.fail("c")
	if th.blocked("c") == 0 {
		t.Error("a new address is not tracked after the old windows ended")
	}
}
