package web

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/contracts"
)

// capPages lists the budget ceiling pages (issue 13 item 3, docs/caps.md): the contracts with a
// link to each one's caps, and a contract's caps with what every period used and has left, and
// the form that adds one.
func (a *app) capPages() []page {
	return []page{
		{Method: "GET", Path: "/admin/caps", Roles: adminOnly, Nav: "admin.caps.nav", Handler: a.capContracts},
		{Method: "GET", Path: "/admin/contracts/:code/caps", Roles: adminOnly, Handler: a.capList},
		{Method: "POST", Path: "/admin/contracts/:code/caps", Roles: adminOnly, Handler: a.capAdd},
	}
}

type capContractsData struct {
	Contracts []contracts.Contract
}

func (a *app) capContracts(c *fiber.Ctx) error {
	list, err := a.cfg.Contracts.ListContracts(c.UserContext(), contracts.ContractFilter{})
	if err != nil {
		return err
	}
	return a.render(c, "caps/contracts", "admin.caps.title", capContractsData{Contracts: list})
}

// capRow is a cap as the table shows it, with the last day it is in force (nil: open).
type capRow struct {
	encounters.Cap
	LastDay *trcledger.Date
}

type capData struct {
	Contract *contracts.Contract
	Caps     []capRow
	Payers   []contracts.Organization
	Periods  []string
	Modes    []string
	Form     map[string]string
}

var capFields = []string{"payer_code", "period", "amount", "effective_from", "effective_to", "overflow_payer_code", "mode"}

func (a *app) capData(c *fiber.Ctx) (capData, error) {
	ct, err := a.cfg.Contracts.FindContractByCode(c.UserContext(), strings.Clone(c.Params("code")))
	if err != nil {
		return capData{}, err
	}
	caps, err := a.cfg.Encounters.Caps(c.UserContext(), ct.Code)
	if err != nil {
		return capData{}, err
	}
	payers, err := a.cfg.Contracts.ListOrganizations(c.UserContext(), contracts.OrganizationFilter{Kind: "payer"})
	if err != nil {
		return capData{}, err
	}
	rows := make([]capRow, len(caps))
	for i, k := range caps {
		rows[i] = capRow{Cap: k, LastDay: adminLastDay(k.EffectiveTo)}
	}
	return capData{Contract: ct, Caps: rows, Payers: payers, Periods: encounters.CapPeriods, Modes: encounters.CapModes,
		Form: map[string]string{"period": "month", "mode": "route"}}, nil
}

func (a *app) capList(c *fiber.Ctx) error {
	d, err := a.capData(c)
	if err != nil {
		return err
	}
	v := view{Title: "admin.caps.title", Data: d}
	if c.Query("added") == "cap" {
		v.Flash = tr(c).T("admin.caps.added")
	}
	return a.renderView(c, "caps/caps", v)
}

func (a *app) capAdd(c *fiber.Ctx) error {
	d, err := a.capData(c)
	if err != nil {
		return err
	}
	d.Form = adminFormValues(c, capFields...)
	var f trcledger.Fields
	in := encounters.CapInput{PayerCode: d.Form["payer_code"], Period: d.Form["period"], Mode: d.Form["mode"],
		OverflowPayerCode: adminOptional(d.Form["overflow_payer_code"])}
	if d.Form["amount"] == "" {
		f.Add("amount", "is required")
	} else if amt := adminDecimal(&f, "amount", d.Form["amount"]); amt != nil {
		in.Amount = *amt
	}
	if from := adminDate(&f, "effective_from", d.Form["effective_from"], true); from != nil {
		in.EffectiveFrom = *from
	}
	in.EffectiveTo = adminDate(&f, "effective_to", d.Form["effective_to"], false)
	if err := in.Validate(); err != nil {
		_ = f.MergeErr(err)
	}
	err = f.Err()
	if err == nil {
		_, err = a.cfg.Encounters.AddCap(c.UserContext(), d.Contract.Code, in)
	}
	if err != nil {
		return a.capProblem(c, d, err)
	}
	return c.Redirect("/admin/contracts/"+url.PathEscape(d.Contract.Code)+"/caps?added=cap", fiber.StatusSeeOther)
}

// capProblem shows the form again with the messages next to their fields (422), or the
// overlap with another cap (409).
func (a *app) capProblem(c *fiber.Ctx, d capData, err error) error {
	var e *trcledger.Error
	if errors.As(err, &e) && e.Code == trcledger.ECONFLICT && e.Reason == "cap_overlap" {
		c.Status(fiber.StatusConflict)
		return a.renderView(c, "caps/caps", view{Title: "admin.caps.title", Data: d, Problem: tr(c).T("admin.caps.overlap"),
			Errors: map[string]string{"effective_from": tr(c).T("admin.caps.overlap")}})
	}
	errs, err := fieldErrors(c, err)
	if err != nil {
		return err
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return a.renderView(c, "caps/caps", view{Title: "admin.caps.title", Data: d, Errors: errs, Problem: tr(c).T("common.form_has_errors")})
}
