package web

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/web/i18n"
)

// appealPages lists the pages of appeals (clinic appeals a decided line, the payer's reviewer
// decides) and of shares re-routed to a fallback payer.
func (a *app) appealPages() []page {
	return []page{
		{Method: "GET", Path: "/clinic/appeals", Roles: clinicOnly, Nav: "clinic.appeals.nav", Handler: a.clinicAppeals},
		{Method: "GET", Path: "/clinic/appeals/statements/:id", Roles: clinicOnly, Handler: a.clinicAppealStatement},
		{Method: "POST", Path: "/clinic/appeals/statements/:id", Roles: clinicOnly, Handler: a.clinicFileAppeal},
		{Method: "GET", Path: "/review/appeals", Roles: reviewerOnly, Nav: "review.appeals.nav", Handler: a.reviewAppeals},
		{Method: "GET", Path: "/review/appeals/:id", Roles: reviewerOnly, Handler: a.reviewAppeal},
		{Method: "POST", Path: "/review/appeals/:id", Roles: reviewerOnly, Handler: a.reviewDecideAppeal},
	}
}

// appealable are the statement states whose lines may be appealed.
var appealable = []string{statements.StatusReviewed, statements.StatusPartiallyPaid, statements.StatusPaid}

type clinicAppealsData struct {
	Appeals    []*statements.Appeal
	Statements []*statements.Statement
	Status     string
	Statuses   []string
	Filed      bool
}

// clinicAppeals lists the clinic's appeals (optionally by state) and its reviewed statements,
// whose rejected and adjusted lines it may appeal.
func (a *app) clinicAppeals(c *fiber.Ctx) error {
	ctx := c.UserContext()
	d := clinicAppealsData{Status: c.Query("status"), Statuses: statements.AppealStatuses, Filed: c.Query("filed") == "1"}
	if !slices.Contains(statements.AppealStatuses, d.Status) {
		d.Status = ""
	}
	var err error
	if d.Appeals, err = a.cfg.Statements.FindAppeals(ctx, statements.AppealFilter{Status: d.Status}); err != nil {
		return err
	}
	all, err := a.cfg.Statements.FindStatements(ctx, statements.StatementFilter{})
	if err != nil {
		return err
	}
	for _, st := range all {
		if slices.Contains(appealable, st.Status) {
			d.Statements = append(d.Statements, st)
		}
	}
	v := view{Title: "clinic.appeals.title", Data: d}
	if d.Filed {
		v.Flash = tr(c).T("clinic.appeals.filed")
	}
	return a.renderView(c, "appeals/clinic_list", v)
}

// appealLine is a rejected or adjusted line with what may be done about it.
type appealLine struct {
	statements.StatementLine
	Appeals  []*statements.Appeal
	Open     bool // an appeal of it is open
	Rerouted bool // what its payer rejected went to a fallback payer
	Full     bool // an appeal approved it in full
}

type clinicStatementData struct {
	Statement *statements.Statement
	Lines     []appealLine
	Reasons   []string
	Form      map[string]string // the form sent back, by field
	LineID    int64             // the line whose form had errors
}

// clinicAppealStatement shows a reviewed statement's rejected and adjusted lines, each with its
// appeals and, while it may be appealed, the appeal form.
func (a *app) clinicAppealStatement(c *fiber.Ctx) error {
	return a.showClinicStatement(c, strings.Clone(c.Params("id")), view{}, clinicStatementData{})
}

func (a *app) showClinicStatement(c *fiber.Ctx, id string, v view, d clinicStatementData) error {
	ctx := c.UserContext()
	st, err := a.cfg.Statements.FindStatementByID(ctx, id)
	if err != nil {
		return err
	}
	appeals, err := a.cfg.Statements.FindAppeals(ctx, statements.AppealFilter{StatementID: st.ID})
	if err != nil {
		return err
	}
	d.Statement, d.Reasons = st, statements.AppealReasons
	for _, l := range st.Lines {
		if l.Decision == nil || *l.Decision == "approve" {
			continue
		}
		al := appealLine{StatementLine: l}
		for _, ap := range appeals {
			if ap.LineID != l.ID {
				continue
			}
			al.Appeals = append(al.Appeals, ap)
			al.Open = al.Open || ap.Status == statements.AppealOpen
			al.Full = al.Full || ap.Status == statements.AppealOverturned
		}
		al.Rerouted = l.ReroutedTo != nil
		d.Lines = append(d.Lines, al)
	}
	v.Title, v.Data = "clinic.appeals.statement.title", d
	return a.renderView(c, "appeals/clinic_statement", v)
}

// clinicFileAppeal files an appeal of one line; a refused one shows the page again with why.
func (a *app) clinicFileAppeal(c *fiber.Ctx) error {
	id := strings.Clone(c.Params("id"))
	form := map[string]string{"reason": strings.Clone(c.FormValue("reason")), "note": strings.Clone(c.FormValue("note"))}
	in := statements.AppealInput{Reason: form["reason"], Note: form["note"]}
	line, err := strconv.ParseInt(c.FormValue("line_id"), 10, 64)
	if err != nil || line <= 0 {
		return a.showClinicStatement(c.Status(fiber.StatusUnprocessableEntity), id,
			view{Problem: tr(c).T("clinic.appeals.error.line")}, clinicStatementData{Form: form})
	}
	in.LineID = line
	_, _, err = a.cfg.Statements.FileAppeal(c.UserContext(), id, in, claims.Idempotency{})
	if err == nil {
		return c.Redirect("/clinic/appeals?filed=1", fiber.StatusSeeOther)
	}
	d := clinicStatementData{Form: form, LineID: line}
	if fe, ferr := fieldErrors(c, err); ferr == nil {
		return a.showClinicStatement(c.Status(fiber.StatusUnprocessableEntity), id, view{Errors: fe}, d)
	}
	if msg, status, ok := refusal(c, err, "clinic.appeals.refused."); ok {
		return a.showClinicStatement(c.Status(status), id, view{Problem: msg}, d)
	}
	return err
}

// refusal is the translated message of a 409 (ESTATE or ECONFLICT) with a reason the catalogue
// names under prefix (prefix + reason), or the general one for its code.
func refusal(c *fiber.Ctx, err error, prefix string) (string, int, bool) {
	var e *trcledger.Error
	if !errors.As(err, &e) || (e.Code != trcledger.ESTATE && e.Code != trcledger.ECONFLICT) {
		return "", 0, false
	}
	t := tr(c)
	if e.Reason != "" && t.Has(prefix+e.Reason) {
		return t.T(prefix + e.Reason), fiber.StatusConflict, true
	}
	_, key := problemKey(e.Code)
	return t.T(key), fiber.StatusConflict, true
}

type reviewAppealsData struct {
	Appeals  []*statements.Appeal
	Status   string
	Statuses []string
	Decided  bool
}

// reviewAppeals lists the appeals of the reviewer's payer: the open ones unless another state
// (or all) is asked for.
func (a *app) reviewAppeals(c *fiber.Ctx) error {
	d := reviewAppealsData{Status: c.Query("status", statements.AppealOpen), Statuses: statements.AppealStatuses, Decided: c.Query("decided") == "1"}
	if d.Status == "all" || !slices.Contains(statements.AppealStatuses, d.Status) {
		d.Status = ""
	}
	var err error
	if d.Appeals, err = a.cfg.Statements.FindAppeals(c.UserContext(), statements.AppealFilter{Status: d.Status}); err != nil {
		return err
	}
	v := view{Title: "review.appeals.title", Data: d}
	if d.Decided {
		v.Flash = tr(c).T("review.appeals.decided")
	}
	return a.renderView(c, "appeals/review_list", v)
}

type reviewAppealData struct {
	Appeal   *statements.Appeal
	Outcomes []string
	Form     map[string]string
}

// reviewAppeal shows one appeal and, while it is open, the decision form.
func (a *app) reviewAppeal(c *fiber.Ctx) error {
	return a.showReviewAppeal(c, strings.Clone(c.Params("id")), view{}, nil)
}

func (a *app) showReviewAppeal(c *fiber.Ctx, id string, v view, form map[string]string) error {
	ap, err := a.cfg.Statements.FindAppealByID(c.UserContext(), id)
	if err != nil {
		return err
	}
	if form == nil {
		form = map[string]string{}
	}
	v.Title, v.Data = "review.appeals.decide.title", reviewAppealData{Appeal: ap, Outcomes: statements.AppealOutcomes, Form: form}
	return a.renderView(c, "appeals/review_decide", v)
}

// reviewDecideAppeal records the decision; the approved amount is read in the reader's locale
// (9,50 or 1.234,56 in the local ones, 9.50 in English).
func (a *app) reviewDecideAppeal(c *fiber.Ctx) error {
	id := strings.Clone(c.Params("id"))
	form := map[string]string{"outcome": strings.Clone(c.FormValue("outcome")), "approved_amount": strings.Clone(c.FormValue("approved_amount")),
		"note": strings.Clone(c.FormValue("note"))}
	d := statements.AppealDecision{Outcome: form["outcome"], Note: form["note"]}
	if s := strings.TrimSpace(form["approved_amount"]); s != "" {
		amount, ok := parseAmount(tr(c), s)
		if !ok {
			return a.showReviewAppeal(c.Status(fiber.StatusUnprocessableEntity), id,
				view{Errors: map[string]string{"approved_amount": tr(c).T("review.appeals.error.amount")}}, form)
		}
		d.ApprovedAmount = &amount
	}
	_, _, err := a.cfg.Statements.DecideAppeal(c.UserContext(), id, d, claims.Idempotency{})
	if err == nil {
		return c.Redirect("/review/appeals?decided=1", fiber.StatusSeeOther)
	}
	if fe, ferr := fieldErrors(c, err); ferr == nil {
		return a.showReviewAppeal(c.Status(fiber.StatusUnprocessableEntity), id, view{Errors: fe}, form)
	}
	if msg, status, ok := refusal(c, err, "review.appeals.refused."); ok {
		return a.showReviewAppeal(c.Status(status), id, view{Problem: msg}, form)
	}
	return err
}

// parseAmount reads an amount typed in the reader's locale: "1.234,56" or "9,50" in the local
// ones (a dot groups thousands), "1,234.56" or "9.50" in English; spaces and a trailing KM are
// ignored. A typed dot in a local locale with no comma is read as the decimal point when it is
// followed by one or two digits ("9.50"), as people paste amounts from elsewhere.
func parseAmount(tr i18n.Translator, s string) (decimal.Decimal, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "KM"))
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "").Replace(s)
	if tr.Local() {
		if i := strings.LastIndexByte(s, '.'); strings.Contains(s, ",") || i < 0 || len(s)-i-1 > 2 {
			s = strings.ReplaceAll(s, ".", "")
			s = strings.Replace(s, ",", ".", 1)
		}
	} else {
		s = strings.ReplaceAll(s, ",", "")
	}
	if s == "" || strings.ContainsAny(s, "eE+") {
		return decimal.Zero, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, false
	}
	return d, true
}
