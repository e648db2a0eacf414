package access

import (
	"context"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// A token revoked while a request is reading its row is refused by the next request: the row
// read before the revocation committed is not kept for knownTTL after it.
func TestATokenRevokedDuringARequestIsNotKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewTokens(pgtest.NewDB(t), time.Now)
	tok, secret, err := s.CreateToken(ctx, NewToken{Name: "t", Role: RoleFinance})
	if err != nil {
		t.Fatal(err)
	}
	// The revocation commits (and clears the cache) after the row was read, before it is cached.
	s.afterRead = func() {
		s.afterRead = nil
		if err := s.RevokeToken(ctx, tok.ID); err != nil {
			t.Error(err)
		}
	}
	if _, err := s.Authenticate(ctx, secret); err != nil {
		t.Fatalf("the request that began before the revocation: %v", err)
	}
	if _, err := s.Authenticate(ctx, secret); trcledger.ErrorCode(err) != trcledger.EUNAUTHORIZED {
		t.Errorf("the next request after the revocation: %v, want EUNAUTHORIZED", err)
	}
}
