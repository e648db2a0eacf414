package encounters

import (
	"context"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
)

// Quote is what an encounter being captured would cost if it were posted now: each line that
// can be priced, priced and split exactly as a post prices it (LineNo is the line's place in
// the input, from 1), their total, what each payer would carry, and the problems a post would
// answer so far (a form half filled in has some).
type Quote struct {
	Currency string                 `json:"currency"`
	Lines    []contracts.PricedLine `json:"lines"`
	Total    trcledger.Amount       `json:"total"`
	Payers   []PayerTotal           `json:"payers"`
	Problems []trcledger.FieldError `json:"problems"`
}

// PayerTotal is one payer's part of a quote, in the order the payers first appear in its lines.
type PayerTotal struct {
	PayerCode string           `json:"payer_code"`
	Amount    trcledger.Amount `json:"amount"`
}

// QuoteEncounter prices and splits the encounter as PostEncounter would, and writes nothing
// (but the access_denied record of another provider's contract, answered "unknown contract" as
// a post answers it). Problems are in the answer, not an error: the error is only for a failure
// of the service itself.
func (s *Service) QuoteEncounter(ctx context.Context, in EncounterInput) (*Quote, error) {
	ref, err := s.refs.get(ctx, s.db)
	if err != nil {
		return nil, err
	}
	var f trcledger.Fields
	s.checkFields(ref, &in, "", &f)
	pricing, err := findPricing(ctx, ref, &in, "", &f)
	if err != nil {
		return nil, err
	}
	if pricing == nil {
		denied := deniedContracts{}
		denied.note(ctx, ref, in.ContractCode)
		if err := denied.record(ctx, s); err != nil {
			return nil, err
		}
	}
	lines, err := priceLines(ref, pricing, &in, "", &f)
	if err != nil {
		return nil, err
	}
	q := &Quote{Lines: lines, Payers: []PayerTotal{}, Problems: f.List()}
	if q.Problems == nil {
		q.Problems = []trcledger.FieldError{}
	}
	if pricing != nil {
		q.Currency = pricing.Contract.Currency
	}
	total := decimal.Zero
	byPayer := map[string]int{}
	for _, l := range lines {
		total = total.Add(l.Amount.Decimal)
		for _, sh := range l.Shares {
			i, ok := byPayer[sh.PayerCode]
			if !ok {
				i = len(q.Payers)
				byPayer[sh.PayerCode] = i
				q.Payers = append(q.Payers, PayerTotal{PayerCode: sh.PayerCode})
			}
			q.Payers[i].Amount = trcledger.NewAmount(q.Payers[i].Amount.Add(sh.Amount.Decimal))
		}
	}
	q.Total = trcledger.NewAmount(total)
	return q, nil
}
