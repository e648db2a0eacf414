package statements

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/ledger"
)

// Statement actions, for the state machine.
const (
	ActionSubmit   = "submit"
	ActionCancel   = "cancel"
	ActionDecide   = "decide"
	ActionComplete = "complete_review"
	ActionPay      = "pay"
)

// moves is the state machine of DESIGN.md section 5: which action is allowed in which state.
var moves = map[string][]string{
	StatusDraft:         {ActionSubmit, ActionCancel},
	StatusSubmitted:     {ActionDecide},
	StatusUnderReview:   {ActionDecide, ActionComplete},
	StatusReviewed:      {ActionPay},
	StatusPartiallyPaid: {ActionPay},
}

// Allowed reports whether action may be taken on a statement in status.
func Allowed(status, action string) bool { return slices.Contains(moves[status], action) }

func refuse(st *Statement, action string) error {
	return trcledger.Errorf(trcledger.ESTATE, "a %s statement cannot take %s", st.Status, strings.ReplaceAll(action, "_", " ")).WithReason("invalid_state")
}

// ReasonCodes a reviewer gives for a rejected or adjusted line.
var ReasonCodes = []string{"duplicate", "not_covered", "missing_referral", "not_eligible", "tariff_error", "quantity_exceeded", "documentation_missing", "other"}

// transition loads the statement for update, checks the caller (who) and the state machine,
// runs fn in the same transaction and answers the statement as it then is (read in that
// transaction too). Under an idempotency key the key is claimed in that transaction, and a replay
// answers the first answer's JSON (res.Replayed) without acting; see once.
func (s *Service) transition(ctx context.Context, id, action string, who func(access.Principal, *Statement) bool, fn func(tx *sqlx.Tx, st *Statement) error, idem claims.Idempotency) (*Statement, *claims.PostResult, error) {
	return s.transitionAnswer(ctx, id, action, who, fn, idem, nil)
}

// transitionAnswer is transition whose keyed answer is answer(statement) (nil: the statement),
// for an action that answers more than the statement (decisions: how many lines it decided).
func (s *Service) transitionAnswer(ctx context.Context, id, action string, who func(access.Principal, *Statement) bool, fn func(tx *sqlx.Tx, st *Statement) error,
	idem claims.Idempotency, answer func(*Statement) any) (*Statement, *claims.PostResult, error) {
	scope, idem := s.keys.ActionIdempotency(ctx, action, id, idem)
	var out *Statement
	res, err := s.keys.Once(ctx, scope, idem, 200, func(tx *sqlx.Tx) error {
		out = nil
		st, err := findStatement(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if !who(access.PrincipalFrom(ctx), st) {
			return trcledger.Errorf(trcledger.EFORBIDDEN, "you may read this statement but not %s it", strings.ReplaceAll(action, "_", " "))
		}
		if !Allowed(st.Status, action) {
			return refuse(st, action)
		}
		if err := fn(tx, st); err != nil {
			return err
		}
		if err := access.Record(ctx, tx, action, "statement", id, nil); err != nil {
			return err
		}
		out, err = readStatement(ctx, tx, id)
		return err
	}, func() any {
		if answer != nil {
			return answer(out)
		}
		return out
	})
	if err != nil {
		return nil, nil, access.RecordDenied(ctx, s.db, err)
	}
	if res != nil && res.Replayed { // the first answer again: the statement with its lines, a read
		if err := access.Record(ctx, s.db, "read", "statement", id, map[string]any{"replay": true}); err != nil {
			return nil, nil, err
		}
		return nil, res, nil
	}
	if s.sealer != nil && (action == ActionComplete || action == ActionPay) {
		s.sealer.Kick()
	}
	return out, res, nil
}

// keyedAction answers a statement action taken under an optional key: see transition.
func keyedAction(st *Statement, res *claims.PostResult, err error) (*claims.PostResult, error) {
	if err != nil {
		return nil, err
	}
	return claims.Answered(res, st)
}

// unkeyed drops the result of an action taken without a key.
func unkeyed(st *Statement, _ *claims.PostResult, err error) (*Statement, error) { return st, err }

// Who may take each action on a statement, for transition.
func maySubmit(p access.Principal, st *Statement) bool {
	return access.CanSubmitStatement(p, st.ProviderCode)
}

func mayCancel(p access.Principal, st *Statement) bool {
	return access.CanCancelStatement(p, st.ProviderCode)
}

func mayReview(p access.Principal, st *Statement) bool {
	return access.CanReviewStatement(p, st.PayerCode)
}

// SubmitStatement freezes a draft: it runs the checks that flag lines for the reviewer
// (duplicate, missing_referral, quantity_limit, late, high_value, over_cap, above_parity: the
// unit price is above the payer's own reference tariff that day; they do not block) and records
// the content hash. The provider's clinic or finance may submit. It returns ENOTFOUND,
// EFORBIDDEN, and ESTATE invalid_state when the statement is not a draft or has no lines.
func (s *Service) SubmitStatement(ctx context.Context, id string) (*Statement, error) {
	return unkeyed(s.submitStatement(ctx, id, claims.Idempotency{}))
}

// SubmitStatementKeyed submits as SubmitStatement does, under the client's optional
// Idempotency-Key: the same key and request again answer the first answer's JSON (Replayed) and
// change nothing; another request under the key is ECONFLICT idempotency_key_reused.
func (s *Service) SubmitStatementKeyed(ctx context.Context, id string, idem claims.Idempotency) (*claims.PostResult, error) {
	return keyedAction(s.submitStatement(ctx, id, idem))
}

func (s *Service) submitStatement(ctx context.Context, id string, idem claims.Idempotency) (*Statement, *claims.PostResult, error) {
	return s.transition(ctx, id, ActionSubmit, maySubmit, func(tx *sqlx.Tx, st *Statement) error {
		if st.LineCount == 0 {
			return trcledger.Errorf(trcledger.ESTATE, "the statement has no lines; cancel it instead").WithReason("invalid_state")
		}
		start, _, _ := claims.PeriodBounds(st.Period)
		_, err := tx.ExecContext(ctx, `
			UPDATE statement_lines l SET flags = array_remove(ARRAY[
				CASE WHEN EXISTS (
					SELECT 1 FROM encounters e2 JOIN encounter_lines el2 ON el2.encounter_id = e2.id AND el2.revision = e2.revision
					WHERE e2.provider_code = e.provider_code AND e2.patient_key = e.patient_key AND e2.service_date = e.service_date
					  AND e2.status = 'posted' AND el2.service_code = el.service_code
					  AND (e2.id <> e.id OR el2.line_no <> el.line_no)) THEN 'duplicate' END,
				CASE WHEN svc.requires_referral AND e.referral_number IS NULL THEN 'missing_referral' END,
				CASE WHEN ti.max_quantity IS NOT NULL AND el.quantity >= ti.max_quantity THEN 'quantity_limit' END,
				CASE WHEN sh.service_date < $2 THEN 'late' END,
				CASE WHEN l.amount >= $3 THEN 'high_value' END,
				CASE WHEN l.reroute_id IS NOT NULL THEN 'rerouted' END,
				CASE WHEN EXISTS (SELECT 1 FROM cap_uses cu WHERE cu.encounter_id = sh.encounter_id AND cu.line_no = sh.line_no
					AND cu.payer_code = sh.payer_code AND cu.over > 0 AND cu.released_at IS NULL) THEN 'over_cap' END,
				CASE WHEN EXISTS (SELECT 1 FROM reference_tariff_versions rv
					JOIN reference_tariff_items ri ON ri.version_id = rv.id AND ri.service_code = el.service_code
					WHERE rv.payer_code = $4 AND rv.effective_from <= e.service_date AND (rv.effective_to IS NULL OR e.service_date < rv.effective_to)
					  AND el.unit_price > CASE ri.method WHEN 'fixed' THEN ri.price ELSE ri.points * rv.point_value END) THEN 'above_parity' END], NULL)
			FROM line_shares sh
			JOIN encounters e ON e.id = sh.encounter_id AND e.revision = sh.revision
			JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.revision = sh.revision AND el.line_no = sh.line_no
			JOIN services svc ON svc.code = el.service_code
			LEFT JOIN tariff_items ti ON ti.tariff_version_id = el.tariff_version_id AND ti.service_code = el.service_code
			WHERE l.statement_id = $1 AND l.live AND sh.id = l.share_id`, st.ID, start, HighValueThreshold, st.PayerCode)
		if err != nil {
			return fmt.Errorf("check statement lines: %w", err)
		}
		if err := loadStatementLines(ctx, tx, st); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE statements SET status = 'submitted', submitted_at = $2, updated_at = $2, content_hash = decode($3, 'hex')
			WHERE id = $1`, st.ID, s.now().UTC(), statementHash(st))
		return pg.Translate(err)
	}, idem)
}

// CancelStatement cancels a draft and releases its lines for another statement. The provider's
// clinic or finance may cancel. It returns ENOTFOUND, EFORBIDDEN and ESTATE invalid_state.
func (s *Service) CancelStatement(ctx context.Context, id string) (*Statement, error) {
	return unkeyed(s.cancelStatement(ctx, id, claims.Idempotency{}))
}

// CancelStatementKeyed cancels as CancelStatement does, under the client's optional
// Idempotency-Key (see SubmitStatementKeyed). It returns CancelStatement's errors and ECONFLICT
// idempotency_key_reused, idempotency_key_in_progress or idempotency_key_expired.
func (s *Service) CancelStatementKeyed(ctx context.Context, id string, idem claims.Idempotency) (*claims.PostResult, error) {
	return keyedAction(s.cancelStatement(ctx, id, idem))
}

func (s *Service) cancelStatement(ctx context.Context, id string, idem claims.Idempotency) (*Statement, *claims.PostResult, error) {
	return s.transition(ctx, id, ActionCancel, mayCancel, func(tx *sqlx.Tx, st *Statement) error {
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE statements SET status = 'cancelled', cancelled_at = $2, updated_at = $2 WHERE id = $1`, st.ID, now); err != nil {
			return pg.Translate(err)
		}
		return requeue(ctx, tx, `UPDATE statement_lines SET live = false WHERE statement_id = $1 AND live RETURNING share_id, reroute_id`, st.ID)
	}, idem)
}

// Decision is a reviewer's verdict on one line.
type Decision struct {
	LineID         int64
	Decision       string
	ApprovedAmount *decimal.Decimal
	ReasonCode     string
	Note           string
}

// Decide records the payer's reviewer's decisions on lines (approve; reject with a reason code;
// adjust to an approved amount below the claimed one with a reason code; reason other needs a
// note). A decision may be changed until the review is completed; every decision is kept with
// who, when and why. It returns EINVALID naming each bad decision (decisions[2].reason_code),
// ENOTFOUND, EFORBIDDEN for anyone but the payer's reviewers, and ESTATE invalid_state.
func (s *Service) Decide(ctx context.Context, id string, ds []Decision) (*Statement, error) {
	return unkeyed(s.decide(ctx, id, ds, claims.Idempotency{}))
}

// DecideKeyed records decisions as Decide does, under the client's optional Idempotency-Key
// (see SubmitStatementKeyed): a replay records nothing again. It returns Decide's errors and
// ECONFLICT idempotency_key_reused, idempotency_key_in_progress or idempotency_key_expired.
func (s *Service) DecideKeyed(ctx context.Context, id string, ds []Decision, idem claims.Idempotency) (*claims.PostResult, error) {
	return keyedAction(s.decide(ctx, id, ds, idem))
}

func (s *Service) decide(ctx context.Context, id string, ds []Decision, idem claims.Idempotency) (*Statement, *claims.PostResult, error) {
	if len(ds) == 0 {
		return nil, nil, (&trcledger.Fields{}).AddErr("decisions", "send at least one decision")
	}
	answer := func(st *Statement) any { return &Decided{Statement: *st, Decided: len(ds)} }
	return s.transitionAnswer(ctx, id, ActionDecide, mayReview, func(tx *sqlx.Tx, st *Statement) error {
		var amounts []struct {
			ID     int64           `db:"id"`
			Amount decimal.Decimal `db:"amount"`
		}
		if err := tx.SelectContext(ctx, &amounts, `SELECT id, amount FROM statement_lines WHERE statement_id = $1 AND live`, st.ID); err != nil {
			return fmt.Errorf("load line amounts: %w", err)
		}
		claimed := map[int64]decimal.Decimal{}
		for _, a := range amounts {
			claimed[a.ID] = a.Amount
		}
		var f trcledger.Fields
		n := len(ds)
		ids, decisions, approved, reasons, notes := make([]int64, n), make([]string, n), make([]string, n), make([]*string, n), make([]*string, n)
		seen := map[int64]int{}
		for i, d := range ds {
			if f.Full() { // the answer lists no more errors: stop checking
				break
			}
			p := fmt.Sprintf("decisions[%d].", i)
			amount, ok := claimed[d.LineID]
			if !ok {
				f.Add(p+"line_id", "line %d is not on this statement", d.LineID)
				continue
			}
			if j, dup := seen[d.LineID]; dup {
				f.Add(p+"line_id", "line %d is already decided by decisions[%d]", d.LineID, j)
				continue
			}
			seen[d.LineID] = i
			ap, err := checkDecision(&f, p, d, amount)
			if err != nil {
				continue
			}
			ids[i], decisions[i], approved[i] = d.LineID, d.Decision, ap.StringFixed(2)
			if d.ReasonCode != "" {
				reasons[i] = &ds[i].ReasonCode
			}
			if d.Note != "" {
				notes[i] = &ds[i].Note
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		return s.recordDecisions(ctx, tx, st.ID, ids, decisions, approved, reasons, notes)
	}, idem, answer)
}

// recordDecisions writes decisions on the lines ids of statement id (approved amounts as
// decimal text, reasons and notes nil where none): each line's verdict with who and when, a
// row of statement_decisions per line, and the statement under review. Decide and DecideBulk
// record through it alike. A line so decided is no longer extrapolated (extrapolate marks its
// lines after).
func (s *Service) recordDecisions(ctx context.Context, tx *sqlx.Tx, id string, ids []int64, decisions, approved []string, reasons, notes []*string) error {
	p := access.PrincipalFrom(ctx)
	now := s.now().UTC()
	_, err := tx.ExecContext(ctx, `
			UPDATE statement_lines l SET decision = d.decision, approved_amount = d.approved, reason_code = d.reason,
				note = d.note, decided_by = $6, decided_at = $7, extrapolation_id = NULL
			FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::text[], $5::text[]) AS d(id, decision, approved, reason, note)
			WHERE l.id = d.id`, pq.Array(ids), pq.Array(decisions), pq.Array(approved), pq.Array(reasons), pq.Array(notes), p.Name+" ("+p.TokenID+")", now)
	if err != nil {
		return pg.Translate(err)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO statement_decisions (statement_id, line_id, decision, approved_amount, reason_code, note, decided_by, decided_role, decided_at, request_id)
		SELECT $1, * , $7, $8, $9, $10 FROM unnest($2::bigint[], $3::text[], $4::numeric[], $5::text[], $6::text[])`,
		id, pq.Array(ids), pq.Array(decisions), pq.Array(approved), pq.Array(reasons), pq.Array(notes), p.Name+" ("+p.TokenID+")", p.Role, now, access.RequestID(ctx))
	if err != nil {
		return pg.Translate(err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE statements SET status = 'under_review', updated_at = $2 WHERE id = $1`, id, now)
	return pg.Translate(err)
}

// checkDecision validates one decision against the claimed amount and returns the approved amount.
func checkDecision(f *trcledger.Fields, p string, d Decision, claimed decimal.Decimal) (decimal.Decimal, error) {
	before := f.Len()
	var approved decimal.Decimal
	switch d.Decision {
	case "approve":
		approved = claimed
		if d.ApprovedAmount != nil && !d.ApprovedAmount.Equal(claimed) {
			f.Add(p+"approved_amount", "an approval approves the claimed %s; use adjust for less", claimed.StringFixed(2))
		}
	case "reject":
		approved = decimal.Zero
		if d.ApprovedAmount != nil && !d.ApprovedAmount.IsZero() {
			f.Add(p+"approved_amount", "a rejection approves nothing; use adjust to approve part")
		}
		if d.ReasonCode == "" {
			f.Add(p+"reason_code", "a rejection needs a reason code")
		}
	case "adjust":
		if d.ApprovedAmount == nil {
			f.Add(p+"approved_amount", "an adjustment needs the approved amount")
		} else if a := *d.ApprovedAmount; a.IsNegative() || !a.LessThan(claimed) || trcledger.DecimalPlaces(a) > 2 {
			f.Add(p+"approved_amount", "must be at least 0.00 and below the claimed %s, with at most 2 decimals", claimed.StringFixed(2))
		} else {
			approved = a
		}
		if d.ReasonCode == "" {
			f.Add(p+"reason_code", "an adjustment needs a reason code")
		}
	default:
		f.Add(p+"decision", "must be approve, reject or adjust")
	}
	if d.ReasonCode != "" && !slices.Contains(ReasonCodes, d.ReasonCode) {
		f.Add(p+"reason_code", "must be one of %s", strings.Join(ReasonCodes, ", "))
	}
	if d.ReasonCode == "other" && strings.TrimSpace(d.Note) == "" {
		f.Add(p+"note", "reason other needs a note")
	}
	if len(d.Note) > 1000 {
		f.Add(p+"note", "must be at most 1000 characters")
	}
	if f.Len() > before {
		return decimal.Zero, fmt.Errorf("bad decision")
	}
	return approved, nil
}

// undecidedError is the ESTATE refusal of a review with n lines undecided; its field errors name
// the first trcledger.MaxFieldErrors of them by id (lines[id=17].decision).
func undecidedError(ctx context.Context, tx *sqlx.Tx, statementID string, n int) error {
	var ids []int64
	err := tx.SelectContext(ctx, &ids, `SELECT id FROM statement_lines WHERE statement_id = $1 AND live AND decision IS NULL
		ORDER BY id LIMIT $2`, statementID, trcledger.MaxFieldErrors)
	if err != nil {
		return fmt.Errorf("find undecided lines: %w", err)
	}
	e := trcledger.Errorf(trcledger.ESTATE, "%d lines are not decided yet", n).WithReason("invalid_state").With("undecided", n)
	for _, id := range ids {
		e.Fields = append(e.Fields, trcledger.FieldError{Field: fmt.Sprintf("lines[id=%d].decision", id), Message: fmt.Sprintf("line %d is not decided yet", id)})
	}
	if n > len(e.Fields) {
		e.Total = n
	}
	return e
}

// CompleteReview fixes the totals once every line is decided (claimed = approved + rejected, to
// the cent) and appends the ledger transaction that takes what was not approved off what the
// payer owes. A statement with nothing approved is settled (paid) at once. It returns ESTATE invalid_state while lines are undecided (naming the
// first hundred), ENOTFOUND, EFORBIDDEN.
func (s *Service) CompleteReview(ctx context.Context, id string) (*Statement, error) {
	return unkeyed(s.completeReview(ctx, id, claims.Idempotency{}))
}

// CompleteReviewKeyed completes the review as CompleteReview does, under the client's optional
// Idempotency-Key (see SubmitStatementKeyed): a replay appends no second ledger transaction. It
// returns CompleteReview's errors and ECONFLICT idempotency_key_reused,
// idempotency_key_in_progress or idempotency_key_expired.
func (s *Service) CompleteReviewKeyed(ctx context.Context, id string, idem claims.Idempotency) (*claims.PostResult, error) {
	return keyedAction(s.completeReview(ctx, id, idem))
}

func (s *Service) completeReview(ctx context.Context, id string, idem claims.Idempotency) (*Statement, *claims.PostResult, error) {
	return s.transition(ctx, id, ActionComplete, mayReview, func(tx *sqlx.Tx, st *Statement) error {
		var totals struct {
			Undecided int             `db:"undecided"`
			Approved  decimal.Decimal `db:"approved"`
			Claimed   decimal.Decimal `db:"claimed"`
		}
		err := tx.GetContext(ctx, &totals, `SELECT count(*) FILTER (WHERE decision IS NULL) AS undecided,
			coalesce(sum(approved_amount), 0) AS approved, coalesce(sum(amount), 0) AS claimed
			FROM statement_lines WHERE statement_id = $1 AND live`, st.ID)
		if err != nil {
			return fmt.Errorf("total decisions: %w", err)
		}
		if totals.Undecided > 0 {
			return undecidedError(ctx, tx, st.ID, totals.Undecided)
		}
		now := s.now().UTC()
		rejected := totals.Claimed.Sub(totals.Approved)
		var txID *int64
		if rejected.IsPositive() {
			t := &ledger.Transaction{Kind: "review_adjustment", Reference: "statement:" + st.ID, EffectiveDate: trcledger.Today(now), CreatedAt: trcledger.TimeOf(now),
				Postings: []ledger.Posting{
					{Account: "payable:" + st.PayerCode + ":" + st.ProviderCode, Currency: st.Currency, Amount: rejected},
					{Account: "expense:" + st.PayerCode, Currency: st.Currency, Amount: rejected.Neg()},
				}}
			if err := ledger.Append(ctx, tx, []*ledger.Transaction{t}); err != nil {
				return err
			}
			txID = &t.ID
		}
		if err := s.reroute(ctx, tx, st, now); err != nil {
			return err
		}
		// With nothing approved there is nothing to pay: the statement is settled at once.
		status := StatusReviewed
		if totals.Approved.IsZero() {
			status = StatusPaid
		}
		_, err = tx.ExecContext(ctx, `UPDATE statements SET status = $6, approved = $2, rejected = $3, reviewed_at = $4,
			updated_at = $4, review_transaction_id = $5 WHERE id = $1`, st.ID, totals.Approved, rejected, now, txID, status)
		return pg.Translate(err)
	}, idem)
}
