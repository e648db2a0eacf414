package web

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/web/i18n"
)

// finChartInput is what one transition chart shows: the months of its axis (every month of the
// range, with or without a row) and the report's rows of one group and currency.
type finChartInput struct {
	ID, Group, Currency string
	Months              []string
	Rows                []reports.TransitionRow
}

// finChartPayerTypes are the payer types stacked from the bottom up (the state's first, so that
// its growth reads from the axis), with their colours (each at least 3:1 against white).
var finChartPayerTypes = []struct{ Type, Colour string }{
	{"state_fund", "#1e6b34"},
	{"government", "#6a3d9a"},
	{"donor", "#a65f00"},
	{"international", "#0b5394"},
}

const finChartLineColour = "#a4161a"

// finAmountOf returns the amount of payer type t in p.
func finAmountOf(p reports.PayerTypeAmounts, t string) decimal.Decimal {
	switch t {
	case "international":
		return p.International.Decimal
	case "donor":
		return p.Donor.Decimal
	case "state_fund":
		return p.StateFund.Decimal
	case "government":
		return p.Government.Decimal
	}
	return decimal.Zero
}

// The chart's geometry, in the units of its viewBox.
const (
	finChartW, finChartH                = 720, 380
	finChartLeft, finChartRight         = 84, 56
	finChartTop, finChartBottom         = 72, 52
	finChartPlotW                       = finChartW - finChartLeft - finChartRight
	finChartPlotH                       = finChartH - finChartTop - finChartBottom
	finChartTicks                       = 4
	finChartMaxBar              float64 = 44
)

type finChartText struct {
	X, Y, Text, Anchor string
}

type finChartSegment struct {
	X, Y, W, H, Fill, Period, Type, Amount, Label string
}

type finChartDot struct {
	CX, CY, Label string
}

type finChartLegend struct {
	X, TextX, Y, Fill, Label string
	Line                     bool
}

type finChartMonth struct {
	X, Label, Year string
}

type finChartData struct {
	ID, Title, Desc string
	W, H            int
	Left, Right     string // x of the plot's edges
	Top, Bottom     string // y of the plot's edges
	Grid            []finChartText
	Percent         []finChartText
	Segments        []finChartSegment
	Lines           []string
	Dots            []finChartDot
	Months          []finChartMonth
	Legend          []finChartLegend
	AxisLabel       finChartText
	PercentLabel    finChartText
	LineColour      string
}

// finChartTemplate is the SVG of a transition chart. It is an html/template, so every label is
// escaped like any other text of a page; the SVG is drawn with presentation attributes only
// (the CSP allows no inline styles).
var finChartTemplate = template.Must(template.New("chart").Parse(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{{.ID}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-labelledby="{{.ID}}-title {{.ID}}-desc" font-family="system-ui, sans-serif" font-size="15">
<title id="{{.ID}}-title">{{.Title}}</title>
<desc id="{{.ID}}-desc">{{.Desc}}</desc>
<g class="legend" aria-hidden="true">{{range .Legend}}{{if .Line}}<line x1="{{.X}}" x2="{{.TextX}}" y1="{{.Y}}" y2="{{.Y}}" stroke="{{.Fill}}" stroke-width="3"/>{{else}}<rect x="{{.X}}" y="{{.Y}}" width="14" height="14" transform="translate(0,-7)" fill="{{.Fill}}"/>{{end}}<text x="{{.TextX}}" y="{{.Y}}" dx="4" dy="5" fill="#1b1f24">{{.Label}}</text>{{end}}</g>
<g class="grid" aria-hidden="true">{{range .Grid}}<line x1="{{$.Left}}" x2="{{$.Right}}" y1="{{.Y}}" y2="{{.Y}}" stroke="#c9d1d9" stroke-width="1"/><text x="{{.X}}" y="{{.Y}}" dy="4" text-anchor="end" fill="#4a5560">{{.Text}}</text>{{end}}{{range .Percent}}<text x="{{.X}}" y="{{.Y}}" dy="4" text-anchor="start" fill="{{$.LineColour}}">{{.Text}}</text>{{end}}
<text x="{{.AxisLabel.X}}" y="{{.AxisLabel.Y}}" text-anchor="{{.AxisLabel.Anchor}}" fill="#4a5560">{{.AxisLabel.Text}}</text><text x="{{.PercentLabel.X}}" y="{{.PercentLabel.Y}}" text-anchor="{{.PercentLabel.Anchor}}" fill="{{.LineColour}}">{{.PercentLabel.Text}}</text></g>
<g class="bars">{{range .Segments}}<rect class="segment" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Fill}}" data-period="{{.Period}}" data-payer-type="{{.Type}}" data-amount="{{.Amount}}"><title>{{.Label}}</title></rect>{{end}}</g>
<line class="axis" x1="{{.Left}}" x2="{{.Right}}" y1="{{.Bottom}}" y2="{{.Bottom}}" stroke="#1b1f24" stroke-width="1"/>
<g class="months" aria-hidden="true">{{range $m := .Months}}<text x="{{$m.X}}" y="{{$.Bottom}}" dy="18" text-anchor="middle" fill="#1b1f24">{{$m.Label}}</text>{{with $m.Year}}<text x="{{$m.X}}" y="{{$.Bottom}}" dy="34" text-anchor="middle" fill="#4a5560">{{.}}</text>{{end}}{{end}}</g>
<g class="share">{{range .Lines}}<polyline points="{{.}}" fill="none" stroke="{{$.LineColour}}" stroke-width="2.5" stroke-linejoin="round"/>{{end}}{{range .Dots}}<circle class="share-point" cx="{{.CX}}" cy="{{.CY}}" r="4" fill="#ffffff" stroke="{{$.LineColour}}" stroke-width="2"><title>{{.Label}}</title></circle>{{end}}</g>
</svg>`))

// finPx writes a coordinate with 2 decimals.
func finPx(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func finItoa(n int) string { return strconv.Itoa(n) }

// finNiceScale returns the top of the amount axis and its step: finChartTicks steps of 1, 2 or 5
// times a power of ten, the top at or above max (1 for an empty chart).
func finNiceScale(max float64) (top, step float64) {
	if max <= 0 || math.IsNaN(max) {
		return finChartTicks, 1
	}
	raw := max / finChartTicks
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * pow; step >= raw {
			break
		}
	}
	top = math.Ceil(max/step-1e-9) * step
	return top, step
}

// financeChart draws one group of the transition report as SVG: per month of in.Months a bar
// stacked from one segment per payer type (every type, a zero one included, with its amount in
// data-amount and its height proportional to it on a scale shared by the chart's bars), and the
// state's share in percent as a line on the right-hand axis. Months without a row of the report
// have no bar and break the line. Labels are in tr's language; the markup comes out of an
// html/template, so it is escaped as a page is.
func financeChart(tr i18n.Translator, in finChartInput) (template.HTML, error) {
	d := finChartData{ID: in.ID, W: finChartW, H: finChartH, LineColour: finChartLineColour,
		Left: finPx(finChartLeft), Right: finPx(finChartW - finChartRight), Top: finPx(finChartTop), Bottom: finPx(finChartTop + finChartPlotH)}
	byMonth := map[string]reports.TransitionRow{}
	max := 0.0
	total := decimal.Zero
	for _, r := range in.Rows {
		byMonth[r.Period] = r
		total = total.Add(r.Total.Decimal)
		if f := r.Total.InexactFloat64(); f > max {
			max = f
		}
	}
	top, step := finNiceScale(max)
	scale := finChartPlotH / top // viewBox units per currency unit
	bottom := float64(finChartTop + finChartPlotH)
	decimals := int32(0)
	if step < 1 {
		decimals = 2
	}
	for v := 0.0; v <= top+step/2; v += step {
		y := bottom - v*scale
		d.Grid = append(d.Grid, finChartText{X: finPx(finChartLeft - 8), Y: finPx(y), Text: tr.Number(decimal.NewFromFloat(v), decimals)})
	}
	for p := 0; p <= 100; p += 25 {
		d.Percent = append(d.Percent, finChartText{X: finPx(finChartW - finChartRight + 8), Y: finPx(bottom - float64(p)/100*finChartPlotH), Text: strconv.Itoa(p) + " %"})
	}
	unit := tr.Money(decimal.Zero, in.Currency)
	unit = unit[len(tr.Number(decimal.Zero, 2))+len(" "):]
	d.AxisLabel = finChartText{X: finPx(finChartLeft - 8), Y: finPx(finChartTop - 12), Text: unit, Anchor: "end"}
	d.PercentLabel = finChartText{X: finPx(finChartW - 4), Y: finPx(finChartTop - 12), Text: tr.T("finance.chart.state_share_axis"), Anchor: "end"}

	n := finMax1(len(in.Months))
	band := float64(finChartPlotW) / float64(n)
	barW := min(band*0.64, finChartMaxBar)
	var line []string
	every := (n + 11) / 12 // at most about twelve month labels
	for i, m := range in.Months {
		cx := finChartLeft + band*(float64(i)+0.5)
		t, _ := time.Parse("2006-01", m)
		if i%every == 0 || t.Month() == time.January {
			mo := finChartMonth{X: finPx(cx), Label: tr.T("finance.month_short." + strconv.Itoa(int(t.Month())))}
			if i == 0 || t.Month() == time.January {
				mo.Year = t.Format("2006")
			}
			d.Months = append(d.Months, mo)
		}
		r, ok := byMonth[m]
		if !ok {
			if len(line) > 0 {
				d.Lines = append(d.Lines, finJoinPoints(line))
				line = nil
			}
			continue
		}
		y := bottom
		for _, pt := range finChartPayerTypes {
			amount := finAmountOf(r.ByPayerType, pt.Type)
			h := amount.InexactFloat64() * scale
			y -= h
			d.Segments = append(d.Segments, finChartSegment{X: finPx(cx - barW/2), Y: finPx(y), W: finPx(barW), H: finPx(h), Fill: pt.Colour,
				Period: m, Type: pt.Type, Amount: amount.StringFixed(2),
				Label: tr.Month(m) + ": " + tr.T("finance.payer_type."+pt.Type) + " " + tr.Money(amount, r.Currency)})
		}
		share, _ := decimal.NewFromString(r.StateShare)
		sy := bottom - share.InexactFloat64()/100*finChartPlotH
		line = append(line, finPx(cx)+","+finPx(sy))
		d.Dots = append(d.Dots, finChartDot{CX: finPx(cx), CY: finPx(sy), Label: tr.Month(m) + ": " + tr.T("finance.chart.state_share") + " " + tr.Number(share, 2) + " %"})
	}
	if len(line) > 0 {
		d.Lines = append(d.Lines, finJoinPoints(line))
	}
	if len(line) == 1 && len(d.Lines) == 1 { // a lone month: its dot is the line
		d.Lines = nil
	}

	x, ly := float64(finChartLeft), 16.0
	add := func(fill, label string, line bool) {
		w := 22 + 10 + float64(len([]rune(label)))*8.4
		if x+w > finChartW-8 && x > finChartLeft {
			x, ly = finChartLeft, ly+20
		}
		d.Legend = append(d.Legend, finChartLegend{X: finPx(x), TextX: finPx(x + 18), Y: finPx(ly), Fill: fill, Label: label, Line: line})
		x += w
	}
	for _, pt := range finChartPayerTypes {
		add(pt.Colour, tr.T("finance.payer_type."+pt.Type), false)
	}
	add(finChartLineColour, tr.T("finance.chart.state_share"), true)

	first, last := "", ""
	if len(in.Months) > 0 {
		first, last = in.Months[0], in.Months[len(in.Months)-1]
	}
	d.Title = tr.T("finance.chart.title", in.Group)
	d.Desc = tr.T("finance.chart.desc", tr.Month(first), tr.Month(last), tr.Money(total, in.Currency), len(in.Rows))
	if len(in.Rows) > 0 {
		a, b := in.Rows[0], in.Rows[len(in.Rows)-1]
		sa, _ := decimal.NewFromString(a.StateShare)
		sb, _ := decimal.NewFromString(b.StateShare)
		d.Desc += " " + tr.T("finance.chart.desc_share", tr.Month(a.Period), tr.Number(sa, 2), tr.Month(b.Period), tr.Number(sb, 2))
	}
	var buf bytes.Buffer
	if err := finChartTemplate.Execute(&buf, d); err != nil {
		return "", fmt.Errorf("draw chart: %w", err)
	}
	return template.HTML(buf.String()), nil //nolint:gosec // made by html/template, escaped
}

func finMax1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func finJoinPoints(pts []string) string {
	var b bytes.Buffer
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return b.String()
}

// finCurrencyUnit is how an amount's unit is written: KM (КМ in Cyrillic) for BAM, else the code.
func finCurrencyUnit(tr i18n.Translator, currency string) string {
	if currency != "" && currency != "BAM" {
		return currency
	}
	if tr.Locale == "sr-Cyrl" {
		return "КМ"
	}
	return "KM"
}
