package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// TestReviewSamplingPage: from the statement page the reviewer (in Croatian) opens sampling,
// gets a random seed offered, draws a sample of 50 % of the two unflagged lines, is told to
// decide it first (and refused when applying early), decides the sampled line on the page,
// confirms the rate shown, and lands on the statement with the other line extrapolated: half
// its amount approved and marked. Another fund's statement is 404 here too.
func TestReviewSamplingPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ours, foreign := reviewStatements(t, s)
	_, plain := linesBy(t, s, ours.ID)
	v := s.visitor()
	v.signIn("reviewer")
	base := "/review/statements/" + ours.ID

	if p := v.get(base); !strings.Contains(p.body, `href="`+base+`/sample" id="sample-link"`) {
		t.Fatalf("the statement page has no way to sampling")
	}
	form := v.get(base + "/sample")
	seed := regexp.MustCompile(`id="f-seed" name="seed" inputmode="numeric" size="12" value="([0-9]+)"`).FindStringSubmatch(form.body)
	if form.status != 200 || seed == nil || !strings.Contains(form.body, `name="percent" type="number" min="1" max="100" step="1" inputmode="numeric" size="4" value="10"`) {
		t.Fatalf("sampling form: %d, seed %v", form.status, seed)
	}
	if p := v.get(base + "/sample?percent=0&seed=5"); p.status != 422 || !strings.Contains(p.body, `<p class="field-error" id="err-percent">Unesite cijeli broj od 1 do 100.</p>`) {
		t.Errorf("percent 0: %d", p.status)
	}
	if p := v.get("/review/statements/" + foreign.ID + "/sample?percent=50&seed=5"); p.status != 404 {
		t.Errorf("another fund's sample: %d", p.status)
	}

	// The sample: one of the two unflagged lines, which the service draws too.
	one, seedN := 50, int64(5)
	want, err := s.cfg.Statements.FindSample(as(access.RoleReviewer, demo.PayerZZOUSK), ours.ID, &one, &seedN)
	if err != nil || len(want.LineIDs) != 1 {
		t.Fatalf("sample: %v %v", err, want)
	}
	sampled := want.LineIDs[0]
	id := strconv.FormatInt(sampled, 10)
	var rest int64
	var sampledAmount, restAmount decimal.Decimal
	for _, l := range plain {
		if l.ID == sampled {
			sampledAmount = l.Amount.Decimal
		} else {
			rest, restAmount = l.ID, l.Amount.Decimal
		}
	}
	q := "?percent=50&seed=5"
	page := v.get(base + "/sample" + q)
	if page.status != 200 || !strings.Contains(page.body, `<tr id="line-`+id+`" class="line sampled">`) || strings.Contains(page.body, `id="line-`+strconv.FormatInt(rest, 10)+`"`) ||
		!strings.Contains(page.body, `id="sample-todo"`) || strings.Contains(page.body, `id="apply-link"`) {
		t.Fatalf("sample page: %d\n%s", page.status, page.body)
	}
	early := v.post(base+"/sample/apply", page, url.Values{"percent": {"50"}, "seed": {"5"}})
	if early.status != http.StatusConflict || !strings.Contains(early.body, `id="apply-undecided"`) {
		t.Errorf("applying an undecided sample: %d", early.status)
	}

	// Decide the sampled line on the page: first without a reason (refused in Croatian), then half.
	bad := v.post(base+"/sample/decide", page, url.Values{"line_id": {id}, "decision": {"adjust"}, "approved_amount": {"1,00"}, "percent": {"50"}, "seed": {"5"}})
	if bad.status != 422 || !strings.Contains(bad.body, `<p class="field-error" id="err-reason_code-`+id+`">Odaberite razlog umanjenja.</p>`) {
		t.Errorf("adjust without a reason: %d %s", bad.status, regexp.MustCompile(`field-error[^<]*<`).FindAllString(bad.body, -1))
	}
	half := sampledAmount.Div(decimal.NewFromInt(2)).StringFixed(2)
	ok := v.post(base+"/sample/decide", page, url.Values{"line_id": {id}, "decision": {"adjust"}, "approved_amount": {strings.Replace(half, ".", ",", 1)},
		"reason_code": {"tariff_error"}, "percent": {"50"}, "seed": {"5"}})
	if ok.status != 200 || !strings.HasPrefix(ok.url, base+"/sample?") || !strings.Contains(ok.body, `id="sample-rate">50,0000 %`) || !strings.Contains(ok.body, `id="apply-link"`) {
		t.Fatalf("decided sample: %d at %s", ok.status, ok.url)
	}

	// Confirm: the rate and what the rest would approve, then apply.
	confirm := v.get(base + "/sample/apply" + q)
	if confirm.status != 200 || !strings.Contains(confirm.body, `id="apply-rate">50,0000 %`) || !strings.Contains(confirm.body, `id="apply-lines">1<`) {
		t.Fatalf("confirmation: %d\n%s", confirm.status, confirm.body)
	}
	done := v.post(base+"/sample/apply", confirm, url.Values{"percent": {"50"}, "seed": {"5"}})
	if done.status != 200 || !strings.Contains(done.url, "extrapolated=1") || !strings.Contains(done.body, "Stopa uzorka primijenjena je na 1 stavki.") ||
		!strings.Contains(done.body, `<span class="badge extrapolated">Procijenjeno</span>`) || !strings.Contains(done.body, "iz uzorka od 50 % (sjeme 5), stopa 50,0000 %") {
		t.Fatalf("applied: %d at %s", done.status, done.url)
	}
	_, after := linesBy(t, s, ours.ID)
	for _, l := range after {
		wantApproved := restAmount.Div(decimal.NewFromInt(2)).Round(2) // half of an even number of cents: exact
		if l.ID == rest && (!l.Extrapolated || l.ApprovedAmount == nil || !l.ApprovedAmount.Equal(wantApproved) || *l.Decision != "adjust") {
			t.Errorf("the rest line: %v %v extrapolated %v", l.Decision, l.ApprovedAmount, l.Extrapolated)
		}
		if l.ID == sampled && l.Extrapolated {
			t.Errorf("the sampled line is marked extrapolated")
		}
	}
}
