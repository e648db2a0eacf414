package api

import (
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
)

// Problem codes of refusals that no trcledger service raises itself.
const (
	reasonDuplicateHeader  = "duplicate_header"  // 400: a header that must appear once came twice
	reasonHeadersTooLarge  = "headers_too_large" // 431: request line and headers beyond the read buffer
	reasonRequestTimeout   = "timeout"           // 408: headers (or body) not received in time
	maxThrottledAddresses  = 1 << 16
	defaultAuthFailures    = 20
	defaultAuthFailureSpan = time.Minute
)

// authThrottle counts failed authentications per client address (IPv6 addresses per /64, see
// throttleKey) so as to stop guessing: once an address has failed about max times within the
// last window, its requests are refused (429 with Retry-After) unless they carry a token known to
// be live without a query (see authenticate), so that a guesser learns and costs nothing more
// while the clients sharing its address keep working.
//
// The count is a sliding-window estimate over two maps, this window's and the previous one's:
// the previous count weighs by the part of it still within the last window. When a window ends
// the maps are swapped (the old previous one is dropped whole), so no failure ever sweeps a
// table. Memory is bounded: each map tracks at most maxThrottledAddresses addresses; once this
// window's is full, the failures of addresses it does not hold are counted together in one
// overflow bucket until the swap, and every such address is refused (unless its token is live)
// once the bucket is over the limit. A nil *authThrottle (AUTH_FAILURE_LIMIT=0) throttles nothing.
type authThrottle struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu        sync.Mutex
	start     time.Time // when the current window began; zero before the first use
	cur, prev map[string]int
	// overCur and overPrev count, in this window and the previous one, the failures of
	// addresses not tracked because cur was full.
	overCur, overPrev int
}

func newAuthThrottle(max int, window time.Duration) *authThrottle {
	if max <= 0 {
		return nil
	}
	return &authThrottle{max: max, window: window, now: time.Now, cur: map[string]int{}}
}

// throttleKey is the bucket of a client address: an IPv6 address's /64 (one host usually has a
// whole /64 to pick addresses from), any other address as it is.
func throttleKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
}

// rotate starts the window now falls in: this window's counts become the previous ones when
// exactly one window has ended, and both are dropped when more have. O(1).
func (t *authThrottle) rotate(now time.Time) {
	if t.start.IsZero() {
		t.start = now
		return
	}
	n := now.Sub(t.start) / t.window
	if n <= 0 {
		return
	}
	if n == 1 {
		t.prev, t.overPrev = t.cur, t.overCur
	} else {
		t.prev, t.overPrev = nil, 0
	}
	t.cur, t.overCur = map[string]int{}, 0
	t.start = t.start.Add(n * t.window)
}

// wait is how long a bucket with c failures in this window and p in the previous one must wait
// until its estimate, p weighted by the part of the previous window still within the last
// window plus c, is below max again (assuming no further failures); 0 when it is already.
func (t *authThrottle) wait(c, p int, now time.Time) time.Duration {
	elapsed := float64(now.Sub(t.start)) / float64(t.window) // in [0, 1)
	w := float64(t.window)
	switch {
	case c >= t.max:
		// At the end of this window c becomes the previous count and decays from there.
		return time.Duration((1-elapsed)*w + (1-float64(t.max)/float64(c))*w)
	case p > 0 && float64(p)*(1-elapsed)+float64(c) >= float64(t.max):
		return time.Duration((1-float64(t.max-c)/float64(p))*w - elapsed*w)
	}
	return 0
}

// blocked returns how long the bucket key must still wait, or 0 when it may try.
func (t *authThrottle) blocked(key string) time.Duration {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.rotate(now)
	d := t.wait(t.cur[key], t.prev[key], now)
	if _, tracked := t.cur[key]; !tracked && len(t.cur) >= maxThrottledAddresses {
		d = max(d, t.wait(t.overCur, t.overPrev, now))
	}
	if d < 0 {
		return 0
	}
	return d
}

// fail counts a failed authentication from the bucket key. O(1): at most two map operations.
func (t *authThrottle) fail(key string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rotate(t.now())
	if _, tracked := t.cur[key]; tracked || len(t.cur) < maxThrottledAddresses {
		t.cur[key]++
	} else {
		t.overCur++
	}
}

// refuse answers 429 with the whole seconds left in Retry-After.
func (t *authThrottle) refuse(c *fiber.Ctx, wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	return trcledger.Errorf(trcledger.ERATELIMIT,
		"too many failed authentications from this address; retry after %d seconds", secs)
}
