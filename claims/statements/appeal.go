package statements

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/ledger"
)

// Appeal states and outcomes (DESIGN.md section 12).
const (
	AppealOpen       = "open"
	AppealUpheld     = "upheld"
	AppealOverturned = "overturned"
	AppealPartial    = "partial"
)

var (
	// AppealStatuses are the states of an appeal: open, then its outcome.
	AppealStatuses = []string{AppealOpen, AppealUpheld, AppealOverturned, AppealPartial}
	// AppealOutcomes are what the payer's reviewer decides on an appeal.
	AppealOutcomes = []string{AppealUpheld, AppealOverturned, AppealPartial}
	// AppealReasons are why a provider appeals a rejected or adjusted line.
	AppealReasons = []string{"documentation_added", "eligibility_confirmed", "referral_provided", "service_covered",
		"not_duplicate", "tariff_correct", "quantity_justified", "other"}
)

// Appeal is a provider's appeal of a rejected or adjusted statement line, and its decision.
// ApprovedBefore is what the line was approved at when the appeal was filed; ApprovedAmount what
// the decision approves in all, Difference what it adds (what the ledger and the statement's
// approved amount grew by).
type Appeal struct {
	ID                  string            `json:"id" db:"id"`
	StatementID         string            `json:"statement_id" db:"statement_id"`
	StatementNumber     string            `json:"statement_number" db:"statement_number"`
	Period              string            `json:"period" db:"period"`
	LineID              int64             `json:"line_id" db:"line_id"`
	ProviderCode        string            `json:"provider_code" db:"provider_code"`
	PayerCode           string            `json:"payer_code" db:"payer_code"`
	Status              string            `json:"status" db:"status"`
	Reason              string            `json:"reason" db:"reason"`
	Note                *string           `json:"note" db:"note"`
	ServiceCode         string            `json:"service_code" db:"service_code"`
	ServiceDate         trcledger.Date    `json:"service_date" db:"service_date"`
	LineDecision        string            `json:"line_decision" db:"line_decision"`
	LineReasonCode      *string           `json:"line_reason_code" db:"line_reason_code"`
	ClaimedAmount       trcledger.Amount  `json:"claimed_amount" db:"claimed_amount"`
	ApprovedBefore      trcledger.Amount  `json:"approved_before" db:"approved_before"`
	ApprovedAmount      *trcledger.Amount `json:"approved_amount" db:"approved_amount"`
	Difference          *trcledger.Amount `json:"difference" db:"difference"`
	DecisionNote        *string           `json:"decision_note" db:"decision_note"`
	FiledAt             trcledger.Time    `json:"filed_at" db:"filed_at"`
	DecidedBy           *string           `json:"decided_by" db:"decided_by"` // only to admin and the payer's reviewers
	DecidedAt           *trcledger.Time   `json:"decided_at" db:"decided_at"`
	LedgerTransactionID *int64            `json:"ledger_transaction_id" db:"ledger_transaction_id"`
}

// AppealInput is what a clinic sends to appeal a line.
type AppealInput struct {
	LineID int64
	Reason string
	Note   string
}

// AppealDecision is the payer's reviewer's verdict on an appeal. ApprovedAmount is what the line
// is approved at in all: required for partial, optional (and then checked) for the others.
type AppealDecision struct {
	Outcome        string
	ApprovedAmount *decimal.Decimal
	Note           string
}

// AppealFilter narrows FindAppeals; empty fields match everything.
type AppealFilter struct {
	Status, StatementID, ProviderCode, PayerCode string
}

const appealColumns = `a.id, a.statement_id, s.number AS statement_number, s.period, a.line_id, a.provider_code, a.payer_code,
	a.status, a.reason, a.note, el.service_code, sh.service_date, l.decision AS line_decision, l.reason_code AS line_reason_code,
	a.claimed_amount, a.approved_before, a.approved_amount, a.difference, a.decision_note, a.filed_at, a.decided_by,
	a.decided_at, a.ledger_transaction_id`

const appealFrom = ` FROM appeals a
	JOIN statements s ON s.id = a.statement_id
	JOIN statement_lines l ON l.id = a.line_id
	JOIN line_shares sh ON sh.id = l.share_id
	JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.line_no = sh.line_no`

// FileAppeal records the provider's clinic's appeal of a rejected or adjusted line of a reviewed
// (partially_paid, paid) statement, within the contract's appeal window after the review, under
// an optional Idempotency-Key (a replay answers the first answer). It returns ENOTFOUND for a
// statement outside the caller's scope, EFORBIDDEN for anyone but the provider's clinic, EINVALID
// naming bad fields (a line not on the statement, a reason, a note), ESTATE invalid_state
// before the review is complete, ESTATE line_not_appealable for an approved line (or one an
// appeal approved in full), line_rerouted for a line whose rejected amount went to a fallback
// payer, appeal_window_closed after the window, and ECONFLICT appeal_open when the line has an
// open appeal (and the idempotency conflicts).
func (s *Service) FileAppeal(ctx context.Context, statementID string, in AppealInput, idem claims.Idempotency) (*Appeal, *claims.PostResult, error) {
	in.Note = strings.TrimSpace(in.Note)
	scope, idem := s.keys.ActionIdempotency(ctx, "appeal", statementID, idem)
	var out *Appeal
	res, err := s.keys.Once(ctx, scope, idem, 201, func(tx *sqlx.Tx) error {
		out = nil
		st, err := findStatement(ctx, tx, statementID, true)
		if err != nil {
			return err
		}
		if !access.PrincipalFrom(ctx).IsClinicOf(st.ProviderCode) {
			return trcledger.Errorf(trcledger.EFORBIDDEN, "only the provider's clinic appeals its lines")
		}
		var f trcledger.Fields
		checkAppealText(&f, in.Reason, in.Note)
		var line struct {
			Amount     decimal.Decimal `db:"amount"`
			Decision   *string         `db:"decision"`
			Approved   decimal.Decimal `db:"approved"`
			Window     int             `db:"appeal_window_days"`
			Rerouted   bool            `db:"rerouted"`
			OpenAppeal bool            `db:"open_appeal"`
		}
		err = tx.GetContext(ctx, &line, `
			SELECT l.amount, l.decision,
			       coalesce((SELECT a.approved_amount FROM appeals a WHERE a.line_id = l.id AND a.status <> 'open' ORDER BY a.decided_at DESC, a.id DESC LIMIT 1),
			                l.approved_amount, 0) AS approved,
			       c.appeal_window_days,
			       EXISTS (SELECT 1 FROM rerouted_shares rs WHERE rs.line_id = l.id) AS rerouted,
			       EXISTS (SELECT 1 FROM appeals a WHERE a.line_id = l.id AND a.status = 'open') AS open_appeal
			FROM statement_lines l
			JOIN line_shares sh ON sh.id = l.share_id
			JOIN encounters e ON e.id = sh.encounter_id
			JOIN contracts c ON c.id = e.contract_id
			WHERE l.id = $1 AND l.statement_id = $2 AND l.live`, in.LineID, st.ID)
		if errors.Is(err, sql.ErrNoRows) {
			f.Add("line_id", "line %d is not on this statement", in.LineID)
		} else if err != nil {
			return fmt.Errorf("find the appealed line: %w", err)
		}
		if err := f.Err(); err != nil {
			return err
		}
		if !slices.Contains([]string{StatusReviewed, StatusPartiallyPaid, StatusPaid}, st.Status) || st.ReviewedAt == nil {
			return trcledger.Errorf(trcledger.ESTATE, "a %s statement has no review to appeal yet", st.Status).WithReason("invalid_state")
		}
		if line.Decision == nil || *line.Decision == "approve" || !line.Approved.LessThan(line.Amount) {
			return trcledger.Errorf(trcledger.ESTATE, "line %d is approved in full; only a rejected or adjusted line is appealed", in.LineID).
				WithReason("line_not_appealable")
		}
		if line.Rerouted {
			return trcledger.Errorf(trcledger.ESTATE, "what line %d's payer rejected was re-routed to its fallback payer, who pays it", in.LineID).
				WithReason("line_rerouted")
		}
		deadline := trcledger.Today(st.ReviewedAt.Time).AddDays(line.Window)
		if trcledger.Today(s.now()).After(deadline) {
			return trcledger.Errorf(trcledger.ESTATE, "the appeal window of this statement closed on %s", deadline).
				WithReason("appeal_window_closed").With("deadline", deadline.String())
		}
		if line.OpenAppeal {
			return trcledger.Errorf(trcledger.ECONFLICT, "line %d already has an open appeal", in.LineID).WithReason("appeal_open")
		}
		p := access.PrincipalFrom(ctx)
		id := claims.NewUUID()
		var note *string
		if in.Note != "" {
			note = &in.Note
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO appeals (id, statement_id, line_id, provider_code, payer_code, reason, note,
			claimed_amount, approved_before, filed_by, filed_at, filed_request_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			id, st.ID, in.LineID, st.ProviderCode, st.PayerCode, in.Reason, note, line.Amount, line.Approved,
			p.Name+" ("+p.TokenID+")", s.now().UTC(), access.RequestID(ctx))
		if err != nil {
			return pg.Translate(err)
		}
		if err := access.Record(ctx, tx, "file_appeal", "appeal", id, map[string]any{"statement_id": st.ID, "line_id": in.LineID, "reason": in.Reason}); err != nil {
			return err
		}
		out, err = findAppeal(ctx, tx, id, false)
		return err
	}, func() any { return out })
	if err != nil {
		return nil, nil, access.RecordDenied(ctx, s.db, err)
	}
	if res != nil && res.Replayed {
		return nil, res, nil
	}
	return out, res, nil
}

// checkAppealText names a bad appeal reason or note.
func checkAppealText(f *trcledger.Fields, reason, note string) {
	if !slices.Contains(AppealReasons, reason) {
		f.Add("reason", "must be one of %s", strings.Join(AppealReasons, ", "))
	}
	if reason == "other" && note == "" {
		f.Add("note", "reason other needs a note")
	}
	if len(note) > 1000 {
		f.Add("note", "must be at most 1000 characters")
	}
}

// DecideAppeal records the payer's reviewer's decision on an open appeal, under an optional
// Idempotency-Key. upheld keeps the line's approved amount; overturned approves the whole
// claimed amount; partial approves ApprovedAmount, above what was approved and below the claim.
// An overturned or partial appeal appends a ledger transaction (kind appeal: debit
// expense:<payer>, credit payable:<payer>:<provider> for the difference) and raises the
// statement's approved amount (and lowers its rejected one) by it, so that its outstanding grows;
// a paid statement owes again (partially_paid, or reviewed when nothing was paid). It returns
// ENOTFOUND for an appeal outside the caller's scope, EFORBIDDEN for anyone but the payer's
// reviewers, EINVALID naming bad fields, ESTATE invalid_state for an appeal already decided, and
// the idempotency conflicts.
func (s *Service) DecideAppeal(ctx context.Context, id string, d AppealDecision, idem claims.Idempotency) (*Appeal, *claims.PostResult, error) {
	d.Note = strings.TrimSpace(d.Note)
	scope, idem := s.keys.ActionIdempotency(ctx, "decide_appeal", id, idem)
	var out *Appeal
	var moved bool
	res, err := s.keys.Once(ctx, scope, idem, 200, func(tx *sqlx.Tx) error {
		out, moved = nil, false
		a, err := findAppeal(ctx, tx, id, false)
		if err != nil {
			return err
		}
		// The statement first, then the appeal: the order filing takes them in.
		st, err := findStatement(ctx, tx, a.StatementID, true)
		if err != nil {
			return err
		}
		if a, err = findAppeal(ctx, tx, id, true); err != nil {
			return err
		}
		if !access.CanReviewStatement(access.PrincipalFrom(ctx), a.PayerCode) {
			return trcledger.Errorf(trcledger.EFORBIDDEN, "only the payer's reviewers decide its appeals")
		}
		var f trcledger.Fields
		approved := checkAppealDecision(&f, d, a.ApprovedBefore.Decimal, a.ClaimedAmount.Decimal)
		if err := f.Err(); err != nil {
			return err
		}
		if a.Status != AppealOpen {
			return trcledger.Errorf(trcledger.ESTATE, "this appeal is already %s", a.Status).WithReason("invalid_state")
		}
		now := s.now().UTC()
		diff := approved.Sub(a.ApprovedBefore.Decimal)
		var txID *int64
		if diff.IsPositive() {
			t := &ledger.Transaction{Kind: "appeal", Reference: "statement:" + st.ID + ":appeal:" + a.ID, EffectiveDate: trcledger.Today(now), CreatedAt: trcledger.TimeOf(now),
				Postings: []ledger.Posting{
					{Account: "expense:" + st.PayerCode, Currency: st.Currency, Amount: diff},
					{Account: "payable:" + st.PayerCode + ":" + st.ProviderCode, Currency: st.Currency, Amount: diff.Neg()},
				}}
			if err := ledger.Append(ctx, tx, []*ledger.Transaction{t}); err != nil {
				return err
			}
			txID, moved = &t.ID, true
			_, err := tx.ExecContext(ctx, `UPDATE statements SET approved = approved + $2, rejected = rejected - $2, updated_at = $3,
				status = CASE WHEN status <> 'paid' THEN status WHEN paid > 0 THEN 'partially_paid' ELSE 'reviewed' END
				WHERE id = $1`, st.ID, diff, now)
			if err != nil {
				return pg.Translate(err)
			}
		}
		var note *string
		if d.Note != "" {
			note = &d.Note
		}
		p := access.PrincipalFrom(ctx)
		_, err = tx.ExecContext(ctx, `UPDATE appeals SET status = $2, approved_amount = $3, difference = $4, decision_note = $5,
			decided_by = $6, decided_at = $7, ledger_transaction_id = $8 WHERE id = $1`,
			a.ID, d.Outcome, approved, diff, note, p.Name+" ("+p.TokenID+")", now, txID)
		if err != nil {
			return pg.Translate(err)
		}
		if err := access.Record(ctx, tx, "decide_appeal", "appeal", a.ID, map[string]any{"statement_id": st.ID, "outcome": d.Outcome,
			"approved_amount": approved.StringFixed(2), "difference": diff.StringFixed(2)}); err != nil {
			return err
		}
		out, err = findAppeal(ctx, tx, id, false)
		return err
	}, func() any { return out })
	if err != nil {
		return nil, nil, access.RecordDenied(ctx, s.db, err)
	}
	if res != nil && res.Replayed {
		return nil, res, nil
	}
	if moved && s.sealer != nil {
		s.sealer.Kick()
	}
	return out, res, nil
}

// checkAppealDecision names the bad fields of a decision on a line approved at before of claimed,
// and returns what the line is approved at in all.
func checkAppealDecision(f *trcledger.Fields, d AppealDecision, before, claimed decimal.Decimal) decimal.Decimal {
	approved := before
	switch d.Outcome {
	case AppealUpheld:
		if d.ApprovedAmount != nil && !d.ApprovedAmount.Equal(before) {
			f.Add("approved_amount", "an upheld decision keeps the approved %s; use partial or overturned for more", before.StringFixed(2))
		}
	case AppealOverturned:
		approved = claimed
		if d.ApprovedAmount != nil && !d.ApprovedAmount.Equal(claimed) {
			f.Add("approved_amount", "an overturned decision approves the claimed %s; use partial for less", claimed.StringFixed(2))
		}
	case AppealPartial:
		switch a := d.ApprovedAmount; {
		case a == nil:
			f.Add("approved_amount", "a partial decision needs the approved amount")
		case !a.GreaterThan(before) || !a.LessThan(claimed) || trcledger.DecimalPlaces(*a) > 2:
			f.Add("approved_amount", "must be above the approved %s and below the claimed %s, with at most 2 decimals", before.StringFixed(2), claimed.StringFixed(2))
		default:
			approved = *a
		}
	default:
		f.Add("outcome", "must be one of %s", strings.Join(AppealOutcomes, ", "))
	}
	if len(d.Note) > 1000 {
		f.Add("note", "must be at most 1000 characters")
	}
	return approved
}

// findAppeal reads one appeal the caller may see (the statement's parties, finance, admin), or
// ENOTFOUND (an attempt out of scope recorded as access_denied by the caller).
func findAppeal(ctx context.Context, q sqlx.QueryerContext, id string, forUpdate bool) (*Appeal, error) {
	notFound := trcledger.Errorf(trcledger.ENOTFOUND, "appeal %s not found", id)
	if !claims.UUIDPattern.MatchString(id) {
		return nil, notFound
	}
	query := `SELECT ` + appealColumns + appealFrom + ` WHERE a.id = $1`
	if forUpdate {
		query += ` FOR UPDATE OF a`
	}
	var a Appeal
	err := sqlx.GetContext(ctx, q, &a, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("find appeal: %w", err)
	}
	p := access.PrincipalFrom(ctx)
	if !access.CanSeeStatement(p, a.ProviderCode, a.PayerCode) {
		return nil, access.Denied(notFound, "appeal", a.ID)
	}
	if !access.CanSeeDecider(p, a.PayerCode) {
		a.DecidedBy = nil
	}
	return &a, nil
}

// FindAppealByID returns one appeal the caller may see, or ENOTFOUND.
func (s *Service) FindAppealByID(ctx context.Context, id string) (*Appeal, error) {
	a, err := findAppeal(ctx, s.db, id, false)
	if err != nil {
		return nil, access.RecordDenied(ctx, s.db, err)
	}
	return a, nil
}

// FindAppeals lists the appeals the caller may see, newest first: the clinic its provider's, a
// reviewer its payer's, finance and admin all. It returns EINVALID for an unknown status and
// otherwise only database failures.
func (s *Service) FindAppeals(ctx context.Context, f AppealFilter) ([]*Appeal, error) {
	if f.Status != "" && !slices.Contains(AppealStatuses, f.Status) {
		return nil, (&trcledger.Fields{}).AddErr("status", "must be one of %s", strings.Join(AppealStatuses, ", "))
	}
	p := access.PrincipalFrom(ctx)
	var ok bool
	f.ProviderCode, f.PayerCode, ok = access.ScopeOf(p).Narrow(f.ProviderCode, f.PayerCode)
	out := []*Appeal{}
	if !ok {
		return out, nil
	}
	err := s.db.SelectContext(ctx, &out, `SELECT `+appealColumns+appealFrom+`
		WHERE ($1 = '' OR a.status = $1) AND ($2 = '' OR a.provider_code = $2) AND ($3 = '' OR a.payer_code = $3)
		  AND ($4 = '' OR a.statement_id::text = $4)
		ORDER BY a.filed_at DESC, a.id DESC LIMIT 1000`, f.Status, f.ProviderCode, f.PayerCode, f.StatementID)
	if err != nil {
		return nil, fmt.Errorf("list appeals: %w", err)
	}
	for _, a := range out {
		if !access.CanSeeDecider(p, a.PayerCode) {
			a.DecidedBy = nil
		}
	}
	return out, nil
}
