package claims

import (
	"regexp"
	"time"
	_ "time/tzdata" // Europe/Sarajevo on machines without a zone database

	"github.com/jmoiron/sqlx"
)

// sarajevo is the clock "today" is read from: a visit on the evening of the 1st in Bihać is
// on the 1st, whatever the server's zone.
var sarajevo = mustLoad("Europe/Sarajevo")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Sealer is told when new ledger transactions wait to be chained.
type Sealer interface{ Kick() }

// Service posts, voids and reads encounters. Its exported methods own their transaction.
type Service struct {
	db           *sqlx.DB
	now          func() time.Time
	pseudonymKey []byte
	sealer       Sealer
	refs         refCache
	group        *committer
}

// NewService returns the claims service; key is the PSEUDONYM_KEY, sealer may be nil.
func NewService(db *sqlx.DB, now func() time.Time, key []byte, sealer Sealer) *Service {
	s := &Service{db: db, now: now, pseudonymKey: key, sealer: sealer}
	s.startCommitter()
	return s
}
