package reports

import (
	"github.com/jmoiron/sqlx"
)

// Service answers the transition report and the reconciliation, and keeps the report months
// (RefreshReports, RunReports). It writes only report_months, report_changes and report_dirty.
type Service struct {
	db *sqlx.DB
}

// NewService returns the reports service.
func NewService(db *sqlx.DB) *Service {
	return &Service{db: db}
}
