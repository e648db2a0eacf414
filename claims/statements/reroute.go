package statements

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/ledger"
)

// reroutable is a rejected (or adjusted-down) line of a statement under review whose share names
// a fallback payer and whose reason the contract marks re-routable.
type reroutable struct {
	LineID      int64           `db:"line_id"`
	DecisionID  int64           `db:"decision_id"`
	ShareID     int64           `db:"share_id"`
	EncounterID string          `db:"encounter_id"`
	ServiceDate trcledger.Date  `db:"service_date"`
	ReasonCode  string          `db:"reason_code"`
	Fallback    string          `db:"fallback_payer_code"`
	Amount      decimal.Decimal `db:"amount"`
}

// reroute moves, as the review of st completes in tx, what its payer did not approve of each
// re-routable line to the fallback payer of the line's share (DESIGN.md section 12): one ledger
// transaction (kind reroute) debits expense:<fallback> and credits
// payable:<fallback>:<provider>, per fallback payer; each line becomes a rerouted_shares row,
// linked to the decision, that waits in the claims queue for the fallback payer's next
// statement. The review's own transaction has already taken the amounts off what st's payer
// owes. A line that is itself a re-routed claim is not re-routed again.
func (s *Service) reroute(ctx context.Context, tx *sqlx.Tx, st *Statement, now time.Time) error {
	var lines []reroutable
	err := tx.SelectContext(ctx, &lines, `
		SELECT l.id AS line_id, (SELECT max(d.id) FROM statement_decisions d WHERE d.line_id = l.id) AS decision_id,
		       l.share_id, sh.encounter_id, sh.service_date, l.reason_code, rs.fallback_payer_code, l.amount - l.approved_amount AS amount
		FROM statement_lines l
		JOIN line_shares sh ON sh.id = l.share_id
		JOIN encounters e ON e.id = sh.encounter_id
		JOIN contracts c ON c.id = e.contract_id
		JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.line_no = sh.line_no
		JOIN cost_share_rule_shares rs ON rs.rule_id = el.cost_share_rule_id AND rs.payer_code = sh.payer_code
		WHERE l.statement_id = $1 AND l.live AND l.reroute_id IS NULL AND l.decision IN ('reject', 'adjust')
		  AND l.approved_amount < l.amount AND rs.fallback_payer_code IS NOT NULL AND l.reason_code = ANY(c.reroutable_reasons)
		ORDER BY l.id`, st.ID)
	if err != nil {
		return fmt.Errorf("find re-routable lines: %w", err)
	}
	if len(lines) == 0 {
		return nil
	}
	byFallback := map[string]decimal.Decimal{}
	var fallbacks []string
	for _, l := range lines {
		if _, ok := byFallback[l.Fallback]; !ok {
			fallbacks = append(fallbacks, l.Fallback)
		}
		byFallback[l.Fallback] = byFallback[l.Fallback].Add(l.Amount)
	}
	slices.Sort(fallbacks)
	// The fallback payers' queues change: serialise with their statements being built.
	if err := claims.LockClaims(ctx, tx, st.ProviderCode, fallbacks); err != nil {
		return err
	}
	t := &ledger.Transaction{Kind: "reroute", Reference: "statement:" + st.ID + ":reroute", EffectiveDate: trcledger.Today(now), CreatedAt: trcledger.TimeOf(now)}
	for _, fb := range fallbacks {
		t.Postings = append(t.Postings,
			ledger.Posting{Account: "expense:" + fb, Currency: st.Currency, Amount: byFallback[fb]},
			ledger.Posting{Account: "payable:" + fb + ":" + st.ProviderCode, Currency: st.Currency, Amount: byFallback[fb].Neg()})
	}
	if err := ledger.Append(ctx, tx, []*ledger.Transaction{t}); err != nil {
		return err
	}
	n := len(lines)
	lineIDs, decisionIDs, shareIDs, encounterIDs := make([]int64, n), make([]int64, n), make([]int64, n), make([]string, n)
	dates, reasons, fbs, amounts := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, l := range lines {
		lineIDs[i], decisionIDs[i], shareIDs[i], encounterIDs[i] = l.LineID, l.DecisionID, l.ShareID, l.EncounterID
		dates[i], reasons[i], fbs[i], amounts[i] = l.ServiceDate.String(), l.ReasonCode, l.Fallback, l.Amount.StringFixed(2)
	}
	_, err = tx.ExecContext(ctx, `
		WITH moved AS (
			INSERT INTO rerouted_shares (statement_id, line_id, decision_id, share_id, encounter_id, provider_code, payer_code,
				fallback_payer_code, service_date, reason_code, currency, amount, ledger_transaction_id, created_at)
			SELECT $1, line_id, decision_id, share_id, encounter_id, $2, $3, fallback, service_date, reason, $4, amount, $5, $6
			FROM unnest($7::bigint[], $8::bigint[], $9::bigint[], $10::uuid[], $11::date[], $12::text[], $13::text[], $14::numeric[])
				AS t(line_id, decision_id, share_id, encounter_id, service_date, reason, fallback, amount)
			RETURNING id, share_id, encounter_id, provider_code, fallback_payer_code, service_date, amount)
		INSERT INTO unclaimed_shares (share_id, encounter_id, provider_code, payer_code, service_date, amount, reroute_id)
		SELECT share_id, encounter_id, provider_code, fallback_payer_code, service_date, amount, id FROM moved`,
		st.ID, st.ProviderCode, st.PayerCode, st.Currency, t.ID, now,
		pq.Array(lineIDs), pq.Array(decisionIDs), pq.Array(shareIDs), pq.Array(encounterIDs), pq.Array(dates), pq.Array(reasons), pq.Array(fbs), pq.Array(amounts))
	if err != nil {
		return pg.Translate(err)
	}
	detail := map[string]any{"lines": lineIDs, "ledger_transaction_id": t.ID}
	to := map[string]string{}
	for _, fb := range fallbacks {
		to[fb] = byFallback[fb].StringFixed(2)
	}
	detail["to"] = to
	return access.Record(ctx, tx, "reroute", "statement", st.ID, detail)
}
