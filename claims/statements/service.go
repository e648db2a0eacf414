package statements

import (
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/pg"
)

// Service builds, checks, reviews, pays and exports claims statements. Its exported methods own
// their transaction.
type Service struct {
	db     *sqlx.DB
	now    func() time.Time
	keys   *claims.Keys // idempotency keys and their answers, shared with encounters
	sealer claims.Sealer

	replica *pg.Replica // the exports read there while it is caught up (SetReplica)

	issuePlace string // the place of issue printed on statements; "" for the provider's jurisdiction
}

// NewService returns the statements service; key is the PSEUDONYM_KEY (it keys the stored
// hashes of idempotent requests), sealer may be nil.
func NewService(db *sqlx.DB, now func() time.Time, key []byte, sealer claims.Sealer) *Service {
	return &Service{db: db, now: now, keys: claims.NewKeys(db, key), sealer: sealer}
}
