package encounters

import (
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/claims"
)

// Service posts, voids, imports and reads encounters. Its exported methods own their
// transaction.
type Service struct {
	db           *sqlx.DB
	now          func() time.Time
	pseudonymKey []byte
	keys         *claims.Keys // idempotency keys and their answers, shared with statements
	sealer       claims.Sealer
	refs         refCache
	group        *committer
	importChunk  int // encounters per transaction of an import
	// agePricing, set by tests only, is called on each encounter an import has priced (to
	// make it look priced before its contract changed).
	agePricing func(*Encounter)
	// onGroup, when set, is told the size of every group the committer writes (metrics).
	onGroup atomic.Pointer[func(posts int)]
}

// OnGroupCommit sets f to be told the number of single posts of every group commit (for the
// group-commit-size metric). Call it before the server takes posts.
func (s *Service) OnGroupCommit(f func(posts int)) { s.onGroup.Store(&f) }

// NewService returns the encounters service and starts its group committer; key is the
// PSEUDONYM_KEY, sealer may be nil. StopPosts (through claims/background) stops the committer.
func NewService(db *sqlx.DB, now func() time.Time, key []byte, sealer claims.Sealer) *Service {
	s := &Service{db: db, now: now, pseudonymKey: key, keys: claims.NewKeys(db, key), sealer: sealer, importChunk: importChunk}
	s.startCommitter()
	return s
}
