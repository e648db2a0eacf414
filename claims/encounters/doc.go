// Package encounters posts, batches, imports, voids and reads encounters. Every encounter is
// written by one set-based writer (writer.go, writer_rows.go); a single post goes through the
// group committer (groupcommit.go), a batch is one job, and an import (import.go, csvread.go)
// writes its chunks through the same writer. See docs/writer.md.
//
// Tables it writes: encounters, encounter_lines, line_shares, unclaimed_shares (the claims
// queue), report_changes (the encounters posted and voided, for the kept report months),
// idempotency_keys (through claims.Keys), audit_log (through internal/access) and the ledger
// (through ledger.Journal). A void also takes its lines off draft statements (statement_lines,
// statements.claimed).
//
// Tables it only reads: contracts, tariff_versions, tariff_items, cost_share_rules,
// organizations, sites and services (the reference data, cached for 2 s in refdata.go).
//
// Errors are trcledger.Error codes: EINVALID naming every bad field, ENOTFOUND, EFORBIDDEN,
// ECONFLICT with a reason (duplicate_external_id, idempotency_key_reused, on_submitted_statement
// ...), ESTATE and EUNAVAILABLE while the server shuts down; each method says which.
package encounters
