package statements

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// Review sampling (docs/review-sampling.md). A sample is a pure function of the statement's
// live unflagged lines (frozen at submit), the seed and the percent: anyone may draw it again at
// any time and get the same lines. The reviewer decides the sample's lines by hand; the bulk
// decision extrapolate then applies the sample's rejected share, by amount, to the other
// unflagged lines not decided by hand, and records what it did in statement_extrapolations.

// MaxSampleSeed is the largest seed: 2^53 − 1, the largest integer a JSON client reads exactly.
// Seeds start at 1.
const MaxSampleSeed = int64(1)<<53 - 1

// Extrapolate is the bulk decision that applies a reviewed sample's rate to the rest.
const Extrapolate = "extrapolate"

// LineExtrapolation is what a line decided by extrapolation says about it.
type LineExtrapolation struct {
	ID            int64  `json:"id"`
	Seed          int64  `json:"seed"`
	SamplePercent int    `json:"sample_percent"`
	Rate          string `json:"rate"`
}

// Extrapolation is one application of a sample's rate to the rest of a statement's unflagged
// lines, as recorded: the sample (seed, percent, its lines and amounts), the rate, and the lines
// it decided with their claimed and approved totals.
type Extrapolation struct {
	ID              int64            `json:"id" db:"id"`
	StatementID     string           `json:"statement_id" db:"statement_id"`
	Seed            int64            `json:"seed" db:"seed"`
	SamplePercent   int              `json:"sample_percent" db:"sample_percent"`
	Population      int              `json:"population" db:"population"`
	SampleLineIDs   []int64          `json:"sample_line_ids" db:"-"`
	SampledAmount   trcledger.Amount `json:"sampled_amount" db:"sampled_amount"`
	SampledRejected trcledger.Amount `json:"sampled_rejected" db:"sampled_rejected"`
	Rate            string           `json:"rate" db:"rate"`
	Lines           int              `json:"lines" db:"lines"`
	Claimed         trcledger.Amount `json:"claimed" db:"claimed"`
	Approved        trcledger.Amount `json:"approved" db:"approved"`
	DecidedBy       string           `json:"decided_by" db:"decided_by"`
	DecidedAt       trcledger.Time   `json:"decided_at" db:"decided_at"`
}

// Sample is a statement's sample for a seed and a percent, with how far its review is and what
// extrapolating it would do now. Rate, RejectedAmount and RestApproved are null until every
// sampled line is decided by hand.
type Sample struct {
	StatementID    string            `json:"statement_id"`
	Seed           int64             `json:"seed"`
	Percent        int               `json:"percent"`
	Population     int               `json:"population"` // live unflagged lines
	Size           int               `json:"size"`
	LineIDs        []int64           `json:"line_ids"` // in the order of the draw
	Decided        int               `json:"decided"`  // sampled lines decided by hand
	SampledAmount  trcledger.Amount  `json:"sampled_amount"`
	RejectedAmount *trcledger.Amount `json:"rejected_amount"`
	Rate           *string           `json:"rate"`
	Rest           int               `json:"rest"` // lines extrapolating would decide
	RestClaimed    trcledger.Amount  `json:"rest_claimed"`
	RestApproved   *trcledger.Amount `json:"rest_approved"`
	CanExtrapolate bool              `json:"can_extrapolate"`
	Lines          []StatementLine   `json:"lines"` // the sampled lines, ordered by id
}

// sampleLine is a live unflagged line as sampling sees it.
type sampleLine struct {
	ID              int64            `db:"id"`
	Amount          decimal.Decimal  `db:"amount"`
	Decision        *string          `db:"decision"`
	ApprovedAmount  *decimal.Decimal `db:"approved_amount"`
	ExtrapolationID *int64           `db:"extrapolation_id"`
	DecidedAt       *time.Time       `db:"decided_at"`
}

// byHand reports whether the line's current decision was taken by a reviewer, not extrapolated.
func (l sampleLine) byHand() bool { return l.Decision != nil && l.ExtrapolationID == nil }

// SampleKey is the sort key of a line in the draw for seed: the hex SHA-256 of "<seed>:<line id>".
func SampleKey(seed, lineID int64) string {
	sum := sha256.Sum256([]byte(strconv.FormatInt(seed, 10) + ":" + strconv.FormatInt(lineID, 10)))
	return hex.EncodeToString(sum[:])
}

// SampleSize is how many of n lines a sample of percent takes: ⌈n × percent / 100⌉.
func SampleSize(n, percent int) int { return (n*percent + 99) / 100 }

// drawSample orders the population by SampleKey and takes the first SampleSize lines.
func drawSample(pop []sampleLine, seed int64, percent int) []sampleLine {
	keyed := make([]struct {
		key string
		l   sampleLine
	}, len(pop))
	for i, l := range pop {
		keyed[i].key, keyed[i].l = SampleKey(seed, l.ID), l
	}
	slices.SortFunc(keyed, func(a, b struct {
		key string
		l   sampleLine
	}) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	out := make([]sampleLine, SampleSize(len(pop), percent))
	for i := range out {
		out[i] = keyed[i].l
	}
	return out
}

// checkSample validates a sample's percent and seed, naming the fields with prefix.
func checkSample(f *trcledger.Fields, prefix, percentField string, percent *int, seed *int64) {
	if percent == nil {
		f.Add(prefix+percentField, "is required")
	} else if *percent < 1 || *percent > 100 {
		f.Add(prefix+percentField, "must be a whole number from 1 to %d", 100)
	}
	if seed == nil {
		f.Add(prefix+"seed", "is required")
	} else if *seed < 1 || *seed > MaxSampleSeed {
		f.Add(prefix+"seed", "must be a whole number from 1 to %d", MaxSampleSeed)
	}
}

// samplePlan is a drawn sample and what extrapolating it would do.
type samplePlan struct {
	pop, sample, rest []sampleLine
	undecided         []int64 // sampled lines not decided by hand
	sampled, rejected decimal.Decimal
	rate              decimal.Decimal
	approved          []decimal.Decimal // per rest line, when the sample is decided
	restClaimed       decimal.Decimal
	restApproved      decimal.Decimal
}

func (p *samplePlan) decided() bool { return len(p.sample) > 0 && len(p.undecided) == 0 }

// planSample draws the sample of statement id (its live unflagged lines) on q and, when every
// sampled line is decided by hand, computes the rate and the rest's approved amounts.
func planSample(ctx context.Context, q sqlx.QueryerContext, id string, seed int64, percent int) (*samplePlan, error) {
	p := &samplePlan{}
	err := sqlx.SelectContext(ctx, q, &p.pop, `SELECT id, amount, decision, approved_amount, extrapolation_id, decided_at FROM statement_lines
		WHERE statement_id = $1 AND live AND cardinality(flags) = 0 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("find unflagged lines: %w", err)
	}
	p.sample = drawSample(p.pop, seed, percent)
	in := make(map[int64]bool, len(p.sample))
	for _, l := range p.sample {
		in[l.ID] = true
		p.sampled = p.sampled.Add(l.Amount)
		if !l.byHand() {
			p.undecided = append(p.undecided, l.ID)
			continue
		}
		// An adjusted line counts what it took off; a rejected one its whole amount.
		p.rejected = p.rejected.Add(l.Amount.Sub(*l.ApprovedAmount))
	}
	for _, l := range p.pop {
		if !in[l.ID] && !l.byHand() {
			p.rest = append(p.rest, l)
			p.restClaimed = p.restClaimed.Add(l.Amount)
		}
	}
	if !p.decided() {
		return p, nil
	}
	p.rate = contracts.ExtrapolationRate(p.rejected, p.sampled)
	p.approved = make([]decimal.Decimal, len(p.rest))
	for i, l := range p.rest {
		p.approved[i] = contracts.Extrapolate(l.Amount, p.rate)
		p.restApproved = p.restApproved.Add(p.approved[i])
	}
	return p, nil
}

func rateText(r decimal.Decimal) string { return r.StringFixed(6) }

// FindSample draws the sample of percent (1 to 100) of the statement's live unflagged lines for
// seed (1 to MaxSampleSeed): the same lines for the same seed, percent and statement, whenever it
// is drawn. It answers the sampled lines (as FindStatementByID shows them), how many are
// decided by hand and, once all are, the rate and what extrapolating would approve. Anyone who
// may read the statement may draw its sample; the draw is audited (action sample). It returns
// EINVALID (percent, seed) and ENOTFOUND.
func (s *Service) FindSample(ctx context.Context, id string, percent *int, seed *int64) (*Sample, error) {
	var f trcledger.Fields
	checkSample(&f, "", "percent", percent, seed)
	if err := f.Err(); err != nil {
		return nil, err
	}
	st, err := findStatement(ctx, s.db, id, false)
	if err != nil {
		return nil, access.RecordDenied(ctx, s.db, err)
	}
	p, err := planSample(ctx, s.db, st.ID, *seed, *percent)
	if err != nil {
		return nil, err
	}
	out := &Sample{StatementID: st.ID, Seed: *seed, Percent: *percent, Population: len(p.pop), Size: len(p.sample),
		LineIDs: make([]int64, len(p.sample)), Decided: len(p.sample) - len(p.undecided), SampledAmount: trcledger.NewAmount(p.sampled),
		Rest: len(p.rest), RestClaimed: trcledger.NewAmount(p.restClaimed), Lines: []StatementLine{}}
	in := map[int64]bool{}
	for i, l := range p.sample {
		out.LineIDs[i] = l.ID
		in[l.ID] = true
	}
	if p.decided() {
		rej, appr, rate := trcledger.NewAmount(p.rejected), trcledger.NewAmount(p.restApproved), rateText(p.rate)
		out.RejectedAmount, out.RestApproved, out.Rate = &rej, &appr, &rate
		out.CanExtrapolate = Allowed(st.Status, ActionDecide)
	}
	if len(p.sample) > 0 {
		if err := loadStatementLines(ctx, s.db, st); err != nil {
			return nil, err
		}
		for _, l := range st.Lines {
			if in[l.ID] {
				out.Lines = append(out.Lines, l)
			}
		}
	}
	// drawn_at is on the service's clock, the one decisions are stamped with (decided_at).
	err = access.Record(ctx, s.db, "sample", "statement", st.ID, map[string]any{"seed": *seed, "percent": *percent, "size": len(p.sample),
		"drawn_at": s.now().UTC().Format(time.RFC3339Nano)})
	return out, err
}

// FindExtrapolations lists the extrapolations of a statement, oldest first, to anyone who may
// read it. It returns ENOTFOUND.
func (s *Service) FindExtrapolations(ctx context.Context, id string) ([]Extrapolation, error) {
	st, err := findStatement(ctx, s.db, id, false)
	if err != nil {
		return nil, access.RecordDenied(ctx, s.db, err)
	}
	return findExtrapolations(ctx, s.db, st.ID, 0)
}

// findExtrapolations reads the extrapolations of statement id (only the one with id only, if
// not 0).
func findExtrapolations(ctx context.Context, q sqlx.QueryerContext, id string, only int64) ([]Extrapolation, error) {
	var rows []struct {
		Extrapolation
		Sample pq.Int64Array `db:"sample_line_ids"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT id, statement_id, seed, sample_percent, population, sample_line_ids, sampled_amount,
		sampled_rejected, rate, lines, claimed, approved, decided_by, decided_at
		FROM statement_extrapolations WHERE statement_id = $1 AND ($2 = 0 OR id = $2) ORDER BY id`, id, only)
	if err != nil {
		return nil, fmt.Errorf("find extrapolations: %w", err)
	}
	out := make([]Extrapolation, len(rows))
	for i, r := range rows {
		out[i] = r.Extrapolation
		out[i].SampleLineIDs = []int64(r.Sample)
		if r, err := decimal.NewFromString(out[i].Rate); err == nil {
			out[i].Rate = rateText(r)
		}
	}
	return out, nil
}

// extrapolate applies the reviewed sample of b to the rest of the statement's unflagged lines,
// in the statement's transaction (its row locked): each line neither sampled nor decided by hand
// is approved at amount × (1 − rate), rounded half up to the cent (adjust with reason other and
// a note, or approve where nothing is taken off), and names the extrapolation recorded. It
// returns how many lines it decided and the extrapolation, or ESTATE sample_empty (no unflagged
// line) or sample_undecided (naming the sampled lines not decided by hand).
func (s *Service) extrapolate(ctx context.Context, tx *sqlx.Tx, st *Statement, b BulkDecision) (int, *Extrapolation, error) {
	p, err := planSample(ctx, tx, st.ID, *b.Seed, *b.SamplePercent)
	if err != nil {
		return 0, nil, err
	}
	if len(p.sample) == 0 {
		return 0, nil, trcledger.Errorf(trcledger.ESTATE, "the statement has no unflagged lines to sample").WithReason("sample_empty")
	}
	if len(p.undecided) > 0 {
		e := trcledger.Errorf(trcledger.ESTATE, "%d of the %d sampled lines are not decided yet; decide them first", len(p.undecided), len(p.sample)).
			WithReason("sample_undecided").With("undecided", len(p.undecided))
		slices.Sort(p.undecided)
		for i, id := range p.undecided {
			if i == trcledger.MaxFieldErrors {
				e.Total = len(p.undecided)
				break
			}
			e.Fields = append(e.Fields, trcledger.FieldError{Field: fmt.Sprintf("lines[id=%d].decision", id), Message: fmt.Sprintf("sampled line %d is not decided yet", id)})
		}
		return 0, nil, e
	}
	if err := sampleDecidedAfterDraw(ctx, tx, st.ID, *b.Seed, *b.SamplePercent, p.sample); err != nil {
		return 0, nil, err
	}
	who := access.PrincipalFrom(ctx)
	now := s.now().UTC()
	sampleIDs := make([]int64, len(p.sample))
	for i, l := range p.sample {
		sampleIDs[i] = l.ID
	}
	var xid int64
	err = tx.GetContext(ctx, &xid, `INSERT INTO statement_extrapolations (statement_id, seed, sample_percent, population, sample_line_ids,
			sampled_amount, sampled_rejected, rate, lines, claimed, approved, decided_by, decided_role, decided_at, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
		st.ID, *b.Seed, *b.SamplePercent, len(p.pop), pq.Array(sampleIDs), p.sampled, p.rejected, p.rate, len(p.rest),
		p.restClaimed, p.restApproved, who.Name+" ("+who.TokenID+")", who.Role, now, access.RequestID(ctx))
	if err != nil {
		return 0, nil, pg.Translate(err)
	}
	if k := len(p.rest); k > 0 {
		note := fmt.Sprintf("extrapolated: sample of %d%% (seed %d), rate %s", *b.SamplePercent, *b.Seed, rateText(p.rate))
		other := "other"
		ids, decisions, approved, reasons, notes := make([]int64, k), make([]string, k), make([]string, k), make([]*string, k), make([]*string, k)
		for i, l := range p.rest {
			ids[i], approved[i], notes[i] = l.ID, p.approved[i].StringFixed(2), &note
			if p.approved[i].Equal(l.Amount) {
				decisions[i] = "approve"
			} else {
				decisions[i], reasons[i] = "adjust", &other
			}
		}
		if err := s.recordDecisions(ctx, tx, st.ID, ids, decisions, approved, reasons, notes); err != nil {
			return 0, nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE statement_lines SET extrapolation_id = $2 WHERE statement_id = $1 AND id = ANY($3)`,
			st.ID, xid, pq.Array(ids)); err != nil {
			return 0, nil, pg.Translate(err)
		}
	}
	x, err := findExtrapolations(ctx, tx, st.ID, xid)
	if err != nil {
		return 0, nil, err
	}
	err = access.Record(ctx, tx, "extrapolate", "statement", st.ID, map[string]any{"extrapolation_id": xid, "seed": *b.Seed,
		"sample_percent": *b.SamplePercent, "rate": rateText(p.rate), "lines": len(p.rest)})
	return len(p.rest), &x[0], err
}

// Percent is the line's extrapolation rate in percent (0.123457 is 12.3457), for display.
func (x LineExtrapolation) Percent() decimal.Decimal {
	r, _ := decimal.NewFromString(x.Rate)
	return r.Shift(2)
}

// sampleDecidedAfterDraw refuses (ESTATE sample_predecided) a sample some of whose lines were
// decided before the sample of this seed and percent was first drawn (FindSample records every
// draw in the audit log), or a sample never drawn (sample_not_drawn). The draw is public — anyone
// can compute which lines a seed picks — so without this a reviewer could reject a few costly
// lines first, then look for a seed whose sample holds them, and extrapolate a rate the rest of
// the statement never earned.
func sampleDecidedAfterDraw(ctx context.Context, tx *sqlx.Tx, statementID string, seed int64, percent int, sample []sampleLine) error {
	var drawn *time.Time
	err := tx.GetContext(ctx, &drawn, `SELECT min((detail->>'drawn_at')::timestamptz) FROM audit_log
		WHERE action = 'sample' AND object_type = 'statement' AND object_id = $1
		  AND detail->>'seed' = $2 AND detail->>'percent' = $3`, statementID, strconv.FormatInt(seed, 10), strconv.Itoa(percent))
	if err != nil {
		return fmt.Errorf("find the sample's draw: %w", err)
	}
	if drawn == nil {
		return trcledger.Errorf(trcledger.ESTATE, "this sample (seed %d, %d%%) was never drawn; draw it, decide its lines, then apply its rate", seed, percent).WithReason("sample_not_drawn")
	}
	var early []int64
	for _, l := range sample {
		if l.DecidedAt != nil && l.DecidedAt.Before(*drawn) {
			early = append(early, l.ID)
		}
	}
	if len(early) > 0 {
		return trcledger.Errorf(trcledger.ESTATE, "%d sampled lines were decided before the sample was drawn (line %d first); only decisions taken after the draw count, so decide them again", len(early), early[0]).
			WithReason("sample_predecided").With("lines", early)
	}
	return nil
}
