package ledger

import (
	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/internal/pg"
)

// SetReplica sends the journal's reads (Balance, Accounts, Transactions) to r while it is caught
// up (pg.Replica.ReadDB); nil, the default, reads everything from the primary. Each of those
// reads is one statement, so it sees the ledger as it stood at one moment at most
// REPLICA_MAX_LAG ago: a balance read right after a post may not count it yet. Sealing and
// Verify, which write the chain, stay on the primary. Call it before the journal is used.
func (j *Journal) SetReplica(r *pg.Replica) { j.replica = r }

// reads is the pool of the reads that may lag.
func (j *Journal) reads() *sqlx.DB { return j.replica.ReadDB(j.db) }
