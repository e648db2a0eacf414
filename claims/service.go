package claims

import (
	"regexp"
	"time"

	"github.com/jmoiron/sqlx"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Sealer is told when new ledger transactions wait to be chained.
type Sealer interface{ Kick() }

// Service posts, voids and reads encounters. Its exported methods own their transaction.
type Service struct {
	db           *sqlx.DB
	now          func() time.Time
	pseudonymKey []byte
	requestKey   []byte // keys the stored hashes of idempotent requests (idempotency.go)
	sealer       Sealer
	refs         refCache
	group        *committer
	importChunk  int // encounters per transaction of an import
}

// NewService returns the claims service; key is the PSEUDONYM_KEY, sealer may be nil.
func NewService(db *sqlx.DB, now func() time.Time, key []byte, sealer Sealer) *Service {
	s := &Service{db: db, now: now, pseudonymKey: key, requestKey: requestHashKey(key), sealer: sealer, importChunk: importChunk}
	s.startCommitter()
	return s
}
