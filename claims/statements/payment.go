package statements

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/ledger"
)

// PaymentInput is money finance paid against a reviewed statement.
type PaymentInput struct {
	Amount    decimal.Decimal
	PaidOn    trcledger.Date
	Reference string
}

// PaymentResult answers a payment: the payment and where the statement stands after it.
type PaymentResult struct {
	Payment
	StatementID     string           `json:"statement_id"`
	StatementStatus string           `json:"statement_status"`
	Paid            trcledger.Amount `json:"paid"`
	Outstanding     trcledger.Amount `json:"outstanding"`
}

// RecordPayment records a (partial) payment of a reviewed statement and moves the amount from
// what the payer owes to its cash account; the statement becomes partially_paid or paid. The
// same Idempotency-Key with the same body answers the first result again. It returns EINVALID
// for a bad amount or date and for an overpayment (more than outstanding), ENOTFOUND,
// EFORBIDDEN for anyone but finance, ESTATE before the review is complete, and ECONFLICT for a
// reused key.
func (s *Service) RecordPayment(ctx context.Context, id string, in PaymentInput, idem claims.Idempotency) (*claims.PostResult, error) {
	in.Reference = strings.TrimSpace(in.Reference)
	if err := in.check(trcledger.Today(s.now())); err != nil {
		return nil, err
	}
	if !access.CanRecordPayments(access.PrincipalFrom(ctx)) {
		return nil, trcledger.Errorf(trcledger.EFORBIDDEN, "only finance records payments")
	}
	scope := "payments:" + id
	idem = s.keys.Seal(scope, idem)
	if res, err := claims.Replay(ctx, s.db, scope, idem); res != nil || err != nil {
		return res, err
	}
	var res *claims.PostResult
	err := pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		res = nil
		st, err := findStatement(ctx, tx, id, true)
		if err != nil {
			return err
		}
		claimed, err := claims.ClaimKey(ctx, tx, scope, idem)
		if err != nil {
			return err
		}
		if !claimed {
			res, err = claims.Replay(ctx, tx, scope, idem)
			return err
		}
		if !Allowed(st.Status, ActionPay) {
			return refuse(st, ActionPay)
		}
		if in.Amount.GreaterThan(st.Outstanding.Decimal) {
			return invalidBecause("overpayment", "amount", "%s is more than the %s outstanding", in.Amount.StringFixed(2), st.Outstanding)
		}
		answer, err := s.pay(ctx, tx, st, in)
		if err != nil {
			return err
		}
		body, err := claims.EncodeAnswer(answer)
		if err != nil {
			return fmt.Errorf("encode payment: %w", err)
		}
		if err := claims.StoreAnswer(ctx, tx, scope, idem.Key, 201, body); err != nil {
			return err
		}
		res = &claims.PostResult{Body: body}
		return access.Record(ctx, tx, "pay", "statement", st.ID, map[string]any{"payment_id": answer.ID, "amount": in.Amount.StringFixed(2)})
	})
	if err != nil {
		return nil, err
	}
	if !res.Replayed && s.sealer != nil {
		s.sealer.Kick()
	}
	return res, nil
}

// check names every bad field of a payment received by today (its reference trimmed).
func (in PaymentInput) check(today trcledger.Date) error {
	var f trcledger.Fields
	if !in.Amount.IsPositive() || trcledger.DecimalPlaces(in.Amount) > 2 {
		f.Add("amount", "must be a positive amount with at most 2 decimals")
	}
	if in.PaidOn.IsZero() {
		f.Add("paid_on", "is required")
	} else if in.PaidOn.After(today) {
		f.Add("paid_on", "must not be in the future")
	}
	if in.Reference == "" || len(in.Reference) > 200 {
		f.Add("reference", "is required (the bank transfer reference), at most 200 characters")
	}
	return f.Err()
}

// pay records a payment on st, locked and payable, in tx: its ledger transaction (the payer's
// cash pays what it owes the provider), its row, and the statement's paid amount and status.
// It returns the payment's answer.
func (s *Service) pay(ctx context.Context, tx *sqlx.Tx, st *Statement, in PaymentInput) (PaymentResult, error) {
	now := s.now().UTC()
	pay := Payment{ID: claims.NewUUID(), Amount: trcledger.NewAmount(in.Amount), PaidOn: in.PaidOn, Reference: in.Reference, CreatedAt: trcledger.TimeOf(now)}
	t := &ledger.Transaction{Kind: "payment", Reference: "statement:" + st.ID + ":payment:" + pay.ID, EffectiveDate: in.PaidOn, CreatedAt: trcledger.TimeOf(now),
		Postings: []ledger.Posting{
			{Account: "payable:" + st.PayerCode + ":" + st.ProviderCode, Currency: st.Currency, Amount: in.Amount},
			{Account: "cash:" + st.PayerCode, Currency: st.Currency, Amount: in.Amount.Neg()},
		}}
	if err := ledger.Append(ctx, tx, []*ledger.Transaction{t}); err != nil {
		return PaymentResult{}, err
	}
	pay.LedgerTransactionID = t.ID
	p := access.PrincipalFrom(ctx)
	_, err := tx.ExecContext(ctx, `INSERT INTO payments (id, statement_id, amount, paid_on, reference, ledger_transaction_id, recorded_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, pay.ID, st.ID, in.Amount, in.PaidOn, in.Reference, t.ID, p.TokenID, now)
	if err != nil {
		return PaymentResult{}, pg.Translate(err)
	}
	paid := st.Paid.Add(in.Amount)
	outstanding := st.Outstanding.Sub(in.Amount)
	status := StatusPartiallyPaid
	if outstanding.IsZero() {
		status = StatusPaid
	}
	if _, err := tx.ExecContext(ctx, `UPDATE statements SET paid = $2, status = $3, updated_at = $4 WHERE id = $1`, st.ID, paid, status, now); err != nil {
		return PaymentResult{}, pg.Translate(err)
	}
	return PaymentResult{Payment: pay, StatementID: st.ID, StatementStatus: status,
		Paid: trcledger.NewAmount(paid), Outstanding: trcledger.NewAmount(outstanding)}, nil
}
