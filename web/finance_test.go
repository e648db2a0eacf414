package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// financeData is what seedFinance posted: per month and payer type, the sum of the shares the
// encounters' answers gave (computed from the posts, not from any report).
type financeData struct {
	byType map[string]map[string]decimal.Decimal // period -> payer type -> amount
}

func finAs(role, org string) context.Context {
	return access.WithPrincipal(context.Background(), access.Principal{TokenID: "test-" + role + "-" + org, Name: "test " + role, Role: role, OrgCode: org})
}

var financeCtx = finAs(access.RoleFinance, "")

// seedFinance posts encounters for January to March 2025: at DZ Bihać (TRC Lipa) each month six
// consultations of irregular migrants (primary care: ZZO USK 60 %, IOM 40 %), one of an asylum
// seeker (ZZO USK alone) and two ambulance transports of 400 km (IOM alone); at DZ Kanton
// Sarajevo (TRC Blažuj) two consultations in February, too few patients to be shown by site.
func seedFinance(t *testing.T, s *site) financeData {
	t.Helper()
	orgs, err := s.cfg.Contracts.ListOrganizations(context.Background(), contracts.OrganizationFilter{Kind: "payer"})
	if err != nil {
		t.Fatal(err)
	}
	payerType := map[string]string{}
	for _, o := range orgs {
		payerType[o.Code] = *o.PayerType
	}
	data := financeData{byType: map[string]map[string]decimal.Decimal{}}
	one := decimal.NewFromInt(1)
	consult := func(contract, site, ext, patient, benef, day string) encounters.EncounterInput {
		d, _ := trcledger.ParseDate(day)
		return encounters.EncounterInput{ContractCode: contract, SiteCode: site, ExternalID: ext, PatientID: patient, BeneficiaryCategory: benef,
			ServiceDate: d, Kind: "consultation", Diagnoses: []string{"J06.9"}, Lines: []encounters.LineInput{{ServiceCode: "PZZ-01", Quantity: one}}}
	}
	var bihac, sarajevo []encounters.EncounterInput
	for m := 1; m <= 3; m++ {
		for i := range 6 {
			bihac = append(bihac, consult(demo.ContractDZBihac, "TRC-LIPA", fmt.Sprintf("B-%d-%d", m, i), fmt.Sprintf("SFA-%d-%d", m, i), "irregular_migrant", fmt.Sprintf("2025-%02d-%02d", m, 3+i)))
		}
		bihac = append(bihac, consult(demo.ContractDZBihac, "TRC-LIPA", fmt.Sprintf("B-%d-asylum", m), fmt.Sprintf("SFA-%d-9", m), "asylum_seeker", fmt.Sprintf("2025-%02d-20", m)))
		for i := range 2 {
			d, _ := trcledger.ParseDate(fmt.Sprintf("2025-%02d-%02d", m, 21+i))
			bihac = append(bihac, encounters.EncounterInput{ContractCode: demo.ContractDZBihac, SiteCode: "TRC-LIPA", ExternalID: fmt.Sprintf("B-%d-trn-%d", m, i),
				PatientID: fmt.Sprintf("SFA-%d-%d", m, i), BeneficiaryCategory: "irregular_migrant", ServiceDate: d, Kind: "transport",
				Lines: []encounters.LineInput{{ServiceCode: "TRN-01", Quantity: decimal.NewFromInt(400)}}})
		}
	}
	sarajevo = append(sarajevo, consult(demo.ContractDZKS, "TRC-BLAZUJ", "S-1", "SFA-S-1", "irregular_migrant", "2025-02-10"),
		consult(demo.ContractDZKS, "TRC-BLAZUJ", "S-2", "SFA-S-2", "irregular_migrant", "2025-02-11"))
	for provider, batch := range map[string][]encounters.EncounterInput{demo.ProviderDZBihac: bihac, demo.ProviderDZKS: sarajevo} {
		sum := sha256.Sum256([]byte(provider))
		res, err := s.cfg.Encounters.PostBatch(finAs(access.RoleClinic, provider), batch, encounters.Idempotency{Key: "seed-" + provider, RequestHash: sum[:]})
		if err != nil {
			t.Fatalf("post %s: %v", provider, err)
		}
		for _, e := range res.Encounters {
			period := e.ServiceDate.String()[:7]
			if data.byType[period] == nil {
				data.byType[period] = map[string]decimal.Decimal{}
			}
			for _, l := range e.Lines {
				for _, sh := range l.Shares {
					pt := payerType[sh.PayerCode]
					data.byType[period][pt] = data.byType[period][pt].Add(sh.Amount.Decimal)
				}
			}
		}
	}
	return data
}

// finReviewedStatement builds, submits and reviews (every line approved) the statement of payer on
// DZ Bihać for period, and returns it.
func finReviewedStatement(t *testing.T, s *site, payer, period string) *statements.Statement {
	t.Helper()
	st, err := s.cfg.Statements.CreateStatement(financeCtx, demo.ProviderDZBihac, payer, period)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.cfg.Statements.SubmitStatement(financeCtx, st.ID); err != nil {
		t.Fatal(err)
	}
	rev := finAs(access.RoleReviewer, payer)
	full, err := s.cfg.Statements.FindStatementByID(rev, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ds []statements.Decision
	for _, l := range full.Lines {
		ds = append(ds, statements.Decision{LineID: l.ID, Decision: "approve"})
	}
	if _, err := s.cfg.Statements.Decide(rev, st.ID, ds); err != nil {
		t.Fatal(err)
	}
	st, err = s.cfg.Statements.CompleteReview(rev, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// financeVisitor signs in as the finance user (who reads sr-Cyrl) and switches to locale when set.
func financeVisitor(t *testing.T, s *site, locale string) *visitor {
	t.Helper()
	v := s.visitor()
	home := v.signIn("finance")
	if locale != "" {
		home = v.post("/language", home, url.Values{"locale": {locale}, "next": {"/finance"}})
		if !strings.Contains(home.body, `lang="`+locale+`"`) {
			t.Fatalf("language switch to %s: %d %s", locale, home.status, home.url)
		}
	}
	return v
}

func TestFinanceStatementsListFiltersByMonthStatusProviderAndPayer(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	seedFinance(t, s)
	reviewed := finReviewedStatement(t, s, demo.PayerIOM, "2025-01")
	var drafts []*statements.Statement
	for _, p := range []struct{ provider, payer, period string }{
		{demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-01"},
		{demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-02"},
		{demo.ProviderDZKS, demo.PayerZZOKS, "2025-02"},
	} {
		st, err := s.cfg.Statements.CreateStatement(financeCtx, p.provider, p.payer, p.period)
		if err != nil {
			t.Fatal(err)
		}
		drafts = append(drafts, st)
	}
	v := financeVisitor(t, s, "")
	all := v.get("/finance")
	for _, st := range append(drafts, reviewed) {
		if !strings.Contains(all.body, st.Number) {
			t.Errorf("the unfiltered list lacks %s", st.Number)
		}
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"period=2025-02", []string{drafts[1].Number, drafts[2].Number}},
		{"status=reviewed", []string{reviewed.Number}},
		{"status=draft&period=2025-01", []string{drafts[0].Number}},
		{"provider_code=DZ-KS", []string{drafts[2].Number}},
		{"payer_code=IOM", []string{reviewed.Number}},
		{"payer_code=ZZO-USK&period=2025-01", []string{drafts[0].Number}},
	} {
		p := v.get("/finance?" + c.query)
		if p.status != http.StatusOK {
			t.Errorf("%s: %d", c.query, p.status)
		}
		got := regexp.MustCompile(`ST-\d{4}-\d{2}-[A-Z]+-[A-Z]+`).FindAllString(p.body, -1)
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: statements %v, want %v", c.query, got, c.want)
		}
	}
	bad := v.get("/finance?period=2025-13&status=lost")
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="err-period"`) || !strings.Contains(bad.body, `id="err-status"`) {
		t.Errorf("a bad period and status: %d, messages beside the fields missing", bad.status)
	}
}

// finFormField finds the value of the named hidden or text input of the form in body.
func finFormField(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `"[^>]*value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no field %s in the page", name)
	}
	return m[1]
}

func TestFinancePaymentReadsADecimalCommaAndADoubleSubmitPaysOnce(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	seedFinance(t, s)
	st := finReviewedStatement(t, s, demo.PayerIOM, "2025-01")
	if st.Status != statements.StatusReviewed || st.Approved.LessThan(decimal.RequireFromString("1234.56")) {
		t.Fatalf("statement %s approved %v", st.Status, st.Approved)
	}
	v := financeVisitor(t, s, "bs")
	path := "/finance/statements/" + st.ID
	form := v.get(path)
	if !strings.Contains(form.body, `id="pay-form"`) {
		t.Fatal("a reviewed statement shows no payment form")
	}
	if n := strings.Count(form.body, `<span class="badge decision-approve">Odobreno</span>`); n != st.LineCount {
		t.Errorf("%d lines show their approval, want %d", n, st.LineCount)
	}
	values := url.Values{"amount": {"1.234,56"}, "paid_on": {"2025-04-10"}, "reference": {"UPL-2025-0042"}, "form_key": {finFormField(t, form.body, "form_key")}}
	first := v.post(path+"/payments", form, finClone(values))
	second := v.post(path+"/payments", form, finClone(values)) // the same form sent again: a double click
	if first.status != http.StatusOK || !strings.Contains(first.url, "done=paid") {
		t.Fatalf("first submission: %d at %s", first.status, first.url)
	}
	if second.status != http.StatusOK || !strings.Contains(second.url, "done=paid_again") {
		t.Errorf("second submission: %d at %s, want the first payment again", second.status, second.url)
	}
	got, err := s.cfg.Statements.FindStatementByID(financeCtx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Payments) != 1 || got.Payments[0].Amount.String() != "1234.56" || got.Paid.String() != "1234.56" || got.Status != statements.StatusPartiallyPaid {
		t.Fatalf("payments %+v, paid %s, status %s; want one of 1234.56", got.Payments, got.Paid, got.Status)
	}
	if !strings.Contains(second.body, "1.234,56\u00a0KM") || !strings.Contains(second.body, "UPL-2025-0042") || !strings.Contains(second.body, `class="just-recorded"`) {
		t.Error("the statement page does not show the payment in bs (1.234,56 KM) with its reference")
	}
	// A new rendering of the form is a new payment.
	again := v.get(path)
	values.Set("form_key", finFormField(t, again.body, "form_key"))
	values.Set("amount", "10,00")
	if p := v.post(path+"/payments", again, values); !strings.Contains(p.url, "done=paid") {
		t.Errorf("a second payment from a fresh form: %d at %s", p.status, p.url)
	}
	if got, _ := s.cfg.Statements.FindStatementByID(financeCtx, st.ID); len(got.Payments) != 2 || got.Paid.String() != "1244.56" {
		t.Errorf("after a second form: %d payments, paid %s", len(got.Payments), got.Paid)
	}
}

func TestFinancePaymentShowsWhatIsWrongBesideTheField(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	seedFinance(t, s)
	st := finReviewedStatement(t, s, demo.PayerIOM, "2025-02")
	v := financeVisitor(t, s, "bs")
	path := "/finance/statements/" + st.ID
	form := v.get(path)
	key := finFormField(t, form.body, "form_key")
	for _, c := range []struct{ amount, field, message string }{
		{"dvanaest", "amount", "Upišite iznos kao broj"},
		{"12,345", "amount", "najviše 2 decimale"},
		{"99.999,00", "amount", "više od preostalog iznosa"},
	} {
		p := v.post(path+"/payments", form, url.Values{"amount": {c.amount}, "paid_on": {"2025-04-10"}, "reference": {"R-1"}, "form_key": {key}})
		errID := `id="err-` + c.field + `"`
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, errID) || !strings.Contains(p.body, c.message) {
			t.Errorf("amount %q: %d; want 422 with %q beside the field", c.amount, p.status, c.message)
			continue
		}
		input := regexp.MustCompile(`<input id="pay-amount"[^>]*>`).FindString(p.body)
		if !strings.Contains(input, `aria-invalid="true"`) || !strings.Contains(input, `aria-describedby="err-amount`) || !strings.Contains(input, `value="`+c.amount+`"`) {
			t.Errorf("amount %q: the field is not marked invalid or lost what was typed: %s", c.amount, input)
		}
	}
	p := v.post(path+"/payments", form, url.Values{"amount": {"5"}, "paid_on": {"2999-01-01"}, "reference": {" "}, "form_key": {key}})
	if !strings.Contains(p.body, `id="err-paid_on"`) || !strings.Contains(p.body, `id="err-reference"`) {
		t.Errorf("a future date and no reference: %d, messages missing", p.status)
	}
	if got, _ := s.cfg.Statements.FindStatementByID(financeCtx, st.ID); len(got.Payments) != 0 {
		t.Errorf("a refused form recorded %d payments", len(got.Payments))
	}
}

func finClone(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// finSVG is the part of a chart the tests read.
type finSVG struct {
	Role  string    `xml:"role,attr"`
	Title string    `xml:"title"`
	Desc  string    `xml:"desc"`
	Rects []finRect `xml:"g>rect"`
	Texts []string  `xml:"g>text"`
}

type finRect struct {
	Class  string  `xml:"class,attr"`
	Height float64 `xml:"height,attr"`
	Period string  `xml:"data-period,attr"`
	Type   string  `xml:"data-payer-type,attr"`
	Amount string  `xml:"data-amount,attr"`
}

func finCharts(t *testing.T, body string) []finSVG {
	t.Helper()
	var out []finSVG
	for _, raw := range regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(body, -1) {
		var d finSVG
		if err := xml.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatalf("the chart is not well-formed SVG: %v\n%s", err, raw)
		}
		out = append(out, d)
	}
	return out
}

func TestFinanceTransitionChartDrawsTheReportsFigures(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	posted := seedFinance(t, s)
	rep, err := s.cfg.Reports.TransitionReport(financeCtx, reports.TransitionFilter{From: "2025-01", To: "2025-03"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Items) != 3 {
		t.Fatalf("report has %d months, want 3", len(rep.Items))
	}
	v := financeVisitor(t, s, "")
	p := v.get("/finance/transition?from=2025-01&to=2025-03")
	if p.status != http.StatusOK {
		t.Fatalf("dashboard: %d", p.status)
	}
	cs := finCharts(t, p.body)
	if len(cs) != 1 {
		t.Fatalf("%d finCharts, want one (not grouped)", len(cs))
	}
	c := cs[0]
	if c.Role != "img" || c.Title == "" || !strings.Contains(c.Desc, "2025") {
		t.Errorf("chart role %q, title %q, desc %q", c.Role, c.Title, c.Desc)
	}
	segments := map[string]finRect{}
	for _, r := range c.Rects {
		if r.Class == "segment" {
			segments[r.Period+"/"+r.Type] = r
		}
	}
	if len(segments) != 4*len(rep.Items) {
		t.Errorf("%d bar segments, want one per payer type per month: %d", len(segments), 4*len(rep.Items))
	}
	// One scale for every segment: height / amount is the same, to the 0.01 the SVG is written
	// with. The scale is read off the largest segment (the least rounded).
	scale, maxH, maxA := 0.0, 0.0, 0.0
	for _, seg := range segments {
		if a, _ := strconv.ParseFloat(seg.Amount, 64); a > maxA {
			maxA, scale = a, seg.Height/a
		}
	}
	for _, r := range rep.Items {
		for typ, want := range map[string]decimal.Decimal{"international": r.ByPayerType.International.Decimal, "donor": r.ByPayerType.Donor.Decimal,
			"state_fund": r.ByPayerType.StateFund.Decimal, "government": r.ByPayerType.Government.Decimal} {
			if posted := posted.byType[r.Period][typ]; !posted.Equal(want) {
				t.Errorf("%s %s: report %s, the posts' shares sum to %s", r.Period, typ, want, posted)
			}
			seg, ok := segments[r.Period+"/"+typ]
			if !ok {
				t.Errorf("no segment for %s %s", r.Period, typ)
				continue
			}
			if seg.Amount != want.StringFixed(2) {
				t.Errorf("%s %s: segment says %s, report %s", r.Period, typ, seg.Amount, want.StringFixed(2))
			}
			if want.IsPositive() {
				if math.Abs(seg.Height-want.InexactFloat64()*scale) > 0.011 {
					t.Errorf("%s %s: height %.2f for %s, want %.2f (one scale)", r.Period, typ, seg.Height, want, want.InexactFloat64()*scale)
				}
			} else if seg.Height != 0 {
				t.Errorf("%s %s: height %.2f for nothing", r.Period, typ, seg.Height)
			}
			maxH = max(maxH, seg.Height)
		}
		// The table beside the chart has the same figures.
		row := regexp.MustCompile(`(?s)<tr data-period="` + r.Period + `">.*?</tr>`).FindString(p.body)
		for _, amount := range []string{r.ByPayerType.International.String(), r.ByPayerType.StateFund.String(), r.Total.String()} {
			if !strings.Contains(row, `data-amount="`+amount+`"`) {
				t.Errorf("%s: the table row lacks %s", r.Period, amount)
			}
		}
		share, _ := decimal.NewFromString(r.StateShare)
		if !strings.Contains(row, strings.Replace(share.StringFixed(2), ".", ",", 1)+" %") {
			t.Errorf("%s: the table row lacks the state share %s", r.Period, r.StateShare)
		}
	}
	if scale <= 0 || maxH <= 0 {
		t.Fatal("no bar has a height")
	}
	// Months and legend in the reader's language (the finance user reads sr-Cyrl).
	texts := strings.Join(c.Texts, "|")
	for _, want := range []string{"јан", "феб", "мар", "2025", "Фондови здравства", "Удео државе"} {
		if !strings.Contains(texts, want) {
			t.Errorf("the chart's labels lack %q: %s", want, texts)
		}
	}
}

func TestFinanceTransitionGroupsAndSuppressesAsTheAPIDoes(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	seedFinance(t, s)
	v := financeVisitor(t, s, "en")
	for _, by := range []string{"", reports.BySite, reports.ByCanton, reports.ByProvider, reports.ByServiceCategory} {
		rep, err := s.cfg.Reports.TransitionReport(financeCtx, reports.TransitionFilter{From: "2025-01", To: "2025-03", By: by})
		if err != nil {
			t.Fatal(err)
		}
		groups := map[string]bool{}
		for _, r := range rep.Items {
			if r.Group != nil {
				groups[*r.Group] = true
			}
		}
		p := v.get("/finance/transition?from=2025-01&to=2025-03&by=" + by)
		if p.status != http.StatusOK {
			t.Fatalf("by %q: %d", by, p.status)
		}
		if by != "" && !strings.Contains(p.body, `<option value="`+by+`" selected>`) {
			t.Errorf("by %q: the selector does not show the grouping chosen", by)
		}
		if want := max(1, len(groups)); len(finCharts(t, p.body)) != want {
			t.Errorf("by %q: %d finCharts, want one per group (%d)", by, len(finCharts(t, p.body)), want)
		}
		// Every count the page shows is one the API shows; every count it hides, the API hides.
		sections := regexp.MustCompile(`(?s)<table class="stack transition".*?</table>`).FindAllString(p.body, -1)
		shown, hidden := 0, 0
		for _, sec := range sections {
			for _, row := range regexp.MustCompile(`(?s)<tr data-period="[^"]+">.*?</tr>`).FindAllString(sec, -1) {
				if strings.Contains(row, `class="suppressed"`) {
					hidden++
				} else {
					shown++
				}
			}
		}
		wantHidden := 0
		for _, r := range rep.Items {
			if r.Suppressed {
				wantHidden++
				if r.Patients != nil || r.Encounters != nil {
					t.Fatalf("by %q: the service shows a suppressed count", by)
				}
			}
		}
		if hidden != wantHidden || shown != len(rep.Items)-wantHidden {
			t.Errorf("by %q: page hides %d rows and shows %d; the API hides %d of %d", by, hidden, shown, wantHidden, len(rep.Items))
		}
		if by == reports.BySite && wantHidden == 0 {
			t.Errorf("by site: two patients at TRC Blažuj should be suppressed")
		}
		for _, r := range rep.Items {
			if r.Suppressed {
				continue
			}
			if !strings.Contains(p.body, ">"+strconv.Itoa(*r.Patients)+"</td>") {
				t.Errorf("by %q: %s shows no count of %d patients", by, r.Period, *r.Patients)
			}
		}
	}
	bad := v.get("/finance/transition?from=2025-03&to=2025-01&by=planet")
	if bad.status != http.StatusUnprocessableEntity || !strings.Contains(bad.body, `id="err-to"`) || !strings.Contains(bad.body, `id="err-by"`) {
		t.Errorf("bad range and grouping: %d", bad.status)
	}
}

func TestFinanceBuildsAMonthAndReconciles(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	seedFinance(t, s)
	v := financeVisitor(t, s, "en")
	form := v.get("/finance/build")
	p := v.post("/finance/build", form, url.Values{"period": {"2025-02"}})
	if p.status != http.StatusOK {
		t.Fatalf("build: %d", p.status)
	}
	// February's lines (and January's, late) of DZ Bihać for IOM and ZZO USK, of DZ KS for IOM and ZZO KS.
	list, err := s.cfg.Statements.FindStatements(financeCtx, statements.StatementFilter{Period: "2025-02"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("built %d statements for 2025-02, want 4", len(list))
	}
	for _, st := range list {
		if !strings.Contains(p.body, st.Number) {
			t.Errorf("the result lacks %s", st.Number)
		}
	}
	// Building again refreshes the drafts; a submitted statement is left alone and said so.
	if _, err := s.cfg.Statements.SubmitStatement(financeCtx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	again := v.post("/finance/build", p, url.Values{"period": {"2025-02"}, "provider_code": {list[0].ProviderCode}, "payer_code": {list[0].PayerCode}})
	if !strings.Contains(again.body, `data-outcome="finance.build.outcome.past_draft"`) {
		t.Errorf("building a submitted statement again does not say it was left alone")
	}
	future := v.post("/finance/build", p, url.Values{"period": {"2999-01"}})
	if future.status != http.StatusUnprocessableEntity || !strings.Contains(future.body, `id="err-period"`) {
		t.Errorf("a future month: %d", future.status)
	}
	rec := v.get("/finance/reconciliation?period=2025-02")
	if rec.status != http.StatusOK || !strings.Contains(rec.body, `class="flash consistent"`) || !strings.Contains(rec.body, list[0].Number) {
		t.Errorf("reconciliation: %d, consistent message or statements missing", rec.status)
	}
	// March's lines are on no statement yet: the page says what each pair owes for them.
	if !strings.Contains(rec.body, `<table class="stack unclaimed">`) {
		t.Error("the reconciliation shows no unclaimed lines")
	}
}

// TestFinanceReconciliationShowsDifferences breaks the claims queue under the ledger's feet (a
// queued share removed behind the services' back) and expects the page to say so.
func TestFinanceReconciliationShowsDifferences(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	seedFinance(t, s)
	if _, err := s.db.Exec(`DELETE FROM unclaimed_shares WHERE share_id = (SELECT min(share_id) FROM unclaimed_shares WHERE payer_code = 'IOM' AND provider_code = 'DZ-BIHAC')`); err != nil {
		t.Fatal(err)
	}
	v := financeVisitor(t, s, "en")
	p := v.get("/finance/reconciliation")
	if !strings.Contains(p.body, `class="problem inconsistent"`) || !strings.Contains(p.body, "unclaimed_shares:IOM:DZ-BIHAC") || !strings.Contains(p.body, `class="num diff"`) {
		t.Errorf("the page does not show the difference: %d", p.status)
	}
}
