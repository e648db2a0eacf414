package access

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/pgtest"
)

// TestParallelSignInsCannotPassTheThrottle: 40 wrong passwords sent at once for one account are
// not all checked; at most the limit of 5 are, the rest are refused before any hashing. Then a
// second account on the same address still signs in, and a success gives the address its
// attempt back.
func TestParallelSignInsCannotPassTheThrottle(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	s := NewUsers(db, time.Now)
	ctx := context.Background()
	for _, name := range []string{"target", "other"} {
		if _, _, err := s.CreateUser(ctx, NewUser{Username: name, DisplayName: name, Role: RoleFinance, Locale: "bs", Password: name + "-password-1"}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	codes := map[string]int{}
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Login(ctx, "target", "wrong password", "192.0.2.7")
			mu.Lock()
			codes[trcledger.ErrorCode(err)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[trcledger.EUNAUTHORIZED] > 5 || codes[trcledger.EUNAUTHORIZED]+codes[trcledger.ERATELIMIT]+codes[trcledger.EUNAVAILABLE] != 40 {
		t.Fatalf("40 parallel wrong passwords: %v; at most 5 may be checked", codes)
	}
	if _, err := s.Login(ctx, "target", "target-password-1", "192.0.2.7"); trcledger.ErrorCode(err) != trcledger.ERATELIMIT {
		t.Fatalf("the right password after the limit: %v, want rate limited", err)
	}
	if _, err := s.Login(ctx, "other", "other-password-1", "192.0.2.7"); err != nil {
		t.Fatalf("another account on the same address: %v", err)
	}
}

// TestAddressLimitCanBeTurnedOff: behind a proxy every sign-in comes from one address; with the
// address limit off, only each username's own limit applies.
func TestAddressLimitCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	th := newLoginThrottle(5, 0, time.Minute)
	now := time.Now()
	for i := range 500 {
		if w := th.reserve("user"+string(rune('a'+i%26))+string(rune('a'+i/26)), "10.0.0.1", now); w != 0 {
			t.Fatalf("attempt %d refused with the address limit off", i)
		}
	}
	th = newLoginThrottle(5, 3, time.Minute)
	for i := range 3 {
		if th.reserve("u"+string(rune('a'+i)), "10.0.0.1", now) != 0 {
			t.Fatalf("attempt %d refused below the address limit", i)
		}
	}
	if th.reserve("ud", "10.0.0.1", now) == 0 {
		t.Fatal("a fourth attempt from the address passed a limit of 3")
	}
	th.succeed("ua", "10.0.0.1")
	if th.reserve("ue", "10.0.0.1", now) != 0 {
		t.Fatal("a success did not give the address its attempt back")
	}
}
