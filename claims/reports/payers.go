package reports

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/pg"
)

// How each fund keeps up (issue 15 item 4, docs/bulletins-and-payer-report.md).

// PayerFilter selects the statements of the payer report: those of the months From to To
// (YYYY-MM, both included). AsOf is the day outstanding amounts are aged to (today in
// Sarajevo when nil).
type PayerFilter struct {
	From, To string
	AsOf     *trcledger.Date
}

// Turnaround is how many statements took how many days (calendar days in Sarajevo) for one
// step: Count statements; MedianDays and P90Days by the nearest rank (the ⌈p/100 × n⌉-th
// smallest), null when Count is 0.
type Turnaround struct {
	Count      int  `json:"count"`
	MedianDays *int `json:"median_days"`
	P90Days    *int `json:"p90_days"`
}

// RejectionReason is what the completed reviews took off for one reason code: the lines
// rejected or adjusted down, the amount taken off (claimed minus approved), and Rate, that
// amount over everything the reviewed statements claimed, in percent with 2 decimals.
type RejectionReason struct {
	ReasonCode string           `json:"reason_code"`
	Lines      int              `json:"lines"`
	Amount     trcledger.Amount `json:"amount"`
	Rate       string           `json:"rate"`
}

// BudgetUse is one period of one of the payer's budget ceilings (cap_periods) that begins in
// the report's months: the ceiling, what the payer's shares used of it, what is left, what was
// routed to the overflow payer or lies beyond the ceiling (warn), and UsePercent, used over the
// ceiling in percent with 2 decimals.
type BudgetUse struct {
	ContractCode string           `json:"contract_code" db:"contract_code"`
	CapPeriod    string           `json:"cap_period" db:"cap_period"`
	Mode         string           `json:"mode" db:"mode"`
	PeriodStart  trcledger.Date   `json:"period_start" db:"period_start"`
	Amount       trcledger.Amount `json:"amount" db:"amount"`
	Used         trcledger.Amount `json:"used" db:"used"`
	Left         trcledger.Amount `json:"left" db:"-"`
	Routed       trcledger.Amount `json:"routed" db:"routed"`
	Over         trcledger.Amount `json:"over" db:"over"`
	UsePercent   string           `json:"use_percent" db:"-"`
}

// Ageing is what the payer still owes on its received statements (approved, or claimed before
// the review completes, minus paid), by the days from submission to AsOf.
type Ageing struct {
	Days0To30  trcledger.Amount `json:"days_0_30"`
	Days31To60 trcledger.Amount `json:"days_31_60"`
	Days61To90 trcledger.Amount `json:"days_61_90"`
	Over90     trcledger.Amount `json:"over_90"`
	Total      trcledger.Amount `json:"total"`
}

// PayerRow is how one payer keeps up with the statements of the report's months.
//
//   - StatementsReceived: its statements of those months that were submitted (not cancelled).
//   - Review: from submission to completed review, over the received statements reviewed.
//   - Payment: from completed review to the payment that settled the statement, over those
//     paid in full with something approved.
//   - Claimed, Rejected and RejectionRate: over the reviewed statements, what they claimed and
//     what the reviews took off (rejected, and adjusted down), in percent with 2 decimals;
//     Rejections splits it by reason code.
//   - ReroutedAway: what its reviews moved to fallback payers; ReroutedIn: what the reviews of
//     other payers moved to it (by the rejecting statement's month).
//   - Budget: its ceilings' periods beginning in those months.
//   - Outstanding: what it owes on the received statements, by age.
type PayerRow struct {
	PayerCode          string            `json:"payer_code"`
	PayerName          string            `json:"payer_name"`
	PayerType          string            `json:"payer_type"`
	Currency           string            `json:"currency"`
	StatementsReceived int               `json:"statements_received"`
	Review             Turnaround        `json:"review"`
	Payment            Turnaround        `json:"payment"`
	Claimed            trcledger.Amount  `json:"claimed"`
	Rejected           trcledger.Amount  `json:"rejected"`
	RejectionRate      string            `json:"rejection_rate"`
	Rejections         []RejectionReason `json:"rejections"`
	ReroutedAway       trcledger.Amount  `json:"rerouted_away"`
	ReroutedIn         trcledger.Amount  `json:"rerouted_in"`
	Budget             []BudgetUse       `json:"budget"`
	Outstanding        Ageing            `json:"outstanding"`
}

// PayerReport is the payer report: a row per payer, by code.
type PayerReport struct {
	AsOf  trcledger.Date `json:"as_of"`
	Items []PayerRow     `json:"items"`
}

// NearestRank returns the p-th percentile (0 < p ≤ 100) of values by the nearest-rank method:
// the ⌈p/100 × n⌉-th smallest value (the median is the ⌈n/2⌉-th: of 1, 2, 3, 4 it is 2). It
// returns nil for no values. values is sorted in place.
func NearestRank(values []int, p int) *int {
	if len(values) == 0 {
		return nil
	}
	slices.Sort(values)
	rank := (p*len(values) + 99) / 100
	rank = max(1, min(rank, len(values)))
	v := values[rank-1]
	return &v
}

func turnaround(days []int) Turnaround {
	return Turnaround{Count: len(days), MedianDays: NearestRank(days, 50), P90Days: NearestRank(days, 90)}
}

// percentOf is part over whole in percent, 2 decimals half up; "0.00" when whole is 0.
func percentOf(part, whole decimal.Decimal) string {
	if whole.IsZero() {
		return "0.00"
	}
	return part.Mul(decimal.NewFromInt(100)).DivRound(whole, 2).StringFixed(2)
}

// payerStatementsQuery lists the received statements of the months $1..$2 ($3: one payer or
// ""), with their days from submission to review and from review to settlement (Sarajevo
// dates), and what is outstanding with its age at $4.
const payerStatementsQuery = `
SELECT s.payer_code,
       CASE WHEN s.reviewed_at IS NOT NULL
            THEN (s.reviewed_at AT TIME ZONE 'Europe/Sarajevo')::date - (s.submitted_at AT TIME ZONE 'Europe/Sarajevo')::date END AS review_days,
       CASE WHEN s.status = 'paid' AND s.approved > 0 AND s.reviewed_at IS NOT NULL
            THEN (SELECT max(p.paid_on) FROM payments p WHERE p.statement_id = s.id) - (s.reviewed_at AT TIME ZONE 'Europe/Sarajevo')::date END AS payment_days,
       CASE WHEN s.reviewed_at IS NOT NULL THEN s.claimed ELSE 0 END AS reviewed_claimed,
       coalesce(s.approved, s.claimed) - s.paid AS outstanding,
       $4::date - (s.submitted_at AT TIME ZONE 'Europe/Sarajevo')::date AS age
FROM statements s
WHERE s.status <> 'cancelled' AND s.submitted_at IS NOT NULL AND s.period >= $1 AND s.period <= $2 AND ($3 = '' OR s.payer_code = $3)`

// payerRejectionsQuery sums, per payer and reason, what the reviews of the reviewed statements
// of the months took off their lines (as decided at review; appeals are not counted here).
const payerRejectionsQuery = `
SELECT s.payer_code, l.reason_code, count(*) AS lines, sum(l.amount - l.approved_amount) AS amount
FROM statements s JOIN statement_lines l ON l.statement_id = s.id AND l.live
WHERE s.status <> 'cancelled' AND s.reviewed_at IS NOT NULL AND s.period >= $1 AND s.period <= $2 AND ($3 = '' OR s.payer_code = $3)
  AND l.decision IN ('reject', 'adjust') AND l.approved_amount < l.amount
GROUP BY 1, 2`

// payerReroutedQuery sums what the reviews of the months' statements re-routed, per payer it
// came from (away) and per fallback payer it went to (in).
const payerReroutedQuery = `
SELECT payer, sum(away) AS away, sum(inward) AS inward FROM (
	SELECT rs.payer_code AS payer, rs.amount AS away, 0 AS inward FROM rerouted_shares rs JOIN statements s ON s.id = rs.statement_id
	WHERE s.period >= $1 AND s.period <= $2 AND ($3 = '' OR rs.payer_code = $3)
	UNION ALL
	SELECT rs.fallback_payer_code, 0, rs.amount FROM rerouted_shares rs JOIN statements s ON s.id = rs.statement_id
	WHERE s.period >= $1 AND s.period <= $2 AND ($3 = '' OR rs.fallback_payer_code = $3)
) x GROUP BY 1`

// payerBudgetQuery lists the payer's cap periods that begin in [$1, $2).
const payerBudgetQuery = `
SELECT c.payer_code, k.code AS contract_code, c.period AS cap_period, c.mode, p.period_start, c.amount, p.used,
       coalesce((SELECT sum(u.routed) FROM cap_uses u WHERE u.cap_id = p.cap_id AND u.period_start = p.period_start AND u.released_at IS NULL), 0) AS routed,
       coalesce((SELECT sum(u.over) FROM cap_uses u WHERE u.cap_id = p.cap_id AND u.period_start = p.period_start AND u.released_at IS NULL), 0) AS over
FROM cap_periods p JOIN contract_caps c ON c.id = p.cap_id JOIN contracts k ON k.id = c.contract_id
WHERE p.period_start >= $1 AND p.period_start < $2 AND ($3 = '' OR c.payer_code = $3)
ORDER BY 1, 2, p.period_start, c.id`

// PayerReport answers, per payer, how it keeps up with the statements of the months f.From to
// f.To: statements received, the days from submission to completed review and from review to
// payment (median and 90th percentile by the nearest rank), rejections by reason, re-routed
// amounts, budget use and what it still owes by age (0–30, 31–60, 61–90, over 90 days at
// f.AsOf). Finance and admin see every payer; a reviewer only their own. It returns
// EFORBIDDEN for clinic staff and EINVALID naming every bad field (from, to).
func (s *Service) PayerReport(ctx context.Context, f PayerFilter) (*PayerReport, error) {
	payer, err := reportPayer(ctx)
	if err != nil {
		return nil, err
	}
	from, until, err := TransitionFilter{From: f.From, To: f.To}.Validate()
	if err != nil {
		return nil, err
	}
	asOf := trcledger.Today(time.Now())
	if f.AsOf != nil {
		asOf = *f.AsOf
	}
	out := &PayerReport{AsOf: asOf, Items: []PayerRow{}}
	var review, payment map[string][]int
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	err = pg.WithTxOpts(ctx, s.db, opts, func(tx *sqlx.Tx) error {
		out.Items = []PayerRow{}
		review, payment = map[string][]int{}, map[string][]int{}
		var payers []struct {
			Code string `db:"code"`
			Name string `db:"name"`
			Type string `db:"payer_type"`
		}
		if err := tx.SelectContext(ctx, &payers, `SELECT code, name, coalesce(payer_type, '') AS payer_type FROM organizations
			WHERE kind = 'payer' AND ($1 = '' OR code = $1) ORDER BY code`, payer); err != nil {
			return fmt.Errorf("payer report: payers: %w", err)
		}
		rows := map[string]*PayerRow{}
		for _, p := range payers {
			out.Items = append(out.Items, PayerRow{PayerCode: p.Code, PayerName: p.Name, PayerType: p.Type, Currency: claims.StatementCurrency,
				RejectionRate: "0.00", Rejections: []RejectionReason{}, Budget: []BudgetUse{}})
		}
		for i := range out.Items {
			rows[out.Items[i].PayerCode] = &out.Items[i]
		}
		args := []any{f.From, f.To, payer, asOf}
		var sts []struct {
			Payer       string          `db:"payer_code"`
			ReviewDays  *int            `db:"review_days"`
			PaymentDays *int            `db:"payment_days"`
			Claimed     decimal.Decimal `db:"reviewed_claimed"`
			Outstanding decimal.Decimal `db:"outstanding"`
			Age         int             `db:"age"`
		}
		if err := tx.SelectContext(ctx, &sts, payerStatementsQuery, args...); err != nil {
			return fmt.Errorf("payer report: statements: %w", err)
		}
		for _, st := range sts {
			r := rows[st.Payer]
			if r == nil {
				continue
			}
			r.StatementsReceived++
			if st.ReviewDays != nil {
				review[st.Payer] = append(review[st.Payer], *st.ReviewDays)
			}
			if st.PaymentDays != nil {
				payment[st.Payer] = append(payment[st.Payer], *st.PaymentDays)
			}
			r.Claimed.Decimal = r.Claimed.Add(st.Claimed)
			if st.Outstanding.IsPositive() && st.Age >= 0 {
				o := &r.Outstanding
				bucket := &o.Over90
				switch {
				case st.Age <= 30:
					bucket = &o.Days0To30
				case st.Age <= 60:
					bucket = &o.Days31To60
				case st.Age <= 90:
					bucket = &o.Days61To90
				}
				bucket.Decimal = bucket.Add(st.Outstanding)
				o.Total.Decimal = o.Total.Add(st.Outstanding)
			}
		}
		var rej []struct {
			Payer  string          `db:"payer_code"`
			Reason *string         `db:"reason_code"`
			Lines  int             `db:"lines"`
			Amount decimal.Decimal `db:"amount"`
		}
		if err := tx.SelectContext(ctx, &rej, payerRejectionsQuery, f.From, f.To, payer); err != nil {
			return fmt.Errorf("payer report: rejections: %w", err)
		}
		for _, x := range rej {
			if r := rows[x.Payer]; r != nil {
				reason := "other"
				if x.Reason != nil {
					reason = *x.Reason
				}
				r.Rejections = append(r.Rejections, RejectionReason{ReasonCode: reason, Lines: x.Lines, Amount: trcledger.NewAmount(x.Amount)})
				r.Rejected.Decimal = r.Rejected.Add(x.Amount)
			}
		}
		var rr []struct {
			Payer  string          `db:"payer"`
			Away   decimal.Decimal `db:"away"`
			Inward decimal.Decimal `db:"inward"`
		}
		if err := tx.SelectContext(ctx, &rr, payerReroutedQuery, f.From, f.To, payer); err != nil {
			return fmt.Errorf("payer report: re-routed: %w", err)
		}
		for _, x := range rr {
			if r := rows[x.Payer]; r != nil {
				r.ReroutedAway, r.ReroutedIn = trcledger.NewAmount(x.Away), trcledger.NewAmount(x.Inward)
			}
		}
		var caps []struct {
			Payer string `db:"payer_code"`
			BudgetUse
		}
		if err := tx.SelectContext(ctx, &caps, payerBudgetQuery, trcledger.DateOf(from), trcledger.DateOf(until), payer); err != nil {
			return fmt.Errorf("payer report: budget use: %w", err)
		}
		for _, c := range caps {
			if r := rows[c.Payer]; r != nil {
				b := c.BudgetUse
				b.Left = trcledger.NewAmount(decimal.Max(b.Amount.Sub(b.Used.Decimal), decimal.Zero))
				b.UsePercent = percentOf(b.Used.Decimal, b.Amount.Decimal)
				r.Budget = append(r.Budget, b)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range out.Items {
		r := &out.Items[i]
		r.Review, r.Payment = turnaround(review[r.PayerCode]), turnaround(payment[r.PayerCode])
		r.RejectionRate = percentOf(r.Rejected.Decimal, r.Claimed.Decimal)
		slices.SortFunc(r.Rejections, func(a, b RejectionReason) int {
			return cmp.Or(b.Amount.Cmp(a.Amount.Decimal), cmp.Compare(a.ReasonCode, b.ReasonCode))
		})
		for j := range r.Rejections {
			r.Rejections[j].Rate = percentOf(r.Rejections[j].Amount.Decimal, r.Claimed.Decimal)
		}
	}
	return out, nil
}
