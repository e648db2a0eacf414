package api

import (
	"fmt"
	"testing"
	"time"
)

// The throttle estimates failures over the last window from this window's and the previous
// window's counts, and forgets an address a window after it stopped failing.
func TestAuthThrottleWindow(t *testing.T) {
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
	// Half a window on, the previous window's 3 failures weigh 1.5: one more failure (2.5) is
	// allowed, a second (3.5) is not.
	now = now.Add(30 * time.Second)
	th.fail("a")
	if w := th.blocked("a"); w != 0 {
		t.Errorf("3 failures in the previous window and 1 now, half a window on: wait %v", w)
	}
	th.fail("a")
	if w := th.blocked("a"); w <= 0 || w > 30*time.Second {
		t.Errorf("3 failures in the previous window and 2 now, half a window on: wait %v, want (0, 30s]", w)
	}
	now = now.Add(2 * time.Minute)
	if w := th.blocked("a"); w != 0 || len(th.prev) != 0 {
		t.Errorf("two windows later: wait %v, %d addresses kept", w, len(th.prev))
	}
}

// IPv6 addresses are throttled per /64; IPv4 addresses one by one.
func TestAuthThrottleGroupsIPv6By64(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newAuthThrottle(3, time.Minute)
	th.now = func() time.Time { return now }
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::5", "2001:db8:1:2:abcd:ef01:2345:6789"} {
		th.fail(throttleKey(ip))
	}
	if th.blocked(throttleKey("2001:db8:1:2::42")) == 0 {
		t.Error("three failures from one /64: another address in it is not throttled")
	}
	if w := th.blocked(throttleKey("2001:db8:1:3::1")); w != 0 {
		t.Errorf("the next /64 waits %v", w)
	}
	if k := throttleKey("192.0.2.7"); k != "192.0.2.7" {
		t.Errorf("IPv4 key %q", k)
	}
	if k := throttleKey("::ffff:192.0.2.7"); k != "::ffff:192.0.2.7" {
		t.Errorf("IPv4-mapped key %q", k)
	}
}

// A limit of 0 turns the throttle off.
func TestAuthThrottleOff(t *testing.T) {
	th := newAuthThrottle(0, time.Minute)
	for i := 0; i < 100; i++ {
		th.fail("a")
	}
	if w := th.blocked("a"); w != 0 {
		t.Errorf("throttle off: wait %v", w)
	}
}

// A failure costs O(1) however many addresses fail, and memory stays bounded: when this
// window's table is full, new addresses share one overflow bucket until the window ends.
func TestAuthThrottleCostAndMemory(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newAuthThrottle(3, time.Minute)
	th.now = func() time.Time { return now }
	addr := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255) }

	// A new address every 0.5 ms, faster than the table can hold a window of them: once it is
	// full, old windows end one address at a time, which made every failure sweep the whole
	// table (6.5 ms each).
	start := time.Now()
	for i := 0; i < 4*maxThrottledAddresses; i++ {
		th.fail(addr(i))
		now = now.Add(500 * time.Microsecond)
		if i%1024 == 0 && time.Since(start) > 5*time.Second {
			t.Fatalf("%d failures from distinct addresses took %v", i, time.Since(start))
		}
	}
	if len(th.cur) > maxThrottledAddresses || len(th.prev) > maxThrottledAddresses {
		t.Errorf("%d + %d addresses tracked, want at most %d each", len(th.cur), len(th.prev), maxThrottledAddresses)
	}

	// Many new addresses within one window: at most maxThrottledAddresses tracked, the rest
	// counted together.
	now = now.Add(time.Hour)
	for i := 0; i < 2*maxThrottledAddresses; i++ {
		th.fail(addr(i))
	}
	if n := len(th.cur); n != maxThrottledAddresses || th.overCur != maxThrottledAddresses {
		t.Errorf("%d addresses tracked, %d failures in the overflow bucket; want %d and %d", n, th.overCur, maxThrottledAddresses, maxThrottledAddresses)
	}
	if th.blocked("192.0.2.1") == 0 {
		t.Error("an untracked address is not throttled while the overflow bucket is over the limit")
	}
	if w := th.blocked(addr(5)); w != 0 {
		t.Errorf("a tracked address with one failure waits %v", w)
	}
	// Once the window ends, new addresses are tracked again, on their own.
	now = now.Add(time.Minute)
	if w := th.blocked("192.0.2.1"); w != 0 {
		t.Errorf("an untracked address after the window: wait %v", w)
	}
	th.fail("c")
	th.fail("c")
	th.fail("c")
	if th.blocked("c") == 0 {
		t.Error("a new address is not tracked after the window ended")
	}
}
