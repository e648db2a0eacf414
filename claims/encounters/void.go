package encounters

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/ledger"
)

// VoidEncounter voids the caller's own posted encounter and appends the exact reverse of its
// ledger transaction, dated like the original. It returns ENOTFOUND for an unknown or foreign
// encounter (the attempt on a foreign one recorded as access_denied), EINVALID without a reason, ESTATE invalid_state when it is already voided, and
// ECONFLICT on_submitted_statement once a line sits on a submitted statement. Lines on a draft
// statement are taken off it.
func (s *Service) VoidEncounter(ctx context.Context, id, reason string) (*Encounter, error) {
	e, _, err := s.voidEncounter(ctx, id, reason, false, Idempotency{})
	return e, err
}

// VoidOptions are the choices of a void beyond its reason.
type VoidOptions struct {
	// InOpenMonth books the void of an encounter whose month is closed on the first day of the
	// first open month after it (docs/corrections.md); without it such a void is ECONFLICT
	// period_closed. It changes nothing for an encounter of an open month.
	InOpenMonth bool
}

// VoidEncounterWith voids as VoidEncounterKeyed does, with opts.
func (s *Service) VoidEncounterWith(ctx context.Context, id, reason string, opts VoidOptions, idem Idempotency) (*claims.PostResult, error) {
	e, res, err := s.voidEncounter(ctx, id, reason, opts.InOpenMonth, idem)
	if err != nil {
		return nil, err
	}
	return claims.Answered(res, e)
}

// VoidEncounterKeyed voids as VoidEncounter does, under the client's optional Idempotency-Key:
// the same key with the same request again answers the first answer's JSON (Replayed) and voids
// nothing, another request under the key is ECONFLICT idempotency_key_reused. Its Body is the
// voided encounter's JSON.
func (s *Service) VoidEncounterKeyed(ctx context.Context, id, reason string, idem Idempotency) (*claims.PostResult, error) {
	e, res, err := s.voidEncounter(ctx, id, reason, false, idem)
	if err != nil {
		return nil, err
	}
	return claims.Answered(res, e)
}

func (s *Service) voidEncounter(ctx context.Context, id, reason string, inOpenMonth bool, idem Idempotency) (*Encounter, *claims.PostResult, error) {
	reason = strings.TrimSpace(reason)
	var f trcledger.Fields
	if reason == "" {
		f.Add("reason", "is required")
	} else if len(reason) > 500 {
		f.Add("reason", "must be at most 500 characters")
	}
	if err := f.Err(); err != nil {
		return nil, nil, err
	}
	notFound := trcledger.Errorf(trcledger.ENOTFOUND, "encounter %s not found", id)
	if !claims.UUIDPattern.MatchString(id) {
		return nil, nil, notFound
	}
	p := access.PrincipalFrom(ctx)
	scope, idem := s.keys.ActionIdempotency(ctx, "void", id, idem)
	var out *Encounter
	res, err := s.keys.Once(ctx, scope, idem, 200, func(tx *sqlx.Tx) error {
		e, err := findForVoid(ctx, tx, p, id, notFound)
		if err != nil {
			return err
		}
		day, err := voidDay(ctx, tx, e, inOpenMonth)
		if err != nil {
			return err
		}
		if err := claims.LockClaims(ctx, tx, e.ProviderCode, payersOf(e)); err != nil {
			return err
		}
		if err := releaseFromDrafts(ctx, tx, id); err != nil {
			return err
		}
		revID, err := s.writeVoid(ctx, tx, e, reason, day)
		if err != nil {
			return err
		}
		out = e
		// The reason is free text a clinician wrote; it stays on the encounter, not in the audit log.
		detail := map[string]any{"ledger_transaction_id": revID}
		if !day.Time().IsZero() {
			detail["booked_on"], detail["closed_period"] = day, claims.PeriodOf(e.ServiceDate)
		}
		return access.Record(ctx, tx, "void", "encounter", id, detail)
	}, func() any { return out })
	if err != nil {
		return nil, nil, access.RecordDenied(ctx, s.db, err)
	}
	if res != nil && res.Replayed { // the first answer again: the encounter, a read
		res, err = s.auditReplay(ctx, res, nil)
		return nil, res, err
	}
	if s.sealer != nil {
		s.sealer.Kick()
	}
	return out, res, nil
}

// findForVoid reads encounter id with its lines and locks it, for p to void: notFound when it
// does not exist, or is another provider's (recorded as denied), ESTATE invalid_state when it
// is voided already.
func findForVoid(ctx context.Context, tx *sqlx.Tx, p access.Principal, id string, notFound error) (*Encounter, error) {
	var rows []encounterRow
	err := tx.SelectContext(ctx, &rows, `SELECT `+encounterColumns+` FROM encounters e JOIN contracts c ON c.id = e.contract_id
		WHERE e.id = $1 FOR UPDATE OF e`, id)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, notFound
	}
	if !access.CanVoidEncounter(p, rows[0].ProviderCode) {
		return nil, access.Denied(notFound, "encounter", id)
	}
	e := rows[0].encounter()
	if err := loadLines(ctx, tx, []*Encounter{e}); err != nil {
		return nil, err
	}
	if e.Status != "posted" {
		return nil, trcledger.Errorf(trcledger.ESTATE, "encounter %s is already voided", id).WithReason("invalid_state")
	}
	return e, nil
}

// voidDay checks the month of the encounter's service date: open, the void is dated like the
// posting (a zero day); closed, it is ECONFLICT period_closed, or, with inOpenMonth, booked on
// the first day of the first open month after it.
func voidDay(ctx context.Context, tx *sqlx.Tx, e *Encounter, inOpenMonth bool) (trcledger.Date, error) {
	m := claims.PeriodOf(e.ServiceDate)
	closed, err := claims.ClosedPeriods(ctx, tx, []string{m})
	if err != nil || !closed[m] {
		return trcledger.Date{}, err
	}
	if !inOpenMonth {
		return trcledger.Date{}, claims.ErrPeriodClosed(m, "").
			With("hint", "send the void again with book_in_open_month: true to book it in the first open month")
	}
	return claims.FirstOpenDay(ctx, tx, m)
}

// writeVoid voids e, locked, in tx: takes its shares off the claims queue, records it in its
// report month's changes, appends the reversing ledger transaction and sets the encounter voided with reason. It
// returns the reversal's ledger transaction id.
func (s *Service) writeVoid(ctx context.Context, tx *sqlx.Tx, e *Encounter, reason string, day trcledger.Date) (int64, error) {
	// Its shares no longer wait for a statement (the claims lock keeps one from taking them now).
	_, err := tx.ExecContext(ctx, `DELETE FROM unclaimed_shares
		WHERE provider_code = $1 AND payer_code = ANY($2) AND service_date = $3 AND encounter_id = $4`,
		e.ProviderCode, pq.Array(payersOf(e)), e.ServiceDate, e.ID)
	if err != nil {
		return 0, fmt.Errorf("take the encounter's shares off the claims queue: %w", err)
	}
	if err := claims.RecordReportChange(ctx, tx, e.ServiceDate, claims.ReportVoided, e.ID); err != nil {
		return 0, err
	}
	if err := ReleaseCaps(ctx, tx, []string{e.ID}, s.now().UTC()); err != nil { // the room goes back (caps.go)
		return 0, err
	}
	orig, err := ledger.Load(ctx, tx, e.LedgerTransactionID)
	if err != nil {
		return 0, err
	}
	if e.revision > 1 { // repriced: reverse the shares it has now, not those it was posted with
		now := postingTransaction(e)
		now.EffectiveDate = orig.EffectiveDate
		orig = now
	}
	if day.Time().IsZero() {
		day = orig.EffectiveDate
	}
	rev := ledger.Reverse(orig, "encounter_voided", "encounter:"+e.ID, day)
	now := s.now().UTC()
	rev.CreatedAt = trcledger.TimeOf(now)
	if err := ledger.Append(ctx, tx, []*ledger.Transaction{rev}); err != nil {
		return 0, err
	}
	err = tx.QueryRowxContext(ctx, `UPDATE encounters SET status = 'voided', voided_at = $2, void_reason = $3, void_transaction_id = $4
		WHERE id = $1 RETURNING status, voided_at, void_reason`, e.ID, now, reason, rev.ID).Scan(&e.Status, &e.VoidedAt, &e.VoidReason)
	if err != nil {
		return 0, pg.Translate(err)
	}
	return rev.ID, nil
}

// statementDraft is the state of a statement still being built (statements.StatusDraft; this
// package does not import statements).
const statementDraft = "draft"

// releaseFromDrafts takes the encounter's lines off draft statements, and refuses (409
// on_submitted_statement) when one sits on a statement that has been submitted.
func releaseFromDrafts(ctx context.Context, tx *sqlx.Tx, encounterID string) error {
	var on []struct {
		StatementID string `db:"statement_id"`
		Number      string `db:"number"`
		Status      string `db:"status"`
	}
	err := tx.SelectContext(ctx, &on, `SELECT st.id AS statement_id, st.number, st.status
		FROM statement_lines l JOIN statements st ON st.id = l.statement_id JOIN line_shares sh ON sh.id = l.share_id
		WHERE sh.encounter_id = $1 AND l.live AND st.status <> 'cancelled' FOR UPDATE OF st`, encounterID)
	if err != nil {
		return fmt.Errorf("find statements of the encounter: %w", err)
	}
	for _, s := range on {
		if s.Status != statementDraft {
			return trcledger.Errorf(trcledger.ECONFLICT, "a line of this encounter is on statement %s, which is %s", s.Number, s.Status).
				WithReason("on_submitted_statement").With("statement_id", s.StatementID)
		}
	}
	done := map[string]bool{}
	for _, s := range on {
		if done[s.StatementID] {
			continue
		}
		done[s.StatementID] = true
		_, err := tx.ExecContext(ctx, `
			WITH gone AS (
				DELETE FROM statement_lines l USING line_shares sh
				WHERE l.statement_id = $1 AND l.share_id = sh.id AND sh.encounter_id = $2 RETURNING l.amount)
			UPDATE statements SET claimed = claimed - (SELECT coalesce(sum(amount), 0) FROM gone) WHERE id = $1`, s.StatementID, encounterID)
		if err != nil {
			return fmt.Errorf("take the encounter off statement %s: %w", s.Number, err)
		}
	}
	return nil
}

func payersOf(e *Encounter) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range e.Lines {
		for _, sh := range l.Shares {
			if !seen[sh.PayerCode] {
				seen[sh.PayerCode] = true
				out = append(out, sh.PayerCode)
			}
		}
	}
	return out
}
