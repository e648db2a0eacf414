package statements

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
)

// MaxQueuePage is the most statements FindStatementQueue returns at once; DefaultQueuePage is
// how many it returns when asked for none in particular.
const (
	MaxQueuePage     = 100
	DefaultQueuePage = 25
)

// QueueFilter asks for a page of the statements the caller may see: those in one of Statuses
// (every state when empty), of Period and ProviderCode when set, at most Limit of them (0:
// DefaultQueuePage) after Cursor, a next cursor given out before ("" for the first page).
type QueueFilter struct {
	Statuses     []string
	Period       string
	ProviderCode string
	Limit        int
	Cursor       string
}

// FindStatementQueue lists statements a page at a time, without their lines, newest period
// first and then by number, with decided_count and line_count: a reviewer's work queue (a
// reviewer sees only their own payer's statements, a clinic its own provider's). It returns
// the page and the cursor of the next one ("" on the last), EINVALID (statuses, limit, cursor)
// for a state outside StatementStatuses, a limit out of range or a cursor it did not give out,
// and otherwise only database failures.
func (s *Service) FindStatementQueue(ctx context.Context, q QueueFilter) ([]*Statement, string, error) {
	var f trcledger.Fields
	for _, st := range q.Statuses {
		if !slices.Contains(StatementStatuses, st) {
			f.Add("status", "must be one of %s", strings.Join(StatementStatuses, ", "))
			break
		}
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultQueuePage
	} else if limit < 1 || limit > MaxQueuePage {
		f.Add("limit", "must be a whole number from 1 to %d", MaxQueuePage)
	}
	var afterPeriod, afterNumber string
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		p, n, ok := strings.Cut(string(b), "\x00")
		if err != nil || !ok || len(p) != 7 || n == "" {
			f.Add("cursor", "is not a cursor this service gave out")
		}
		afterPeriod, afterNumber = p, n
	}
	if err := f.Err(); err != nil {
		return nil, "", err
	}
	provider, payer, ok := access.ScopeOf(access.PrincipalFrom(ctx)).Narrow(q.ProviderCode, "")
	if !ok {
		return []*Statement{}, "", nil
	}
	out := []*Statement{}
	err := s.db.SelectContext(ctx, &out, `SELECT `+statementColumns+` FROM statements s
		WHERE ($1 = '' OR s.provider_code = $1) AND ($2 = '' OR s.payer_code = $2) AND ($3 = '' OR s.period = $3)
		  AND (cardinality($4::text[]) = 0 OR s.status = ANY ($4::text[]))
		  AND ($5 = '' OR s.period < $5 OR (s.period = $5 AND s.number > $6))
		ORDER BY s.period DESC, s.number LIMIT $7`,
		provider, payer, q.Period, pq.Array(q.Statuses), afterPeriod, afterNumber, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list statement queue: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(last.Period + "\x00" + last.Number))
	}
	for _, st := range out {
		st.finish()
	}
	return out, next, nil
}
