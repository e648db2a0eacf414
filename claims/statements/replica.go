package statements

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// SetReplica sends the exports' reads (ExportCSV, ExportPDF, ExportPDFIn) to r while it is
// caught up (pg.Replica.ReadDB); nil, the default, reads everything from the primary. The audit
// entry of the read (and of a denied one) is still written on the primary. Everything else —
// FindStatementByID, the statement pages and lists, and every action, which reads inside its
// own write transaction — stays on the primary. Call it before the service is used.
func (s *Service) SetReplica(r *pg.Replica) { s.replica = r }

// reads is the pool of the reads that may lag.
func (s *Service) reads() *sqlx.DB { return s.replica.ReadDB(s.db) }

// exportStatement reads the statement to export as FindStatementByID does, from the replica
// when one is caught up, and records the read (or the denied attempt) on the primary.
func (s *Service) exportStatement(ctx context.Context, id string) (*Statement, error) {
	rdb := s.reads()
	if rdb == s.db {
		return s.FindStatementByID(ctx, id)
	}
	st, err := loadStatement(ctx, rdb, id)
	if err != nil {
		return nil, access.RecordDenied(ctx, s.db, err)
	}
	if err := recordRead(ctx, s.db, id, st); err != nil {
		return nil, err
	}
	return st, nil
}
