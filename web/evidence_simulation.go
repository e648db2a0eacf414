package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/web/i18n"
)

// simulationPages lists the pages of what-if cost-share schedules and parity with insured
// citizens (issue 15 items 1 and 2, docs/simulations-and-parity.md): finance (and admin) try a
// proposed schedule on past months; finance and a fund's reviewers read the parity report; the
// admin enters a fund's reference tariff.
func (a *app) simulationPages() []page {
	finAdmin := []string{access.RoleFinance, access.RoleAdmin}
	return []page{
		{Method: "GET", Path: "/finance/simulations", Roles: finAdmin, Nav: "finance.sim.nav", Handler: a.simForm},
		{Method: "POST", Path: "/finance/simulations", Roles: finAdmin, Handler: a.simRun},
		{Method: "GET", Path: "/finance/parity", Roles: financeOnly, Nav: "finance.parity.nav", Handler: a.parityPage},
		{Method: "GET", Path: "/review/parity", Roles: reviewerOnly, Nav: "finance.parity.nav", Handler: a.parityPage},
		{Method: "GET", Path: "/admin/parity", Roles: adminOnly, Nav: "admin.parity.nav", Handler: a.parityFunds},
		{Method: "GET", Path: "/admin/parity/:code", Roles: adminOnly, Handler: a.parityTariffs},
		{Method: "POST", Path: "/admin/parity/:code", Roles: adminOnly, Handler: a.parityAddTariff},
	}
}

// simRuleRows is how many rows of a proposed schedule the form offers; simShareCols how many
// payers each row may split between.
const (
	simRuleRows  = 6
	simShareCols = 3
)

// simRuleRow is one row of the proposed schedule as typed: scope and up to three payers with
// their percentages.
type simRuleRow struct {
	No                                    int // 1-based, for labels
	From, To, Category, Beneficiary, Site string
	Payers, Percents                      [simShareCols]string
}

func (r simRuleRow) empty() bool {
	s := r.From + r.To + r.Category + r.Beneficiary + r.Site
	for i := range simShareCols {
		s += r.Payers[i] + r.Percents[i]
	}
	return s == ""
}

// simRow is one month and payer of the answer, with the payer's name.
type simRow struct {
	reports.SimulationRow
	Name string
}

type simData struct {
	From, To    string
	Contracts   []contracts.Contract
	Chosen      map[string]bool
	Rules       []simRuleRow
	Changes     map[string]string // service category -> percent as typed
	Categories  []string
	Benefs      []string
	Sites       []contracts.Site
	Payers      []contracts.Organization
	Ran         bool
	Rows        []simRow
	Lines       int64
	Chart       template.HTML
	Totals      []simRow // per payer over the whole range
	ShareCols   []simCol
	Unavailable string
}

func (a *app) simData(c *fiber.Ctx) (*simData, error) {
	ctx := c.UserContext()
	list, err := a.cfg.Contracts.ListContracts(ctx, contracts.ContractFilter{})
	if err != nil {
		return nil, err
	}
	sites, err := a.cfg.Contracts.ListSites(ctx)
	if err != nil {
		return nil, err
	}
	payers, err := a.cfg.Contracts.ListOrganizations(ctx, contracts.OrganizationFilter{Kind: "payer"})
	if err != nil {
		return nil, err
	}
	to := time.Now().AddDate(0, -1, 0)
	d := &simData{From: to.AddDate(0, -11, 0).Format("2006-01"), To: to.Format("2006-01"), Contracts: list, Chosen: map[string]bool{},
		Changes: map[string]string{}, Categories: contracts.ServiceCategories, Benefs: contracts.BeneficiaryCategories,
		Sites: sites, Payers: payers}
	for i := range simShareCols {
		d.ShareCols = append(d.ShareCols, simCol{I: i, N: i + 1})
	}
	return d, nil
}

// simCol is a payer column of the schedule: its index and its number for labels.
type simCol struct{ I, N int }

// padRules fills the schedule up to simRuleRows rows and numbers them.
func (d *simData) padRules() {
	for len(d.Rules) < simRuleRows {
		d.Rules = append(d.Rules, simRuleRow{})
	}
	for i := range d.Rules {
		d.Rules[i].No = i + 1
	}
}

func (a *app) simForm(c *fiber.Ctx) error {
	d, err := a.simData(c)
	if err != nil {
		return err
	}
	d.padRules()
	return a.render(c, "evidence/sim_form", "finance.sim.title", d)
}

// simPercent is a percentage with at most 2 decimals, as typed (comma or point).
var simPercent = regexp.MustCompile(`^[0-9]{1,3}([.,][0-9]{1,2})?$`)

// simRun reads the proposed schedule, runs the simulation and shows it beside the form.
func (a *app) simRun(c *fiber.Ctx) error {
	d, err := a.simData(c)
	if err != nil {
		return err
	}
	d.From, d.To = strings.TrimSpace(c.FormValue("from")), strings.TrimSpace(c.FormValue("to"))
	req := reports.SimulationRequest{From: d.From, To: d.To, ContractCodes: []string{}}
	args, err := url.ParseQuery(string(c.Body()))
	if err != nil {
		return trcledger.Errorf(trcledger.EMALFORMED, "the form cannot be read")
	}
	for _, code := range args["contract"] {
		d.Chosen[code] = true
		req.ContractCodes = append(req.ContractCodes, strings.Clone(code))
	}
	var f trcledger.Fields
	// Form fields are renamed from the service's paths so that each message shows next to its
	// input: rules[i] is the i-th row kept (empty rows are dropped).
	rename := map[string]string{}
	for i := range simRuleRows {
		p := fmt.Sprintf("r%d_", i)
		row := simRuleRow{From: c.FormValue(p + "from"), To: c.FormValue(p + "to"), Category: c.FormValue(p + "category"),
			Beneficiary: c.FormValue(p + "beneficiary"), Site: c.FormValue(p + "site")}
		for j := range simShareCols {
			row.Payers[j] = strings.TrimSpace(c.FormValue(fmt.Sprintf("%spayer%d", p, j)))
			row.Percents[j] = strings.TrimSpace(c.FormValue(fmt.Sprintf("%spct%d", p, j)))
		}
		if row.empty() {
			continue
		}
		k := len(d.Rules)
		d.Rules = append(d.Rules, row)
		path, form := fmt.Sprintf("rules[%d]", k), fmt.Sprintf("r%d_", k)
		for _, n := range [][2]string{{"", "from"}, {".effective_from", "from"}, {".effective_to", "to"}, {".service_category", "category"},
			{".beneficiary_category", "beneficiary"}, {".site_code", "site"}, {".shares", "pct0"}} {
			rename[path+n[0]] = form + n[1]
		}
		rule := contracts.CostShareRule{ServiceCategory: adminOptional(row.Category), BeneficiaryCategory: adminOptional(row.Beneficiary),
			SiteCode: adminOptional(row.Site)}
		if from := adminDate(&f, form+"from", row.From, true); from != nil {
			rule.EffectiveFrom = *from
		}
		rule.EffectiveTo = adminDate(&f, form+"to", row.To, false)
		for j := range simShareCols {
			if row.Payers[j] == "" && row.Percents[j] == "" {
				continue
			}
			n := len(rule.Shares)
			rename[fmt.Sprintf("%s.shares[%d].payer_code", path, n)] = fmt.Sprintf("%spayer%d", form, j)
			rename[fmt.Sprintf("%s.shares[%d].basis_points", path, n)] = fmt.Sprintf("%spct%d", form, j)
			bp := -1
			if simPercent.MatchString(row.Percents[j]) {
				v, _ := decimal.NewFromString(strings.Replace(row.Percents[j], ",", ".", 1))
				bp = int(v.Mul(decimal.NewFromInt(100)).IntPart())
			} else {
				f.Add(fmt.Sprintf("%spct%d", form, j), "must be a percentage with at most 2 decimals")
			}
			rule.Shares = append(rule.Shares, contracts.Share{PayerCode: row.Payers[j], BasisPoints: bp})
		}
		req.Rules = append(req.Rules, rule)
	}
	for _, cat := range contracts.ServiceCategories {
		v := strings.TrimSpace(c.FormValue("tc_" + cat))
		if v == "" {
			continue
		}
		d.Changes[cat] = v
		rename[fmt.Sprintf("tariff_changes[%d].percent", len(req.TariffChanges))] = "tc_" + cat
		pct := adminDecimal(&f, "tc_"+cat, strings.Replace(v, ",", ".", 1))
		if pct != nil {
			req.TariffChanges = append(req.TariffChanges, reports.TariffChange{ServiceCategory: cat, Percent: *pct})
		}
	}
	var out *reports.Simulation
	err = f.Err()
	if err == nil {
		out, err = a.cfg.Reports.Simulate(c.UserContext(), req)
	}
	// The form's own rows stay in the order kept, padded with empty ones.
	d.padRules()
	if err != nil {
		errs, ferr := fieldErrors(c, err)
		if ferr != nil {
			return ferr
		}
		for k, v := range errs {
			if to, ok := rename[k]; ok {
				errs[to] = v
			}
		}
		c.Status(fiber.StatusUnprocessableEntity)
		return a.renderView(c, "evidence/sim_form", view{Title: "finance.sim.title", Data: d, Errors: errs, Problem: tr(c).T("common.form_has_errors")})
	}
	d.Ran, d.Lines = true, out.Lines
	names := map[string]string{}
	for _, p := range d.Payers {
		names[p.Code] = p.Name
	}
	totals := map[string]*simRow{}
	var order []string
	for _, it := range out.Items {
		d.Rows = append(d.Rows, simRow{SimulationRow: it, Name: names[it.PayerCode]})
		k := it.PayerCode + " " + it.Currency
		t, ok := totals[k]
		if !ok {
			t = &simRow{SimulationRow: reports.SimulationRow{PayerCode: it.PayerCode, PayerType: it.PayerType, Currency: it.Currency}, Name: names[it.PayerCode]}
			totals[k] = t
			order = append(order, k)
		}
		t.Actual = trcledger.NewAmount(t.Actual.Add(it.Actual.Decimal))
		t.Simulated = trcledger.NewAmount(t.Simulated.Add(it.Simulated.Decimal))
		t.Difference = trcledger.NewAmount(t.Difference.Add(it.Difference.Decimal))
	}
	slices.Sort(order)
	for _, k := range order {
		d.Totals = append(d.Totals, *totals[k])
	}
	if d.Chart, err = simChart(tr(c), d.Totals); err != nil {
		return err
	}
	return a.render(c, "evidence/sim_form", "finance.sim.title", d)
}

// simChart draws, per payer, the actual cost of the range beside the simulated one as two
// horizontal bars on one scale: SVG with presentation attributes only, the same figures as the
// table beside it.
func simChart(tr i18n.Translator, totals []simRow) (template.HTML, error) {
	type bar struct {
		Y, W, Fill, Label, Value, TextX string
	}
	type group struct {
		Y, Name string
		Bars    []bar
	}
	const left, right, rowH, barH = 230.0, 40.0, 64.0, 22.0
	const width = 720.0
	max := 0.0
	for _, t := range totals {
		max = math.Max(max, math.Max(t.Actual.InexactFloat64(), t.Simulated.InexactFloat64()))
	}
	if max <= 0 {
		max = 1
	}
	plot := width - left - right
	var gs []group
	for i, t := range totals {
		y := 40 + float64(i)*rowH
		g := group{Y: finPx(y + barH), Name: t.PayerCode}
		for j, v := range []struct {
			amount decimal.Decimal
			fill   string
			key    string
		}{{t.Actual.Decimal, "#6b7c8f", "finance.sim.actual"}, {t.Simulated.Decimal, "#1e6b34", "finance.sim.simulated"}} {
			w := math.Max(v.amount.InexactFloat64()/max*plot, 0)
			money := tr.Money(v.amount, t.Currency)
			g.Bars = append(g.Bars, bar{Y: finPx(y + float64(j)*barH), W: finPx(w), Fill: v.fill,
				Label: tr.T(v.key) + " " + t.PayerCode + ": " + money, Value: money, TextX: finPx(left + w + 6)})
		}
		gs = append(gs, g)
	}
	h := 60 + float64(len(totals))*rowH
	var b bytes.Buffer
	err := simChartTemplate.Execute(&b, map[string]any{"W": width, "H": finPx(h), "Left": finPx(left), "Groups": gs,
		"Title": tr.T("finance.sim.chart_title"), "Desc": tr.T("finance.sim.chart_desc"),
		"Actual": tr.T("finance.sim.actual"), "Simulated": tr.T("finance.sim.simulated")})
	//nolint:gosec // G203: the markup comes out of an html/template, escaped like any page
	return template.HTML(b.String()), err
}

var simChartTemplate = template.Must(template.New("simchart").Parse(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="sim-chart" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-labelledby="sim-chart-title sim-chart-desc" font-family="system-ui, sans-serif" font-size="14">
<title id="sim-chart-title">{{.Title}}</title>
<desc id="sim-chart-desc">{{.Desc}}</desc>
<g aria-hidden="true"><rect x="{{.Left}}" y="8" width="14" height="14" fill="#6b7c8f"/><text x="{{.Left}}" y="20" dx="20" fill="#1b1f24">{{.Actual}}</text><rect x="400" y="8" width="14" height="14" fill="#1e6b34"/><text x="400" y="20" dx="20" fill="#1b1f24">{{.Simulated}}</text></g>
{{range .Groups}}<g class="payer"><text x="{{$.Left}}" y="{{.Y}}" dx="-8" text-anchor="end" fill="#1b1f24">{{.Name}}</text>{{range .Bars}}<rect class="sim-bar" x="{{$.Left}}" y="{{.Y}}" width="{{.W}}" height="20" fill="{{.Fill}}"><title>{{.Label}}</title></rect><text x="{{.TextX}}" y="{{.Y}}" dy="15" fill="#1b1f24">{{.Value}}</text>{{end}}</g>
{{end}}</svg>`))

// parityData is the parity report page: the months, the fund (finance chooses it; a reviewer's
// is their own), and the answer.
type parityData struct {
	From, To, PayerCode string
	Funds               []contracts.Organization
	Reviewer            bool
	Action              string
	Report              *reports.ParityReport
	Services            map[string]string
	Total               parityTotal
}

type parityTotal struct {
	Above, At, Below, None int64
	Amount                 decimal.Decimal
}

// stateFunds returns the payers of type state_fund.
func (a *app) stateFunds(c *fiber.Ctx) ([]contracts.Organization, error) {
	payers, err := a.cfg.Contracts.ListOrganizations(c.UserContext(), contracts.OrganizationFilter{Kind: "payer"})
	if err != nil {
		return nil, err
	}
	var out []contracts.Organization
	for _, p := range payers {
		if p.PayerType != nil && *p.PayerType == "state_fund" {
			out = append(out, p)
		}
	}
	return out, nil
}

func (a *app) parityPage(c *fiber.Ctx) error {
	p := access.PrincipalFrom(c.UserContext())
	to := time.Now().AddDate(0, -1, 0)
	d := parityData{From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to")), PayerCode: strings.TrimSpace(c.Query("payer_code")),
		Reviewer: p.Role == access.RoleReviewer, Action: "/finance/parity", Services: map[string]string{}}
	if d.Reviewer {
		d.Action, d.PayerCode = "/review/parity", p.OrgCode
	}
	if d.From == "" {
		d.From = to.AddDate(0, -11, 0).Format("2006-01")
	}
	if d.To == "" {
		d.To = to.Format("2006-01")
	}
	funds, err := a.stateFunds(c)
	if err != nil {
		return err
	}
	d.Funds = funds
	if d.PayerCode == "" && len(funds) > 0 {
		d.PayerCode = funds[0].Code
	}
	services, err := a.cfg.Contracts.ListServices(c.UserContext())
	if err != nil {
		return err
	}
	for _, s := range services {
		d.Services[s.Code] = s.Name
	}
	if d.PayerCode != "" {
		rep, err := a.cfg.Reports.ParityReport(c.UserContext(), reports.ParityFilter{From: d.From, To: d.To, PayerCode: d.PayerCode})
		if err != nil {
			errs, ferr := fieldErrors(c, err)
			if ferr != nil {
				return ferr
			}
			c.Status(fiber.StatusUnprocessableEntity)
			return a.renderView(c, "evidence/sim_parity", view{Title: "finance.parity.title", Data: d, Errors: errs})
		}
		d.Report = rep
		for _, it := range rep.Items {
			d.Total.Above += it.LinesAbove
			d.Total.At += it.LinesAt
			d.Total.Below += it.LinesBelow
			d.Total.None += it.LinesUnreferenced
			d.Total.Amount = d.Total.Amount.Add(it.AmountAbove.Decimal)
		}
	}
	return a.render(c, "evidence/sim_parity", "finance.parity.title", d)
}

func (a *app) parityFunds(c *fiber.Ctx) error {
	funds, err := a.stateFunds(c)
	if err != nil {
		return err
	}
	return a.render(c, "evidence/sim_funds", "admin.parity.title", funds)
}

// parityTariffData is a fund's reference tariffs and the form that adds a version: one price
// input per catalogue service (left empty: not in the version).
type parityTariffData struct {
	Fund     *contracts.Organization
	Versions []contracts.ReferenceTariff
	Services []contracts.Service
	Form     map[string]string
}

func (a *app) parityTariffData(c *fiber.Ctx) (*parityTariffData, error) {
	ctx := c.UserContext()
	fund, err := a.cfg.Contracts.FindOrganizationByCode(ctx, strings.Clone(c.Params("code")))
	if err != nil {
		return nil, err
	}
	versions, err := a.cfg.Contracts.ListReferenceTariffs(ctx, fund.Code)
	if err != nil {
		return nil, err
	}
	services, err := a.cfg.Contracts.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	return &parityTariffData{Fund: fund, Versions: versions, Services: services, Form: map[string]string{}}, nil
}

func (a *app) parityTariffs(c *fiber.Ctx) error {
	d, err := a.parityTariffData(c)
	if err != nil {
		return err
	}
	v := view{Title: "admin.parity.title", Data: d}
	if c.Query("added") != "" {
		v.Flash = tr(c).T("admin.parity.added", c.Query("added"))
	}
	return a.renderView(c, "evidence/sim_tariffs", v)
}

func (a *app) parityAddTariff(c *fiber.Ctx) error {
	d, err := a.parityTariffData(c)
	if err != nil {
		return err
	}
	var f trcledger.Fields
	d.Form = adminFormValues(c, "effective_from", "effective_to")
	r := contracts.ReferenceTariff{}
	if from := adminDate(&f, "effective_from", d.Form["effective_from"], true); from != nil {
		r.EffectiveFrom = *from
	}
	r.EffectiveTo = adminDate(&f, "effective_to", d.Form["effective_to"], false)
	rename := map[string]string{}
	for _, s := range d.Services {
		field := "price_" + s.Code
		v := strings.TrimSpace(c.FormValue(field))
		d.Form[field] = v
		if v == "" {
			continue
		}
		rename[fmt.Sprintf("items[%d].price", len(r.Items))] = field
		if p := adminDecimal(&f, field, v); p != nil {
			r.Items = append(r.Items, contracts.ReferenceTariffItem{ServiceCode: s.Code, Method: "fixed", Price: p})
		}
	}
	err = f.Err()
	if err == nil {
		var out *contracts.ReferenceTariff
		if out, err = a.cfg.Contracts.AddReferenceTariff(c.UserContext(), d.Fund.Code, r); err == nil {
			return c.Redirect("/admin/parity/"+url.PathEscape(d.Fund.Code)+"?added="+strconv.Itoa(out.Version), fiber.StatusSeeOther)
		}
	}
	if e := (*trcledger.Error)(nil); errors.As(err, &e) && e.Code == trcledger.ECONFLICT {
		c.Status(fiber.StatusConflict)
		return a.renderView(c, "evidence/sim_tariffs", view{Title: "admin.parity.title", Data: d, Problem: tr(c).T("admin.parity.overlap"),
			Errors: map[string]string{"effective_from": tr(c).T("admin.parity.overlap")}})
	}
	errs, ferr := fieldErrors(c, err)
	if ferr != nil {
		return ferr
	}
	for k, v := range errs {
		if to, ok := rename[k]; ok {
			errs[to] = v
		}
	}
	if errs["items"] != "" {
		errs["effective_from"] = errs["items"]
	}
	c.Status(fiber.StatusUnprocessableEntity)
	return a.renderView(c, "evidence/sim_tariffs", view{Title: "admin.parity.title", Data: d, Errors: errs, Problem: tr(c).T("common.form_has_errors")})
}
