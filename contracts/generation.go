package contracts

import (
	"context"
	"sync/atomic"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/internal/pg"
)

// generation counts the writes this process has made to reference data and contracts, so that
// caches of them (the claims service's) know when to reload.
var generation atomic.Int64

// Generation returns the number of committed writes to reference data and contracts made by
// this process; it changes whenever a cache of them must be dropped.
func Generation() int64 { return generation.Load() }

// write runs fn in a transaction and, once it has committed, moves the generation on.
func (s *Store) write(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	if err := pg.WithTx(ctx, s.db, fn); err != nil {
		return err
	}
	generation.Add(1)
	return nil
}
