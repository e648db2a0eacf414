package statements

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
)

// What a bulk decision may do, declared once for the API's validator and OpenAPI enums:
// approve every undecided line without a flag, or extrapolate a reviewed sample's rate to them
// (statement_sample.go).
var (
	// BulkDecisions are the decisions a bulk request may take on many lines at once.
	BulkDecisions = []string{"approve", Extrapolate}
	// BulkSelections name which lines a bulk decision applies to: unflagged, every undecided
	// line of the statement whose flags are empty.
	BulkSelections = []string{"unflagged"}
)

// BulkDecision is one verdict on every undecided line that Where selects; extrapolate names
// its sample by SamplePercent and Seed (Where is then unflagged or empty).
type BulkDecision struct {
	Decision      string
	Where         string
	SamplePercent *int
	Seed          *int64
}

// Decided is the answer to decisions: the statement as it then is, and how many lines the
// request decided (and, for extrapolate, the extrapolation recorded).
type Decided struct {
	Statement
	Decided       int            `json:"decided"`
	Extrapolation *Extrapolation `json:"extrapolation,omitempty"`
}

// DecideBulk approves every undecided line of the statement that has no flag (or, with
// extrapolate, applies the reviewed sample's rate to them: see extrapolate), in one
// transaction, recorded exactly as the same approvals sent one by one through Decide are (the
// line's verdict and who decided it, a row of statement_decisions per line, the audit entry,
// the statement under review). With no such line it changes nothing and answers Decided 0. It
// returns EINVALID (bulk.decision, bulk.where) for anything but approve on unflagged lines,
// ENOTFOUND, EFORBIDDEN for anyone but the payer's reviewers, and ESTATE invalid_state (and for
// extrapolate EINVALID bulk.sample_percent, bulk.seed and ESTATE sample_empty, sample_undecided).
func (s *Service) DecideBulk(ctx context.Context, id string, b BulkDecision) (*Decided, error) {
	st, _, n, x, err := s.decideBulk(ctx, id, b, claims.Idempotency{})
	if err != nil {
		return nil, err
	}
	return &Decided{Statement: *st, Decided: n, Extrapolation: x}, nil
}

// DecideBulkKeyed decides as DecideBulk does, under the client's optional Idempotency-Key (see
// SubmitStatementKeyed): a replay decides nothing again and answers the first answer. It returns
// DecideBulk's errors and ECONFLICT idempotency_key_reused, idempotency_key_in_progress or
// idempotency_key_expired.
func (s *Service) DecideBulkKeyed(ctx context.Context, id string, b BulkDecision, idem claims.Idempotency) (*claims.PostResult, error) {
	st, res, n, x, err := s.decideBulk(ctx, id, b, idem)
	if err != nil {
		return nil, err
	}
	if res != nil {
		return res, nil
	}
	return claims.Answered(nil, &Decided{Statement: *st, Decided: n, Extrapolation: x})
}

func (s *Service) decideBulk(ctx context.Context, id string, b BulkDecision, idem claims.Idempotency) (*Statement, *claims.PostResult, int, *Extrapolation, error) {
	var f trcledger.Fields
	if !slices.Contains(BulkDecisions, b.Decision) {
		f.Add("bulk.decision", "must be one of %s", strings.Join(BulkDecisions, ", "))
	}
	if !slices.Contains(BulkSelections, b.Where) && (b.Decision != Extrapolate || b.Where != "") {
		f.Add("bulk.where", "must be one of %s", strings.Join(BulkSelections, ", "))
	}
	if b.Decision == Extrapolate {
		checkSample(&f, "bulk.", "sample_percent", b.SamplePercent, b.Seed)
	} else {
		if b.SamplePercent != nil {
			f.Add("bulk.sample_percent", "only with the decision %s", Extrapolate)
		}
		if b.Seed != nil {
			f.Add("bulk.seed", "only with the decision %s", Extrapolate)
		}
	}
	if err := f.Err(); err != nil {
		return nil, nil, 0, nil, err
	}
	n := 0
	var x *Extrapolation
	answer := func(st *Statement) any { return &Decided{Statement: *st, Decided: n, Extrapolation: x} }
	st, res, err := s.transitionAnswer(ctx, id, ActionDecide, mayReview, func(tx *sqlx.Tx, st *Statement) error {
		n, x = 0, nil
		if b.Decision == Extrapolate {
			var err error
			n, x, err = s.extrapolate(ctx, tx, st, b)
			return err
		}
		var lines []struct {
			ID     int64           `db:"id"`
			Amount decimal.Decimal `db:"amount"`
		}
		// The statement's row is locked (transition): no decision on it can come in between.
		if err := tx.SelectContext(ctx, &lines, `SELECT id, amount FROM statement_lines
			WHERE statement_id = $1 AND live AND decision IS NULL AND cardinality(flags) = 0 ORDER BY id`, st.ID); err != nil {
			return fmt.Errorf("find unflagged lines: %w", err)
		}
		if len(lines) == 0 {
			return nil
		}
		k := len(lines)
		ids, decisions, approved := make([]int64, k), make([]string, k), make([]string, k)
		for i, l := range lines {
			ids[i], decisions[i], approved[i] = l.ID, b.Decision, l.Amount.StringFixed(2)
		}
		n = k
		return s.recordDecisions(ctx, tx, st.ID, ids, decisions, approved, make([]*string, k), make([]*string, k))
	}, idem, answer)
	return st, res, n, x, err
}
