package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/trcledger/trcledger/internal/browsertest"
)

// financeAPI calls the JSON API with the demo token of role and decodes the answer.
func financeAPI(t *testing.T, j *journey, method, path, role, body string, headers ...string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, j.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+j.token[role])
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s as %s: %d %s", method, path, role, resp.StatusCode, raw)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}

// TestJourneyFinance: the data comes through the API (DZ Bihać's encounters of January to June
// 2025, the March statement on ZZO USK built by finance, submitted, and reviewed by the fund);
// then IOM's finance officer, in Serbian Cyrillic, finds the reviewed statement, records a
// payment typed with a decimal comma and sees it on the statement; switches to Bosnian and
// opens the transition dashboard: the chart and the table, then grouped by service category.
func TestJourneyFinance(t *testing.T) {
	t.Parallel()
	j := newJourney(t)

	var batch []string
	for m := 1; m <= 6; m++ {
		for i := range 6 {
			benef := "irregular_migrant"
			if i == 5 {
				benef = "asylum_seeker"
			}
			batch = append(batch, fmt.Sprintf(`{"contract_code":"IOM-DZBIH-2024","site_code":"TRC-LIPA","external_id":"J-%d-%d","patient_id":"SFA-J-%d-%d",
				"beneficiary_category":%q,"service_date":"2025-%02d-%02d","kind":"consultation","diagnoses":["J06.9"],
				"lines":[{"service_code":"PZZ-01","quantity":"1"},{"service_code":"LAB-01","quantity":"2"}]}`, m, i, m, i, benef, m, 2+i*4))
		}
		batch = append(batch, fmt.Sprintf(`{"contract_code":"IOM-DZBIH-2024","site_code":"TRC-BORICI","external_id":"J-%d-trn","patient_id":"SFA-J-%d-0",
			"beneficiary_category":"irregular_migrant","service_date":"2025-%02d-27","kind":"transport","lines":[{"service_code":"TRN-01","quantity":"120"}]}`, m, m, m))
	}
	financeAPI(t, j, "POST", "/v1/encounters/batch", "clinic", `{"encounters":[`+strings.Join(batch, ",")+`]}`, "Idempotency-Key", "journey-finance-batch")
	st := financeAPI(t, j, "POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	id := st["id"].(string)
	number := st["number"].(string)
	financeAPI(t, j, "POST", "/v1/statements/"+id+"/submit", "finance", "")
	lines := financeAPI(t, j, "GET", "/v1/statements/"+id, "reviewer", "")["lines"].([]any)
	var decisions []string
	for i, l := range lines {
		line := l.(map[string]any)
		d := `"decision":"approve"`
		if i == 0 {
			d = `"decision":"reject","reason_code":"not_eligible"`
		}
		decisions = append(decisions, fmt.Sprintf(`{"line_id":%v,%s}`, line["id"], d))
	}
	financeAPI(t, j, "POST", "/v1/statements/"+id+"/decisions", "reviewer", `{"decisions":[`+strings.Join(decisions, ",")+`]}`)
	reviewed := financeAPI(t, j, "POST", "/v1/statements/"+id+"/complete-review", "reviewer", "")
	if reviewed["status"] != "reviewed" {
		t.Fatalf("statement %s is %v", number, reviewed["status"])
	}

	// In Serbian Cyrillic: the reviewed statements, the statement, a payment of 50,25 KM.
	j.signIn("finance.iom")
	j.run(
		chromedp.Navigate(j.base+"/finance?status=reviewed"),
		chromedp.WaitVisible(`table.statements`, chromedp.ByQuery),
	)
	if got := j.text(`table.statements tbody`); !strings.Contains(got, number) || !strings.Contains(got, "Прегледан") {
		t.Errorf("the reviewed statements list shows %q", got)
	}
	browsertest.Screenshot(t, j.ctx, "statements")
	j.run(
		chromedp.Click(`table.statements a[href="/finance/statements/`+id+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#pay-form`, chromedp.ByQuery),
	)
	if got := j.text(`#lines`); !strings.Contains(got, "Одбијено") || !strings.Contains(got, "Нема право") {
		t.Errorf("the lines do not show the rejection and its reason: %q", got)
	}
	browsertest.Screenshot(t, j.ctx, "statement")
	j.run(
		chromedp.SendKeys(`#pay-amount`, "50,25", chromedp.ByQuery),
		chromedp.SendKeys(`#pay-reference`, "UPL-USK-2025-03", chromedp.ByQuery),
		chromedp.Click(`#pay-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#payments`, chromedp.ByQuery),
	)
	if got := j.text(`#payments`); !strings.Contains(got, "50,25") || !strings.Contains(got, "КМ") || !strings.Contains(got, "UPL-USK-2025-03") {
		t.Errorf("the payment is not on the statement: %q", got)
	}
	if got := j.text(`[data-total="paid"]`); got != "50,25\u00a0КМ" {
		t.Errorf("paid total %q, want 50,25 КМ", got)
	}
	if got := j.text(`main .flash`); got == "" {
		t.Error("no confirmation of the payment")
	}
	browsertest.Screenshot(t, j.ctx, "paid")
	if again := financeAPI(t, j, "GET", "/v1/statements/"+id, "finance", ""); again["paid"] != "50.25" || again["status"] != "partially_paid" {
		t.Errorf("the API says paid %v, status %v", again["paid"], again["status"])
	}

	// One step in Bosnian: switch the language, open the dashboard.
	// The language form is sent from the page with fetch, as its button would send it, and the
	// dashboard is then opened: a click that navigates, followed at once by another navigation,
	// sometimes left chromedp waiting for ever on a page it had detached from.
	var status int
	j.run(chromedp.Evaluate(`(() => {
		const f = document.querySelector('form.language');
		const body = new URLSearchParams(new FormData(f));
		body.set('locale', 'bs');
		return fetch(f.action, {method: 'POST', body, redirect: 'manual', credentials: 'same-origin'}).then(r => r.status || 303);
	})()`, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status >= 400 {
		t.Fatalf("the language form answered %d", status)
	}
	j.run(
		chromedp.Navigate(j.base+"/finance/transition?from=2025-01&to=2025-06"),
		chromedp.WaitVisible(`svg.chart`, chromedp.ByQuery),
	)
	if got := j.attr("html", "lang"); got != "bs" {
		t.Fatalf("<html lang=%q> after switching to bs", got)
	}
	var segments, rows int
	j.run(
		chromedp.Evaluate(`document.querySelectorAll('svg.chart rect.segment').length`, &segments),
		chromedp.Evaluate(`document.querySelectorAll('table.transition tbody tr').length`, &rows),
	)
	if rows != 6 || segments != 4*rows {
		t.Errorf("%d table rows and %d bar segments, want 6 and 24", rows, segments)
	}
	var months string
	j.run(chromedp.Evaluate(`Array.from(document.querySelectorAll('svg.chart .months text')).map(t => t.textContent).join(' ')`, &months))
	if got := months; !strings.Contains(got, "jan") || !strings.Contains(got, "jun") {
		t.Errorf("month labels %q, want Bosnian", got)
	}
	if got := j.text(`table.transition`); !strings.Contains(got, "mart 2025.") || !strings.Contains(got, "Fondovi zdravstva") {
		t.Errorf("the table is not in Bosnian: %q", got)
	}
	browsertest.Screenshot(t, j.ctx, "dashboard")
	j.run(
		chromedp.SetValue(`#t-by`, "service_category", chromedp.ByQuery),
		chromedp.Click(`#transition-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`section.transition-group + section.transition-group`, chromedp.ByQuery),
	)
	var charts int
	j.run(chromedp.Evaluate(`document.querySelectorAll('svg.chart').length`, &charts))
	if charts != 3 { // primary care, diagnostics, transport
		t.Errorf("%d charts by service category, want 3", charts)
	}
	browsertest.Screenshot(t, j.ctx, "dashboard-by-category")
	j.run(
		chromedp.EmulateViewport(360, 780),
		chromedp.Navigate(j.base+"/finance/statements/"+id),
		chromedp.WaitVisible(`#payments`, chromedp.ByQuery),
	)
	browsertest.Screenshot(t, j.ctx, "statement-phone")
}
