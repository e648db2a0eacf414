package claims_test

import (
	"testing"

	"github.com/trcledger/trcledger/claims/internal/claimstest"
	"github.com/trcledger/trcledger/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixture is the shared fixture of the claims packages (claimstest.Fixture); this package's
// tests add their own methods to it.
type fixture struct{ *claimstest.Fixture }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{claimstest.New(t)}
}

// The shared helpers, under the names the tests were written with.
var (
	testKey      = claimstest.TestKey
	concurrently = claimstest.Concurrently
	today        = claimstest.Today
	finance      = claimstest.Finance
	reviewer     = claimstest.Reviewer
	as           = claimstest.As
	date         = claimstest.Date
	dec          = claimstest.Dec
	sp           = claimstest.Sp
	visit        = claimstest.Visit
	key          = claimstest.Key
	idemOf       = claimstest.IdemOf
	postBody     = claimstest.PostBody
	wantCode     = claimstest.WantCode
	wantError    = claimstest.WantError
	fieldSet     = claimstest.FieldSet
	sharesOf     = claimstest.SharesOf
)
