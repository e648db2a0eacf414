package web

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/statements"
)

// reviewLinesPage is how many lines the statement page shows at once unless lines_limit says.
const reviewLinesPage = 50

// lineFilterKeys are the query parameters of the statement page that narrow its lines, in the
// order links write them; lines_limit and lines_cursor page through what they select.
var lineFilterKeys = []string{"flag", "service", "site", "decision", "min_amount", "max_amount", "lines_limit"}

// reviewForm is what a decision form sent, kept to show it again with its errors.
type reviewForm struct {
	LineID                           int64
	Decision, Reason, Note, Approved string
}

type statementView struct {
	St            *statements.Statement
	ProviderName  string
	Names         reviewNames
	Filter        map[string]string // the filter's query values, as sent
	Back          string            // this page's query (filters and cursor), for forms to return to
	Next, First   string
	Percent       int
	CanDecide     bool
	Flags         []string
	Decisions     []string
	Reasons       []string
	Form          reviewForm // the form that failed, if any
	FilterErrors  bool
	Filtered      bool
	BulkDisabled  bool
	StatementPath string
}

// lineRow is what the line template gets: the page's view (CSRF, errors), the line and the
// statement's data.
type lineRow struct {
	V view
	L statements.StatementLine
	D *statementView
}

// Rows pairs every line of the page with the view, for the template.
func (sv *statementView) rows(v view) []lineRow {
	out := make([]lineRow, len(sv.St.Lines))
	for i, l := range sv.St.Lines {
		out[i] = lineRow{V: v, L: l, D: sv}
	}
	return out
}

// Share is a line's payer share in percent (two decimals), from its basis points.
func (r lineRow) Share() decimal.Decimal { return decimal.New(int64(r.L.BasisPoints), -2) }

// Failed reports whether the form of this line is the one that came back with errors.
func (r lineRow) Failed() bool { return r.D.Form.LineID == r.L.ID && len(r.V.Errors) > 0 }

// Err is the message for field of this line's form, if it failed.
func (r lineRow) Err(field string) string {
	if !r.Failed() {
		return ""
	}
	return r.V.Errors[field]
}

// Value is what this line's form shows in field: what was sent when it failed, else the
// line's decision.
func (r lineRow) Value(field string) string {
	if r.Failed() {
		switch field {
		case "decision":
			return r.D.Form.Decision
		case "reason_code":
			return r.D.Form.Reason
		case "note":
			return r.D.Form.Note
		case "approved_amount":
			return r.D.Form.Approved
		}
	}
	switch field {
	case "decision":
		return deref(r.L.Decision)
	case "reason_code":
		return deref(r.L.ReasonCode)
	case "note":
		return deref(r.L.Note)
	case "approved_amount":
		if r.L.ApprovedAmount != nil && deref(r.L.Decision) == "adjust" {
			return r.L.ApprovedAmount.StringFixed(2)
		}
	}
	return ""
}

// lineQuery keeps the known filter and paging parameters of q (nothing else goes back into a
// link or a redirect).
func lineQuery(q url.Values, cursor bool) url.Values {
	out := url.Values{}
	for _, k := range lineFilterKeys {
		if v := strings.TrimSpace(q.Get(k)); v != "" && len(v) <= 100 {
			out.Set(k, v)
		}
	}
	if cursor {
		if v := q.Get("lines_cursor"); v != "" && len(v) <= 100 {
			out.Set("lines_cursor", v)
		}
	}
	return out
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// loadStatement reads the statement page for the filters and page in q; errs gets the
// filters' bad fields (the page is then read without filters).
func (a *app) loadStatement(c *fiber.Ctx, id string, q url.Values, errs map[string]string) (*statementView, error) {
	q = lineQuery(q, true)
	tr := tr(c)
	lf := statements.LineFilter{Flag: q.Get("flag"), ServiceCode: q.Get("service"), SiteCode: q.Get("site"), Decision: q.Get("decision")}
	for field, dst := range map[string]**decimal.Decimal{"min_amount": &lf.MinAmount, "max_amount": &lf.MaxAmount} {
		if s := q.Get(field); s != "" {
			d, err := decimal.NewFromString(strings.Replace(s, ",", ".", 1))
			if err != nil {
				errs[field] = tr.T("review.problem.amount_format")
				continue
			}
			*dst = &d
		}
	}
	limit := reviewLinesPage
	if s := q.Get("lines_limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > statements.MaxStatementLinesPage {
			errs["lines_limit"] = tr.T("review.problem.limit", statements.MaxStatementLinesPage)
		} else {
			limit = n
		}
	}
	page := statements.LinesPage{Limit: limit, Cursor: q.Get("lines_cursor"), Filter: lf}
	st, err := a.cfg.Statements.FindStatementPage(c.UserContext(), id, page)
	if err != nil {
		fe, ferr := reviewFieldErrors(c, err, "")
		if ferr != nil {
			return nil, ferr
		}
		for k, m := range fe {
			errs[k] = m
		}
	}
	if len(errs) > 0 { // show the first page of every line, and the filter's errors
		if st, err = a.cfg.Statements.FindStatementPage(c.UserContext(), id, statements.LinesPage{Limit: reviewLinesPage}); err != nil {
			return nil, err
		}
	}
	names, err := a.reviewNames(c)
	if err != nil {
		return nil, err
	}
	path := "/review/statements/" + st.ID
	sv := &statementView{
		St: st, ProviderName: nameOr(names.Providers, st.ProviderCode), Names: names,
		Filter: map[string]string{}, Percent: percent(st.DecidedCount, st.LineCount),
		CanDecide: statements.Allowed(st.Status, statements.ActionDecide),
		Flags:     statements.LineFlags, Decisions: statements.Decisions, Reasons: statements.ReasonCodes,
		FilterErrors: len(errs) > 0, StatementPath: path,
	}
	for _, k := range lineFilterKeys {
		sv.Filter[k] = q.Get(k)
	}
	filters := lineQuery(q, false)
	sv.Filtered = len(filters) > 1 || len(filters) == 1 && !filters.Has("lines_limit")
	if sv.FilterErrors {
		filters = url.Values{}
	}
	if st.LinesNextCursor != nil {
		nq := lineQuery(filters, false)
		nq.Set("lines_cursor", *st.LinesNextCursor)
		sv.Next = withQuery(path, nq)
	}
	if q.Get("lines_cursor") != "" && !sv.FilterErrors {
		sv.First = withQuery(path, filters)
		filters.Set("lines_cursor", q.Get("lines_cursor"))
	}
	sv.Back = filters.Encode()
	return sv, nil
}

// reviewStatement is a statement's review: its lines with flags and diagnoses, filters, a
// decision form per line, bulk approval, progress, completion and the exports.
func (a *app) reviewStatement(c *fiber.Ctx) error {
	q, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		q = url.Values{}
	}
	errs := map[string]string{}
	sv, err := a.loadStatement(c, c.Params("id"), q, errs)
	if err != nil {
		return err
	}
	v := view{Title: "review.statement.title", Data: sv, Errors: errs}
	tr := tr(c)
	switch {
	case c.Query("saved") != "":
		v.Flash = tr.T("review.flash.saved")
	case c.Query("approved") != "":
		n, _ := strconv.Atoi(c.Query("approved"))
		v.Flash = tr.T("review.flash.approved", n)
	case c.Query("completed") != "":
		v.Flash = tr.T("review.flash.completed")
	case c.Query("extrapolated") != "":
		n, _ := strconv.Atoi(c.Query("extrapolated"))
		v.Flash = tr.T("review.sampling.flash.applied", n)
	}
	return a.renderStatement(c, v)
}

func (a *app) renderStatement(c *fiber.Ctx, v view) error {
	sv := v.Data.(*statementView)
	v.CSRF = csrfToken(c) // the rows copy the view: each line's form needs the token now
	v.Data = map[string]any{"S": sv, "Rows": sv.rows(v)}
	return a.renderView(c, "review/statement", v)
}

// wantsJSON reports whether the request came from the page's JavaScript (fetch), which takes
// JSON back instead of a redirect.
func wantsJSON(c *fiber.Ctx) bool {
	return strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON)
}

// reviewDecide records one line's decision from its form (or from the keyboard, through fetch):
// back to the statement, or the form again with its errors next to its fields.
func (a *app) reviewDecide(c *fiber.Ctx) error {
	id := c.Params("id")
	form := reviewForm{
		Decision: c.FormValue("decision"), Reason: c.FormValue("reason_code"),
		Note: strings.TrimSpace(c.FormValue("note")), Approved: strings.TrimSpace(c.FormValue("approved_amount")),
	}
	form.LineID, _ = strconv.ParseInt(c.FormValue("line_id"), 10, 64)
	back, _ := url.ParseQuery(c.FormValue("back"))
	d := statements.Decision{LineID: form.LineID, Decision: form.Decision, Note: form.Note}
	if form.Decision != "approve" { // an approval has no reason: a reason left chosen is ignored
		d.ReasonCode = form.Reason
	}
	errs := map[string]string{}
	if form.Decision == "adjust" && form.Approved != "" {
		amount, err := decimal.NewFromString(strings.Replace(form.Approved, ",", ".", 1))
		if err != nil {
			errs["approved_amount"] = tr(c).T("review.problem.amount_format")
		} else {
			d.ApprovedAmount = &amount
		}
	}
	var st *statements.Statement
	var err error
	if len(errs) == 0 {
		st, err = a.cfg.Statements.Decide(c.UserContext(), id, []statements.Decision{d})
		if err != nil {
			fe, ferr := reviewFieldErrors(c, err, "decisions[0].")
			if ferr != nil {
				if wantsJSON(c) {
					return a.reviewJSONProblem(c, ferr)
				}
				return ferr
			}
			errs = fe
		}
	}
	if len(errs) > 0 {
		return a.reviewDecisionRefused(c, id, back, form, errs)
	}
	if wantsJSON(c) {
		return a.reviewDecidedJSON(c, st, form.LineID, back)
	}
	back = lineQuery(back, true)
	back.Set("saved", "1")
	return c.Redirect(withQuery("/review/statements/"+st.ID, back)+"#line-"+strconv.FormatInt(form.LineID, 10), fiber.StatusSeeOther)
}

// reviewDecisionRefused answers a decision the service refused: the page (or, to fetch, the
// line's row) again with the messages next to the fields, 422.
func (a *app) reviewDecisionRefused(c *fiber.Ctx, id string, back url.Values, form reviewForm, errs map[string]string) error {
	sv, err := a.loadStatement(c, id, back, map[string]string{})
	if err != nil {
		return err
	}
	sv.Form = form
	c.Status(fiber.StatusUnprocessableEntity)
	v := view{Title: "review.statement.title", Data: sv, Errors: errs, CSRF: csrfToken(c), Problem: tr(c).T("common.form_has_errors")}
	if !wantsJSON(c) {
		return a.renderStatement(c, v)
	}
	for _, r := range sv.rows(v) {
		if r.L.ID == form.LineID {
			row, err := reviewPartial(c, "review/statement", "review-line", r)
			if err != nil {
				return err
			}
			return c.JSON(fiber.Map{"ok": false, "row": row, "errors": errs})
		}
	}
	return c.JSON(fiber.Map{"ok": false, "errors": errs, "message": tr(c).T("common.form_has_errors")})
}

// reviewDecidedJSON answers fetch after a decision: the line's row as it now is, and progress.
func (a *app) reviewDecidedJSON(c *fiber.Ctx, st *statements.Statement, lineID int64, back url.Values) error {
	sv, err := a.loadStatement(c, st.ID, back, map[string]string{})
	if err != nil {
		return err
	}
	v := view{CSRF: csrfToken(c)}
	out := fiber.Map{"ok": true, "decided": sv.St.DecidedCount, "total": sv.St.LineCount, "percent": sv.Percent,
		"progress": tr(c).T("review.progress", sv.St.DecidedCount, sv.St.LineCount)}
	for _, r := range sv.rows(v) {
		if r.L.ID == lineID {
			row, err := reviewPartial(c, "review/statement", "review-line", r)
			if err != nil {
				return err
			}
			out["row"] = row
		}
	}
	return c.JSON(out)
}

// reviewJSONProblem answers fetch with a refusal that is not about a field (not found, state).
func (a *app) reviewJSONProblem(c *fiber.Ctx, err error) error {
	code := trcledger.ErrorCode(err)
	status, key := problemKey(code)
	if status == fiber.StatusInternalServerError {
		return err
	}
	return c.Status(status).JSON(fiber.Map{"ok": false, "message": tr(c).T(key)})
}

// reviewApproveUnflagged approves every undecided line without a flag, in one action (the bulk
// decision of the API, through the same service).
func (a *app) reviewApproveUnflagged(c *fiber.Ctx) error {
	d, err := a.cfg.Statements.DecideBulk(c.UserContext(), c.Params("id"), statements.BulkDecision{Decision: "approve", Where: statements.BulkSelections[0]})
	if err != nil {
		return err
	}
	back, _ := url.ParseQuery(c.FormValue("back"))
	back = lineQuery(back, true)
	back.Set("approved", strconv.Itoa(d.Decided))
	return c.Redirect(withQuery("/review/statements/"+d.ID, back), fiber.StatusSeeOther)
}

type completeView struct {
	St                         *statements.Statement
	ProviderName               string
	Approved, Rejected         decimal.Decimal
	Undecided                  int
	Approves, Rejects, Adjusts int
	CanComplete, AlreadyDone   bool
	StatementPath              string
}

// reviewCompleteForm asks the reviewer to confirm completing the review, with the totals it
// will fix; while lines are undecided it says how many and offers nothing to confirm.
func (a *app) reviewCompleteForm(c *fiber.Ctx) error {
	return a.renderComplete(c, "")
}

func (a *app) renderComplete(c *fiber.Ctx, problem string) error {
	st, err := a.cfg.Statements.FindStatementByID(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	names, err := a.reviewNames(c)
	if err != nil {
		return err
	}
	cv := completeView{St: st, ProviderName: nameOr(names.Providers, st.ProviderCode), StatementPath: "/review/statements/" + st.ID}
	for _, l := range st.Lines {
		switch deref(l.Decision) {
		case "":
			cv.Undecided++
			continue
		case "approve":
			cv.Approves++
		case "reject":
			cv.Rejects++
		case "adjust":
			cv.Adjusts++
		}
		if l.ApprovedAmount != nil {
			cv.Approved = cv.Approved.Add(l.ApprovedAmount.Decimal)
		}
	}
	cv.Rejected = st.Claimed.Sub(cv.Approved)
	cv.AlreadyDone = !statements.Allowed(st.Status, statements.ActionDecide)
	cv.CanComplete = statements.Allowed(st.Status, statements.ActionComplete) && cv.Undecided == 0
	return a.renderView(c, "review/complete", view{Title: "review.complete.title", Data: cv, Problem: problem})
}

// reviewComplete completes the review: the totals are fixed and the differences go to the
// ledger (the service does both); back to the statement.
func (a *app) reviewComplete(c *fiber.Ctx) error {
	st, err := a.cfg.Statements.CompleteReview(c.UserContext(), c.Params("id"))
	if err != nil {
		if trcledger.ErrorCode(err) == trcledger.ESTATE {
			c.Status(fiber.StatusConflict)
			return a.renderComplete(c, tr(c).T("review.complete.refused"))
		}
		return err
	}
	return c.Redirect("/review/statements/"+st.ID+"?completed=1", fiber.StatusSeeOther)
}

// reviewExport downloads the statement as CSV or PDF, through the same export services as the
// API's export.csv and export.pdf, as the signed-in reviewer.
func (a *app) reviewExport(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Params("id")
		var buf bytes.Buffer
		var err error
		if kind == "csv" {
			err = a.cfg.Statements.ExportCSV(c.UserContext(), id, &buf)
		} else {
			err = a.cfg.Statements.ExportPDF(c.UserContext(), id, &buf)
		}
		if err != nil {
			return err
		}
		ct := "text/csv; charset=utf-8"
		if kind == "pdf" {
			ct = "application/pdf"
		}
		c.Set(fiber.HeaderContentType, ct)
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="statement-`+id+`.`+kind+`"`)
		return c.Send(buf.Bytes())
	}
}
