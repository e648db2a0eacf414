// Package claims is the top-level home of what clinics post and payers are billed. The work is
// done by three packages beneath it, each with its own Service:
//
//   - claims/encounters: post, batch, CSV import, void and read encounters (the one set-based
//     writer, the group committer, the CSV reader);
//   - claims/statements: build, check, review, pay and export claims statements;
//   - claims/reports: the transition report, its suppression of small counts, the
//     reconciliation, and the kept report months with their refresher.
//
// claims/background owns their background work (the group committer, the ledger's sealer, the
// report refresher), which serve starts and stops.
//
// This package holds only what encounters and statements both write with, so that neither
// imports the other and neither imports reports: the Idempotency type and the keyed-answer
// machinery (Keys, ClaimKeys, FinishKeys; every statement on idempotency_keys is in
// idempotency.go), the pseudonymisation of patient ids, the report changes that writers record
// (RecordReportChange), the claims lock of a provider and payer, and small shared values (ids,
// months, the statement currency).
//
// Tables it writes: idempotency_keys (for both services) and report_changes (in the writers'
// transactions). It reads nothing else.
package claims
