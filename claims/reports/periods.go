package reports

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// Closed months (issue 13 item 6, docs/corrections.md). Closing a month recomputes its kept
// report rows in the same transaction; from then on the refresher leaves them, and the
// transition report reads them even when a late correction has recorded a change in the month.
// Reopening marks the month to be recomputed whole.

// Period is a month's state: open, or closed (by whom and when), with its last reason to reopen.
type Period struct {
	Period    string         `json:"period" db:"period"`
	Status    string         `json:"status" db:"status"`
	ChangedBy string         `json:"changed_by" db:"changed_by"`
	ChangedAt trcledger.Time `json:"changed_at" db:"changed_at"`
	Reason    *string        `json:"reason" db:"reason"`
	Events    []PeriodEvent  `json:"events" db:"-"`
}

// PeriodEvent is one close or reopen of a month.
type PeriodEvent struct {
	Action string         `json:"action" db:"action"`
	Actor  string         `json:"actor" db:"actor"`
	Role   string         `json:"role" db:"role"`
	At     trcledger.Time `json:"at" db:"at"`
	Reason *string        `json:"reason" db:"reason"`
}

// ListPeriods returns every month that was ever closed, newest first, with its history. A month
// not listed is open.
func (s *Service) ListPeriods(ctx context.Context) ([]Period, error) {
	out := []Period{}
	if err := s.db.SelectContext(ctx, &out, `SELECT period, status, changed_by, changed_at, reason FROM periods ORDER BY period DESC`); err != nil {
		return nil, fmt.Errorf("list periods: %w", err)
	}
	var events []struct {
		Period string `db:"period"`
		PeriodEvent
	}
	if err := s.db.SelectContext(ctx, &events, `SELECT period, action, actor, role, at, reason FROM period_events ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list period events: %w", err)
	}
	byPeriod := map[string]*Period{}
	for i := range out {
		out[i].Events = []PeriodEvent{}
		byPeriod[out[i].Period] = &out[i]
	}
	for _, e := range events {
		if p := byPeriod[e.Period]; p != nil {
			p.Events = append(p.Events, e.PeriodEvent)
		}
	}
	return out, nil
}

// ClosePeriod closes a month (finance): nothing dated in it is posted, voided or repriced
// afterwards, and its transition report rows are recomputed now and kept as they are. It
// returns EINVALID for a malformed month or one that has not begun, and ESTATE invalid_state
// when it is closed already.
func (s *Service) ClosePeriod(ctx context.Context, period string) (*Period, error) {
	start, end, err := claims.PeriodBounds(period)
	if err != nil {
		return nil, err
	}
	if start.Time().After(time.Now()) {
		return nil, (&trcledger.Fields{}).AddErr("period", "%s has not begun; only a month that has begun can be closed", period)
	}
	var out *Period
	err = pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := claims.LockPeriod(ctx, tx, period); err != nil {
			return err
		}
		status, err := periodStatus(ctx, tx, period)
		if err != nil {
			return err
		}
		if status == claims.PeriodClosed {
			return trcledger.Errorf(trcledger.ESTATE, "%s is closed already", period).WithReason("invalid_state")
		}
		if out, err = setPeriod(ctx, tx, period, claims.PeriodClosed, nil); err != nil {
			return err
		}
		// The kept rows become the month's report: bring them up to date first, waiting for a
		// refresher that holds the month.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('report_months'), hashtext($1))`, period); err != nil {
			return fmt.Errorf("lock report month: %w", err)
		}
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		if err := recomputeMonth(ctx, tx, period, start, end); err != nil {
			return err
		}
		return access.Record(ctx, tx, "close", "period", period, nil)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReopenPeriod reopens a closed month (finance) for the reason given; its report rows are
// recomputed by the refresher, taking in the late corrections recorded while it was closed.
// It returns EINVALID for a malformed month or a missing reason, and ESTATE invalid_state when
// the month is not closed.
func (s *Service) ReopenPeriod(ctx context.Context, period, reason string) (*Period, error) {
	reason = strings.TrimSpace(reason)
	var f trcledger.Fields
	if _, _, err := claims.PeriodBounds(period); err != nil {
		f.Add("period", "must be a month written YYYY-MM")
	}
	if reason == "" {
		f.Add("reason", "is required")
	} else if len(reason) > 500 {
		f.Add("reason", "must be at most 500 characters")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out *Period
	err := pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := claims.LockPeriod(ctx, tx, period); err != nil {
			return err
		}
		status, err := periodStatus(ctx, tx, period)
		if err != nil {
			return err
		}
		if status != claims.PeriodClosed {
			return trcledger.Errorf(trcledger.ESTATE, "%s is not closed", period).WithReason("invalid_state")
		}
		if out, err = setPeriod(ctx, tx, period, claims.PeriodOpen, &reason); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_dirty (period) VALUES ($1)`, period); err != nil {
			return fmt.Errorf("mark report month %s: %w", period, err)
		}
		return access.Record(ctx, tx, "reopen", "period", period, map[string]any{"reason": reason})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func periodStatus(ctx context.Context, tx *sqlx.Tx, period string) (string, error) {
	var status []string
	if err := tx.SelectContext(ctx, &status, `SELECT status FROM periods WHERE period = $1`, period); err != nil {
		return "", fmt.Errorf("read period: %w", err)
	}
	if len(status) == 0 {
		return claims.PeriodOpen, nil
	}
	return status[0], nil
}

// setPeriod records the month's new state and the event.
func setPeriod(ctx context.Context, tx *sqlx.Tx, period, status string, reason *string) (*Period, error) {
	p := access.PrincipalFrom(ctx)
	action := "close"
	if status == claims.PeriodOpen {
		action = "reopen"
	}
	var out Period
	if err := tx.GetContext(ctx, &out, `INSERT INTO periods (period, status, changed_by, changed_at, reason) VALUES ($1, $2, $3, now(), $4)
		ON CONFLICT (period) DO UPDATE SET status = excluded.status, changed_by = excluded.changed_by, changed_at = excluded.changed_at, reason = excluded.reason
		RETURNING period, status, changed_by, changed_at, reason`, period, status, actorName(p), reason); err != nil {
		return nil, pg.Translate(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO period_events (period, action, actor, role, at, reason) VALUES ($1, $2, $3, $4, now(), $5)`,
		period, action, actorName(p), p.Role, reason); err != nil {
		return nil, pg.Translate(err)
	}
	out.Events = []PeriodEvent{}
	return &out, nil
}

// actorName is who a period names as having closed or reopened it: the token's (or user's)
// name, else its id.
func actorName(p access.Principal) string {
	if p.Name != "" {
		return p.Name
	}
	return p.TokenID
}
