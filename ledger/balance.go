package ledger

import (
	"context"
	"fmt"
	"strings"

	"github.com/trcledger/trcledger"
)

// AccountBalance is what an account holds in one currency: the sum of its debits, the sum of
// its credits (written positive) and Balance = Debits - Credits.
type AccountBalance struct {
	Account  string           `json:"account"`
	Currency string           `json:"currency"`
	Debits   trcledger.Amount `json:"debits"`
	Credits  trcledger.Amount `json:"credits"`
	Balance  trcledger.Amount `json:"balance"`
}

// balanceQuery sums an account's sealed postings from the daily totals and adds the postings of
// transactions not sealed yet. Both halves read the same snapshot, and a transaction is in
// the daily totals exactly when it is in the chain, so nothing is counted twice or missed.
// %[1]s is the condition on the account column, a.account.
const balanceQuery = `
SELECT account, currency, sum(debits) AS debits, sum(credits) AS credits FROM (
    SELECT a.account, a.currency, a.debits, a.credits FROM ledger_daily_totals a
    WHERE %[1]s AND a.effective_date <= $2
    UNION ALL
    SELECT a.account, a.currency, greatest(a.amount, 0), greatest(-a.amount, 0)
    FROM ledger_unsealed_transactions() u JOIN ledger_postings a ON a.transaction_id = u.id
    WHERE %[1]s AND a.effective_date <= $2
) x GROUP BY account, currency ORDER BY account, currency`

// Balance returns the debits, credits and balance of account in each currency it has postings
// in, counting the postings whose effective date is on or before asOf (all of them if asOf is
// nil), sealed or not, ordered by currency. An account with no postings (or an unknown one)
// has an empty list, not an error. It returns EINVALID (field account) for an empty account.
func (j *Journal) Balance(ctx context.Context, account string, asOf *trcledger.Date) ([]AccountBalance, error) {
	if account == "" {
		var f trcledger.Fields
		return nil, f.AddErr("account", "is required")
	}
	return j.balances(ctx, "a.account = $1", account, asOf)
}

// Accounts returns the totals of every account whose name starts with prefix ("" for all;
// "payable:IOM:" for everything IOM owes), one entry per account and currency, ordered by
// account (bytewise) then currency. It returns only wrapped database errors.
func (j *Journal) Accounts(ctx context.Context, prefix string) ([]AccountBalance, error) {
	return j.balances(ctx, `a.account LIKE $1 ESCAPE '\'`, escapeLike(prefix)+"%", nil)
}

func (j *Journal) balances(ctx context.Context, cond, arg string, asOf *trcledger.Date) ([]AccountBalance, error) {
	date := "infinity"
	if asOf != nil {
		date = asOf.String()
	}
	rows, err := j.reads().QueryContext(ctx, fmt.Sprintf(balanceQuery, cond), arg, date)
	if err != nil {
		return nil, fmt.Errorf("ledger balances: %w", err)
	}
	defer rows.Close()
	out := []AccountBalance{}
	for rows.Next() {
		var b AccountBalance
		if err := rows.Scan(&b.Account, &b.Currency, &b.Debits.Decimal, &b.Credits.Decimal); err != nil {
			return nil, fmt.Errorf("ledger balances: %w", err)
		}
		b.Balance = trcledger.NewAmount(b.Debits.Sub(b.Credits.Decimal))
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger balances: %w", err)
	}
	return out, nil
}

// escapeLike quotes the LIKE wildcards of s with a backslash.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
