package reports

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
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

// Groupings of the transition report, besides none ("").
const (
	ByCanton          = "canton"
	BySite            = "site"
	ByProvider        = "provider"
	ByServiceCategory = "service_category"
)

// MaxReportMonths is the longest range of months a transition report covers.
const MaxReportMonths = 120

// MinReportedPatients is the smallest count of distinct patients a report shows; a smaller one
// is suppressed (null, suppressed true) so that no patient can be singled out.
const MinReportedPatients = 5

// transitionGroup is how the transition report splits a month: expr is the group, over
// encounters e (and encounter_lines el when lines is set), needing joins beyond line_shares sh
// and encounters e (shareJoins, for the amounts) or encounters e alone (encounterJoins, for the
// counts). Only these fixed strings ever reach the query text.
type transitionGroup struct {
	expr, shareJoins, encounterJoins string
	lines                            bool
}

var transitionGroups = map[string]transitionGroup{
	"":         {expr: `''::text`},
	ByCanton:   {expr: `si.jurisdiction_code`, shareJoins: `JOIN sites si ON si.code = e.site_code`, encounterJoins: `JOIN sites si ON si.code = e.site_code`},
	BySite:     {expr: `e.site_code`},
	ByProvider: {expr: `e.provider_code`},
	ByServiceCategory: {expr: `svc.category`, lines: true,
		shareJoins:     `JOIN encounter_lines el ON el.encounter_id = sh.encounter_id AND el.revision = sh.revision AND el.line_no = sh.line_no JOIN services svc ON svc.code = el.service_code`,
		encounterJoins: `JOIN encounter_lines el ON el.encounter_id = e.id AND el.revision = e.revision JOIN services svc ON svc.code = el.service_code`},
}

// TransitionFilter selects the months of a transition report (From and To, YYYY-MM, both
// included) and how each month is split: By is "" (not at all), canton (the jurisdiction of the
// encounter's site), site, provider or service_category.
type TransitionFilter struct {
	From, To string
	By       string
}

// PayerTypeAmounts is a cost split by the type of payer carrying it; every type is always there.
type PayerTypeAmounts struct {
	International trcledger.Amount `json:"international"`
	Donor         trcledger.Amount `json:"donor"`
	StateFund     trcledger.Amount `json:"state_fund"`
	Government    trcledger.Amount `json:"government"`
}

// TransitionRow is one month (and group) of the transition report. Group is null when the
// report is not grouped. StateSharePercent is (state_fund + government) / total in percent
// with 2 decimals, rounded half up ("0.00" for a zero total; "33.33" is a third); StateShare is
// the same percentage under its first name, kept for the clients that read it. Encounters and
// Patients (distinct patients) are null with Suppressed true when the row's patients are
// below MinReportedPatients, or when showing them would let a hidden count be worked out from
// the others (see suppressSmallCounts). Amounts are in Currency, the currency of the
// contracts that priced the encounters (a month with encounters in two currencies has a row
// per currency).
type TransitionRow struct {
	Period      string           `json:"period"`
	Group       *string          `json:"group"`
	Currency    string           `json:"currency"`
	Total       trcledger.Amount `json:"total"`
	ByPayerType PayerTypeAmounts `json:"by_payer_type"`
	StateShare  string           `json:"state_share"` // a percentage: the same as StateSharePercent
	Encounters  *int             `json:"encounters"`
	Patients    *int             `json:"patients"`
	Suppressed  bool             `json:"suppressed"`

	StateSharePercent string `json:"state_share_percent"`

	// Rerouted is what reviews moved from these shares' payers to their fallback payers
	// (included in Total and ByPayerType as the schedule split it); ReroutedFrom splits it by
	// the type of the payer that rejected it, ReroutedTo by the type of the one that took it.
	// All three are left out of a row nothing was re-routed from.
	Rerouted     trcledger.Amount `json:"rerouted,omitzero"`
	ReroutedFrom PayerTypeAmounts `json:"rerouted_from,omitzero"`
	ReroutedTo   PayerTypeAmounts `json:"rerouted_to,omitzero"`
}

// TransitionReport follows the transfer of the cost of care from IOM to the state, month by month.
type TransitionReport struct {
	Items []TransitionRow `json:"items"`
}

// reportPayer returns the payer the caller's reports are confined to: "" (everything) for
// finance and admin, the bound payer for a reviewer. Clinic staff, and a reviewer bound to no
// payer, get EFORBIDDEN.
func reportPayer(ctx context.Context) (string, error) {
	if payer, ok := access.ReportPayer(access.PrincipalFrom(ctx)); ok {
		return payer, nil
	}
	return "", trcledger.Errorf(trcledger.EFORBIDDEN, "reports are for finance, admin and payers' reviewers")
}

// reportMonth reads a YYYY-MM month into its first day, recording a problem with field.
func reportMonth(f *trcledger.Fields, field, v string) (time.Time, bool) {
	if v == "" {
		f.Add(field, "is required, a month written YYYY-MM")
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01", v)
	if err != nil || !claims.PeriodPattern.MatchString(v) {
		f.Add(field, "must be a month written YYYY-MM")
		return time.Time{}, false
	}
	return t, true
}

// Validate checks the filter and returns the first day of From and the day after To. It
// returns EINVALID naming every bad field: from and to missing or not YYYY-MM, to before from
// or more than MaxReportMonths after it, by not a known grouping.
func (f TransitionFilter) Validate() (time.Time, time.Time, error) {
	var fs trcledger.Fields
	from, okFrom := reportMonth(&fs, "from", f.From)
	to, okTo := reportMonth(&fs, "to", f.To)
	if okFrom && okTo {
		months := (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1
		switch {
		case months < 1:
			fs.Add("to", "must not be before from (%s)", f.From)
		case months > MaxReportMonths:
			fs.Add("to", "the range covers %d months; at most %d", months, MaxReportMonths)
		}
	}
	if _, ok := transitionGroups[f.By]; !ok {
		fs.Add("by", "must be empty or one of %s", strings.Join([]string{ByCanton, BySite, ByProvider, ByServiceCategory}, ", "))
	}
	return from, to.AddDate(0, 1, 0), fs.Err()
}

// transitionQuery sums the shares of posted encounters per day first (a few thousand rows
// whatever the volume, and no per-row date arithmetic), then per month; it counts encounters
// and distinct patients from the encounters alone, which are a third of the shares. %[1]s is
// the group expression, %[2]s and %[3]s the joins of the amounts and of the counts, %[4]s and
// %[5]s their conditions on the payer, %[6]s how encounters are counted.
const transitionQuery = `
WITH daily AS (
	SELECT sh.service_date AS day, %[1]s AS grp, e.currency, o.payer_type, sum(sh.amount) AS amount
	FROM line_shares sh
	JOIN encounters e ON e.id = sh.encounter_id AND e.revision = sh.revision
	JOIN organizations o ON o.code = sh.payer_code
	%[2]s
	WHERE e.status = 'posted' AND sh.service_date >= $1 AND sh.service_date < $2 %[4]s
	  AND e.service_date >= $1 AND e.service_date < $2 -- the same date: lets both tables be read by date
	GROUP BY 1, 2, 3, 4
), amounts AS (
	SELECT to_char(day, 'YYYY-MM') AS period, grp, currency, sum(amount) AS total,
	       coalesce(sum(amount) FILTER (WHERE payer_type = 'international'), 0) AS international,
	       coalesce(sum(amount) FILTER (WHERE payer_type = 'donor'), 0) AS donor,
	       coalesce(sum(amount) FILTER (WHERE payer_type = 'state_fund'), 0) AS state_fund,
	       coalesce(sum(amount) FILTER (WHERE payer_type = 'government'), 0) AS government
	FROM daily
	GROUP BY 1, 2, 3
), counts AS (
	SELECT to_char(e.service_date, 'YYYY-MM') AS period, %[1]s AS grp, e.currency,
	       %[6]s AS encounters, count(DISTINCT e.patient_key) AS patients
	FROM encounters e
	%[3]s
	WHERE e.status = 'posted' AND e.service_date >= $1 AND e.service_date < $2 %[5]s
	GROUP BY 1, 2, 3
)
SELECT coalesce(a.period, c.period) AS period, coalesce(a.grp, c.grp) AS grp, coalesce(a.currency, c.currency) AS currency,
       coalesce(a.total, 0), coalesce(a.international, 0), coalesce(a.donor, 0), coalesce(a.state_fund, 0), coalesce(a.government, 0),
       coalesce(c.encounters, 0), coalesce(c.patients, 0)
FROM amounts a
FULL JOIN counts c ON c.period = a.period AND c.grp = a.grp AND c.currency = a.currency
ORDER BY 1, 2, 3`

// transitionSQL returns the transition query for a grouping, confined to one payer's shares
// when payer is set, with its arguments.
func transitionSQL(g transitionGroup, from, until time.Time, payer string) (string, []any) {
	args := []any{trcledger.DateOf(from), trcledger.DateOf(until)}
	var sharePayer, encounterPayer string
	if payer != "" {
		args = append(args, payer)
		sharePayer = `AND sh.payer_code = $3 AND ` + claims.ShareCostsSQL
		encounterPayer = `AND EXISTS (SELECT 1 FROM line_shares sh WHERE sh.encounter_id = e.id AND sh.revision = e.revision AND sh.payer_code = $3 AND ` + claims.ShareCostsSQL + `)`
		if g.lines {
			encounterPayer = `AND EXISTS (SELECT 1 FROM line_shares sh WHERE sh.encounter_id = el.encounter_id AND sh.revision = el.revision AND sh.line_no = el.line_no AND sh.payer_code = $3 AND ` + claims.ShareCostsSQL + `)`
		}
	}
	count := `count(*)`
	if g.lines {
		count = `count(DISTINCT e.id)`
	}
	return fmt.Sprintf(transitionQuery, g.expr, g.shareJoins, g.encounterJoins, sharePayer, encounterPayer, count), args
}

// TransitionReport sums, per month of service (and per group of f.By), the payer shares of
// posted (not voided) encounters: the total, the part of each payer type, the state's share in
// percent (state_fund and government over the total), the encounters and the distinct patients
// (suppressed below MinReportedPatients, and in a grouped report wherever the other rows and the
// month's total would give a suppressed count away; the by-canton and by-site answers are
// suppressed together, from the rows of both and the month's total, so that neither undoes the
// other). Months without encounters have no row. By canton or by site, the months the refresher
// has not kept yet are aggregated live for the three groupings.
//
// Finance and admin see every share. A reviewer sees only the shares of their own payer: the
// totals, counts and state share are then those of that payer's part of the cost alone.
//
// It returns EFORBIDDEN for clinic staff and EINVALID naming every bad field of f (from, to, by).
func (s *Service) TransitionReport(ctx context.Context, f TransitionFilter) (*TransitionReport, error) {
	payer, err := reportPayer(ctx)
	if err != nil {
		return nil, err
	}
	from, until, err := f.Validate()
	if err != nil {
		return nil, err
	}
	// The rows of every grouping this answer is suppressed with (suppressionGroupings): the
	// months' totals, and by canton or by site both of these.
	groupings := suppressionGroupings(f.By)
	var rows map[string][]TransitionRow
	var sites []siteCanton
	// One snapshot for the kept rows and the live ones: a month is either kept, or changed (or
	// marked) and aggregated here, never both or neither.
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	err = pg.WithTxOpts(ctx, s.reads(), opts, func(tx *sqlx.Tx) error {
		rows, sites = map[string][]TransitionRow{}, nil
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		first, last := from.Format("2006-01"), until.AddDate(0, -1, 0).Format("2006-01")
		var dirty []string
		if err := tx.SelectContext(ctx, &dirty, `
			SELECT period FROM (
				SELECT period FROM report_dirty WHERE period >= $1 AND period <= $2
				UNION SELECT period FROM report_changes WHERE period >= $1 AND period <= $2) d
			WHERE period NOT IN (SELECT period FROM periods WHERE status = 'closed') -- a closed month's kept rows are its report
			ORDER BY period`, first, last); err != nil {
			return fmt.Errorf("transition report: changed months: %w", err)
		}
		if len(dirty) > 0 {
			if err := monthScanSettings(ctx, tx); err != nil {
				return err
			}
		}
		if slices.Contains(groupings, BySite) {
			if err := tx.SelectContext(ctx, &sites, `SELECT code, jurisdiction_code FROM sites`); err != nil {
				return fmt.Errorf("transition report: sites: %w", err)
			}
		}
		for _, g := range groupings {
			items := []TransitionRow{}
			kept, err := tx.QueryContext(ctx, `
				SELECT period, grp, currency, total, international, donor, state_fund, government, encounters, patients
				FROM report_months WHERE grouping = $1 AND payer_code = $2 AND period >= $3 AND period <= $4 AND period <> ALL($5)`,
				g, payer, first, last, pq.Array(append([]string{}, dirty...)))
			if err != nil {
				return fmt.Errorf("transition report: %w", err)
			}
			if err := scanTransitionRows(kept, g, &items); err != nil {
				return err
			}
			for _, run := range monthRuns(dirty) {
				query, args := transitionSQL(transitionGroups[g], run[0], run[1], payer)
				live, err := tx.QueryContext(ctx, query, args...)
				if err != nil {
					return fmt.Errorf("transition report: %w", err)
				}
				if err := scanTransitionRows(live, g, &items); err != nil {
					return err
				}
			}
			slices.SortFunc(items, func(a, b TransitionRow) int {
				return cmp.Or(cmp.Compare(a.Period, b.Period), cmp.Compare(groupName(a.Group), groupName(b.Group)), cmp.Compare(a.Currency, b.Currency))
			})
			rows[g] = items
		}
		return addRerouted(ctx, tx, rows, from, until, payer)
	})
	if err != nil {
		return nil, err
	}
	suppressSmallCounts(rows, f.By, sites)
	return &TransitionReport{Items: rows[f.By]}, nil
}

// ReconciliationFilter narrows the reconciliation; empty fields match everything. Period
// (YYYY-MM) selects statements only: the ledger check is always over all time.
type ReconciliationFilter struct {
	Period, PayerCode, ProviderCode string
}

// ReconciliationItem is where one statement stands. Approved and Rejected are null until the
// review is complete; Outstanding is approved (claimed until then) minus paid.
type ReconciliationItem struct {
	StatementID  string            `json:"statement_id" db:"id"`
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
}

// LedgerDifference is a payable account whose balance is not what the encounters, statements
// and payments say it should be (balances are debits minus credits: what a payer owes is negative).
type LedgerDifference struct {
	Account  string           `json:"account"`
	Currency string           `json:"currency"`
	Expected trcledger.Amount `json:"expected"`
	Actual   trcledger.Amount `json:"actual"`
}

// UnclaimedShares is what a payer owes a provider for posted lines on no statement yet.
type UnclaimedShares struct {
	PayerCode    string           `json:"payer_code"`
	ProviderCode string           `json:"provider_code"`
	Currency     string           `json:"currency"`
	Lines        int              `json:"lines"`
	Amount       trcledger.Amount `json:"amount"`
}

// Reconciliation lists statements with what was claimed, approved, rejected, paid and is
// outstanding, and checks the ledger against them: Consistent is true when no payable account
// differs from what it should hold.
type Reconciliation struct {
	Items       []ReconciliationItem `json:"items"`
	Consistent  bool                 `json:"consistent"`
	Differences []LedgerDifference   `json:"differences"`
	Unclaimed   []UnclaimedShares    `json:"unclaimed"`
}

// reconciliationItemsQuery lists the live statements matching the filter.
const reconciliationItemsQuery = `
SELECT id, number, provider_code, payer_code, period, status, currency, claimed, approved, rejected, paid
FROM statements
WHERE status <> 'cancelled' AND ($1 = '' OR period = $1) AND ($2 = '' OR payer_code = $2) AND ($3 = '' OR provider_code = $3)
ORDER BY period, number`

// ledgerCheckQuery compares, per payable account and currency, the balance the ledger holds
// with the one the claims tables imply: minus every share of posted encounters and every claim
// re-routed to the payer (rerouted_shares), plus what completed reviews did not approve (net of
// what appeals approved since: statements.approved grows with them), plus what was paid. The actual side reads the ledger as
// ledger.Journal.Balance does (sealed daily totals plus postings not sealed yet) in this
// query's snapshot. $1 payer, $2 provider ("" for any), $3 the LIKE pattern of the accounts.
const ledgerCheckQuery = `
WITH shares AS (
	SELECT sh.payer_code, sh.provider_code, e.currency, sum(sh.amount) AS posted,
	       coalesce(sum(sh.amount) FILTER (WHERE l.share_id IS NULL), 0) AS unclaimed,
	       count(*) FILTER (WHERE l.share_id IS NULL AND sh.amount > 0) AS unclaimed_lines
	FROM line_shares sh
	JOIN encounters e ON e.id = sh.encounter_id AND e.revision = sh.revision
	LEFT JOIN statement_lines l ON l.share_id = sh.id AND l.live AND l.reroute_id IS NULL
	WHERE e.status = 'posted' AND ($1 = '' OR sh.payer_code = $1) AND ($2 = '' OR sh.provider_code = $2)
	GROUP BY 1, 2, 3
), rerouted AS (
	SELECT rs.fallback_payer_code AS payer_code, rs.provider_code, rs.currency, sum(rs.amount) AS posted,
	       coalesce(sum(rs.amount) FILTER (WHERE l.id IS NULL), 0) AS unclaimed,
	       count(*) FILTER (WHERE l.id IS NULL) AS unclaimed_lines
	FROM rerouted_shares rs
	LEFT JOIN statement_lines l ON l.reroute_id = rs.id AND l.live
	WHERE ($1 = '' OR rs.fallback_payer_code = $1) AND ($2 = '' OR rs.provider_code = $2)
	GROUP BY 1, 2, 3
), expected AS (
	SELECT ('payable:' || payer_code || ':' || provider_code) COLLATE "C" AS account, currency,
	       sum(amount) AS amount, sum(unclaimed) AS unclaimed, sum(lines) AS lines
	FROM (
		SELECT payer_code, provider_code, currency, -posted AS amount, unclaimed, unclaimed_lines AS lines FROM shares
		UNION ALL
		SELECT payer_code, provider_code, currency, -posted, unclaimed, unclaimed_lines FROM rerouted
		UNION ALL
		SELECT payer_code, provider_code, currency, claimed - approved, 0, 0 FROM statements
		WHERE status IN ('reviewed', 'partially_paid', 'paid') AND ($1 = '' OR payer_code = $1) AND ($2 = '' OR provider_code = $2)
		UNION ALL
		SELECT s.payer_code, s.provider_code, s.currency, p.amount, 0, 0 FROM payments p JOIN statements s ON s.id = p.statement_id
		WHERE ($1 = '' OR s.payer_code = $1) AND ($2 = '' OR s.provider_code = $2)
	) x
	GROUP BY 1, 2
), actual AS (
	SELECT account, currency, sum(amount) AS amount FROM (
		SELECT a.account, a.currency, a.debits - a.credits AS amount FROM ledger_daily_totals a
		WHERE a.account LIKE $3 ESCAPE '\'
		UNION ALL
		SELECT a.account, a.currency, a.amount
		FROM ledger_unsealed_transactions() u JOIN ledger_postings a ON a.transaction_id = u.id
		WHERE a.account LIKE $3 ESCAPE '\'
	) b
	WHERE ($1 = '' OR split_part(account, ':', 2) = $1) AND ($2 = '' OR split_part(account, ':', 3) = $2)
	GROUP BY 1, 2
)
SELECT coalesce(e.account, a.account) AS account, coalesce(e.currency, a.currency) AS currency,
       coalesce(e.amount, 0) AS expected, coalesce(a.amount, 0) AS actual,
       coalesce(e.unclaimed, 0) AS unclaimed, coalesce(e.lines, 0) AS lines
FROM expected e FULL JOIN actual a ON a.account = e.account AND a.currency = e.currency
ORDER BY 1, 2`

// Validate checks the filter: EINVALID (field period) for a period not written YYYY-MM.
func (f ReconciliationFilter) Validate() error {
	var fs trcledger.Fields
	if f.Period != "" && !claims.PeriodPattern.MatchString(f.Period) {
		fs.Add("period", "must be a month written YYYY-MM")
	}
	return fs.Err()
}

// Reconciliation lists the live (not cancelled) statements matching f with their claimed,
// approved, rejected, paid and outstanding amounts, and checks the ledger: for every payer and
// provider pair in scope, the balance of payable:<payer>:<provider> must equal minus the shares
// of the pair's posted encounters, plus claimed minus approved of its reviewed (and partially
// paid, paid) statements, plus its payments. Differences lists every account that does not,
// Unclaimed what each pair owes for posted lines on no live statement.
//
// PayerCode and ProviderCode narrow the statements and the ledger check; Period narrows the
// statements only: balances are all-time, so the check always covers the pairs' whole history.
// Finance and admin see everything; a reviewer only their own payer (a payer_code of another
// payer gives an empty, consistent answer).
//
// It returns EFORBIDDEN for clinic staff and EINVALID (field period) for a bad period.
func (s *Service) Reconciliation(ctx context.Context, f ReconciliationFilter) (*Reconciliation, error) {
	payer, err := reportPayer(ctx)
	if err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	out := &Reconciliation{Items: []ReconciliationItem{}, Consistent: true, Differences: []LedgerDifference{}, Unclaimed: []UnclaimedShares{}}
	if payer != "" {
		if f.PayerCode != "" && f.PayerCode != payer {
			return out, nil
		}
		f.PayerCode = payer
	}
	pattern := `payable:%`
	if f.PayerCode != "" {
		pattern = "payable:" + escapeLikePattern(f.PayerCode) + ":%"
	}
	// One snapshot for all of it, so a posting committed meanwhile cannot show as a difference.
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	err = pg.WithTxOpts(ctx, s.reads(), opts, func(tx *sqlx.Tx) error {
		out.Items = []ReconciliationItem{}
		out.Differences, out.Unclaimed = []LedgerDifference{}, []UnclaimedShares{}
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &out.Items, reconciliationItemsQuery, f.Period, f.PayerCode, f.ProviderCode); err != nil {
			return fmt.Errorf("reconciliation statements: %w", err)
		}
		for i := range out.Items {
			it := &out.Items[i]
			it.Outstanding = claims.Outstanding(it.Claimed, it.Approved, it.Paid)
		}
		rows, err := tx.QueryContext(ctx, ledgerCheckQuery, f.PayerCode, f.ProviderCode, pattern)
		if err != nil {
			return fmt.Errorf("reconciliation ledger check: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var d LedgerDifference
			var u UnclaimedShares
			if err := rows.Scan(&d.Account, &d.Currency, &d.Expected, &d.Actual, &u.Amount, &u.Lines); err != nil {
				return fmt.Errorf("reconciliation ledger check: %w", err)
			}
			if !d.Expected.Equal(d.Actual.Decimal) {
				out.Differences = append(out.Differences, d)
			}
			if u.Lines > 0 || !u.Amount.IsZero() {
				if parts := strings.SplitN(d.Account, ":", 3); len(parts) == 3 {
					u.PayerCode, u.ProviderCode = parts[1], parts[2]
				}
				u.Currency = d.Currency
				out.Unclaimed = append(out.Unclaimed, u)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return checkQueue(ctx, tx, f, out)
	})
	if err != nil {
		return nil, err
	}
	out.Consistent = len(out.Differences) == 0
	return out, nil
}

// checkQueue compares, per payer and provider, the queue statements take their lines from
// (unclaimed_shares) with the unclaimed shares the ledger check has just counted from the
// shares themselves. A pair whose queue holds other lines or another amount is a difference on
// the account unclaimed_shares:<payer>:<provider> (expected: the shares; actual: the queue):
// statements would claim the wrong lines for it.
func checkQueue(ctx context.Context, tx *sqlx.Tx, f ReconciliationFilter, out *Reconciliation) error {
	type pair struct{ payer, provider string }
	type count struct {
		lines  int
		amount decimal.Decimal
	}
	want := map[pair]count{}
	for _, u := range out.Unclaimed {
		if u.Currency == claims.StatementCurrency {
			want[pair{u.PayerCode, u.ProviderCode}] = count{u.Lines, u.Amount.Decimal}
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT payer_code, provider_code, count(*), sum(amount) FROM unclaimed_shares
		WHERE ($1 = '' OR payer_code = $1) AND ($2 = '' OR provider_code = $2) GROUP BY 1, 2`, f.PayerCode, f.ProviderCode)
	if err != nil {
		return fmt.Errorf("reconciliation queue check: %w", err)
	}
	defer rows.Close()
	got := map[pair]count{}
	for rows.Next() {
		var p pair
		var c count
		if err := rows.Scan(&p.payer, &p.provider, &c.lines, &c.amount); err != nil {
			return fmt.Errorf("reconciliation queue check: %w", err)
		}
		got[p] = c
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reconciliation queue check: %w", err)
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			want[p] = count{amount: decimal.Zero}
		}
	}
	var bad []LedgerDifference
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			g.amount = decimal.Zero
		}
		if g.lines != w.lines || !g.amount.Equal(w.amount) {
			bad = append(bad, LedgerDifference{Account: "unclaimed_shares:" + p.payer + ":" + p.provider, Currency: claims.StatementCurrency,
				Expected: trcledger.NewAmount(w.amount), Actual: trcledger.NewAmount(g.amount)})
		}
	}
	slices.SortFunc(bad, func(a, b LedgerDifference) int { return cmp.Compare(a.Account, b.Account) })
	out.Differences = append(out.Differences, bad...)
	return nil
}

func groupName(g *string) string {
	if g == nil {
		return ""
	}
	return *g
}

// monthRuns turns sorted YYYY-MM months into runs of consecutive months, each as its first day
// and the first day after it.
func monthRuns(months []string) [][2]time.Time {
	var runs [][2]time.Time
	for _, m := range months {
		t, err := time.Parse("2006-01", m)
		if err != nil {
			continue
		}
		if n := len(runs); n > 0 && runs[n-1][1].Equal(t) {
			runs[n-1][1] = t.AddDate(0, 1, 0)
			continue
		}
		runs = append(runs, [2]time.Time{t, t.AddDate(0, 1, 0)})
	}
	return runs
}

// scanTransitionRows reads rows of (period, group, currency, total, the four payer types,
// encounters, patients) into report rows, computing the state share; the counts are all set,
// for suppressSmallCounts to hide.
func scanTransitionRows(rows *sql.Rows, by string, out *[]TransitionRow) error {
	defer rows.Close()
	hundred := decimal.NewFromInt(100)
	for rows.Next() {
		var r TransitionRow
		var group string
		var encounters, patients int
		b := &r.ByPayerType
		if err := rows.Scan(&r.Period, &group, &r.Currency, &r.Total, &b.International, &b.Donor, &b.StateFund, &b.Government,
			&encounters, &patients); err != nil {
			return fmt.Errorf("transition report: %w", err)
		}
		if by != "" {
			r.Group = &group
		}
		r.StateShare = "0.00"
		if !r.Total.IsZero() {
			r.StateShare = b.StateFund.Add(b.Government.Decimal).Mul(hundred).DivRound(r.Total.Decimal, 2).StringFixed(2)
		}
		r.StateSharePercent = r.StateShare
		r.Encounters, r.Patients = &encounters, &patients
		*out = append(*out, r)
	}
	return rows.Err()
}

// monthScanSettings make a month's aggregate (the live part of a transition report, the
// refresher) use hash joins. Right after a bulk import the tables' statistics can still say
// they are empty, and the planner then probes the shares' date index once per encounter: 2.4 s
// a month at 100,000 lines instead of 0.4 s. Hash joins are the right plan for a month of rows
// whatever the statistics say. (Not for the reconciliation: it joins a handful of unsealed
// transactions to the postings, where a nested loop is the only sane plan.)
func monthScanSettings(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_nestloop = off`); err != nil {
		return fmt.Errorf("report settings: %w", err)
	}
	return nil
}

// reportSettings lets a report's transaction sort and hash its sums and distinct counts in
// memory rather than on disk, and turns off JIT compilation, which costs a big aggregate query
// over a million lines more (seconds) than it saves.
func reportSettings(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '64MB'; SET LOCAL jit = off`); err != nil {
		return fmt.Errorf("report settings: %w", err)
	}
	return nil
}

// escapeLikePattern quotes the LIKE wildcards of s with a backslash.
func escapeLikePattern(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
