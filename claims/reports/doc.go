// Package reports reads what claims/encounters and claims/statements wrote: the transition
// report (with the suppression of small counts in suppress.go), the reconciliation of the
// ledger with encounters, statements and the claims queue, and the kept report months
// (report_months.go) with their refresher. Neither encounters nor statements import it; they
// record the encounters they post and void with claims.RecordReportChange.
//
// Tables it writes: report_months (the kept rows), report_changes and report_dirty (it deletes
// the changes it folded in and the marks of the months it recomputed).
//
// Tables it only reads: encounters, encounter_lines, line_shares, unclaimed_shares, statements,
// statement_lines, payments, organizations, sites, services and the ledger's tables.
//
// Errors are trcledger.Error codes: EINVALID naming every bad field, EFORBIDDEN; each method
// says which.
package reports
