package encounters

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/ledger"
)

// Repricing (issue 13 item 1, DESIGN.md section 12, docs/corrections.md): every posted
// encounter of a contract with a service date in [from, to] is priced and split again with the
// tariff versions and cost-share rules in force now; each whose lines or shares differ, and none
// of whose lines is on a submitted statement, gets a ledger transaction of kind reprice (the
// exact reversal of its old shares and the posting of its new ones, dated on the service date)
// and a new revision of its lines and shares.

// RepricingInput is a repricing request.
type RepricingInput struct {
	From, To trcledger.Date
	DryRun   bool
}

// PayerDelta is what a repricing adds to (or, negative, takes from) one payer's shares.
type PayerDelta struct {
	PayerCode string           `json:"payer_code"`
	Amount    trcledger.Amount `json:"amount"`
}

// HeldLine is a statement line of an encounter that would change but sits on a submitted
// statement: it is not touched (an appeal or a supplementary statement settles it).
type HeldLine struct {
	StatementID string `json:"statement_id" db:"statement_id"`
	LineID      string `json:"line_id" db:"line_id"`
	EncounterID string `json:"encounter_id" db:"encounter_id"`
	Number      string `json:"statement_number" db:"number"`
	Status      string `json:"statement_status" db:"status"`
}

// Unpriceable is an encounter of the range that cannot be priced now (no tariff version or
// no rule covers it any more): it is left as it is.
type Unpriceable struct {
	EncounterID string `json:"encounter_id"`
	Message     string `json:"message"`
}

// RepricingResult says what a repricing changes (dry run) or changed: the encounters and lines
// repriced, the delta per payer, and the lines on submitted statements left as they are.
type RepricingResult struct {
	ID                    *string        `json:"id"` // the repricing's id; null for a dry run or when nothing changed
	ContractCode          string         `json:"contract_code"`
	From                  trcledger.Date `json:"from"`
	To                    trcledger.Date `json:"to"`
	DryRun                bool           `json:"dry_run"`
	Examined              int            `json:"examined"`
	Encounters            int            `json:"encounters"`
	Lines                 int            `json:"lines"`
	DeltaByPayer          []PayerDelta   `json:"delta_by_payer"`
	OnSubmittedStatements []HeldLine     `json:"on_submitted_statements"`
	HeldEncounters        int            `json:"held_encounters"`
	Unpriceable           []Unpriceable  `json:"unpriceable"`
}

// MaxRepricingDays bounds the range of one repricing (a year and a day).
const MaxRepricingDays = 366

// Reprice prices and splits again the contract's posted encounters of [from, to] (admin only:
// the access matrix keeps others out). A dry run writes nothing; otherwise it writes as the
// package doc says, under the optional idempotency key (scope actions:<caller>, action
// reprice on the contract; a dry run ignores the key). It returns ENOTFOUND for an unknown
// contract, EINVALID for a bad range, ECONFLICT period_closed (with closed_periods) when a
// month of the range is closed, and the key's ECONFLICTs.
func (s *Service) Reprice(ctx context.Context, contractCode string, in RepricingInput, idem Idempotency) (*RepricingResult, *claims.PostResult, error) {
	var f trcledger.Fields
	if in.From.IsZero() {
		f.Add("from", "is required")
	}
	if in.To.IsZero() {
		f.Add("to", "is required")
	}
	if !in.From.IsZero() && !in.To.IsZero() {
		if in.To.Before(in.From) {
			f.Add("to", "must not be before from")
		} else if in.To.Time().Sub(in.From.Time()).Hours()/24 >= MaxRepricingDays {
			f.Add("to", "a repricing covers at most %d days", MaxRepricingDays)
		}
	}
	if err := f.Err(); err != nil {
		return nil, nil, err
	}
	if in.DryRun {
		var out *RepricingResult
		err := pg.WithTxOpts(ctx, s.db, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, func(tx *sqlx.Tx) error {
			r, err := s.repriceTx(ctx, tx, contractCode, in)
			out = r
			return err
		})
		if err != nil {
			return nil, nil, access.RecordDenied(ctx, s.db, err)
		}
		return out, nil, nil
	}
	scope, idem := s.keys.ActionIdempotency(ctx, "reprice", contractCode, idem)
	var out *RepricingResult
	res, err := s.keys.Once(ctx, scope, idem, 200, func(tx *sqlx.Tx) error {
		r, err := s.repriceTx(ctx, tx, contractCode, in)
		out = r
		return err
	}, func() any { return out })
	if err != nil {
		return nil, nil, access.RecordDenied(ctx, s.db, err)
	}
	if res != nil && res.Replayed {
		return nil, res, nil
	}
	if out.Encounters > 0 && s.sealer != nil {
		s.sealer.Kick()
	}
	return out, res, nil
}

// repricedEncounter is one encounter the repricing changes: its old and new lines.
type repricedEncounter struct {
	e        *Encounter
	newLines []contracts.PricedLine
	changed  int // lines that differ after caps
}

// repriceTx is one repricing in tx; with in.DryRun it only reads. Lock order: the contract
// (FOR UPDATE, which waits for the posts that hold it FOR KEY SHARE and holds back new ones),
// the months of the range (shared), the encounters (FOR UPDATE, by id), then the claims locks
// of the provider and payers, as a void takes them after its encounter, the draft statements,
// and last the cap-periods (FOR UPDATE, by cap and period, as the writer and the void take
// them). A dry run takes none of these locks and runs the same computation, caps included, in
// its read-only snapshot; it skips only the writes (docs/corrections.md).
func (s *Service) repriceTx(ctx context.Context, tx *sqlx.Tx, contractCode string, in RepricingInput) (*RepricingResult, error) {
	lock := "FOR UPDATE"
	if in.DryRun {
		lock = ""
	}
	var contractID int64
	if err := tx.GetContext(ctx, &contractID, `SELECT id FROM contracts WHERE code = $1 `+lock, contractCode); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, trcledger.Errorf(trcledger.ENOTFOUND, "contract %s not found", contractCode)
		}
		return nil, fmt.Errorf("lock contract: %w", err)
	}
	if err := s.checkRangeOpen(ctx, tx, in); err != nil {
		return nil, err
	}
	pricing, err := contracts.LoadPricing(ctx, tx, contractCode)
	if err != nil {
		return nil, err
	}
	ref, err := loadRefData(ctx, tx)
	if err != nil {
		return nil, err
	}
	var rows []encounterRow
	if err := tx.SelectContext(ctx, &rows, `SELECT `+encounterColumns+` FROM encounters e JOIN contracts c ON c.id = e.contract_id
		WHERE e.contract_id = $1 AND e.status = 'posted' AND e.service_date >= $2 AND e.service_date <= $3
		ORDER BY e.id `+lockOf(lock, "e"), contractID, in.From, in.To); err != nil {
		return nil, fmt.Errorf("find the encounters to reprice: %w", err)
	}
	encs := make([]*Encounter, len(rows))
	for i := range rows {
		encs[i] = rows[i].encounter()
	}
	if err := loadLines(ctx, tx, encs); err != nil {
		return nil, err
	}
	res := &RepricingResult{ContractCode: contractCode, From: in.From, To: in.To, DryRun: in.DryRun, Examined: len(encs),
		DeltaByPayer: []PayerDelta{}, OnSubmittedStatements: []HeldLine{}, Unpriceable: []Unpriceable{}}
	var changed []*repricedEncounter
	for _, e := range encs {
		lines, err := priceAgain(pricing, ref, e)
		if err != nil {
			var terr *trcledger.Error
			if !errors.As(err, &terr) {
				return nil, err
			}
			res.Unpriceable = append(res.Unpriceable, Unpriceable{EncounterID: e.ID, Message: unpriceableMessage(terr)})
			continue
		}
		// Whether an encounter changes is decided on its terms, before caps: its stored shares
		// are the ones after caps, which the split alone would never give back (reprice_caps.go).
		if pricesDiffer(e.Lines, lines) {
			changed = append(changed, &repricedEncounter{e: e, newLines: lines})
		}
	}
	held, err := heldLines(ctx, tx, changed)
	if err != nil {
		return nil, err
	}
	res.OnSubmittedStatements = held
	heldIDs := map[string]bool{}
	for _, h := range held {
		heldIDs[h.EncounterID] = true
	}
	res.HeldEncounters = len(heldIDs)
	var apply []*repricedEncounter
	for _, r := range changed {
		if !heldIDs[r.e.ID] {
			apply = append(apply, r)
		}
	}
	rules, err := contractCaps(ctx, tx, contractID)
	if err != nil {
		return nil, err
	}
	var payers []string
	if !in.DryRun && len(apply) > 0 {
		// The void's lock order: claims (provider × payers, the caps' overflow payers among
		// them), the draft statements, then the cap-periods.
		if payers, err = lockRepricingClaims(ctx, tx, apply, overflowPayers(rules)); err != nil {
			return nil, err
		}
	}
	caps, err := chargeRepricing(ctx, tx, rules, apply, !in.DryRun)
	if err != nil {
		return nil, err
	}
	delta := map[string]decimal.Decimal{}
	for _, r := range apply {
		// Compared after caps; an encounter whose terms changed has a line that differs.
		r.changed = differingLines(r.e.Lines, r.newLines)
		res.Encounters++
		res.Lines += r.changed
		for _, l := range r.e.Lines {
			for _, sh := range l.Shares {
				delta[sh.PayerCode] = delta[sh.PayerCode].Sub(sh.Amount.Decimal)
			}
		}
		for _, l := range r.newLines {
			for _, sh := range l.Shares {
				delta[sh.PayerCode] = delta[sh.PayerCode].Add(sh.Amount.Decimal)
			}
		}
	}
	deltaPayers := make([]string, 0, len(delta))
	for p := range delta {
		deltaPayers = append(deltaPayers, p)
	}
	sort.Strings(deltaPayers)
	for _, p := range deltaPayers {
		res.DeltaByPayer = append(res.DeltaByPayer, PayerDelta{PayerCode: p, Amount: trcledger.NewAmount(delta[p])})
	}
	if in.DryRun || len(apply) == 0 {
		if !in.DryRun {
			return res, access.Record(ctx, tx, "reprice", "contract", contractCode, repricingAudit(res))
		}
		return res, nil
	}
	if err := caps.save(ctx, tx, s.now().UTC()); err != nil {
		return nil, err
	}
	if err := s.applyRepricing(ctx, tx, contractID, res, apply, payers); err != nil {
		return nil, err
	}
	return res, nil
}

func lockOf(lock, table string) string {
	if lock == "" {
		return ""
	}
	return lock + " OF " + table
}

// checkRangeOpen refuses (ECONFLICT period_closed, listing closed_periods) a range that
// touches a closed month; applying, it holds the months' shared locks until commit.
func (s *Service) checkRangeOpen(ctx context.Context, tx *sqlx.Tx, in RepricingInput) error {
	var months []string
	for d := claims.PeriodOf(in.From); d <= claims.PeriodOf(in.To); {
		months = append(months, d)
		start, _, _ := claims.PeriodBounds(d)
		d = claims.PeriodOf(trcledger.DateOf(start.Time().AddDate(0, 1, 0)))
	}
	var closed []string
	if in.DryRun {
		var err error
		if closed, err = claims.ClosedPeriodsBetween(ctx, tx, in.From, in.To); err != nil {
			return err
		}
	} else {
		set, err := claims.ClosedPeriods(ctx, tx, months)
		if err != nil {
			return err
		}
		for _, m := range months {
			if set[m] {
				closed = append(closed, m)
			}
		}
	}
	if len(closed) == 0 {
		return nil
	}
	return claims.ErrPeriodClosed(closed[0], "from").With("closed_periods", closed)
}

// priceAgain prices and splits e's lines with the contract's tariffs and rules as they are now.
func priceAgain(p *contracts.Pricing, ref *refData, e *Encounter) ([]contracts.PricedLine, error) {
	out := make([]contracts.PricedLine, 0, len(e.Lines))
	for i, l := range e.Lines {
		svc := ref.services[l.ServiceCode]
		if svc == nil {
			return nil, trcledger.Errorf(trcledger.EINVALID, "service %s is not in the catalogue", l.ServiceCode)
		}
		field := fmt.Sprintf("lines[%d]", i)
		line, err := p.Price(contracts.LineInput{Service: svc, Quantity: l.Quantity, Scope: contracts.LineScope{
			On: e.ServiceDate, BeneficiaryCategory: e.BeneficiaryCategory, SiteCode: e.SiteCode,
		}}, contracts.FieldNames{Date: "service_date", ServiceCode: field + ".service_code", Quantity: field + ".quantity"})
		if err != nil {
			return nil, err
		}
		line.LineNo = l.LineNo
		out = append(out, line)
	}
	return out, nil
}

func unpriceableMessage(e *trcledger.Error) string {
	if len(e.Fields) > 0 {
		return e.Fields[0].Field + ": " + e.Fields[0].Message
	}
	return e.Message
}

// pricesDiffer reports whether a line's price, VAT, amount, tariff version or rule differ: its
// terms, which decide the split before caps.
func pricesDiffer(old, now []contracts.PricedLine) bool {
	for i := range old {
		if !samePrice(&old[i], &now[i]) {
			return true
		}
	}
	return false
}

func samePrice(a, b *contracts.PricedLine) bool {
	return a.UnitPrice.Equal(b.UnitPrice.Decimal) && a.Net.Equal(b.Net.Decimal) && a.VAT.Equal(b.VAT.Decimal) &&
		a.Amount.Equal(b.Amount.Decimal) && a.VATRate.Equal(b.VATRate) &&
		a.TariffVersionID == b.TariffVersionID && a.CostShareRuleID == b.CostShareRuleID
}

// differingLines counts the lines whose price, split (after caps), tariff version or rule differ.
func differingLines(old, now []contracts.PricedLine) int {
	n := 0
	for i := range old {
		if !sameLine(&old[i], &now[i]) {
			n++
		}
	}
	return n
}

func sameLine(a, b *contracts.PricedLine) bool {
	if !samePrice(a, b) || len(a.Shares) != len(b.Shares) {
		return false
	}
	for i := range a.Shares {
		x, y := a.Shares[i], b.Shares[i]
		if x.PayerCode != y.PayerCode || x.BasisPoints != y.BasisPoints || !x.Amount.Equal(y.Amount.Decimal) {
			return false
		}
	}
	return true
}

// heldLines lists the statement lines of the changed encounters that sit on a statement that
// is neither a draft nor cancelled.
func heldLines(ctx context.Context, tx *sqlx.Tx, changed []*repricedEncounter) ([]HeldLine, error) {
	out := []HeldLine{}
	if len(changed) == 0 {
		return out, nil
	}
	ids := make([]string, len(changed))
	for i, r := range changed {
		ids[i] = r.e.ID
	}
	err := tx.SelectContext(ctx, &out, `SELECT st.id AS statement_id, l.id AS line_id, sh.encounter_id, st.number, st.status
		FROM statement_lines l JOIN statements st ON st.id = l.statement_id JOIN line_shares sh ON sh.id = l.share_id
		WHERE sh.encounter_id = ANY($1::uuid[]) AND l.live AND st.status NOT IN ('draft', 'cancelled')
		ORDER BY st.number, sh.encounter_id, sh.line_no, sh.position`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("find repriced lines on submitted statements: %w", err)
	}
	return out, nil
}

// lockRepricingClaims takes the claims locks of the contract's provider and every payer the
// encounters' old or new shares, or the caps' overflow, may name (overflow), then takes the
// encounters' lines off draft statements (409 on_submitted_statement when one was submitted
// meanwhile). It returns the payers.
func lockRepricingClaims(ctx context.Context, tx *sqlx.Tx, apply []*repricedEncounter, overflow []string) ([]string, error) {
	payerSet := map[string]bool{}
	var payers []string
	add := func(p string) {
		if !payerSet[p] {
			payerSet[p] = true
			payers = append(payers, p)
		}
	}
	for _, r := range apply {
		for _, ls := range [][]contracts.PricedLine{r.e.Lines, r.newLines} {
			for _, l := range ls {
				for _, sh := range l.Shares {
					add(sh.PayerCode)
				}
			}
		}
	}
	for _, p := range overflow {
		add(p)
	}
	if err := claims.LockClaims(ctx, tx, apply[0].e.ProviderCode, payers); err != nil {
		return nil, err
	}
	for _, r := range apply {
		if err := releaseFromDrafts(ctx, tx, r.e.ID); err != nil {
			return nil, err
		}
	}
	return payers, nil
}

// applyRepricing writes the repricing of the encounters, locked, their claims locks held and
// their lines off draft statements, their caps charged: for each, its shares come off the
// claims queue, a reprice ledger transaction reverses
// the old shares and posts the new ones, the new revision of its lines and shares is written
// (naming the encounter repricing, which names the revision replaced), the claimable new
// shares join the queue, the encounter moves to its new revision and total, and its report
// month is marked to be recomputed. Then the audit rows.
func (s *Service) applyRepricing(ctx context.Context, tx *sqlx.Tx, contractID int64, res *RepricingResult, apply []*repricedEncounter, payers []string) error {
	provider := apply[0].e.ProviderCode
	now := s.now().UTC()
	txs := make([]*ledger.Transaction, len(apply))
	ids := make([]string, len(apply))
	for i, r := range apply {
		ids[i] = r.e.ID
		old := postingTransaction(r.e)
		next := *r.e
		next.Lines = r.newLines
		posting := postingTransaction(&next)
		t := &ledger.Transaction{Kind: "reprice", Reference: "encounter:" + r.e.ID, EffectiveDate: r.e.ServiceDate,
			CreatedAt: trcledger.TimeOf(now)}
		t.Postings = append(ledger.Reverse(old, "", "", r.e.ServiceDate).Postings, posting.Postings...)
		if err := ledger.Validate(t); err != nil {
			return fmt.Errorf("reprice encounter %s: %w", r.e.ID, err)
		}
		txs[i] = t
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM unclaimed_shares WHERE provider_code = $1 AND payer_code = ANY($2) AND encounter_id = ANY($3::uuid[])`,
		provider, pq.Array(payers), pq.Array(ids)); err != nil {
		return fmt.Errorf("take the repriced shares off the claims queue: %w", err)
	}
	if err := ledger.Append(ctx, tx, txs); err != nil {
		return err
	}
	id := claims.NewUUID()
	res.ID = &id
	p := access.PrincipalFrom(ctx)
	if _, err := tx.ExecContext(ctx, `INSERT INTO repricings (id, contract_id, date_from, date_to, encounters, lines, actor, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, contractID, res.From, res.To, res.Encounters, res.Lines, p.TokenID, now); err != nil {
		return pg.Translate(err)
	}
	revs := make([]int64, len(apply))
	ledgerIDs := make([]int64, len(apply))
	for i, r := range apply {
		revs[i], ledgerIDs[i] = int64(r.e.revision), txs[i].ID
	}
	var links []struct {
		ID          int64  `db:"id"`
		EncounterID string `db:"encounter_id"`
	}
	if err := tx.SelectContext(ctx, &links, `INSERT INTO encounter_repricings (repricing_id, encounter_id, from_revision, to_revision, ledger_transaction_id)
		SELECT $1, e, r, r + 1, l FROM unnest($2::uuid[], $3::int[], $4::bigint[]) AS t(e, r, l)
		RETURNING id, encounter_id`, id, pq.Array(ids), pq.Array(revs), pq.Array(ledgerIDs)); err != nil {
		return pg.Translate(err)
	}
	linkOf := map[string]int64{}
	for _, l := range links {
		linkOf[l.EncounterID] = l.ID
	}
	if err := insertRevision(ctx, tx, apply, linkOf); err != nil {
		return err
	}
	totals := make([]string, len(apply))
	for i, r := range apply {
		total := decimal.Zero
		for _, l := range r.newLines {
			total = total.Add(l.Amount.Decimal)
		}
		totals[i] = trcledger.NewAmount(total).String()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE encounters e SET revision = e.revision + 1, total = t.total
		FROM unnest($1::uuid[], $2::numeric[]) AS t(id, total) WHERE e.id = t.id`, pq.Array(ids), pq.Array(totals)); err != nil {
		return pg.Translate(err)
	}
	months := map[string]bool{}
	for _, r := range apply {
		months[claims.PeriodOf(r.e.ServiceDate)] = true
	}
	for m := range months {
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_dirty (period) VALUES ($1)`, m); err != nil {
			return fmt.Errorf("mark report month %s: %w", m, err)
		}
	}
	audit := make([]access.AuditRow, len(apply))
	for i, r := range apply {
		audit[i] = access.AuditRow{Principal: p, RequestID: access.RequestID(ctx), Action: "reprice", ObjectType: "encounter", ObjectID: r.e.ID}
	}
	if err := access.RecordRows(ctx, tx, audit); err != nil {
		return err
	}
	return access.Record(ctx, tx, "reprice", "contract", res.ContractCode, repricingAudit(res))
}

func repricingAudit(res *RepricingResult) map[string]any {
	return map[string]any{"repricing_id": res.ID, "from": res.From, "to": res.To, "encounters": res.Encounters,
		"lines": res.Lines, "delta_by_payer": res.DeltaByPayer, "held_encounters": res.HeldEncounters}
}

// insertRevision writes the new revision of the repriced encounters' lines and shares, and
// the claimable shares' rows in the claims queue.
func insertRevision(ctx context.Context, tx *sqlx.Tx, apply []*repricedEncounter, linkOf map[string]int64) error {
	var lc lineColumns
	var sc shareColumns
	var lrev, lby, srev, sby []int64
	for _, r := range apply {
		for li := range r.newLines {
			l := &r.newLines[li]
			lc.add(r.e, l)
			lrev, lby = append(lrev, int64(r.e.revision+1)), append(lby, linkOf[r.e.ID])
			for pos := range l.Shares {
				sc.add(r.e, l, pos, &l.Shares[pos])
				srev, sby = append(srev, int64(r.e.revision+1)), append(sby, linkOf[r.e.ID])
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO encounter_lines (encounter_id, line_no, service_code, quantity, unit_price, net, vat_rate, vat, amount, tariff_version_id, cost_share_rule_id, revision, repriced_by)
		SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[],
			$8::numeric[], $9::numeric[], $10::bigint[], $11::bigint[], $12::smallint[], $13::bigint[])`,
		pq.Array(lc.encounter), pq.Array(lc.lineNo), pq.Array(lc.service), pq.Array(lc.quantity), pq.Array(lc.unitPrice), pq.Array(lc.net),
		pq.Array(lc.vatRate), pq.Array(lc.vat), pq.Array(lc.amount), pq.Array(lc.tariffVersion), pq.Array(lc.rule), pq.Array(lrev), pq.Array(lby)); err != nil {
		return pg.Translate(err)
	}
	if _, err := tx.ExecContext(ctx, `
		WITH src AS (
			SELECT * FROM unnest($1::uuid[], $2::int[], $3::smallint[], $4::text[], $5::text[], $6::date[], $7::int[], $8::numeric[], $9::bool[],
				$10::smallint[], $11::bigint[]) AS t(enc, line, pos, payer, prov, sdate, bp, amt, claimable, rev, by)
		), ins AS (
			INSERT INTO line_shares (encounter_id, line_no, position, payer_code, provider_code, service_date, basis_points, amount, revision, repriced_by)
			SELECT enc, line, pos, payer, prov, sdate, bp, amt, rev, by FROM src
			RETURNING id, encounter_id, line_no, position, provider_code, payer_code, service_date, amount
		)
		INSERT INTO unclaimed_shares (share_id, encounter_id, provider_code, payer_code, service_date, amount)
		SELECT ins.id, ins.encounter_id, ins.provider_code, ins.payer_code, ins.service_date, ins.amount
		FROM ins JOIN src ON src.enc = ins.encounter_id AND src.line = ins.line_no AND src.pos = ins.position
		WHERE src.claimable`,
		pq.Array(sc.encounter), pq.Array(sc.lineNo), pq.Array(sc.position), pq.Array(sc.payer), pq.Array(sc.provider), pq.Array(sc.serviceDate),
		pq.Array(sc.basisPoints), pq.Array(sc.amount), pq.Array(sc.claimable), pq.Array(srev), pq.Array(sby)); err != nil {
		return pg.Translate(err)
	}
	return nil
}
