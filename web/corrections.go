package web

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/contracts"
)

// correctionPages lists the pages of corrections over time (DESIGN.md section 12): repricing a
// contract's encounters after a retroactive tariff or rule, and closing and reopening months.
func (a *app) correctionPages() []page {
	return []page{
		{Method: "GET", Path: "/admin/repricing", Roles: adminOnly, Nav: "admin.reprice.nav", Handler: a.repricingContracts},
		{Method: "GET", Path: "/admin/contracts/:code/reprice", Roles: adminOnly, Handler: a.repricingForm},
		{Method: "POST", Path: "/admin/contracts/:code/reprice", Roles: adminOnly, Handler: a.repricingApply},
		{Method: "GET", Path: "/finance/periods", Roles: financeOnly, Nav: "finance.periods.nav", Handler: a.periodsPage},
		{Method: "POST", Path: "/finance/periods/close", Roles: financeOnly, Handler: a.periodClose},
		{Method: "POST", Path: "/finance/periods/reopen", Roles: financeOnly, Handler: a.periodReopen},
	}
}

// repricingContractsView lists the contracts an admin may reprice.
type repricingContractsView struct {
	Contracts []contracts.Contract
}

func (a *app) repricingContracts(c *fiber.Ctx) error {
	list, err := a.cfg.Contracts.ListContracts(c.UserContext(), contracts.ContractFilter{})
	if err != nil {
		return err
	}
	return a.render(c, "corrections/repricing_contracts", "admin.reprice.contracts_title", repricingContractsView{Contracts: list})
}

// repricingView is the repricing page of a contract: the range, the dry run's preview, the
// key of the apply form (a new one per render), and what an apply did.
type repricingView struct {
	Contract string
	From, To string
	Key      string
	Preview  *encounters.RepricingResult
	Applied  *encounters.RepricingResult
	Replayed bool
	Closed   []string
}

// repricingInput reads from and to (form or query) into in, field errors into f.
func repricingInput(from, to string, f *trcledger.Fields) encounters.RepricingInput {
	var in encounters.RepricingInput
	for _, x := range []struct {
		name, v string
		d       *trcledger.Date
	}{{"from", from, &in.From}, {"to", to, &in.To}} {
		if x.v == "" {
			f.Add(x.name, "is required")
			continue
		}
		d, err := trcledger.ParseDate(x.v)
		if err != nil {
			f.Add(x.name, "must be a date written YYYY-MM-DD")
			continue
		}
		*x.d = d
	}
	return in
}

// repricingForm shows the range form and, when from and to are given, the dry run's preview
// with the apply form.
func (a *app) repricingForm(c *fiber.Ctx) error {
	code := c.Params("code")
	if _, err := a.cfg.Contracts.FindContractByCode(c.UserContext(), code); err != nil {
		return err
	}
	v := repricingView{Contract: code, From: c.Query("from"), To: c.Query("to"), Key: newFormKey()}
	view := view{Title: "admin.reprice.title", Data: &v}
	if v.From != "" || v.To != "" {
		var f trcledger.Fields
		in := repricingInput(v.From, v.To, &f)
		err := f.Err()
		if err == nil {
			in.DryRun = true
			v.Preview, _, err = a.cfg.Encounters.Reprice(c.UserContext(), code, in, encounters.Idempotency{})
		}
		if err := a.repricingProblem(c, err, &view, &v); err != nil {
			return err
		}
	}
	return a.renderView(c, "corrections/repricing", view)
}

// repricingProblem puts a repricing's error on the page: field errors next to their fields, a
// closed month as a problem naming the months; anything else is returned.
func (a *app) repricingProblem(c *fiber.Ctx, err error, view *view, v *repricingView) error {
	if err == nil {
		return nil
	}
	var e *trcledger.Error
	if errors.As(err, &e) && e.Reason == "period_closed" {
		v.Closed, _ = e.Extra["closed_periods"].([]string)
		if p, ok := e.Extra["period"].(string); ok && len(v.Closed) == 0 {
			v.Closed = []string{p}
		}
		view.Problem = tr(c).T("admin.reprice.period_closed", strings.Join(v.Closed, ", "))
		c.Status(fiber.StatusConflict)
		return nil
	}
	errs, err := fieldErrors(c, err)
	if err != nil {
		return err
	}
	view.Errors = errs
	c.Status(fiber.StatusUnprocessableEntity)
	return nil
}

// repricingApply applies the repricing the admin confirmed, under the key of the form it came
// from: a second submit of the same form replays the first answer.
func (a *app) repricingApply(c *fiber.Ctx) error {
	code := c.Params("code")
	v := repricingView{Contract: code, From: strings.TrimSpace(c.FormValue("from")), To: strings.TrimSpace(c.FormValue("to")), Key: newFormKey()}
	view := view{Title: "admin.reprice.title", Data: &v}
	var f trcledger.Fields
	in := repricingInput(v.From, v.To, &f)
	if c.FormValue("confirm") != "yes" {
		f.Add("confirm", "confirm that the encounters are to be repriced")
	}
	err := f.Err()
	if err == nil {
		key := c.FormValue("key")
		sum := sha256.Sum256([]byte(code + "\x00" + v.From + "\x00" + v.To))
		res, stored, rerr := a.cfg.Encounters.Reprice(c.UserContext(), code, in, encounters.Idempotency{Key: key, RequestHash: sum[:]})
		err = rerr
		if err == nil && res == nil && stored != nil { // the same form again: its first answer
			res = &encounters.RepricingResult{}
			err = json.Unmarshal(stored.Body, res)
			v.Replayed = true
		}
		v.Applied = res
	}
	if err := a.repricingProblem(c, err, &view, &v); err != nil {
		return err
	}
	return a.renderView(c, "corrections/repricing", view)
}

// periodsView is the finance page of months: every month ever closed, with its state.
type periodsView struct {
	Periods []reports.Period
	Month   string
}

func (a *app) periodsPage(c *fiber.Ctx) error {
	return a.showPeriods(c, view{Title: "finance.periods.title"}, "")
}

func (a *app) showPeriods(c *fiber.Ctx, v view, month string) error {
	list, err := a.cfg.Reports.ListPeriods(c.UserContext())
	if err != nil {
		return err
	}
	v.Data = periodsView{Periods: list, Month: month}
	return a.renderView(c, "corrections/periods", v)
}

func (a *app) periodClose(c *fiber.Ctx) error {
	month := strings.TrimSpace(c.FormValue("period"))
	_, err := a.cfg.Reports.ClosePeriod(c.UserContext(), month)
	return a.periodAnswer(c, err, month, "finance.periods.closed")
}

func (a *app) periodReopen(c *fiber.Ctx) error {
	month := strings.TrimSpace(c.FormValue("period"))
	_, err := a.cfg.Reports.ReopenPeriod(c.UserContext(), month, c.FormValue("reason"))
	return a.periodAnswer(c, err, month, "finance.periods.reopened")
}

// periodAnswer shows the months again with what became of the close or reopen.
func (a *app) periodAnswer(c *fiber.Ctx, err error, month, done string) error {
	v := view{Title: "finance.periods.title"}
	if err == nil {
		v.Flash = tr(c).T(done, month)
		return a.showPeriods(c, v, "")
	}
	var e *trcledger.Error
	if errors.As(err, &e) && e.Code == trcledger.ESTATE {
		v.Problem = tr(c).T("finance.periods.invalid_state", month)
		c.Status(fiber.StatusConflict)
		return a.showPeriods(c, v, month)
	}
	errs, err := fieldErrors(c, err)
	if err != nil {
		return err
	}
	v.Errors = errs
	c.Status(fiber.StatusUnprocessableEntity)
	return a.showPeriods(c, v, month)
}
