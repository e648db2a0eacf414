// Package statements builds claims statements from the claims queue, checks and flags their
// lines on submit, records reviewers' decisions, records payments, and exports a statement as
// CSV or PDF. A statement moves through the states of statement_flow.go.
//
// Tables it writes: statements, statement_lines, statement_decisions, payments,
// unclaimed_shares (taking shares off the queue and putting them back), idempotency_keys
// (through claims.Keys), audit_log (through internal/access) and the ledger (payments and
// completed reviews, through ledger.Append).
//
// Tables it only reads: encounters, encounter_lines, line_shares, organizations, services and
// tariff_items.
//
// Errors are trcledger.Error codes: EINVALID naming every bad field, ENOTFOUND, EFORBIDDEN,
// ESTATE invalid_state for an action the statement's state does not allow, and ECONFLICT with
// a reason (idempotency_key_reused, overpayment ...); each method says which.
package statements
