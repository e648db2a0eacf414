package api

import (
	"math"
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

// authThrottle counts failed authentications per client address in fixed windows: once an
// address has failed max times in a window, every authenticated request from it is refused
// (429 with Retry-After) until the window ends, whatever token it carries, so that a guesser
// learns nothing more and costs nothing more. Memory is bounded: at most
// maxThrottledAddresses addresses are tracked at once.
type authThrottle struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	addrs map[string]*authFailures
	// fullUntil is when the first tracked window ends while the map is full: until then a
	// sweep would find nothing to drop, so none is tried.
	fullUntil time.Time
}

type authFailures struct {
	n     int
	since time.Time // start of the window
}

func newAuthThrottle(max int, window time.Duration) *authThrottle {
	return &authThrottle{max: max, window: window, now: time.Now, addrs: map[string]*authFailures{}}
}

// blocked returns how long addr must still wait, or 0 when it may try.
func (t *authThrottle) blocked(addr string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.addrs[addr]
	if f == nil {
		return 0
	}
	now := t.now()
	if now.Sub(f.since) >= t.window {
		delete(t.addrs, addr)
		return 0
	}
	if f.n < t.max {
		return 0
	}
	return f.since.Add(t.window).Sub(now)
}

// fail counts a failed authentication from addr.
func (t *authThrottle) fail(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.addrs[addr]
	if f != nil && now.Sub(f.since) < t.window {
		f.n++
		return
	}
	if f == nil && len(t.addrs) >= maxThrottledAddresses {
		if now.Before(t.fullUntil) {
			return // full of live windows: this address goes uncounted rather than memory growing
		}
		first := now.Add(t.window)
		for a, g := range t.addrs {
			if now.Sub(g.since) >= t.window {
				delete(t.addrs, a)
			} else if end := g.since.Add(t.window); end.Before(first) {
				first = end
			}
		}
		if len(t.addrs) >= maxThrottledAddresses {
			t.fullUntil = first
			return
		}
	}
	t.addrs[addr] = &authFailures{n: 1, since: now}
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
