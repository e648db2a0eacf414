package ledger

import (
	"errors"
	"fmt"

	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
)

// constraintErrors says what a violated ledger constraint means to a client. Validate catches
// all of these first; the database refusing them means a caller bypassed it.
var constraintErrors = map[string]struct{ code, reason, message string }{
	"ledger_postings_balanced":            {trcledger.EINVALID, "unbalanced", "ledger postings must balance per currency"},
	"ledger_postings_effective_date":      {trcledger.EINVALID, "validation_failed", "ledger postings must carry the effective date of their transaction"},
	"ledger_postings_transaction_id_fkey": {trcledger.EINVALID, "validation_failed", "ledger postings must belong to a ledger transaction"},
	"ledger_postings_amount_check":        {trcledger.EINVALID, "validation_failed", "a ledger posting amount must not be zero"},
	"ledger_postings_account_check":       {trcledger.EINVALID, "validation_failed", "a ledger posting needs an account"},
	"ledger_postings_currency_check":      {trcledger.EINVALID, "validation_failed", "a ledger posting needs an ISO 4217 currency"},
	"ledger_transactions_kind_check":      {trcledger.EINVALID, "validation_failed", "a ledger transaction needs a kind"},
	"ledger_transactions_reference_check": {trcledger.EINVALID, "validation_failed", "a ledger transaction needs a reference"},
	"ledger_transactions_append_only":     {trcledger.ECONFLICT, "immutable", "the ledger is append-only; append a reversing transaction"},
	"ledger_postings_append_only":         {trcledger.ECONFLICT, "immutable", "the ledger is append-only; append a reversing transaction"},
	"ledger_chain_append_only":            {trcledger.ECONFLICT, "immutable", "the ledger hash chain is append-only"},
}

// translate turns a ledger constraint violation into a *trcledger.Error and wraps anything
// else with what was being done.
func translate(err error, doing string) error {
	if err == nil {
		return nil
	}
	var pqe *pq.Error
	if errors.As(err, &pqe) {
		if c, ok := constraintErrors[pqe.Constraint]; ok {
			return &trcledger.Error{Code: c.code, Reason: c.reason, Message: c.message + ": " + pqe.Message}
		}
	}
	return fmt.Errorf("%s: %w", doing, err)
}
