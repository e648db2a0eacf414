package reports

import (
	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/internal/pg"
)

// SetReplica sends the reads that may lag (TransitionReport, Reconciliation) to r while it is
// caught up (pg.Replica.ReadDB); nil, the default, reads everything from the primary. Each of
// those reads is one REPEATABLE READ snapshot, so a report from the replica is the primary's
// report as of a moment at most REPLICA_MAX_LAG ago, never a mix. The refresher, the lags and
// the periods stay on the primary. Call it before the service is used.
func (s *Service) SetReplica(r *pg.Replica) { s.replica = r }

// reads is the pool of the reads that may lag.
func (s *Service) reads() *sqlx.DB { return s.replica.ReadDB(s.db) }
