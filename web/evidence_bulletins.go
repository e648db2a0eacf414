package web

import (
	"bytes"
	"errors"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/web/i18n"
)

// bulletinPages lists the pages of monthly bulletins and how each fund keeps up.
func (a *app) bulletinPages() []page {
	return []page{
		{Method: "GET", Path: "/finance/bulletins", Roles: financeOnly, Nav: "finance.bulletin.nav", Handler: a.bulletinList},
		{Method: "POST", Path: "/finance/bulletins", Roles: financeOnly, Handler: a.bulletinPublish},
		{Method: "GET", Path: "/finance/bulletins/:period", Roles: financeOnly, Handler: a.bulletinShow},
		{Method: "GET", Path: "/finance/bulletins/:period/export.pdf", Roles: financeOnly, Handler: a.bulletinPDF},
		{Method: "GET", Path: "/finance/payers", Roles: financeOnly, Nav: "finance.payers.nav", Handler: a.payerReport("/finance/payers")},
		{Method: "GET", Path: "/review/payers", Roles: reviewerOnly, Nav: "review.payers.nav", Handler: a.payerReport("/review/payers")},
	}
}

// bulletins is the bulletins service on the pages' reports and journal.
func (a *app) bulletins() *reports.Bulletins {
	return reports.NewBulletins(a.cfg.Reports, a.cfg.Journal, time.Now)
}

// bulListView is the list of published bulletins and the form that publishes one.
type bulListView struct {
	Period string
	Items  []reports.BulletinSummary
}

func (a *app) bulletinList(c *fiber.Ctx) error {
	return a.renderBulletinList(c, previousMonth(time.Now()), nil, "")
}

func previousMonth(now time.Time) string {
	t := trcledger.Today(now).Time()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0).Format("2006-01")
}

func (a *app) renderBulletinList(c *fiber.Ctx, period string, errs map[string]string, problem string) error {
	items, err := a.bulletins().List(c.UserContext())
	if err != nil {
		return err
	}
	return a.renderView(c, "evidence/bul_list", view{Title: "finance.bulletin.title", Data: bulListView{Period: period, Items: items}, Errors: errs, Problem: problem})
}

// bulletinPublish publishes the month of the form, then shows it; a bad month answers 422 next
// to the field, a month published already 409.
func (a *app) bulletinPublish(c *fiber.Ctx) error {
	period := strings.TrimSpace(c.FormValue("period"))
	b, err := a.bulletins().Publish(c.UserContext(), period)
	if err != nil {
		if errs, ferr := fieldErrors(c, err); ferr == nil {
			c.Status(fiber.StatusUnprocessableEntity)
			return a.renderBulletinList(c, period, errs, tr(c).T("common.form_has_errors"))
		}
		var e *trcledger.Error
		if errors.As(err, &e) && e.Code == trcledger.ECONFLICT {
			c.Status(fiber.StatusConflict)
			return a.renderBulletinList(c, period, map[string]string{"period": tr(c).T("finance.bulletin.exists")}, tr(c).T("finance.bulletin.exists"))
		}
		return err
	}
	return c.Redirect("/finance/bulletins/"+b.Period+"?published=1", fiber.StatusSeeOther)
}

// bulFigure is one figure of the month's totals: published, now, and the difference.
type bulFigure struct {
	Key                  string // catalogue key of its name
	Published, Now, Diff decimal.Decimal
	Places               int32
	Percent, Hidden      bool // a percentage; a suppressed count
}

// bulShowView is one bulletin: its head, the month's figures published and now, the chart, and
// every row that changed.
type bulShowView struct {
	B        *reports.Bulletin
	Currency string
	Figures  []bulFigure
	Chart    template.HTML
	Verify   *reports.BulletinVerification
	Groups   []bulGroup
}

// bulGroup is the published rows of one grouping with their restated figures.
type bulGroup struct {
	Grouping string
	Rows     []bulRow
}

type bulRow struct {
	Name                 string
	Published, Now, Diff decimal.Decimal
	Changed              bool
}

func (a *app) bulletinShow(c *fiber.Ctx) error {
	period := c.Params("period")
	if !claims.PeriodPattern.MatchString(period) {
		return a.errorPage(c, fiber.StatusNotFound, "common.error.not_found")
	}
	bl := a.bulletins()
	b, err := bl.Get(c.UserContext(), period)
	if err != nil {
		return err
	}
	v := bulShowView{B: b, Currency: "BAM"}
	if c.Query("verify") != "" {
		if v.Verify, err = bl.Verify(c.UserContext(), period); err != nil {
			return err
		}
	}
	pub := monthRow(b.Items)
	now := pub
	if b.Restated != nil {
		now = monthRow(b.Restated.Items)
	}
	if pub != nil {
		v.Currency = pub.Currency
	}
	v.Figures = bulFigures(pub, now)
	chart, err := bulletinChart(tr(c), v.Figures)
	if err != nil {
		return err
	}
	v.Chart = chart
	v.Groups = bulGroups(b)
	vw := view{Title: "finance.bulletin.show_title", Data: v}
	if c.Query("published") != "" {
		vw.Flash = tr(c).T("finance.bulletin.published_flash")
	}
	return a.renderView(c, "evidence/bul_show", vw)
}

// monthRow is the first row of the month's totals (in BAM when there is one), or nil.
func monthRow(rows []reports.BulletinRow) *reports.BulletinRow {
	var out *reports.BulletinRow
	for i := range rows {
		if rows[i].Grouping == "" && (out == nil || rows[i].Currency == "BAM") {
			out = &rows[i]
		}
	}
	return out
}

func bulFigures(pub, now *reports.BulletinRow) []bulFigure {
	get := func(r *reports.BulletinRow, key string) (decimal.Decimal, bool) {
		if r == nil {
			return decimal.Zero, false
		}
		switch key {
		case "total":
			return r.Total.Decimal, false
		case "state_fund":
			return r.ByPayerType.StateFund.Decimal, false
		case "government":
			return r.ByPayerType.Government.Decimal, false
		case "donor":
			return r.ByPayerType.Donor.Decimal, false
		case "international":
			return r.ByPayerType.International.Decimal, false
		case "state_share":
			d, _ := decimal.NewFromString(r.StateShare)
			return d, false
		case "encounters":
			if r.Encounters == nil {
				return decimal.Zero, true
			}
			return decimal.NewFromInt(int64(*r.Encounters)), false
		case "patients":
			if r.Patients == nil {
				return decimal.Zero, true
			}
			return decimal.NewFromInt(int64(*r.Patients)), false
		}
		return decimal.Zero, false
	}
	var out []bulFigure
	for _, k := range []string{"total", "state_fund", "government", "donor", "international", "state_share", "encounters", "patients"} {
		p, hp := get(pub, k)
		n, hn := get(now, k)
		f := bulFigure{Key: "finance.bulletin.figure." + k, Published: p, Now: n, Diff: n.Sub(p), Places: 2, Percent: k == "state_share", Hidden: hp || hn}
		if k == "encounters" || k == "patients" {
			f.Places = 0
		}
		out = append(out, f)
	}
	return out
}

// bulGroups lists, per grouping, each published row's total beside the total now.
func bulGroups(b *reports.Bulletin) []bulGroup {
	now := map[string]decimal.Decimal{}
	key := func(r reports.BulletinRow) string {
		g := ""
		if r.Group != nil {
			g = *r.Group
		}
		return r.Grouping + "\x00" + g + "\x00" + r.Currency
	}
	if b.Restated != nil {
		for _, r := range b.Restated.Items {
			now[key(r)] = r.Total.Decimal
		}
	}
	var out []bulGroup
	for _, g := range reports.BulletinGroupings[1:] {
		grp := bulGroup{Grouping: g}
		for _, r := range b.Items {
			if r.Grouping != g {
				continue
			}
			row := bulRow{Name: deref(r.Group), Published: r.Total.Decimal, Now: r.Total.Decimal}
			if b.Restated != nil {
				row.Now = now[key(r)]
			}
			row.Diff = row.Now.Sub(row.Published)
			row.Changed = !row.Diff.IsZero()
			grp.Rows = append(grp.Rows, row)
		}
		out = append(out, grp)
	}
	return out
}

// bulletinChart draws the money figures of the month: per payer type a bar of what was
// published and one of what the month holds now, on one scale; the table beside it has the
// same figures.
func bulletinChart(tr i18n.Translator, figures []bulFigure) (template.HTML, error) {
	type bar struct {
		Y, Y2, PubW, NowW, LabelY string
		Label, Pub, Now           string
	}
	var money []bulFigure
	top := decimal.NewFromInt(1)
	for _, f := range figures {
		if f.Percent || f.Places == 0 {
			continue
		}
		money = append(money, f)
		top = decimal.Max(top, f.Published, f.Now)
	}
	const left, width, rowH = 170.0, 420.0, 54.0
	var bars []bar
	for i, f := range money {
		y := 40 + float64(i)*rowH
		w := func(d decimal.Decimal) string {
			v, _ := d.Div(top).Float64()
			return finPx(v * width)
		}
		bars = append(bars, bar{Y: finPx(y), Y2: finPx(y + 22), PubW: w(f.Published), NowW: w(f.Now), LabelY: finPx(y + 25),
			Label: tr.T(f.Key), Pub: tr.Number(f.Published, 2), Now: tr.Number(f.Now, 2)})
	}
	d := map[string]any{"Bars": bars, "Left": finPx(left), "TextX": finPx(left - 8), "H": finPx(40 + float64(len(money))*rowH + 10),
		"Title": tr.T("finance.bulletin.chart_title"), "Published": tr.T("finance.bulletin.published"), "Now": tr.T("finance.bulletin.now")}
	var buf bytes.Buffer
	if err := bulChartTemplate.Execute(&buf, d); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil //nolint:gosec // rendered by html/template
}

var bulChartTemplate = template.Must(template.New("bulchart").Parse(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="bulletin-chart" viewBox="0 0 720 {{.H}}" role="img" aria-labelledby="bulletin-chart-title" font-family="system-ui, sans-serif" font-size="14">
<title id="bulletin-chart-title">{{.Title}}</title>
<rect x="170" y="8" width="14" height="14" fill="#0b5394"/><text x="190" y="20">{{.Published}}</text>
<rect x="330" y="8" width="14" height="14" fill="#a65f00"/><text x="350" y="20">{{.Now}}</text>
{{range .Bars}}<g class="bar-pair">
<text x="{{$.TextX}}" y="{{.LabelY}}" text-anchor="end">{{.Label}}</text>
<rect x="{{$.Left}}" y="{{.Y}}" width="{{.PubW}}" height="18" fill="#0b5394" data-figure="published"><title>{{$.Published}}: {{.Pub}}</title></rect>
<rect x="{{$.Left}}" y="{{.Y2}}" width="{{.NowW}}" height="18" fill="#a65f00" data-figure="now"><title>{{$.Now}}: {{.Now}}</title></rect>
</g>{{end}}
</svg>`))

// bulletinPDF sends the bulletin as a PDF in the reader's language.
func (a *app) bulletinPDF(c *fiber.Ctx) error {
	period := c.Params("period")
	if !claims.PeriodPattern.MatchString(period) {
		return a.errorPage(c, fiber.StatusNotFound, "common.error.not_found")
	}
	var buf bytes.Buffer
	if err := a.bulletins().ExportPDF(c.UserContext(), period, tr(c).Locale, &buf); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/pdf")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="bulletin-`+period+`.pdf"`)
	return c.Send(buf.Bytes())
}

// payersView is the payer report with its months.
type payersView struct {
	Action, From, To string
	Report           *reports.PayerReport
	Items            []payerRowView
}

// payerRowView is a payer's row with its percentages as numbers, to be written in the reader's
// locale.
type payerRowView struct {
	reports.PayerRow
	Rate        decimal.Decimal
	ReasonRates []decimal.Decimal
	BudgetUse   []decimal.Decimal
}

func bulPercent(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}

// payerReport shows how each fund keeps up (finance: every payer; a reviewer: their own, as the
// service decides). The months default to the last twelve.
func (a *app) payerReport(action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		now := time.Now()
		v := payersView{Action: action, From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to"))}
		if v.To == "" {
			v.To = trcledger.Today(now).Time().Format("2006-01")
		}
		if v.From == "" {
			if t, err := time.Parse("2006-01", v.To); err == nil {
				v.From = t.AddDate(0, -11, 0).Format("2006-01")
			}
		}
		title := "finance.payers.title"
		if strings.HasPrefix(action, "/review") {
			title = "review.payers.title"
		}
		rep, err := a.cfg.Reports.PayerReport(c.UserContext(), reports.PayerFilter{From: v.From, To: v.To})
		if err != nil {
			errs, ferr := fieldErrors(c, err)
			if ferr != nil {
				return ferr
			}
			c.Status(fiber.StatusUnprocessableEntity)
			return a.renderView(c, "evidence/bul_payers", view{Title: title, Data: v, Errors: errs})
		}
		v.Report = rep
		for _, r := range rep.Items {
			row := payerRowView{PayerRow: r, Rate: bulPercent(r.RejectionRate)}
			for _, x := range r.Rejections {
				row.ReasonRates = append(row.ReasonRates, bulPercent(x.Rate))
			}
			for _, b := range r.Budget {
				row.BudgetUse = append(row.BudgetUse, bulPercent(b.UsePercent))
			}
			v.Items = append(v.Items, row)
		}
		return a.renderView(c, "evidence/bul_payers", view{Title: title, Data: v})
	}
}
