// Package ledger is the generic append-only double-entry journal of trcledger: transactions
// of signed postings (debit positive, credit negative) that balance per currency, balances of
// any account as of any date, and a SHA-256 hash chain over every transaction that Verify
// recomputes to find the first changed, removed or inserted row.
//
// Writers never wait for each other: Append only inserts rows, in the caller's database
// transaction, with set-based statements. The chain is appended afterwards by a sealer
// (Journal.Seal, or Journal.Run in the background), one at a time across processes, which also
// rolls the sealed postings up into daily totals per account so that a balance sums a few
// hundred rows, not millions of postings.
//
// The database enforces the invariants as well: every INSERT of postings balances per currency
// (constraint ledger_postings_balanced), and ledger rows can never be updated, deleted or
// truncated (triggers ledger_*_append_only). A mistake is corrected with a reversing
// transaction (Reverse).
//
// Package ledger imports no other domain package.
package ledger

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

// Posting is one signed line of a transaction: a positive Amount debits Account, a negative one
// credits it. Amounts have at most 2 decimals and are written "25.00" in JSON.
type Posting struct {
	Account  string          `json:"account"`
	Currency string          `json:"currency"`
	Amount   decimal.Decimal `json:"amount"`
}

// MarshalJSON writes the posting with its amount as a string with exactly 2 decimals.
func (p Posting) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Account  string           `json:"account"`
		Currency string           `json:"currency"`
		Amount   trcledger.Amount `json:"amount"`
	}{p.Account, p.Currency, trcledger.NewAmount(p.Amount)})
}

// Transaction is one balanced journal entry. ID and CreatedAt are set by Append; Hash (hex
// SHA-256 chain link) is "" until the sealer has put the transaction in the chain, and is
// written as null in JSON until then.
type Transaction struct {
	ID            int64          `json:"id"`
	Kind          string         `json:"kind"`
	Reference     string         `json:"reference"`
	EffectiveDate trcledger.Date `json:"effective_date"`
	CreatedAt     trcledger.Time `json:"created_at"`
	Postings      []Posting      `json:"postings"`
	Hash          string         `json:"hash"`
}

// MarshalJSON writes the transaction with hash null until it is sealed, postings [] rather
// than null.
func (t Transaction) MarshalJSON() ([]byte, error) {
	type plain Transaction
	p := plain(t)
	if p.Postings == nil {
		p.Postings = []Posting{}
	}
	var hash *string
	if t.Hash != "" {
		hash = &t.Hash
	}
	return json.Marshal(struct {
		plain
		Hash *string `json:"hash"`
	}{p, hash})
}

// maxAmount bounds a posting amount to what numeric(18,2) stores.
var maxAmount = decimal.New(1, 16)

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks t before it is appended. It returns nil, or an EINVALID *trcledger.Error
// listing every bad field: kind, reference or effective_date missing; no postings; a posting
// with an empty account, a currency that is not 3 capital letters, a zero amount or one with
// more than 2 decimals; postings that do not sum to zero in some currency (the message names
// the currency and the sum).
func Validate(t *Transaction) error {
	var f trcledger.Fields
	if t == nil {
		return f.AddErr("transaction", "is required")
	}
	if strings.TrimSpace(t.Kind) == "" {
		f.Add("kind", "is required")
	}
	if strings.TrimSpace(t.Reference) == "" {
		f.Add("reference", "is required")
	}
	if t.EffectiveDate.IsZero() {
		f.Add("effective_date", "is required")
	}
	if len(t.Postings) == 0 {
		f.Add("postings", "a transaction needs postings that balance per currency")
	}
	sums := map[string]decimal.Decimal{}
	for i, p := range t.Postings {
		field := fmt.Sprintf("postings[%d]", i)
		if strings.TrimSpace(p.Account) == "" {
			f.Add(field+".account", "is required")
		}
		if !currencyPattern.MatchString(p.Currency) {
			f.Add(field+".currency", "must be an ISO 4217 code such as BAM")
		}
		switch {
		case p.Amount.IsZero():
			f.Add(field+".amount", "must not be zero")
		case trcledger.DecimalPlaces(p.Amount) > 2:
			f.Add(field+".amount", "has more than 2 decimals")
		case p.Amount.Abs().GreaterThanOrEqual(maxAmount):
			f.Add(field+".amount", "is too large")
		default:
			sums[p.Currency] = sums[p.Currency].Add(p.Amount)
		}
	}
	if f.Len() == 0 {
		var unbalanced []string
		for cur, sum := range sums {
			if !sum.IsZero() {
				unbalanced = append(unbalanced, fmt.Sprintf("the %s postings sum to %s", cur, sum.StringFixed(2)))
			}
		}
		if len(unbalanced) > 0 {
			sort.Strings(unbalanced)
			f.Add("postings", "debits and credits must balance per currency, but %s", strings.Join(unbalanced, " and "))
		}
	}
	return f.Err()
}

// Reverse returns the exact reverse of t, to append as its correction: the same postings in
// the same order with every amount negated, under the given kind, reference and effective date.
// It never fails; Append validates the result.
func Reverse(t *Transaction, kind, reference string, effective trcledger.Date) *Transaction {
	r := &Transaction{Kind: kind, Reference: reference, EffectiveDate: effective,
		Postings: make([]Posting, len(t.Postings))}
	for i, p := range t.Postings {
		r.Postings[i] = Posting{Account: p.Account, Currency: p.Currency, Amount: p.Amount.Neg()}
	}
	return r
}
