package reports

import (
	"github.com/jmoiron/sqlx"
)

// Service answers the transition report and the reconciliation, and keeps the report months
// (RefreshReports, RunReports). It writes only report_months, report_changes and report_dirty.
type Service struct {
	db *sqlx.DB

	// recomputeAbove: a month whose changed encounters are more than this part of the
	// encounters it keeps is recomputed whole rather than folded. Folding costs about twice as
	// much per encounter as recomputing (measured on a month of 4,500 encounters, all new: 1.0 s
	// against 0.55 s), so a month filled by an import is recomputed, and a few posts into a
	// large month are folded.
	recomputeAbove float64
	foldAlways     bool // for the tests, which compare folded months with recomputed ones
}

// NewService returns the reports service.
func NewService(db *sqlx.DB) *Service {
	return &Service{db: db, recomputeAbove: 0.5}
}
