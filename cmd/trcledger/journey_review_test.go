package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/trcledger/trcledger/internal/browsertest"
)

// reviewAPI calls the JSON API with a bearer token and returns the status and the decoded body.
func reviewAPI(t *testing.T, j *journey, method, path, token, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, j.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// TestJourneyReview: a reviewer of ZZO USK who reads Serbian Cyrillic opens the work queue,
// opens DZ Bihać's March statement, approves its unflagged lines in one action, rejects the
// flagged line with a reason using only the keyboard, sees the progress, and completes the
// review; the API then shows every decision recorded in the reviewer's name.
func TestJourneyReview(t *testing.T) {
	t.Parallel()
	j := newJourney(t)
	const user = "revizor.cirilica"
	j.password[user] = "revizor-lozinka-1"
	if st, res := reviewAPI(t, j, "POST", "/v1/users", j.token["admin"], fmt.Sprintf(
		`{"username":%q,"display_name":"Ревизор ЗЗО УСК","role":"reviewer","org_code":"ZZO-USK","locale":"sr-Cyrl","password":%q}`, user, j.password[user])); st != 201 {
		t.Fatalf("create the reviewer: %d %v", st, res)
	}

	// The month of DZ Bihać: three primary-care lines, one a wound dressing at the tariff's
	// maximum quantity (flagged quantity_limit when submitted).
	for i, line := range []string{`{"service_code":"PZZ-01","quantity":"1"}`, `{"service_code":"PZZ-04","quantity":"5"}`, `{"service_code":"PZZ-02","quantity":"1"}`} {
		body := fmt.Sprintf(`{"contract_code":"IOM-DZBIH-2024","site_code":"TRC-LIPA","external_id":"JR-%d","patient_id":"SFA-JR-%d",
			"beneficiary_category":"irregular_migrant","service_date":"2025-03-1%d","kind":"consultation","diagnoses":["J06.9"],"lines":[%s]}`, i, i, i, line)
		if st, res := reviewAPI(t, j, "POST", "/v1/encounters", j.token["clinic"], body, "Idempotency-Key", fmt.Sprintf("jr-%d", i)); st != 201 {
			t.Fatalf("post encounter %d: %d %v", i, st, res)
		}
	}
	st, res := reviewAPI(t, j, "POST", "/v1/statements", j.token["finance"], `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	if st != 201 {
		t.Fatalf("build the statement: %d %v", st, res)
	}
	id, number := res["id"].(string), res["number"].(string)
	st, res = reviewAPI(t, j, "POST", "/v1/statements/"+id+"/submit", j.token["clinic"], "")
	if st != 200 {
		t.Fatalf("submit: %d %v", st, res)
	}
	var flaggedID string
	for _, l := range res["lines"].([]any) {
		line := l.(map[string]any)
		if len(line["flags"].([]any)) > 0 {
			flaggedID = fmt.Sprint(line["id"])
		}
	}
	if flaggedID == "" {
		t.Fatal("no line was flagged")
	}

	// The work queue, in Cyrillic.
	j.signIn(user)
	if got := j.location(); !strings.HasPrefix(got, "/review") {
		t.Fatalf("signed in at %s", got)
	}
	if got := j.attr("html", "lang"); got != "sr-Cyrl" {
		t.Errorf("<html lang=%q>", got)
	}
	link := `a[href="/review/statements/` + id + `"]`
	j.run(chromedp.WaitVisible(link, chromedp.ByQuery))
	if q := j.text("main"); !strings.Contains(q, number) || !strings.Contains(q, "0 од 3 одлучено") || !strings.Contains(q, "Радна листа") && !strings.Contains(q, "Ревизија") {
		t.Errorf("the queue reads %q", q)
	}
	browsertest.Screenshot(t, j.ctx, "queue")

	// The statement, then every unflagged line approved in one action.
	j.run(chromedp.Click(link, chromedp.ByQuery), chromedp.WaitVisible(`#lines`, chromedp.ByQuery), chromedp.WaitVisible(`#keys-help`, chromedp.ByQuery))
	browsertest.Screenshot(t, j.ctx, "statement")
	j.run(chromedp.EmulateViewport(360, 800))
	browsertest.Screenshot(t, j.ctx, "statement-360px")
	j.run(chromedp.EmulateViewport(1280, 900))
	j.run(chromedp.Click(`#approve-unflagged`, chromedp.ByQuery))
	j.waitFor("the bulk approval", func() bool { return strings.Contains(j.location(), "approved=2") })
	j.run(chromedp.WaitVisible(`#keys-help`, chromedp.ByQuery))
	if got := j.text("#progress-text"); got != "2 од 3 одлучено" {
		t.Errorf("progress after the bulk approval: %q", got)
	}

	// The keyboard: j twice to the flagged (second) line, r to reject, the reason chosen with
	// the arrow keys, Enter to save.
	j.run(chromedp.KeyEvent("j"), chromedp.KeyEvent("j"))
	if cur := j.attr("tr.line.current", "data-line"); cur != flaggedID {
		t.Fatalf("the current line is %q, want the flagged %s", cur, flaggedID)
	}
	var focused string
	j.run(chromedp.KeyEvent("r"), chromedp.Evaluate(`document.activeElement.id`, &focused))
	if focused != "reason-"+flaggedID {
		t.Fatalf("after r the focus is on %q", focused)
	}
	for range 6 { // — choose —, duplicate, not_covered, missing_referral, not_eligible, tariff_error, quantity_exceeded
		j.run(chromedp.KeyEvent(kb.ArrowDown))
	}
	var reason string
	j.run(chromedp.Evaluate(`document.activeElement.value`, &reason))
	if reason != "quantity_exceeded" {
		t.Fatalf("the arrow keys chose %q", reason)
	}
	browsertest.Screenshot(t, j.ctx, "rejecting")
	j.run(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(input.ModifierNone)))
	j.waitFor("the rejection", func() bool { return j.text("#progress-text") == "3 од 3 одлучено" })
	if v := j.text("#line-" + flaggedID + " .verdict"); !strings.Contains(v, "Одбиј") || !strings.Contains(v, "Прекорачена количина") {
		t.Errorf("the rejected line reads %q", v)
	}
	browsertest.Screenshot(t, j.ctx, "decided")

	// Complete the review, confirmed.
	j.run(chromedp.Click(`#complete-link`, chromedp.ByQuery), chromedp.WaitVisible(`#complete-form`, chromedp.ByQuery))
	browsertest.Screenshot(t, j.ctx, "confirm")
	j.run(chromedp.Click(`#complete-form button[type="submit"]`, chromedp.ByQuery))
	j.waitFor("the completed review", func() bool { return strings.Contains(j.location(), "completed=1") })
	if got := j.text("#st-status"); got != "Ревидиран" {
		t.Errorf("status after completing: %q", got)
	}
	browsertest.Screenshot(t, j.ctx, "completed")

	// The API has every decision, in the reviewer's name.
	st, res = reviewAPI(t, j, "GET", "/v1/statements/"+id, j.token["reviewer"], "")
	if st != 200 || res["status"] != "reviewed" {
		t.Fatalf("statement after the review: %d %v", st, res["status"])
	}
	count := map[string]int{}
	for _, l := range res["lines"].([]any) {
		line := l.(map[string]any)
		d, _ := line["decision"].(string)
		count[d]++
		if by, _ := line["decided_by"].(string); !strings.Contains(by, "Ревизор ЗЗО УСК") {
			t.Errorf("line %v decided by %q", line["id"], by)
		}
		if d == "reject" && (fmt.Sprint(line["id"]) != flaggedID || line["reason_code"] != "quantity_exceeded") {
			t.Errorf("rejected line %v with %v", line["id"], line["reason_code"])
		}
	}
	if count["approve"] != 2 || count["reject"] != 1 {
		t.Errorf("decisions: %v", count)
	}
}
