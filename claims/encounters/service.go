package encounters

import (
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
}

// NewService returns the encounters service and starts its group committer; key is the
// PSEUDONYM_KEY, sealer may be nil. StopPosts (through claims/background) stops the committer.
func NewService(db *sqlx.DB, now func() time.Time, key []byte, sealer claims.Sealer) *Service {
	s := &Service{db: db, now: now, pseudonymKey: key, keys: claims.NewKeys(db, key), sealer: sealer, importChunk: importChunk}
	s.startCommitter()
	return s
}
