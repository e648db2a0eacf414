package web

import (
	"bytes"
	"net/url"
	"regexp"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/claims/statements"
)

// clinicStatementLinesPage is how many lines one page of a statement shows.
const clinicStatementLinesPage = 100

var clinicPeriodPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

type clinicStatementsView struct {
	Period, Status string
	Statuses       []string
	Items          []*statements.Statement
}

// clinicStatements lists the clinic's statements (the service narrows them to its provider),
// by period and status, newest period first. A clinic has one statement a payer and month, so
// the list is short and is not paginated.
func (a *app) clinicStatements(c *fiber.Ctx) error {
	v := clinicStatementsView{Period: recQuery(c, "period"), Status: recQuery(c, "status"), Statuses: statements.StatementStatuses}
	errs := map[string]string{}
	if v.Period != "" && !clinicPeriodPattern.MatchString(v.Period) {
		errs["period"] = tr(c).T("clinic.statements.bad_period")
	}
	if v.Status != "" && !slices.Contains(statements.StatementStatuses, v.Status) {
		errs["status"] = tr(c).T("common.error.invalid")
	}
	vw := view{Title: "clinic.statements.title"}
	if len(errs) > 0 {
		vw.Errors, vw.Problem = errs, tr(c).T("common.form_has_errors")
		c.Status(fiber.StatusUnprocessableEntity)
	} else {
		var err error
		v.Items, err = a.cfg.Statements.FindStatements(c.UserContext(), statements.StatementFilter{Period: v.Period, Status: v.Status})
		if err != nil {
			return err
		}
	}
	vw.Data = v
	return a.renderView(c, "clinic/statements", vw)
}

type clinicStatementView struct {
	S        *statements.Statement
	Services map[string]string
	Next     string
	First    string
}

// clinicStatement shows a statement of the clinic with a page of its lines: each line's flags,
// decision, approved amount, reason and note. Another provider's statement is 404.
func (a *app) clinicStatement(c *fiber.Ctx) error {
	id := recID(c)
	cursor := recQuery(c, "cursor")
	st, err := a.cfg.Statements.FindStatementPage(c.UserContext(), id, statements.LinesPage{Limit: clinicStatementLinesPage, Cursor: cursor})
	if fe, ferr := fieldErrors(c, err); ferr != nil {
		return ferr
	} else if fe != nil { // a cursor it did not give out: the first page
		return c.Redirect("/clinic/statements/"+url.PathEscape(id), fiber.StatusSeeOther)
	}
	v := clinicStatementView{S: st, Services: a.clinicServiceNames(c)}
	if st.LinesNextCursor != nil {
		v.Next = recWithQuery("/clinic/statements/"+url.PathEscape(id), url.Values{"cursor": {*st.LinesNextCursor}})
	}
	if cursor != "" {
		v.First = "/clinic/statements/" + url.PathEscape(id)
	}
	return a.renderView(c, "clinic/statement", view{Title: "clinic.statement.title", Data: v})
}

// clinicStatementCSV downloads the statement as CSV through the same export as the API, with
// the reader's session. It is written to memory first, so that a statement the reader may not
// see is a 404 page, not half a file.
func (a *app) clinicStatementCSV(c *fiber.Ctx) error {
	id := recID(c)
	var buf bytes.Buffer
	if err := a.cfg.Statements.ExportCSV(c.UserContext(), id, &buf); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="statement-`+recDownloadName(id)+`.csv"`)
	return c.Send(buf.Bytes())
}

// clinicStatementPDF downloads the printable statement through the same export as the API,
// printed in the reader's language.
func (a *app) clinicStatementPDF(c *fiber.Ctx) error {
	id := recID(c)
	loc := locale(c)
	if !slices.Contains(statements.PDFLocales, loc) {
		loc = ""
	}
	var buf bytes.Buffer
	var err error
	if loc == "" {
		err = a.cfg.Statements.ExportPDF(c.UserContext(), id, &buf)
	} else {
		err = a.cfg.Statements.ExportPDFIn(c.UserContext(), id, loc, &buf)
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="statement-`+recDownloadName(id)+`.pdf"`)
	return c.Send(buf.Bytes())
}
