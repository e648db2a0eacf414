package access

import (
	"net"
	"sync"
	"time"
)

// loginThrottle counts sign-in attempts that have not succeeded, per username and per client
// address (IPv6: per /64), within a window. A username is blocked after limit of them, an
// address after addressLimit (a clinic's shared address holds several people; 0 turns the
// address limit off, for a proxy that hides client addresses). An attempt is counted when it
// starts (reserve), before its password is checked, so parallel attempts cannot slip past the
// limit; a success gives the address's count back and forgets the username's. Memory is
// bounded: the counts live in two maps swapped each window, and a map that grows past
// maxLoginKeys is cleared.
type loginThrottle struct {
	mu            sync.Mutex
	limit         int
	addressLimit  int
	window        time.Duration
	start         time.Time
	current, last map[string]int
}

const maxLoginKeys = 100000

func newLoginThrottle(limit, addressLimit int, window time.Duration) *loginThrottle {
	return &loginThrottle{limit: limit, addressLimit: addressLimit, window: window, current: map[string]int{}, last: map[string]int{}}
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

// reserve counts an attempt of username from addr, or returns how long to wait when the
// username or the address has reached its limit (nothing is counted then).
func (t *loginThrottle) reserve(username, addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rotate(now)
	user, address := "user:"+username, addressKey(addr)
	if t.current[user]+t.last[user] >= t.limit || t.addressLimit > 0 && t.current[address]+t.last[address] >= t.addressLimit {
		return t.start.Add(t.window).Sub(now)
	}
	if len(t.current) >= maxLoginKeys {
		clear(t.current)
	}
	t.current[user]++
	t.current[address]++
	return 0
}

// succeed forgets the username's attempts and gives the address back this one.
func (t *loginThrottle) succeed(username, addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.current, "user:"+username)
	delete(t.last, "user:"+username)
	if address := addressKey(addr); t.current[address] > 0 {
		t.current[address]--
	}
}
