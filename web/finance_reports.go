package web

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/web/i18n"
)

// finReconciliationView is the reconciliation report: the statements a page at a time, whether the
// ledger agrees, every difference, and what is owed for lines on no statement yet.
type finReconciliationView struct {
	Filter      reports.ReconciliationFilter
	Refs        *financeRefs
	Loaded      bool
	Consistent  bool
	Differences []finDifference
	Items       []reports.ReconciliationItem
	Unclaimed   []reports.UnclaimedShares
	Pager       finPager
	Totals      finReconciliationTotals
}

// finDifference is a ledger difference with what is off: actual minus expected.
type finDifference struct {
	reports.LedgerDifference
	Diff  decimal.Decimal
	Queue bool // the claims queue (unclaimed_shares), not a ledger account
}

// finReconciliationTotals sums the statements of the report (all pages).
type finReconciliationTotals struct {
	Claimed, Approved, Rejected, Paid, Outstanding decimal.Decimal
}

// financeReconciliation shows the reconciliation report of the reports service.
func (a *app) financeReconciliation(c *fiber.Ctx) error {
	refs, err := a.financeRefs(c)
	if err != nil {
		return err
	}
	f := reports.ReconciliationFilter{Period: strings.TrimSpace(c.Query("period")), PayerCode: c.Query("payer_code"), ProviderCode: c.Query("provider_code")}
	v := finReconciliationView{Filter: f, Refs: refs}
	errs := map[string]string{}
	if f.Period != "" && !claims.PeriodPattern.MatchString(f.Period) {
		errs["period"] = tr(c).T("finance.error.month")
		c.Status(fiber.StatusUnprocessableEntity)
		return a.renderView(c, "finance/reconciliation", view{Title: "finance.reconciliation.title", Data: v, Errors: errs})
	}
	rec, err := a.cfg.Reports.Reconciliation(c.UserContext(), f)
	if err != nil {
		return err
	}
	v.Loaded, v.Consistent, v.Unclaimed = true, rec.Consistent, rec.Unclaimed
	for _, d := range rec.Differences {
		v.Differences = append(v.Differences, finDifference{LedgerDifference: d, Diff: d.Actual.Sub(d.Expected.Decimal),
			Queue: strings.HasPrefix(d.Account, "unclaimed_shares:")})
	}
	for _, it := range rec.Items {
		v.Totals.Claimed = v.Totals.Claimed.Add(it.Claimed.Decimal)
		if it.Approved != nil {
			v.Totals.Approved = v.Totals.Approved.Add(it.Approved.Decimal)
		}
		if it.Rejected != nil {
			v.Totals.Rejected = v.Totals.Rejected.Add(it.Rejected.Decimal)
		}
		v.Totals.Paid = v.Totals.Paid.Add(it.Paid.Decimal)
		v.Totals.Outstanding = v.Totals.Outstanding.Add(it.Outstanding.Decimal)
	}
	var lo, hi int
	v.Pager, lo, hi = finPaginate("/finance/reconciliation", finQuery(c), len(rec.Items), c.Query("page"))
	v.Items = rec.Items[lo:hi]
	return a.renderView(c, "finance/reconciliation", view{Title: "finance.reconciliation.title", Data: v, Errors: errs})
}

// finTransitionView is the transition dashboard: the months chosen, the grouping, and one chart
// with its table per group.
type finTransitionView struct {
	From, To, By string
	Groupings    []string
	Groups       []finTransitionGroup
	Empty        bool
	// Suppressed is set when a count of some row is hidden; MinPatients is the smallest count shown.
	Suppressed  bool
	MinPatients int
}

// finTransitionGroup is one group of the report (the whole of it when not grouped): its chart
// and the rows of its table, month by month.
type finTransitionGroup struct {
	Name     string
	Currency string
	Unit     string // KM, or the currency's code
	Chart    template.HTML
	Rows     []finTransitionRow
	Total    reports.PayerTypeAmounts
	// Sum is the total of the months shown, StateShare the state's part of it in percent.
	Sum        trcledger.Amount
	StateShare decimal.Decimal
}

// finTransitionRow is a row of the report with its state share as a number, to be written in
// the reader's locale.
type finTransitionRow struct {
	reports.TransitionRow
	Share decimal.Decimal
}

// financeTransition draws the transition report: per month the cost by payer type as stacked
// bars, the state's share as a line, one chart per group, each with its table. The figures,
// and the suppression of small counts, are the report service's, exactly as GET
// /v1/reports/transition answers them.
func (a *app) financeTransition(c *fiber.Ctx) error {
	tr := tr(c)
	now := time.Now()
	v := finTransitionView{From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to")), By: c.Query("by"),
		Groupings: reports.ReportGroupings, MinPatients: reports.MinReportedPatients}
	if v.To == "" {
		v.To = now.Format("2006-01")
	}
	if v.From == "" {
		if t, err := time.Parse("2006-01", v.To); err == nil {
			v.From = t.AddDate(0, -11, 0).Format("2006-01")
		}
	}
	errs := map[string]string{}
	from, fromErr := time.Parse("2006-01", v.From)
	to, toErr := time.Parse("2006-01", v.To)
	if fromErr != nil || !claims.PeriodPattern.MatchString(v.From) {
		errs["from"] = tr.T("finance.error.month")
	}
	if toErr != nil || !claims.PeriodPattern.MatchString(v.To) {
		errs["to"] = tr.T("finance.error.month")
	}
	if len(errs) == 0 {
		months := (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1
		if months < 1 {
			errs["to"] = tr.T("finance.transition.error.order")
		} else if months > reports.MaxReportMonths {
			errs["to"] = tr.T("finance.transition.error.range", reports.MaxReportMonths)
		}
	}
	if v.By != "" && !slices.Contains(reports.ReportGroupings, v.By) {
		errs["by"] = tr.T("finance.error.choose")
	}
	if len(errs) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		return a.renderView(c, "finance/transition", view{Title: "finance.transition.title", Data: v, Errors: errs})
	}
	rep, err := a.cfg.Reports.TransitionReport(c.UserContext(), reports.TransitionFilter{From: v.From, To: v.To, By: v.By})
	if err != nil {
		if m, ferr := fieldErrors(c, err); ferr == nil {
			c.Status(fiber.StatusUnprocessableEntity)
			return a.renderView(c, "finance/transition", view{Title: "finance.transition.title", Data: v, Errors: m})
		}
		return err
	}
	refs, err := a.financeRefs(c)
	if err != nil {
		return err
	}
	months := finMonthsBetween(from, to)
	type key struct{ group, currency string }
	byKey := map[key]*finTransitionGroup{}
	rowsOf := map[key][]reports.TransitionRow{}
	var order []key
	for _, r := range rep.Items {
		v.Suppressed = v.Suppressed || r.Suppressed
		k := key{finGroupName(r.Group), r.Currency}
		g, ok := byKey[k]
		if !ok {
			g = &finTransitionGroup{Name: a.financeGroupLabel(tr, refs, v.By, k.group), Currency: r.Currency, Unit: finCurrencyUnit(tr, r.Currency)}
			byKey[k] = g
			order = append(order, k)
		}
		share, err := decimal.NewFromString(r.StateShare)
		if err != nil {
			return fmt.Errorf("transition report: state share %q: %w", r.StateShare, err)
		}
		g.Rows = append(g.Rows, finTransitionRow{TransitionRow: r, Share: share})
		rowsOf[k] = append(rowsOf[k], r)
		t := &g.Total
		t.International.Decimal = t.International.Add(r.ByPayerType.International.Decimal)
		t.Donor.Decimal = t.Donor.Add(r.ByPayerType.Donor.Decimal)
		t.StateFund.Decimal = t.StateFund.Add(r.ByPayerType.StateFund.Decimal)
		t.Government.Decimal = t.Government.Add(r.ByPayerType.Government.Decimal)
	}
	slices.SortStableFunc(order, func(x, y key) int {
		return cmp.Or(cmp.Compare(byKey[x].Name, byKey[y].Name), cmp.Compare(x.currency, y.currency))
	})
	for i, k := range order {
		g := byKey[k]
		svg, err := financeChart(tr, finChartInput{ID: "chart-" + finItoa(i+1), Group: g.Name, Currency: g.Currency, Months: months, Rows: rowsOf[k]})
		if err != nil {
			return err
		}
		g.Chart = svg
		g.Sum = finSumPayerTypes(g.Total)
		g.StateShare = finStatePercent(g.Total, g.Sum.Decimal)
		v.Groups = append(v.Groups, *g)
	}
	v.Empty = len(v.Groups) == 0
	return a.render(c, "finance/transition", "finance.transition.title", v)
}

// financeGroupLabel is what a group of the report is called in the reader's language.
func (a *app) financeGroupLabel(tr i18n.Translator, refs *financeRefs, by, group string) string {
	switch by {
	case "":
		return tr.T("finance.transition.all")
	case reports.ByCanton:
		return finLabelOf(refs.Cantons, group)
	case reports.BySite:
		return finLabelOf(refs.Sites, group)
	case reports.ByProvider:
		return finLabelOf(refs.Names, group)
	case reports.ByServiceCategory:
		return tr.T("finance.category." + group)
	}
	return group
}

func finLabelOf(names map[string]string, code string) string {
	if n, ok := names[code]; ok && n != "" {
		return n + " (" + code + ")"
	}
	return code
}

func finGroupName(g *string) string {
	if g == nil {
		return ""
	}
	return *g
}

// finMonthsBetween lists the months from from to to, both included, as YYYY-MM.
func finMonthsBetween(from, to time.Time) []string {
	var out []string
	for m := from; !m.After(to); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// finSumPayerTypes is the total of the four payer types (the row's total).
func finSumPayerTypes(p reports.PayerTypeAmounts) trcledger.Amount {
	return trcledger.NewAmount(p.International.Add(p.Donor.Decimal).Add(p.StateFund.Decimal).Add(p.Government.Decimal))
}

// finStatePercent is the state's part (state_fund and government) of total in percent with 2
// decimals, rounded as the report service rounds its state_share.
func finStatePercent(p reports.PayerTypeAmounts, total decimal.Decimal) decimal.Decimal {
	if total.IsZero() {
		return decimal.Zero
	}
	return p.StateFund.Add(p.Government.Decimal).Mul(decimal.NewFromInt(100)).DivRound(total, 2)
}
