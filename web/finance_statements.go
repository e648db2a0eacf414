package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
)

// finStatementsView is the list of statements with its filters.
type finStatementsView struct {
	Filter   statements.StatementFilter
	Statuses []string
	Refs     *financeRefs
	Rows     []*statements.Statement
	Pager    finPager
}

// financeStatements lists every statement (of every provider and payer), filtered by period,
// status, provider and payer, a page at a time.
func (a *app) financeStatements(c *fiber.Ctx) error {
	refs, err := a.financeRefs(c)
	if err != nil {
		return err
	}
	f := statements.StatementFilter{Period: strings.TrimSpace(c.Query("period")), Status: c.Query("status"),
		ProviderCode: c.Query("provider_code"), PayerCode: c.Query("payer_code")}
	errs := map[string]string{}
	tr := tr(c)
	if f.Period != "" && !claims.PeriodPattern.MatchString(f.Period) {
		errs["period"] = tr.T("finance.error.month")
	}
	if f.Status != "" && !slices.Contains(statements.StatementStatuses, f.Status) {
		errs["status"] = tr.T("finance.error.choose")
	}
	v := finStatementsView{Filter: f, Statuses: statements.StatementStatuses, Refs: refs, Rows: []*statements.Statement{}}
	if len(errs) == 0 {
		rows, err := a.cfg.Statements.FindStatements(c.UserContext(), f)
		if err != nil {
			return err
		}
		var lo, hi int
		v.Pager, lo, hi = finPaginate("/finance", finQuery(c), len(rows), c.Query("page"))
		v.Rows = rows[lo:hi]
	} else {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return a.renderView(c, "finance/statements", view{Title: "finance.statements.title", Data: v, Errors: errs})
}

// finPayForm is the payment form of a statement: what was typed, and the key that makes a second
// submission of the same form (a double click, a reload) the same payment.
type finPayForm struct {
	Amount, PaidOn, Reference, Key string
}

// finStatementView is one statement: header, totals, a page of lines, payments, the payment form.
type finStatementView struct {
	St                           *statements.Statement
	Refs                         *financeRefs
	CanPay, CanSubmit, CanCancel bool
	Pay                          finPayForm
	Today                        string
	FirstLines, NextLines        string
	Highlight                    string // the id of the payment just recorded
	Lines                        []financeLine
}

// financeLine is a statement line with what the page shows of it worked out.
type financeLine struct {
	statements.StatementLine
	Share    decimal.Decimal // the payer's part of the line in percent
	Quantity string
}

// finLinesPage is how many lines the statement page shows at once.
const finLinesPage = 50

// finFormKey is a fresh idempotency key for one rendering of a form.
func finFormKey() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// financeLoadStatement reads the statement with the page of lines after cursor.
func (a *app) financeLoadStatement(c *fiber.Ctx, id, cursor string) (*finStatementView, error) {
	st, err := a.cfg.Statements.FindStatementPage(c.UserContext(), id, statements.LinesPage{Limit: finLinesPage, Cursor: cursor})
	if err != nil {
		if trcledger.ErrorCode(err) == trcledger.EINVALID { // a cursor we did not give out
			return nil, trcledger.Errorf(trcledger.ENOTFOUND, "no such page of lines")
		}
		return nil, err
	}
	refs, err := a.financeRefs(c)
	if err != nil {
		return nil, err
	}
	v := &finStatementView{St: st, Refs: refs,
		CanPay:    statements.Allowed(st.Status, statements.ActionPay),
		CanSubmit: statements.Allowed(st.Status, statements.ActionSubmit) && st.LineCount > 0,
		CanCancel: statements.Allowed(st.Status, statements.ActionCancel),
		Today:     trcledger.Today(time.Now()).String(),
	}
	base := "/finance/statements/" + url.PathEscape(st.ID)
	if cursor != "" {
		v.FirstLines = base + "#lines"
	}
	if st.LinesNextCursor != nil {
		v.NextLines = base + "?" + url.Values{"lines": {*st.LinesNextCursor}}.Encode() + "#lines"
	}
	v.Pay = finPayForm{PaidOn: v.Today, Key: finFormKey()}
	tr := tr(c)
	for _, l := range st.Lines {
		v.Lines = append(v.Lines, financeLine{StatementLine: l, Share: decimal.New(int64(l.BasisPoints), -2),
			Quantity: tr.Number(l.Quantity, int32(trcledger.DecimalPlaces(l.Quantity)))})
	}
	return v, nil
}

// financeStatement shows one statement: its header and totals, its lines a page at a time with
// each line's decision, its payments, and the payment form while it can be paid.
func (a *app) financeStatement(c *fiber.Ctx) error {
	v, err := a.financeLoadStatement(c, c.Params("id"), c.Query("lines"))
	if err != nil {
		return err
	}
	vw := view{Title: "finance.statement.title", Data: v}
	switch c.Query("done") {
	case "paid":
		vw.Flash = tr(c).T("finance.pay.recorded")
		v.Highlight = c.Query("payment")
	case "paid_again":
		vw.Flash = tr(c).T("finance.pay.recorded_before")
		v.Highlight = c.Query("payment")
	case "submitted":
		vw.Flash = tr(c).T("finance.statement.submitted")
	case "cancelled":
		vw.Flash = tr(c).T("finance.statement.cancelled")
	}
	return a.renderView(c, "finance/statement", vw)
}

// financePayment records a payment from the statement's form. The amount is read in the
// reader's locale (1.234,56); the form's key is the payment's Idempotency-Key, so the same form
// sent twice records one payment. Bad fields re-render the page with a message beside each.
func (a *app) financePayment(c *fiber.Ctx) error {
	id := c.Params("id")
	tr := tr(c)
	form := finPayForm{Amount: strings.TrimSpace(c.FormValue("amount")), PaidOn: strings.TrimSpace(c.FormValue("paid_on")),
		Reference: strings.TrimSpace(c.FormValue("reference")), Key: c.FormValue("form_key")}
	errs := map[string]string{}
	in := statements.PaymentInput{Reference: form.Reference}
	if form.Amount == "" {
		errs["amount"] = tr.T("finance.pay.error.amount_required")
	} else if d, ok := finParseAmount(tr, form.Amount); !ok {
		errs["amount"] = tr.T("finance.pay.error.amount_format", finInputAmount(tr, decimal.RequireFromString("1234.56")))
	} else if !d.IsPositive() || trcledger.DecimalPlaces(d) > 2 {
		errs["amount"] = tr.T("finance.pay.error.amount_positive")
	} else {
		in.Amount = d
	}
	if form.PaidOn == "" {
		errs["paid_on"] = tr.T("finance.pay.error.date_required")
	} else if d, ok := finParseDate(form.PaidOn); !ok {
		errs["paid_on"] = tr.T("finance.pay.error.date_format")
	} else if d.After(trcledger.Today(time.Now())) {
		errs["paid_on"] = tr.T("finance.pay.error.date_future")
	} else {
		in.PaidOn = d
	}
	if form.Reference == "" {
		errs["reference"] = tr.T("finance.pay.error.reference_required")
	} else if len(form.Reference) > 200 {
		errs["reference"] = tr.T("finance.pay.error.reference_long")
	}
	if len(form.Key) < 16 || len(form.Key) > 64 {
		form.Key = finFormKey() // a form from elsewhere: it still pays once per sending
	}
	problem := ""
	if len(errs) == 0 {
		// The key is bound to the statement and what was paid: the same form sent again is a
		// replay, the key with other values a conflict.
		sum := sha256.Sum256(fmt.Appendf(nil, "%s\n%s\n%s\n%s", id, in.Amount.StringFixed(2), in.PaidOn, in.Reference))
		res, err := a.cfg.Statements.RecordPayment(c.UserContext(), id, in, claims.Idempotency{Key: "web:" + form.Key, RequestHash: sum[:]})
		if err == nil {
			var paid struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(res.Body, &paid); err != nil {
				return err
			}
			done := "paid"
			if res.Replayed {
				done = "paid_again"
			}
			return c.Redirect("/finance/statements/"+url.PathEscape(id)+"?"+url.Values{"done": {done}, "payment": {paid.ID}}.Encode(), fiber.StatusSeeOther)
		}
		var e *trcledger.Error
		switch {
		case !errors.As(err, &e):
			return err
		case e.Code == trcledger.EINVALID && e.Reason == "overpayment":
			errs["amount"] = tr.T("finance.pay.error.overpayment")
		case e.Code == trcledger.EINVALID:
			errs, _ = fieldErrors(c, err)
		case e.Code == trcledger.ECONFLICT:
			problem = tr.T("finance.pay.error.form_used")
			form.Key = finFormKey()
		case e.Code == trcledger.ESTATE:
			problem = tr.T("finance.pay.error.state")
		default:
			return err
		}
	}
	v, err := a.financeLoadStatement(c, id, "")
	if err != nil {
		return err
	}
	v.Pay = form
	if problem == "" {
		problem = tr.T("common.form_has_errors")
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return a.renderView(c, "finance/statement", view{Title: "finance.statement.title", Data: v, Errors: errs, Problem: problem})
}

// financeSubmit submits a draft (finance may, as the provider's clinic may).
func (a *app) financeSubmit(c *fiber.Ctx) error {
	return a.financeStatementAction(c, "submitted", a.cfg.Statements.SubmitStatement)
}

// financeCancel cancels a draft, releasing its lines.
func (a *app) financeCancel(c *fiber.Ctx) error {
	return a.financeStatementAction(c, "cancelled", a.cfg.Statements.CancelStatement)
}

func (a *app) financeStatementAction(c *fiber.Ctx, done string, act func(context.Context, string) (*statements.Statement, error)) error {
	id := c.Params("id")
	if _, err := act(c.UserContext(), id); err != nil {
		if trcledger.ErrorCode(err) != trcledger.ESTATE {
			return err
		}
		v, lerr := a.financeLoadStatement(c, id, "")
		if lerr != nil {
			return lerr
		}
		c.Status(fiber.StatusConflict)
		return a.renderView(c, "finance/statement", view{Title: "finance.statement.title", Data: v, Problem: tr(c).T("finance.statement.cannot")})
	}
	return c.Redirect("/finance/statements/"+url.PathEscape(id)+"?done="+done, fiber.StatusSeeOther)
}

// finBuildView is the form that builds a month's statements, and what it built.
type finBuildView struct {
	Period, Provider, Payer string
	Refs                    *financeRefs
	Done                    bool
	Results                 []finBuildResult
}

// finBuildResult is what building did for one provider and payer: a statement built or refreshed,
// nothing to claim up to the month, or a statement already past its draft.
type finBuildResult struct {
	Provider, Payer string
	Outcome         string // finance.build.outcome.*
	Statement       *statements.Statement
	StatementID     string
	Message         string
}

// financeBuildForm shows the form that builds a month's statements.
func (a *app) financeBuildForm(c *fiber.Ctx) error {
	refs, err := a.financeRefs(c)
	if err != nil {
		return err
	}
	last := time.Now().AddDate(0, -1, 0)
	v := finBuildView{Period: finOr(c.Query("period"), last.Format("2006-01")), Provider: c.Query("provider_code"), Payer: c.Query("payer_code"), Refs: refs}
	return a.render(c, "finance/build", "finance.build.title", v)
}

func finOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// financeBuild builds (or, while draft, refreshes) the statements of a month: of one provider on
// one payer when both are chosen, else of every provider and payer pair that has unclaimed lines
// (as the reconciliation counts them) narrowed to the chosen provider or payer. The service
// builds one statement per call, as POST /v1/statements does; this loops over the pairs.
func (a *app) financeBuild(c *fiber.Ctx) error {
	refs, err := a.financeRefs(c)
	if err != nil {
		return err
	}
	tr := tr(c)
	v := finBuildView{Period: strings.TrimSpace(c.FormValue("period")), Provider: c.FormValue("provider_code"), Payer: c.FormValue("payer_code"), Refs: refs}
	errs := map[string]string{}
	switch {
	case v.Period == "":
		errs["period"] = tr.T("finance.error.month_required")
	case !claims.PeriodPattern.MatchString(v.Period):
		errs["period"] = tr.T("finance.error.month")
	case v.Period > trcledger.Today(time.Now()).String()[:7]:
		errs["period"] = tr.T("finance.build.error.future")
	}
	if v.Provider != "" && !slices.ContainsFunc(refs.Providers, func(o finOption) bool { return o.Value == v.Provider }) {
		errs["provider_code"] = tr.T("finance.error.choose")
	}
	if v.Payer != "" && !slices.ContainsFunc(refs.Payers, func(o finOption) bool { return o.Value == v.Payer }) {
		errs["payer_code"] = tr.T("finance.error.choose")
	}
	if len(errs) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		return a.renderView(c, "finance/build", view{Title: "finance.build.title", Data: v, Errors: errs, Problem: tr.T("common.form_has_errors")})
	}
	type pair struct{ provider, payer string }
	var pairs []pair
	if v.Provider != "" && v.Payer != "" {
		pairs = []pair{{v.Provider, v.Payer}}
	} else {
		rec, err := a.cfg.Reports.Reconciliation(c.UserContext(), reports.ReconciliationFilter{PayerCode: v.Payer, ProviderCode: v.Provider})
		if err != nil {
			return err
		}
		for _, u := range rec.Unclaimed {
			if u.Currency == claims.StatementCurrency && u.Lines > 0 {
				pairs = append(pairs, pair{u.ProviderCode, u.PayerCode})
			}
		}
	}
	v.Done = true
	ctx := c.UserContext()
	for _, p := range pairs {
		r := finBuildResult{Provider: p.provider, Payer: p.payer}
		st, err := a.cfg.Statements.CreateStatement(ctx, p.provider, p.payer, v.Period)
		var e *trcledger.Error
		switch {
		case err == nil:
			r.Outcome, r.Statement, r.StatementID = "finance.build.outcome.built", st, st.ID
		case !errors.As(err, &e):
			return err
		case e.Code == trcledger.EINVALID && e.Reason == "nothing_to_claim":
			r.Outcome = "finance.build.outcome.nothing"
		case e.Code == trcledger.ESTATE:
			r.Outcome = "finance.build.outcome.past_draft"
			r.StatementID, _ = e.Extra["statement_id"].(string)
		case e.Code == trcledger.EINVALID:
			r.Outcome = "finance.build.outcome.refused"
			if m, _ := fieldErrors(c, err); len(m) > 0 {
				for _, msg := range m {
					r.Message = msg
				}
			}
		default:
			return err
		}
		v.Results = append(v.Results, r)
	}
	return a.render(c, "finance/build", "finance.build.title", v)
}
