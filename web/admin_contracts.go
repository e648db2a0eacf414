package web

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/web/i18n"
)

// adminContractPages lists the contract pages: the list (and a new contract), a contract with
// its tariff versions and its cost-share schedule as a timeline, and the forms that add a
// tariff version or a cost-share rule.
func (a *app) adminContractPages() []page {
	return []page{
		{Method: "GET", Path: "/admin/contracts", Roles: adminOnly, Nav: "admin.nav.contracts", Handler: a.adminContracts},
		{Method: "POST", Path: "/admin/contracts", Roles: adminOnly, Handler: a.adminCreateContract},
		{Method: "GET", Path: "/admin/contracts/:code", Roles: adminOnly, Handler: a.adminContract},
		{Method: "GET", Path: "/admin/contracts/:code/tariffs/new", Roles: adminOnly, Handler: a.adminTariffForm},
		{Method: "POST", Path: "/admin/contracts/:code/tariffs", Roles: adminOnly, Handler: a.adminAddTariff},
		{Method: "GET", Path: "/admin/contracts/:code/cost-shares/new", Roles: adminOnly, Handler: a.adminRuleForm},
		{Method: "POST", Path: "/admin/contracts/:code/cost-shares", Roles: adminOnly, Handler: a.adminAddRule},
	}
}

type adminContractsData struct {
	Contracts []contracts.Contract
	Pager     adminListPage
	Form      map[string]string
	Vocab     adminVocab
	adminBinding
}

var adminContractFields = []string{"code", "provider_code", "payer_code", "currency", "valid_from", "valid_to", "status"}

func (a *app) adminContractsData(c *fiber.Ctx, form map[string]string) (adminContractsData, error) {
	list, err := a.cfg.Contracts.ListContracts(c.UserContext(), contracts.ContractFilter{})
	if err != nil {
		return adminContractsData{}, err
	}
	b, err := a.adminBindingChoices(c)
	if err != nil {
		return adminContractsData{}, err
	}
	if form == nil {
		form = map[string]string{"currency": "BAM", "status": "draft"}
	}
	d := adminContractsData{Form: form, Vocab: adminVocabulary, adminBinding: b}
	d.Contracts, d.Pager = adminPaginate(c, list, "/admin/contracts?")
	return d, nil
}

func (a *app) adminContracts(c *fiber.Ctx) error {
	d, err := a.adminContractsData(c, nil)
	if err != nil {
		return err
	}
	return a.render(c, "admin/contracts", "admin.contracts.title", d)
}

func (a *app) adminCreateContract(c *fiber.Ctx) error {
	form := adminFormValues(c, adminContractFields...)
	var f trcledger.Fields
	ct := contracts.Contract{Code: form["code"], ProviderCode: form["provider_code"], PayerCode: adminOptional(form["payer_code"]),
		Currency: form["currency"], Status: form["status"]}
	if d := adminDate(&f, "valid_from", form["valid_from"], true); d != nil {
		ct.ValidFrom = *d
	}
	ct.ValidTo = adminDate(&f, "valid_to", form["valid_to"], false)
	ct.Defaults()
	if !f.Has("valid_from") {
		_ = f.MergeErr(ct.Validate())
	}
	if err := f.MergeErr(a.cfg.Contracts.CheckRefs(c.UserContext(), []contracts.Ref{
		{Field: "provider_code", Kind: "provider", Code: ct.ProviderCode},
		{Field: "payer_code", Kind: "payer", Code: form["payer_code"]},
	})); err != nil {
		return err
	}
	err := f.Err()
	if err == nil {
		_, err = a.cfg.Contracts.CreateContract(c.UserContext(), ct)
	}
	if err != nil {
		d, derr := a.adminContractsData(c, form)
		if derr != nil {
			return derr
		}
		return a.adminProblem(c, "admin/contracts", "admin.contracts.title", d, err)
	}
	return c.Redirect("/admin/contracts/"+url.PathEscape(ct.Code)+"?added=contract", fiber.StatusSeeOther)
}

// adminContractData is a contract's page: its tariff versions (newest first), its cost-share
// rules as a timeline and as a table, and the names of the services and organizations named.
type adminContractData struct {
	Contract *contracts.Contract
	Versions []adminVersion
	Rules    []adminRule
	Timeline adminTimeline
	Services map[string]string
	Orgs     map[string]string
}

// adminVersion is a tariff version as the page shows it, its figures written in the reader's
// format.
type adminVersion struct {
	Version       int
	EffectiveFrom trcledger.Date
	LastDay       *trcledger.Date // the day before EffectiveTo: periods are shown with their last day
	PointValue    string
	Items         []adminItemView
}

type adminItemView struct {
	ServiceCode, Method, Amount, MaxQuantity, VAT string
}

// adminPlaces is how many decimals to show of d: at least min, at most 4.
func adminPlaces(d decimal.Decimal, least int32) int32 {
	return min(max(int32(min(trcledger.DecimalPlaces(d), 4)), least), 4) //nolint:gosec // at most 4
}

func adminVersionView(tr i18n.Translator, v contracts.TariffVersion, currency string) adminVersion {
	out := adminVersion{Version: v.Version, EffectiveFrom: v.EffectiveFrom, LastDay: adminLastDay(v.EffectiveTo)}
	if v.PointValue != nil {
		out.PointValue = tr.Number(*v.PointValue, adminPlaces(*v.PointValue, 2)) + "\u00a0" + adminUnit(tr, currency)
	}
	for _, it := range v.Items {
		iv := adminItemView{ServiceCode: it.ServiceCode, Method: it.Method,
			VAT: tr.Number(it.VATRate, adminPlaces(it.VATRate, 0)) + "\u00a0%"}
		switch {
		case it.Price != nil:
			iv.Amount = tr.Number(*it.Price, adminPlaces(*it.Price, 2)) + "\u00a0" + adminUnit(tr, currency)
		case it.Points != nil:
			iv.Amount = tr.T("admin.tariff.points", tr.Number(*it.Points, adminPlaces(*it.Points, 0)))
		}
		if it.MaxQuantity != nil {
			iv.MaxQuantity = tr.Number(*it.MaxQuantity, adminPlaces(*it.MaxQuantity, 0))
		}
		out.Items = append(out.Items, iv)
	}
	return out
}

// adminUnit is how the currency is written after an amount (KM for BAM).
func adminUnit(tr i18n.Translator, currency string) string {
	s := tr.Money(decimal.Zero, currency)
	_, unit, _ := strings.Cut(s, "\u00a0")
	return unit
}

// adminLastDay is the last day of a period that ends before to (nil: open).
func adminLastDay(to *trcledger.Date) *trcledger.Date {
	if to == nil {
		return nil
	}
	d := to.AddDays(-1)
	return &d
}

// adminRule is a cost-share rule as the table shows it.
type adminRule struct {
	contracts.CostShareRule
	LastDay *trcledger.Date
	Scope   string
	Shares  string
}

func (a *app) adminLoadContract(c *fiber.Ctx) (*contracts.Contract, error) {
	return a.cfg.Contracts.FindContractByCode(c.UserContext(), strings.Clone(c.Params("code")))
}

// adminNames returns the names of the services and of the organizations, by code.
func (a *app) adminNames(c *fiber.Ctx) (map[string]string, map[string]string, error) {
	services, err := a.cfg.Contracts.ListServices(c.UserContext())
	if err != nil {
		return nil, nil, err
	}
	orgs, err := a.cfg.Contracts.ListOrganizations(c.UserContext(), contracts.OrganizationFilter{})
	if err != nil {
		return nil, nil, err
	}
	sn, on := map[string]string{}, map[string]string{}
	for _, s := range services {
		sn[s.Code] = s.Name
	}
	for _, o := range orgs {
		on[o.Code] = o.Name
	}
	return sn, on, nil
}

func (a *app) adminContract(c *fiber.Ctx) error {
	ct, err := a.adminLoadContract(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	versions, err := a.cfg.Contracts.ListTariffVersions(ctx, ct.Code)
	if err != nil {
		return err
	}
	rules, err := a.cfg.Contracts.ListCostShareRules(ctx, ct.Code)
	if err != nil {
		return err
	}
	sn, on, err := a.adminNames(c)
	if err != nil {
		return err
	}
	slices.Reverse(versions)
	tr := tr(c)
	d := adminContractData{Contract: ct, Services: sn, Orgs: on,
		Timeline: adminDrawTimeline(tr, ct, rules, on, trcledger.Today(time.Now()))}
	for _, v := range versions {
		d.Versions = append(d.Versions, adminVersionView(tr, v, ct.Currency))
	}
	for _, r := range rules {
		d.Rules = append(d.Rules, adminRule{CostShareRule: r, LastDay: adminLastDay(r.EffectiveTo), Scope: adminScope(tr, r), Shares: adminShares(tr, r.Shares)})
	}
	v := view{Title: "admin.contract.title", Data: d}
	switch c.Query("added") {
	case "contract":
		v.Flash = tr.T("admin.contract.added")
	case "tariff":
		v.Flash = tr.T("admin.tariff.added")
	case "rule":
		v.Flash = tr.T("admin.rule.added")
	}
	return a.renderView(c, "admin/contract", v)
}

// adminScope names what a rule covers: its service category, beneficiary category and site,
// or every line the contract's other rules leave.
func adminScope(tr i18n.Translator, r contracts.CostShareRule) string {
	var parts []string
	if r.ServiceCategory != nil {
		parts = append(parts, tr.T("admin.category."+*r.ServiceCategory))
	}
	if r.BeneficiaryCategory != nil {
		parts = append(parts, tr.T("admin.beneficiary."+*r.BeneficiaryCategory))
	}
	if r.SiteCode != nil {
		parts = append(parts, *r.SiteCode)
	}
	if len(parts) == 0 {
		return tr.T("admin.rule.any_scope")
	}
	return strings.Join(parts, " · ")
}

// adminShares writes a rule's shares: ZZO-USK 30 % · IOM 70 %.
func adminShares(tr i18n.Translator, shares []contracts.Share) string {
	parts := make([]string, len(shares))
	for i, s := range shares {
		parts[i] = s.PayerCode + " " + adminPercent(tr, s.BasisPoints)
	}
	return strings.Join(parts, " · ")
}

// adminTimeline is the cost-share schedule drawn as SVG: one lane per scope, a bar per rule
// over its effective period, the bar divided by the payers' shares.
type adminTimeline struct {
	Width, Height, Left, Right float64
	Lanes                      []adminLane
	Ticks                      []adminTick
	Today                      *adminTick
	Legend                     []adminLegend
	Span                       string
}

type adminLane struct {
	Y, Mid float64
	Label  string
	Bars   []adminBar
}

type adminBar struct {
	X, Y, W, H float64
	Title      string
	Open       bool
	Segments   []adminSegment
}

type adminSegment struct {
	X, Y, W, H, TextX, TextY float64
	Fill, Text               string
}

type adminTick struct {
	X     float64
	Label string
}

type adminLegend struct {
	Code, Name, Fill string
}

// adminPalette are the payers' colours; white text on each has a contrast of at least 4.5:1.
var adminPalette = []string{"#0b5394", "#1e6b34", "#8a5300", "#6a1b9a", "#a4161a", "#00695c", "#37474f", "#5d4037"}

const (
	tlWidth   = 1000.0
	tlLeft    = 230.0
	tlRight   = 950.0
	tlTop     = 34.0
	tlLaneH   = 64.0
	tlBarH    = 50.0
	tlCharW   = 7.2 // an estimate of a character's width at 12 px, to decide whether a label fits
	tlMinText = 14.0
)

// adminHalfYear returns the first day of d's half-year (January or July), or of the next one.
func adminHalfYear(d trcledger.Date, next bool) trcledger.Date {
	t := d.Time()
	m := time.January
	if t.Month() >= time.July {
		m = time.July
	}
	start := trcledger.NewDate(t.Year(), m, 1)
	if next && start.Before(d) {
		return trcledger.DateOf(start.Time().AddDate(0, 6, 0))
	}
	return start
}

func adminDrawTimeline(tr i18n.Translator, ct *contracts.Contract, rules []contracts.CostShareRule, orgs map[string]string, today trcledger.Date) adminTimeline {
	tl := adminTimeline{Width: tlWidth, Left: tlLeft, Right: tlRight}
	from, to := ct.ValidFrom, today.AddDays(1)
	if ct.ValidTo != nil && ct.ValidTo.AddDays(1).After(to) {
		to = ct.ValidTo.AddDays(1)
	}
	payers := []string{}
	for _, r := range rules {
		if r.EffectiveFrom.Before(from) {
			from = r.EffectiveFrom
		}
		if r.EffectiveTo != nil && r.EffectiveTo.After(to) {
			to = *r.EffectiveTo
		}
		if end := trcledger.DateOf(r.EffectiveFrom.Time().AddDate(0, 6, 0)); end.After(to) {
			to = end
		}
		for _, s := range r.Shares {
			if !slices.Contains(payers, s.PayerCode) {
				payers = append(payers, s.PayerCode)
			}
		}
	}
	from, to = adminHalfYear(from, false), adminHalfYear(to, true)
	tl.Span = tr.T("admin.timeline.span", tr.Date(from), tr.Date(to.AddDays(-1)))
	slices.Sort(payers)
	fill := map[string]string{}
	for i, p := range payers {
		fill[p] = adminPalette[i%len(adminPalette)]
		tl.Legend = append(tl.Legend, adminLegend{Code: p, Name: orgs[p], Fill: fill[p]})
	}
	days := to.Time().Sub(from.Time()).Hours() / 24
	x := func(d trcledger.Date) float64 {
		return tlLeft + (tlRight-tlLeft)*(d.Time().Sub(from.Time()).Hours()/24)/days
	}
	step := 6
	if days > 5*366 {
		step = 12
	}
	for t := from.Time(); !t.After(to.Time()); t = t.AddDate(0, step, 0) {
		tl.Ticks = append(tl.Ticks, adminTick{X: x(trcledger.DateOf(t)), Label: tr.Month(t.Format("2006-01"))})
	}
	if !today.Before(from) && today.Before(to) {
		tl.Today = &adminTick{X: x(today), Label: tr.T("admin.timeline.today")}
	}
	for i := range tl.Ticks { // the last label would stand beyond the edge: its line is enough
		if tl.Ticks[i].X > tlWidth-35 {
			tl.Ticks[i].Label = ""
		}
	}
	// One lane per scope, the rule without scope first, then the most general.
	type laneKey struct {
		label       string
		specificity int
	}
	var keys []laneKey
	lanes := map[string][]contracts.CostShareRule{}
	for _, r := range rules {
		label := adminScope(tr, r)
		if _, ok := lanes[label]; !ok {
			n := 0
			for _, p := range []*string{r.ServiceCategory, r.BeneficiaryCategory, r.SiteCode} {
				if p != nil {
					n++
				}
			}
			keys = append(keys, laneKey{label, n})
		}
		lanes[label] = append(lanes[label], r)
	}
	slices.SortStableFunc(keys, func(a, b laneKey) int { return a.specificity - b.specificity })
	for i, k := range keys {
		y := tlTop + float64(i)*tlLaneH
		lane := adminLane{Y: y, Mid: y + tlLaneH/2 + 4, Label: k.label}
		for _, r := range lanes[k.label] {
			end := to
			if r.EffectiveTo != nil {
				end = *r.EffectiveTo
			}
			bar := adminBar{X: x(r.EffectiveFrom), Y: y + (tlLaneH-tlBarH)/2, H: tlBarH, Open: r.EffectiveTo == nil}
			bar.W = max(x(end)-bar.X, 2)
			period := tr.T("admin.timeline.period", tr.Date(r.EffectiveFrom), tr.Date(end.AddDays(-1)))
			if bar.Open {
				period = tr.T("admin.timeline.open_period", tr.Date(r.EffectiveFrom))
			}
			bar.Title = k.label + ": " + period + ": " + adminShares(tr, r.Shares)
			sy := bar.Y
			for _, s := range r.Shares {
				h := tlBarH * float64(s.BasisPoints) / 10000
				seg := adminSegment{X: bar.X, W: bar.W, Y: sy, H: h, TextX: bar.X + 5, TextY: sy + h/2 + 4, Fill: fill[s.PayerCode]}
				long := s.PayerCode + " " + adminPercent(tr, s.BasisPoints)
				short := adminPercent(tr, s.BasisPoints)
				switch {
				case h < tlMinText:
				case float64(len([]rune(long)))*tlCharW+8 <= bar.W:
					seg.Text = long
				case float64(len([]rune(short)))*tlCharW+8 <= bar.W:
					seg.Text = short
				}
				bar.Segments = append(bar.Segments, seg)
				sy += h
			}
			lane.Bars = append(lane.Bars, bar)
		}
		tl.Lanes = append(tl.Lanes, lane)
	}
	tl.Height = tlTop + float64(len(tl.Lanes))*tlLaneH + 8
	return tl
}

// adminItemRow is one row of the tariff form: a service and its price or points.
type adminItemRow struct {
	Index                                        int
	ServiceCode, Method, Value, MaxQuantity, VAT string
	Errors                                       map[string]string
}

type adminTariffData struct {
	Contract *contracts.Contract
	Latest   *contracts.TariffVersion
	Form     map[string]string
	Rows     []adminItemRow
	Services []contracts.Service
	Vocab    adminVocab
}

const adminBlankRows = 3

func (a *app) adminTariffData(c *fiber.Ctx, ct *contracts.Contract) (adminTariffData, error) {
	services, err := a.cfg.Contracts.ListServices(c.UserContext())
	if err != nil {
		return adminTariffData{}, err
	}
	return adminTariffData{Contract: ct, Services: services, Vocab: adminVocabulary, Form: map[string]string{}}, nil
}

// adminTariffForm offers a new tariff version filled in with the items of the latest one, to
// amend, and a few empty rows for services to add.
func (a *app) adminTariffForm(c *fiber.Ctx) error {
	ct, err := a.adminLoadContract(c)
	if err != nil {
		return err
	}
	d, err := a.adminTariffData(c, ct)
	if err != nil {
		return err
	}
	versions, err := a.cfg.Contracts.ListTariffVersions(c.UserContext(), ct.Code)
	if err != nil {
		return err
	}
	tr := tr(c)
	if len(versions) > 0 {
		d.Latest = &versions[len(versions)-1]
		d.Form["point_value"] = adminDecimalText(tr, d.Latest.PointValue)
		for _, it := range d.Latest.Items {
			val := it.Price
			if it.Method == "points" {
				val = it.Points
			}
			vat := it.VATRate
			d.Rows = append(d.Rows, adminItemRow{ServiceCode: it.ServiceCode, Method: it.Method, Value: adminDecimalText(tr, val),
				MaxQuantity: adminDecimalText(tr, it.MaxQuantity), VAT: adminDecimalText(tr, &vat)})
		}
	}
	for range adminBlankRows {
		d.Rows = append(d.Rows, adminItemRow{Method: "fixed"})
	}
	for i := range d.Rows {
		d.Rows[i].Index = i
	}
	return a.render(c, "admin/tariff", "admin.tariff.title", d)
}

// adminRowCount reads the number of rows a form says it has, at most limit.
func adminRowCount(c *fiber.Ctx, limit int) int {
	n, _ := strconv.Atoi(c.FormValue("rows"))
	return min(max(n, 0), limit)
}

// adminRenumber moves the field errors of the filled-in rows (items[k] of the request) back to
// the rows of the form (items[rows[k]]).
func adminRenumber(err error, prefix string, rows []int) error {
	var e *trcledger.Error
	if !errors.As(err, &e) {
		return err
	}
	for i, f := range e.Fields {
		var k int
		var rest string
		if n, _ := fmt.Sscanf(f.Field, prefix+"[%d]%s", &k, &rest); n >= 1 && k < len(rows) {
			e.Fields[i].Field = fmt.Sprintf("%s[%d]%s", prefix, rows[k], rest)
		}
	}
	return e
}

func (a *app) adminAddTariff(c *fiber.Ctx) error {
	ct, err := a.adminLoadContract(c)
	if err != nil {
		return err
	}
	d, err := a.adminTariffData(c, ct)
	if err != nil {
		return err
	}
	d.Form = adminFormValues(c, "effective_from", "effective_to", "point_value")
	var f trcledger.Fields
	v := contracts.TariffVersion{PointValue: adminDecimal(&f, "point_value", d.Form["point_value"])}
	if from := adminDate(&f, "effective_from", d.Form["effective_from"], true); from != nil {
		v.EffectiveFrom = *from
	}
	v.EffectiveTo = adminDate(&f, "effective_to", d.Form["effective_to"], false)
	var rows []int
	var items trcledger.Fields // the rows' own errors, by row
	for i := range adminRowCount(c, 500+adminBlankRows) {
		p := fmt.Sprintf("items[%d]", i)
		r := adminItemRow{Index: i}
		vals := adminFormValues(c, p+".service_code", p+".method", p+".value", p+".max_quantity", p+".vat_rate")
		r.ServiceCode, r.Method, r.Value, r.MaxQuantity, r.VAT = vals[p+".service_code"], vals[p+".method"], vals[p+".value"], vals[p+".max_quantity"], vals[p+".vat_rate"]
		d.Rows = append(d.Rows, r)
		if r.ServiceCode == "" && r.Value == "" && r.MaxQuantity == "" {
			continue // an empty row
		}
		it := contracts.TariffItem{ServiceCode: r.ServiceCode, Method: r.Method, MaxQuantity: adminDecimal(&items, p+".max_quantity", r.MaxQuantity)}
		val := adminDecimal(&items, p+".value", r.Value)
		if r.Method == "points" {
			it.Points = val
		} else {
			it.Price = val
		}
		if vat := adminDecimal(&items, p+".vat_rate", r.VAT); vat != nil {
			it.VATRate = *vat
		}
		rows = append(rows, i)
		v.Items = append(v.Items, it)
	}
	f.Merge("", items.List())
	if !f.Has("effective_from") {
		_ = f.MergeErr(adminRenumber(v.Validate(), "items", rows))
	}
	refs := make([]contracts.Ref, len(v.Items))
	for k, it := range v.Items {
		refs[k] = contracts.Ref{Field: fmt.Sprintf("items[%d].service_code", rows[k]), Kind: "service", Code: it.ServiceCode}
	}
	if err := f.MergeErr(a.cfg.Contracts.CheckRefs(c.UserContext(), refs)); err != nil {
		return err
	}
	err = f.Err()
	if err == nil {
		_, err = a.cfg.Contracts.AddTariffVersion(c.UserContext(), ct.Code, v)
		err = adminRenumber(err, "items", rows)
	}
	if err != nil {
		errs, problem, status, err := adminErrors(c, err)
		if err != nil {
			return err
		}
		for i := range d.Rows {
			d.Rows[i].Errors = adminRowErrors(errs, fmt.Sprintf("items[%d]", i), map[string]string{"price": "value", "points": "value"})
		}
		c.Status(status)
		return a.renderView(c, "admin/tariff", view{Title: "admin.tariff.title", Data: d, Errors: errs, Problem: problem})
	}
	return c.Redirect("/admin/contracts/"+url.PathEscape(ct.Code)+"?added=tariff", fiber.StatusSeeOther)
}

// adminRowErrors picks the messages of one row (prefix.field), under the row's column names
// (alias maps a field to the column that shows it).
func adminRowErrors(errs map[string]string, prefix string, alias map[string]string) map[string]string {
	out := map[string]string{}
	for k, msg := range errs {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		if a, ok := alias[rest]; ok {
			rest = a
		}
		if _, dup := out[rest]; !dup {
			out[rest] = msg
		}
	}
	return out
}

// adminShareRow is one row of the cost-share form: a payer and its share in percent.
type adminShareRow struct {
	Index              int
	PayerCode, Percent string
	Errors             map[string]string
}

type adminRuleData struct {
	Contract *contracts.Contract
	Form     map[string]string
	Rows     []adminShareRow
	Payers   []contracts.Organization
	Sites    []contracts.Site
	Vocab    adminVocab
}

const adminShareRows = 4

func (a *app) adminRuleData(c *fiber.Ctx, ct *contracts.Contract) (adminRuleData, error) {
	payers, err := a.cfg.Contracts.ListOrganizations(c.UserContext(), contracts.OrganizationFilter{Kind: "payer"})
	if err != nil {
		return adminRuleData{}, err
	}
	sites, err := a.cfg.Contracts.ListSites(c.UserContext())
	if err != nil {
		return adminRuleData{}, err
	}
	return adminRuleData{Contract: ct, Payers: payers, Sites: sites, Vocab: adminVocabulary, Form: map[string]string{}}, nil
}

func (a *app) adminRuleForm(c *fiber.Ctx) error {
	ct, err := a.adminLoadContract(c)
	if err != nil {
		return err
	}
	d, err := a.adminRuleData(c, ct)
	if err != nil {
		return err
	}
	for i := range adminShareRows {
		d.Rows = append(d.Rows, adminShareRow{Index: i})
	}
	return a.render(c, "admin/rule", "admin.rule.title", d)
}

var adminRuleFields = []string{"effective_from", "effective_to", "service_category", "beneficiary_category", "site_code"}

// adminBasisPoints reads a share typed in percent (30, 12,5) as basis points.
func adminBasisPoints(f *trcledger.Fields, field, v string) int {
	d := adminDecimal(f, field, v)
	if d == nil {
		return -1
	}
	bp := d.Mul(decimal.NewFromInt(100))
	if !bp.IsInteger() {
		f.Add(field, adminPercentProblem)
		return -1
	}
	if bp.LessThan(decimal.NewFromInt(-1)) || bp.GreaterThan(decimal.NewFromInt(1_000_000)) {
		return -1
	}
	return int(bp.IntPart())
}

func (a *app) adminAddRule(c *fiber.Ctx) error {
	ct, err := a.adminLoadContract(c)
	if err != nil {
		return err
	}
	d, err := a.adminRuleData(c, ct)
	if err != nil {
		return err
	}
	d.Form = adminFormValues(c, adminRuleFields...)
	var f trcledger.Fields
	r := contracts.CostShareRule{ServiceCategory: adminOptional(d.Form["service_category"]),
		BeneficiaryCategory: adminOptional(d.Form["beneficiary_category"]), SiteCode: adminOptional(d.Form["site_code"])}
	if from := adminDate(&f, "effective_from", d.Form["effective_from"], true); from != nil {
		r.EffectiveFrom = *from
	}
	r.EffectiveTo = adminDate(&f, "effective_to", d.Form["effective_to"], false)
	var rows []int
	var shares trcledger.Fields
	for i := range adminRowCount(c, 20) {
		p := fmt.Sprintf("shares[%d]", i)
		vals := adminFormValues(c, p+".payer_code", p+".percent")
		row := adminShareRow{Index: i, PayerCode: vals[p+".payer_code"], Percent: vals[p+".percent"]}
		d.Rows = append(d.Rows, row)
		if row.PayerCode == "" && row.Percent == "" {
			continue
		}
		bp := -1
		if row.Percent == "" {
			shares.Add(p+".basis_points", "is required")
		} else {
			bp = adminBasisPoints(&shares, p+".basis_points", row.Percent)
		}
		rows = append(rows, i)
		r.Shares = append(r.Shares, contracts.Share{PayerCode: row.PayerCode, BasisPoints: bp})
	}
	f.Merge("", shares.List())
	if !f.Has("effective_from") {
		if err := r.Validate(); err != nil {
			// A share already refused for its typed value is not refused again for its range.
			var e *trcledger.Error
			_ = errors.As(adminRenumber(err, "shares", rows), &e) // Validate returns only *trcledger.Error
			for _, fe := range e.Fields {
				if !f.Has(fe.Field) {
					f.Merge("", []trcledger.FieldError{fe})
				}
			}
		}
	}
	refs := []contracts.Ref{{Field: "site_code", Kind: "site", Code: d.Form["site_code"]}}
	for k, s := range r.Shares {
		refs = append(refs, contracts.Ref{Field: fmt.Sprintf("shares[%d].payer_code", rows[k]), Kind: "payer", Code: s.PayerCode})
	}
	if err := f.MergeErr(a.cfg.Contracts.CheckRefs(c.UserContext(), refs)); err != nil {
		return err
	}
	err = f.Err()
	if err == nil {
		_, err = a.cfg.Contracts.AddCostShareRule(c.UserContext(), ct.Code, r)
		err = adminRenumber(err, "shares", rows)
	}
	if err != nil {
		errs, problem, status, err := adminErrors(c, err)
		if err != nil {
			return err
		}
		for i := range d.Rows {
			d.Rows[i].Errors = adminRowErrors(errs, fmt.Sprintf("shares[%d]", i), map[string]string{"basis_points": "percent"})
		}
		c.Status(status)
		return a.renderView(c, "admin/rule", view{Title: "admin.rule.title", Data: d, Errors: errs, Problem: problem})
	}
	return c.Redirect("/admin/contracts/"+url.PathEscape(ct.Code)+"?added=rule", fiber.StatusSeeOther)
}
