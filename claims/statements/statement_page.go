package statements

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
)

// MaxStatementLinesPage is the most lines FindStatementPage returns at once, and its default.
const MaxStatementLinesPage = 1000

// LinesPage asks for a page of a statement's lines: at most Limit (1..MaxStatementLinesPage,
// 0 meaning the most) after Cursor, a LinesNextCursor given out before ("" for the first page).
type LinesPage struct {
	Limit  int
	Cursor string
	Filter LineFilter
}

// LineFilter narrows the lines of a page; empty fields match every line. Flag is one of
// LineFlags, or FlagNone (lines without a flag) or FlagAny (lines with one); Decision is one of
// Decisions or DecisionNone (undecided lines); MinAmount and MaxAmount bound the line's
// claimed amount (the payer's share), both inclusive.
type LineFilter struct {
	Flag, ServiceCode, SiteCode, Decision string
	MinAmount, MaxAmount                  *decimal.Decimal
}

// Values of LineFilter beyond the vocabularies.
const (
	FlagNone     = "none"
	FlagAny      = "any"
	DecisionNone = "none"
)

// check adds the filter's bad fields to f.
func (lf LineFilter) check(f *trcledger.Fields) {
	if lf.Flag != "" && lf.Flag != FlagNone && lf.Flag != FlagAny && !slices.Contains(LineFlags, lf.Flag) {
		f.Add("flag", "must be one of %s", strings.Join(append([]string{FlagNone, FlagAny}, LineFlags...), ", "))
	}
	if lf.Decision != "" && lf.Decision != DecisionNone && !slices.Contains(Decisions, lf.Decision) {
		f.Add("decision", "must be one of %s", strings.Join(append([]string{DecisionNone}, Decisions...), ", "))
	}
	if lf.MinAmount != nil && lf.MaxAmount != nil && lf.MinAmount.GreaterThan(*lf.MaxAmount) {
		f.Add("max_amount", "must not be below min_amount")
	}
}

// linePage is a page of lines as loadStatementLines reads it: the Limit lines with ids above
// After that pass Filter, and More set when such lines follow them.
type linePage struct {
	After  int64
	Limit  int
	More   bool
	Filter LineFilter
}

// FindStatementPage returns the statement as FindStatementByID does, with one page of its
// lines in line order and LinesNextCursor set when more follow. It returns ENOTFOUND as
// FindStatementByID does and EINVALID (field lines_cursor or lines_limit) for a cursor it did
// not give out or a limit out of range. The read is audited.
func (s *Service) FindStatementPage(ctx context.Context, id string, p LinesPage) (*Statement, error) {
	var f trcledger.Fields
	page := &linePage{Limit: p.Limit}
	if p.Limit == 0 {
		page.Limit = MaxStatementLinesPage
	} else if p.Limit < 1 || p.Limit > MaxStatementLinesPage {
		f.Add("lines_limit", "must be a whole number from 1 to %d", MaxStatementLinesPage)
	}
	p.Filter.check(&f)
	page.Filter = p.Filter
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		n, perr := strconv.ParseInt(string(b), 10, 64)
		if err != nil || perr != nil || n < 0 {
			f.Add("lines_cursor", "is not a cursor this service gave out")
		}
		page.After = n
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	st, err := findStatement(ctx, s.db, id, false)
	if err != nil {
		return nil, err
	}
	if err := loadStatementLines(ctx, s.db, st, page); err != nil {
		return nil, err
	}
	if page.More {
		next := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(st.Lines[len(st.Lines)-1].ID, 10)))
		st.LinesNextCursor = &next
	}
	st.Payments = []Payment{}
	if err := s.db.SelectContext(ctx, &st.Payments, `SELECT id, amount, paid_on, reference, ledger_transaction_id, created_at
		FROM payments WHERE statement_id = $1 ORDER BY created_at, id`, id); err != nil {
		return nil, fmt.Errorf("load payments: %w", err)
	}
	if err := access.Record(ctx, s.db, "read", "statement", id, map[string]any{"lines": len(st.Lines)}); err != nil {
		return nil, err
	}
	return st, nil
}
