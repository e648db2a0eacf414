package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/trcledger/trcledger/internal/browsertest"
)

// eval runs a script in the page, waiting for the promise it returns.
func (j *journey) eval(script string, out any) {
	j.t.Helper()
	j.run(chromedp.Evaluate(script, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
}

// setOffline emulates the network off (or back on) for the page and for the service worker,
// whose fetches the page's emulation does not cover.
func (j *journey) setOffline(off bool) {
	j.t.Helper()
	j.run(network.EmulateNetworkConditions(off, 0, -1, -1))
	targets, err := chromedp.Targets(j.ctx)
	if err != nil {
		j.t.Fatal(err)
	}
	found := false
	for _, ti := range targets {
		if ti.Type != "service_worker" || !strings.HasPrefix(ti.URL, j.base) {
			continue
		}
		found = true
		ctx := workerSession(j, ti.TargetID)
		if err := chromedp.Run(ctx, network.EmulateNetworkConditions(off, 0, -1, -1)); err != nil {
			j.t.Fatalf("service worker offline=%v: %v", off, err)
		}
	}
	if !found {
		j.t.Fatal("no service worker is running for the capture page")
	}
}

// workerSessions are the sessions attached to service workers, per journey: network
// conditions belong to the session that set them, so going back online uses the same one.
var (
	workerMu       sync.Mutex
	workerSessions = map[*journey]map[target.ID]context.Context{}
)

func workerSession(j *journey, id target.ID) context.Context {
	workerMu.Lock()
	defer workerMu.Unlock()
	if workerSessions[j] == nil {
		workerSessions[j] = map[target.ID]context.Context{}
		j.t.Cleanup(func() { workerMu.Lock(); delete(workerSessions, j); workerMu.Unlock() })
	}
	ctx, ok := workerSessions[j][id]
	if !ok {
		ctx, _ = chromedp.NewContext(j.ctx, chromedp.WithTargetID(id)) // ends with the browser
		workerSessions[j][id] = ctx
	}
	return ctx
}

// fillEncounter types one encounter into the capture form and saves it.
func (j *journey) fillEncounter(externalID, patient, kind, service, diagnosis string) {
	j.t.Helper()
	j.typeEncounter(externalID, patient, kind, service, diagnosis)
	j.saveEncounter()
}

// typeEncounter types one encounter into the capture form.
func (j *journey) typeEncounter(externalID, patient, kind, service, diagnosis string) {
	j.t.Helper()
	j.run(
		chromedp.SetValue(`#site_code`, "TRC-LIPA", chromedp.ByQuery),
		chromedp.SetValue(`#kind`, kind, chromedp.ByQuery),
		chromedp.SendKeys(`#external_id`, externalID, chromedp.ByQuery),
		chromedp.SendKeys(`#patient_id`, patient, chromedp.ByQuery),
		chromedp.SetValue(`#beneficiary_category`, "irregular_migrant", chromedp.ByQuery),
		chromedp.SendKeys(`#line_service_0`, service, chromedp.ByQuery),
		chromedp.SendKeys(`#diagnosis_0`, diagnosis, chromedp.ByQuery),
	)
}

// saveEncounter saves the form and waits until it is cleared for the next one.
func (j *journey) saveEncounter() {
	j.t.Helper()
	j.run(chromedp.Click(`#capture-submit`, chromedp.ByQuery))
	j.waitFor("the form to clear after saving", func() bool {
		var v string
		j.run(chromedp.Value(`#external_id`, &v, chromedp.ByQuery))
		return v == ""
	})
}

// openCapture opens the capture page and waits until the service worker controls it and has
// kept the page and its reference data.
func (j *journey) openCapture() {
	j.t.Helper()
	j.run(chromedp.Navigate(j.base+"/clinic/capture"), chromedp.WaitVisible(`#queue`, chromedp.ByQuery))
	var ok bool
	j.eval(`navigator.serviceWorker.ready.then(() => true)`, &ok)
	// The first load happened before the worker was installed: load again through it.
	j.run(chromedp.Navigate(j.base+"/clinic/capture"), chromedp.WaitVisible(`#queue`, chromedp.ByQuery))
	j.waitFor("the service worker to keep the capture page and its reference data", func() bool {
		var kept bool
		j.eval(`Promise.all([caches.match('/clinic/capture'), caches.match('/clinic/capture/reference'), caches.match('/static/capture.js')])
			.then(r => r.every(Boolean) && navigator.serviceWorker.controller !== null)`, &kept)
		return kept
	})
}

func (j *journey) queueStatus() string {
	j.t.Helper()
	var s string
	j.run(chromedp.Text(`#queue-status`, &s, chromedp.ByQuery))
	return s
}

// api calls the JSON API with a token.
func (j *journey) api(method, path, token string, body any, out any) int {
	j.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, j.base+path, rd)
	if err != nil {
		j.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		j.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			j.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// TestJourneyCaptureOffline: the nurse at TRC Lipa (sestra.bihac, Bosnian) opens the capture
// page, loses the connection, captures two encounters that wait on the device, and sees them
// sent with their receipts when the connection returns; the server holds exactly those two,
// with the time they were captured.
func TestJourneyCaptureOffline(t *testing.T) {
	t.Parallel()
	j := newJourney(t)
	j.signIn("sestra.bihac")
	j.openCapture()
	if got := j.attr("html", "lang"); got != "bs" {
		t.Errorf("<html lang=%q>, want bs", got)
	}

	j.setOffline(true)
	var online bool
	j.eval(`navigator.onLine`, &online)
	if online {
		t.Fatal("the page still thinks it is online")
	}
	// The application shell comes from the service worker with no connection at all.
	j.run(chromedp.Reload(), chromedp.WaitVisible(`#queue`, chromedp.ByQuery))
	j.waitFor("the offline notice", func() bool { return strings.Contains(j.text(`#net-status`), "Nema veze") })

	j.fillEncounter("LIPA-1001", "SFA-2026-1001", "consultation", "PZZ-01", "J06.9")
	j.fillEncounter("LIPA-1002", "SFA-2026-1002", "emergency", "PZZ-03", "T14.1")
	j.waitFor("2 waiting", func() bool { return strings.HasPrefix(j.queueStatus(), "2 čeka na slanje") })
	if s := j.queueStatus(); strings.Contains(s, "Ništa ne čeka") {
		t.Errorf("says nothing waits while two do: %s", s)
	}
	browsertest.Screenshot(t, j.ctx, "offline")

	var ids []string
	j.setOffline(false)
	j.waitFor("both encounters to be sent", func() bool {
		j.run(chromedp.Evaluate(`Array.from(document.querySelectorAll('#queue-items li.synced .receipt-id')).map(e => e.textContent)`, &ids))
		return len(ids) == 2 && strings.HasPrefix(j.queueStatus(), "Ništa ne čeka")
	})
	var totals []string
	j.run(chromedp.Evaluate(`Array.from(document.querySelectorAll('#queue-items li.synced .receipt-total')).map(e => e.textContent)`, &totals))
	// Newest first: the emergency (PZZ-03 35 KM, IOM), then the consultation (PZZ-01 22 KM from
	// 2026, ZZO USK since July 2025).
	if strings.Join(totals, "|") != "35,00\u00a0KM|22,00\u00a0KM" {
		t.Errorf("receipt totals %q", totals)
	}
	if s := j.text(`#queue-items li.synced .receipt-shares`); !strings.Contains(s, "IOM") {
		t.Errorf("receipt shares: %q", s)
	}
	if s := j.queueStatus(); !strings.Contains(s, "Posljednja sinhronizacija") {
		t.Errorf("no last sync shown: %s", s)
	}
	browsertest.Screenshot(t, j.ctx, "synced")

	var list struct {
		Items []struct {
			ID         string  `json:"id"`
			ExternalID string  `json:"external_id"`
			CapturedAt *string `json:"captured_at"`
		} `json:"items"`
	}
	if status := j.api("GET", "/v1/encounters?limit=50", j.token["clinic"], nil, &list); status != 200 {
		t.Fatalf("list encounters: %d", status)
	}
	if len(list.Items) != 2 {
		t.Fatalf("the server holds %d encounters, want 2: %+v", len(list.Items), list.Items)
	}
	for _, e := range list.Items {
		if e.CapturedAt == nil || !strings.Contains(strings.Join(ids, " "), e.ID) {
			t.Errorf("encounter %s (%s): captured_at %v, in the receipts %v", e.ID, e.ExternalID, e.CapturedAt, ids)
		}
	}
}

// TestJourneyCaptureCyrillic: a nurse whose account is in Serbian Cyrillic (created through
// POST /v1/users) captures an encounter online and reads its receipt in Cyrillic.
func TestJourneyCaptureCyrillic(t *testing.T) {
	t.Parallel()
	j := newJourney(t)
	password := "lipa-Сестра-2026"
	var created map[string]any
	status := j.api("POST", "/v1/users", j.token["admin"], map[string]any{
		"username": "sestra.lipa", "display_name": "Милица Јовановић", "role": "clinic", "org_code": "DZ-BIHAC",
		"locale": "sr-Cyrl", "password": password,
	}, &created)
	if status != 201 {
		t.Fatalf("create user: %d %v", status, created)
	}
	j.password["sestra.lipa"] = password
	j.signIn("sestra.lipa")
	j.openCapture()
	if got := j.attr("html", "lang"); got != "sr-Cyrl" {
		t.Errorf("<html lang=%q>, want sr-Cyrl", got)
	}
	if h := j.text("h1"); h != "Унос прегледа" {
		t.Errorf("title %q", h)
	}
	j.typeEncounter("LIPA-2001", "IOM-2026-77", "consultation", "PZZ-01", "R50.9")
	// The live quote: the price and who pays, before anything is saved.
	j.waitFor("the live quote", func() bool {
		var total string
		j.run(chromedp.Evaluate(`document.querySelector('#quote-total').textContent`, &total))
		return total == "22,00\u00a0КМ"
	})
	if s := j.text(`#quote-payers tbody`); !strings.Contains(s, "ZZO-USK") || !strings.Contains(s, "22,00") {
		t.Errorf("quote payers %q", s)
	}
	if s := j.text(`#diag-rows .icd-title`); s != "Повишена температура, неозначена" {
		t.Errorf("R50.9 titled %q", s)
	}
	browsertest.Screenshot(t, j.ctx, "quote")
	j.saveEncounter()
	var total string
	j.waitFor("the receipt", func() bool {
		j.run(chromedp.Evaluate(`(document.querySelector('#queue-items li.synced .receipt-total') || {}).textContent || ''`, &total))
		return total != ""
	})
	if total != "22,00\u00a0КМ" {
		t.Errorf("total %q, want 22,00 КМ", total)
	}
	if s := j.queueStatus(); !strings.HasPrefix(s, "Ништа не чека") {
		t.Errorf("status %q", s)
	}
	browsertest.Screenshot(t, j.ctx, "receipt")
}
