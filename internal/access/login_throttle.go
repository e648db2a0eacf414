package access

import (
	"net"
	"sync"
	"time"
)

// loginThrottle counts failed sign-ins per username and per client address (IPv6: per /64)
// within a window. A username is blocked after limit failures, an address after 4×limit (a
// clinic's shared address holds several people). Memory is bounded: the counts live in two
// maps swapped each window, and a map that grows past maxLoginKeys is cleared.
type loginThrottle struct {
	mu            sync.Mutex
	limit         int
	window        time.Duration
	start         time.Time
	current, last map[string]int
}

const maxLoginKeys = 100000

func newLoginThrottle(limit int, window time.Duration) *loginThrottle {
	return &loginThrottle{limit: limit, window: window, current: map[string]int{}, last: map[string]int{}}
}

func addressKey(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil {
		return "addr:" + addr
	}
	if ip.To4() == nil {
		ip = ip.Mask(net.CIDRMask(64, 128))
	}
	return "addr:" + ip.String()
}

// rotate swaps the windows when the current one is over; call with mu held.
func (t *loginThrottle) rotate(now time.Time) {
	switch {
	case now.Sub(t.start) >= 2*t.window:
		t.last, t.current, t.start = map[string]int{}, map[string]int{}, now
	case now.Sub(t.start) >= t.window:
		t.last, t.current, t.start = t.current, map[string]int{}, t.start.Add(t.window)
	}
}

// blocked returns how long to wait before username may try again from addr, or 0.
func (t *loginThrottle) blocked(username, addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rotate(now)
	user, address := "user:"+username, addressKey(addr)
	if t.current[user]+t.last[user] >= t.limit || t.current[address]+t.last[address] >= 4*t.limit {
		return t.start.Add(t.window).Sub(now)
	}
	return 0
}

func (t *loginThrottle) fail(username, addr string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rotate(now)
	if len(t.current) >= maxLoginKeys {
		clear(t.current)
	}
	t.current["user:"+username]++
	t.current[addressKey(addr)]++
}

// succeed forgets the username's failures (not the address's).
func (t *loginThrottle) succeed(username string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.current, "user:"+username)
	delete(t.last, "user:"+username)
}
