package statements

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// Statement states of DESIGN.md section 5.
const (
	StatusDraft         = "draft"
	StatusSubmitted     = "submitted"
	StatusUnderReview   = "under_review"
	StatusReviewed      = "reviewed"
	StatusPartiallyPaid = "partially_paid"
	StatusPaid          = "paid"
	StatusCancelled     = "cancelled"
)

// HighValueThreshold flags a statement line of at least this amount for the reviewer.
var HighValueThreshold = decimal.RequireFromString("500.00")

// StatementLine is one payer share of one encounter line, as claimed and as decided.
type StatementLine struct {
	ID                  int64             `json:"id" db:"id"`
	EncounterID         string            `json:"encounter_id" db:"encounter_id"`
	ExternalID          string            `json:"external_id" db:"external_id"`
	LineNo              int               `json:"line_no" db:"line_no"`
	ServiceCode         string            `json:"service_code" db:"service_code"`
	ServiceDate         trcledger.Date    `json:"service_date" db:"service_date"`
	SiteCode            string            `json:"site_code" db:"site_code"`
	PatientKey          string            `json:"patient_key" db:"patient_key"`
	BeneficiaryCategory string            `json:"beneficiary_category" db:"beneficiary_category"`
	Quantity            decimal.Decimal   `json:"quantity" db:"quantity"`
	LineAmount          trcledger.Amount  `json:"line_amount" db:"line_amount"`
	BasisPoints         int               `json:"basis_points" db:"basis_points"`
	Amount              trcledger.Amount  `json:"amount" db:"amount"`
	Flags               pq.StringArray    `json:"flags" db:"flags"`
	Decision            *string           `json:"decision" db:"decision"`
	ApprovedAmount      *trcledger.Amount `json:"approved_amount" db:"approved_amount"`
	ReasonCode          *string           `json:"reason_code" db:"reason_code"`
	Note                *string           `json:"note" db:"note"`
	DecidedBy           *string           `json:"decided_by" db:"decided_by"` // only to admin and the payer's reviewers
	DecidedAt           *trcledger.Time   `json:"decided_at" db:"decided_at"`
	Diagnoses           pq.StringArray    `json:"diagnoses,omitempty" db:"diagnoses"`

	// RerouteID and ReroutedFrom are set on a line flagged rerouted: the re-routed claim and the
	// payer whose rejection moved it here; ReroutedTo on a rejected line whose rejected amount
	// went to the share's fallback payer (docs/appeals-and-rerouting.md).
	RerouteID    *int64  `json:"reroute_id,omitempty" db:"reroute_id"`
	ReroutedFrom *string `json:"rerouted_from_payer_code,omitempty" db:"rerouted_from"`
	ReroutedTo   *string `json:"rerouted_to_payer_code,omitempty" db:"rerouted_to"`

	// Extrapolated: the line's decision applies a reviewed sample's rate (statement_sample.go),
	// which Extrapolation names.
	Extrapolated  bool               `json:"extrapolated" db:"-"`
	Extrapolation *LineExtrapolation `json:"extrapolation,omitempty" db:"-"`
	XID           *int64             `json:"-" db:"x_id"`
	XSeed         *int64             `json:"-" db:"x_seed"`
	XPercent      *int               `json:"-" db:"x_percent"`
	XRate         *decimal.Decimal   `json:"-" db:"x_rate"`
}

// Payment is money paid against a reviewed statement.
type Payment struct {
	ID                  string           `json:"id" db:"id"`
	Amount              trcledger.Amount `json:"amount" db:"amount"`
	PaidOn              trcledger.Date   `json:"paid_on" db:"paid_on"`
	Reference           string           `json:"reference" db:"reference"`
	LedgerTransactionID int64            `json:"ledger_transaction_id" db:"ledger_transaction_id"`
	CreatedAt           trcledger.Time   `json:"created_at" db:"created_at"`
}

// Statement is a monthly claim of one provider on one payer. Approved and Rejected are set when
// the review is complete; Outstanding is what is still to be paid (approved, or until the review
// is complete claimed, minus paid).
type Statement struct {
	ID           string            `json:"id" db:"id"`
	Number       string            `json:"number" db:"number"`
	ProviderCode string            `json:"provider_code" db:"provider_code"`
	PayerCode    string            `json:"payer_code" db:"payer_code"`
	Period       string            `json:"period" db:"period"`
	Status       string            `json:"status" db:"status"`
	Currency     string            `json:"currency" db:"currency"`
	Claimed      trcledger.Amount  `json:"claimed" db:"claimed"`
	Approved     *trcledger.Amount `json:"approved" db:"approved"`
	Rejected     *trcledger.Amount `json:"rejected" db:"rejected"`
	Paid         trcledger.Amount  `json:"paid" db:"paid"`
	Outstanding  trcledger.Amount  `json:"outstanding" db:"-"`
	ContentHash  *string           `json:"content_hash" db:"content_hash"`
	LineCount    int               `json:"line_count" db:"line_count"`
	DecidedCount int               `json:"decided_count" db:"decided_count"` // lines with a decision, of LineCount
	CreatedAt    trcledger.Time    `json:"created_at" db:"created_at"`
	UpdatedAt    trcledger.Time    `json:"updated_at" db:"updated_at"`
	SubmittedAt  *trcledger.Time   `json:"submitted_at" db:"submitted_at"`
	ReviewedAt   *trcledger.Time   `json:"reviewed_at" db:"reviewed_at"`
	CancelledAt  *trcledger.Time   `json:"cancelled_at" db:"cancelled_at"`
	Lines        []StatementLine   `json:"lines,omitzero" db:"-"` // absent where not loaded (lists, create)
	Payments     []Payment         `json:"payments,omitzero" db:"-"`

	// LinesNextCursor continues Lines when they are read a page at a time
	// (FindStatementPage); nil on the last page and wherever Lines holds every line.
	LinesNextCursor *string `json:"lines_next_cursor" db:"-"`

	reviewTx sql.NullInt64
}

func (st *Statement) finish() {
	st.Outstanding = claims.Outstanding(st.Claimed, st.Approved, st.Paid)
	if st.Status == StatusCancelled {
		st.Outstanding = trcledger.NewAmount(decimal.Zero)
	}
}

const statementColumns = `s.id, s.number, s.provider_code, s.payer_code, s.period, s.status, s.currency, s.claimed,
	s.approved, s.rejected, s.paid, encode(s.content_hash, 'hex') AS content_hash, s.created_at, s.updated_at,
	s.submitted_at, s.reviewed_at, s.cancelled_at,
	(SELECT count(*) FROM statement_lines l WHERE l.statement_id = s.id AND l.live) AS line_count,
	(SELECT count(*) FROM statement_lines l WHERE l.statement_id = s.id AND l.live AND l.decision IS NOT NULL) AS decided_count`

// compactCode drops the dashes of a code for a statement number: DZ-BIHAC -> DZBIHAC.
func compactCode(code string) string { return strings.ReplaceAll(code, "-", "") }

// CreateStatement builds the statement of a provider on a payer for a month from that payer's
// posted, unclaimed shares with service dates up to the end of the month (earlier months' lines
// flagged late), or refreshes it while it is a draft. It returns EINVALID for a bad or future
// period, unknown organizations or nothing to claim, EFORBIDDEN for anyone but finance and admin,
// and ESTATE when the month's statement is already submitted.
func (s *Service) CreateStatement(ctx context.Context, provider, payer, period string) (*Statement, error) {
	st, _, err := s.createStatement(ctx, provider, payer, period, claims.Idempotency{})
	return st, err
}

// CreateStatementKeyed builds or refreshes as CreateStatement does, under the client's optional
// Idempotency-Key: the same key and request again answer the first answer's JSON (Replayed)
// without refreshing; another request under the key is ECONFLICT idempotency_key_reused.
func (s *Service) CreateStatementKeyed(ctx context.Context, provider, payer, period string, idem claims.Idempotency) (*claims.PostResult, error) {
	st, res, err := s.createStatement(ctx, provider, payer, period, idem)
	if err != nil {
		return nil, err
	}
	return claims.Answered(res, st)
}

func (s *Service) createStatement(ctx context.Context, provider, payer, period string, idem claims.Idempotency) (*Statement, *claims.PostResult, error) {
	if !access.CanBuildStatements(access.PrincipalFrom(ctx)) {
		return nil, nil, trcledger.Errorf(trcledger.EFORBIDDEN, "only finance and admin build statements")
	}
	var f trcledger.Fields
	start, end, err := claims.PeriodBounds(period)
	if err := f.MergeErr(err); err != nil {
		return nil, nil, err
	}
	today := trcledger.Today(s.now())
	if err == nil && start.After(today) {
		f.Add("period", "%s has not started yet", period)
	}
	if f.Len() > 0 { // one answer names the unknown organizations with the bad period
		checkOrg(ctx, s.db, &f, "provider_code", provider, "provider")
		checkOrg(ctx, s.db, &f, "payer_code", payer, "payer")
		return nil, nil, f.Err()
	}
	scope, idem := s.keys.ActionIdempotency(ctx, "create_statement", "", idem)
	var out *Statement
	res, err := s.keys.Once(ctx, scope, idem, 201, func(tx *sqlx.Tx) error {
		out = nil
		if err := claims.LockClaims(ctx, tx, provider, []string{payer}); err != nil {
			return err
		}
		checkOrg(ctx, tx, &f, "provider_code", provider, "provider")
		checkOrg(ctx, tx, &f, "payer_code", payer, "payer")
		if err := f.Err(); err != nil {
			return err
		}
		now := s.now().UTC()
		id, action, err := openStatement(ctx, tx, provider, payer, period, now)
		if err != nil {
			return err
		}
		total, count, err := gatherLines(ctx, tx, id, provider, payer, start, end)
		if err != nil {
			return err
		}
		if count == 0 && action == "create" {
			return invalidBecause("nothing_to_claim", "period", "%s has no unclaimed posted lines of %s for %s up to %s", provider, payer, period, end)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE statements SET claimed = $2, updated_at = $3 WHERE id = $1`, id, total, now); err != nil {
			return fmt.Errorf("update claimed: %w", err)
		}
		if err := access.Record(ctx, tx, action, "statement", id, map[string]any{"lines": count, "claimed": total.StringFixed(2)}); err != nil {
			return err
		}
		// The answer is the statement's header (line_count, claimed, ...); a month's statement can
		// hold many thousand lines, which GET /v1/statements/{id} returns.
		out, err = findStatement(ctx, tx, id, false)
		return err
	}, func() any { return out })
	if err != nil || res != nil && res.Replayed {
		return nil, res, err
	}
	return out, res, nil
}

// openStatement finds the draft of provider on payer for period, locked, and takes its lines
// off it (action "refresh"), or adds a new statement (action "create"). It returns ESTATE
// invalid_state when the period's statement is past its draft.
func openStatement(ctx context.Context, tx *sqlx.Tx, provider, payer, period string, now time.Time) (id, action string, err error) {
	var existing []struct {
		ID     string `db:"id"`
		Status string `db:"status"`
	}
	err = tx.SelectContext(ctx, &existing, `SELECT id, status FROM statements
		WHERE provider_code = $1 AND payer_code = $2 AND period = $3 AND status <> 'cancelled' FOR UPDATE`, provider, payer, period)
	if err != nil {
		return "", "", fmt.Errorf("find statement: %w", err)
	}
	action = "create"
	if len(existing) > 0 {
		if existing[0].Status != StatusDraft {
			return "", "", trcledger.Errorf(trcledger.ESTATE, "the %s statement of %s on %s is already %s", period, provider, payer, existing[0].Status).
				WithReason("invalid_state").With("statement_id", existing[0].ID)
		}
		id, action = existing[0].ID, "refresh"
		if err := requeue(ctx, tx, `DELETE FROM statement_lines WHERE statement_id = $1 RETURNING share_id, reroute_id`, id); err != nil {
			return "", "", fmt.Errorf("clear draft lines: %w", err)
		}
	} else {
		id = claims.NewUUID()
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM statements WHERE provider_code = $1 AND payer_code = $2 AND period = $3`, provider, payer, period); err != nil {
			return "", "", fmt.Errorf("count statements: %w", err)
		}
		number := fmt.Sprintf("ST-%s-%s-%s", period, compactCode(provider), compactCode(payer))
		if n > 0 {
			number += fmt.Sprintf("-%d", n+1)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO statements (id, number, provider_code, payer_code, period, currency, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $7, $6, $6)`, id, number, provider, payer, period, now, claims.StatementCurrency)
		if err != nil {
			return "", "", pg.Translate(err)
		}
	}
	return id, action, nil
}

// gatherLines takes the unclaimed shares of provider on payer served up to end off the claims
// queue onto statement id, flagging those served before start as late, and returns their sum
// and count.
func gatherLines(ctx context.Context, tx *sqlx.Tx, id, provider, payer string, start, end trcledger.Date) (decimal.Decimal, int, error) {
	var claimed decimal.NullDecimal
	var count int
	err := tx.QueryRowxContext(ctx, `
		WITH taken AS (
			DELETE FROM unclaimed_shares
			WHERE provider_code = $2 AND payer_code = $3 AND service_date <= $5
			RETURNING share_id, service_date, amount, reroute_id
		), gathered AS (
			INSERT INTO statement_lines (statement_id, share_id, amount, flags, reroute_id)
			SELECT $1, share_id, amount, array_remove(ARRAY[CASE WHEN service_date < $4 THEN 'late' END,
				CASE WHEN reroute_id IS NOT NULL THEN 'rerouted' END], NULL), reroute_id
			FROM taken
			ORDER BY service_date, share_id, reroute_id NULLS FIRST
			RETURNING amount)
		SELECT sum(amount), count(*) FROM gathered`, id, provider, payer, start, end).Scan(&claimed, &count)
	if err != nil {
		return decimal.Zero, 0, pg.Translate(err)
	}
	if !claimed.Valid {
		return decimal.Zero, count, nil
	}
	return claimed.Decimal, count, nil
}

func checkOrg(ctx context.Context, q sqlx.QueryerContext, f *trcledger.Fields, field, code, kind string) {
	if code == "" {
		f.Add(field, "is required")
		return
	}
	var got string
	err := sqlx.GetContext(ctx, q, &got, `SELECT kind FROM organizations WHERE code = $1`, code)
	if err != nil || got != kind {
		f.Add(field, "unknown %s %s", kind, code)
	}
}

// StatementFilter narrows FindStatements; empty fields match everything.
type StatementFilter struct {
	ProviderCode, PayerCode, Period, Status string
}

// FindStatements lists the statements the caller may see (without their lines), newest period
// first; none (and no error) when the filter names organisations outside the caller's scope.
// It returns only database failures.
func (s *Service) FindStatements(ctx context.Context, f StatementFilter) ([]*Statement, error) {
	var ok bool
	f.ProviderCode, f.PayerCode, ok = access.ScopeOf(access.PrincipalFrom(ctx)).Narrow(f.ProviderCode, f.PayerCode)
	if !ok {
		return []*Statement{}, nil
	}
	out := []*Statement{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+statementColumns+` FROM statements s
		WHERE ($1 = '' OR s.provider_code = $1) AND ($2 = '' OR s.payer_code = $2) AND ($3 = '' OR s.period = $3) AND ($4 = '' OR s.status = $4)
		ORDER BY s.period DESC, s.number`, f.ProviderCode, f.PayerCode, f.Period, f.Status)
	if err != nil {
		return nil, fmt.Errorf("list statements: %w", err)
	}
	for _, st := range out {
		st.finish()
	}
	return out, nil
}

func findStatement(ctx context.Context, q sqlx.QueryerContext, id string, forUpdate bool) (*Statement, error) {
	notFound := trcledger.Errorf(trcledger.ENOTFOUND, "statement %s not found", id)
	if !claims.UUIDPattern.MatchString(id) {
		return nil, notFound
	}
	query := `SELECT ` + statementColumns + `, s.review_transaction_id FROM statements s WHERE s.id = $1`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	var row struct {
		Statement
		ReviewTx sql.NullInt64 `db:"review_transaction_id"`
	}
	err := sqlx.GetContext(ctx, q, &row, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("find statement: %w", err)
	}
	st := row.Statement
	st.reviewTx = row.ReviewTx
	if !access.CanSeeStatement(access.PrincipalFrom(ctx), st.ProviderCode, st.PayerCode) {
		return nil, access.Denied(notFound, "statement", st.ID)
	}
	st.finish()
	return &st, nil
}

// FindStatementByID returns the statement with its lines and payments, or ENOTFOUND (also for
// one the caller may not see, an attempt recorded as access_denied). Diagnoses come with the
// lines only for the provider's clinic and the payer's reviewers (of lines their payer bears a
// share of), who decided a line only for admin and the payer's reviewers. The read is audited.
func (s *Service) FindStatementByID(ctx context.Context, id string) (*Statement, error) {
	st, err := readStatement(ctx, s.db, id)
	if err != nil {
		return nil, access.RecordDenied(ctx, s.db, err)
	}
	return st, nil
}

// readStatement is FindStatementByID on q: the database, or the transaction of an action that
// answers with the statement.
func readStatement(ctx context.Context, q sqlx.ExtContext, id string) (*Statement, error) {
	st, err := loadStatement(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if err := recordRead(ctx, q, id, st); err != nil {
		return nil, err
	}
	return st, nil
}

// loadStatement is readStatement without the audit entry, for a read-only pool (the replica).
func loadStatement(ctx context.Context, q sqlx.QueryerContext, id string) (*Statement, error) {
	st, err := findStatement(ctx, q, id, false)
	if err != nil {
		return nil, err
	}
	if err := loadStatementLines(ctx, q, st); err != nil {
		return nil, err
	}
	st.Payments = []Payment{}
	if err := sqlx.SelectContext(ctx, q, &st.Payments, `SELECT id, amount, paid_on, reference, ledger_transaction_id, created_at
		FROM payments WHERE statement_id = $1 ORDER BY created_at, id`, id); err != nil {
		return nil, fmt.Errorf("load payments: %w", err)
	}
	return st, nil
}

// recordRead writes the audit entry of a read of statement id, st (its lines' patient-level data).
func recordRead(ctx context.Context, ext sqlx.ExtContext, id string, st *Statement) error {
	return access.Record(ctx, ext, "read", "statement", id, map[string]any{"lines": len(st.Lines)})
}

// loadStatementLines loads the statement's lines, all of them, or with a page the page.Limit
// lines after line page.After and page.More set when there are more.
func loadStatementLines(ctx context.Context, q sqlx.QueryerContext, st *Statement, page ...*linePage) error {
	after, limit, lf := int64(0), sql.NullInt64{}, LineFilter{}
	if len(page) > 0 {
		after, limit, lf = page[0].After, sql.NullInt64{Int64: int64(page[0].Limit) + 1, Valid: true}, page[0].Filter
	}
	amount := func(d *decimal.Decimal) *string {
		if d == nil {
			return nil
		}
		s := d.String()
		return &s
	}
	st.Lines = []StatementLine{}
	err := sqlx.SelectContext(ctx, q, &st.Lines, `
		SELECT l.id, sh.encounter_id, e.external_id, sh.line_no, el.service_code, sh.service_date, e.site_code, e.patient_key,
		       e.beneficiary_category, el.quantity, el.amount AS line_amount, sh.basis_points, l.amount, l.flags, l.decision,
		       l.approved_amount, l.reason_code, l.note, l.decided_by, l.decided_at, e.diagnoses,
		       l.reroute_id, (SELECT rs.payer_code FROM rerouted_shares rs WHERE rs.id = l.reroute_id) AS rerouted_from,
		       (SELECT rs.fallback_payer_code FROM rerouted_shares rs WHERE rs.line_id = l.id) AS rerouted_to,
		       x.id AS x_id, x.seed AS x_seed, x.sample_percent AS x_percent, x.rate AS x_rate
		FROM statement_lines l
		LEFT JOIN statement_extrapolations x ON x.id = l.extrapolation_id
		JOIN line_shares sh ON sh.id = l.share_id
		JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.revision = sh.revision AND el.line_no = sh.line_no
		-- The line's own revision is in sh and el; the encounter is joined by id, so a cancelled
		-- statement still shows lines whose encounter was repriced since.
		JOIN encounters e ON e.id = sh.encounter_id
		WHERE l.statement_id = $1 AND (l.live OR $2) AND l.id > $3
		  AND ($5 = '' OR ($5 = 'none' AND cardinality(l.flags) = 0) OR ($5 = 'any' AND cardinality(l.flags) > 0) OR $5 = ANY (l.flags))
		  AND ($6 = '' OR el.service_code = $6) AND ($7 = '' OR e.site_code = $7)
		  AND ($8 = '' OR ($8 = 'none' AND l.decision IS NULL) OR l.decision = $8)
		  AND ($9::numeric IS NULL OR l.amount >= $9::numeric) AND ($10::numeric IS NULL OR l.amount <= $10::numeric)
		ORDER BY l.id LIMIT $4`, st.ID, st.Status == StatusCancelled, after, limit,
		lf.Flag, lf.ServiceCode, lf.SiteCode, lf.Decision, amount(lf.MinAmount), amount(lf.MaxAmount))
	if err != nil {
		return fmt.Errorf("load statement lines: %w", err)
	}
	if len(page) > 0 && len(st.Lines) > page[0].Limit {
		st.Lines, page[0].More = st.Lines[:page[0].Limit], true
	}
	p := access.PrincipalFrom(ctx)
	decider := access.CanSeeDecider(p, st.PayerCode)
	payer := []string{st.PayerCode}
	for i := range st.Lines {
		l := &st.Lines[i]
		// A line concerns the statement's provider, and its payer where the payer's share of the
		// line counts (a payer listed at 0 is no party to it, even with a rounding cent).
		line := access.Parties{Provider: st.ProviderCode}
		if access.ShareCounts(l.BasisPoints, l.Amount.Decimal) {
			line.Payers = payer
		}
		if !access.CanSeeDiagnoses(p, line) {
			l.Diagnoses = nil
		}
		if !decider {
			l.DecidedBy = nil
		}
		if l.XID != nil && l.XSeed != nil && l.XPercent != nil && l.XRate != nil {
			l.Extrapolated = true
			l.Extrapolation = &LineExtrapolation{ID: *l.XID, Seed: *l.XSeed, SamplePercent: *l.XPercent, Rate: rateText(*l.XRate)}
		}
	}
	return nil
}

// statementHash is the SHA-256 of the statement's frozen content: parties, period and every line.
func statementHash(st *Statement) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s|%s|%s|%s\n", st.Number, st.ProviderCode, st.PayerCode, st.Period, st.Currency, st.Claimed)
	for _, l := range st.Lines {
		fmt.Fprintf(h, "%d|%s|%d|%s|%s|%s|%s\n", l.ID, l.EncounterID, l.LineNo, l.ServiceCode, l.ServiceDate, l.Amount, strings.Join(l.Flags, ","))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// requeue runs release, a statement with $1 = statementID that takes lines off a statement and
// returns their share_id and reroute_id, and puts those shares (or re-routed claims) back among
// the unclaimed ones.
func requeue(ctx context.Context, tx *sqlx.Tx, release, statementID string) error {
	_, err := tx.ExecContext(ctx, `
		WITH released AS (`+release+`)
		INSERT INTO unclaimed_shares (share_id, encounter_id, provider_code, payer_code, service_date, amount, reroute_id)
		SELECT sh.id, sh.encounter_id, sh.provider_code, sh.payer_code, sh.service_date, sh.amount, NULL::bigint
		FROM released r JOIN line_shares sh ON sh.id = r.share_id WHERE r.reroute_id IS NULL
		UNION ALL
		SELECT rs.share_id, rs.encounter_id, rs.provider_code, rs.fallback_payer_code, rs.service_date, rs.amount, rs.id
		FROM released r JOIN rerouted_shares rs ON rs.id = r.reroute_id`, statementID)
	return pg.Translate(err)
}

// invalidBecause is EINVALID naming one field, with a reason.
func invalidBecause(reason, field, format string, args ...any) error {
	err := (&trcledger.Fields{}).AddErr(field, format, args...)
	if e, ok := errors.AsType[*trcledger.Error](err); ok {
		return e.WithReason(reason)
	}
	return err
}
