package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// as is a context acting as role bound to org.
func as(role, org string) context.Context {
	return access.WithPrincipal(context.Background(), access.Principal{TokenID: "test-" + role, Name: "test " + role, Role: role, OrgCode: org})
}

// reviewStatements posts March 2025 of DZ Bihać (two plain lines and a wound dressing at the
// tariff's maximum quantity, which the submit check flags quantity_limit) and of DZ KS, builds
// the month's statement of each on its canton's fund (ZZO USK, ZZO KS) and submits it. It
// returns the two statements.
func reviewStatements(t *testing.T, s *site) (ours, foreign *statements.Statement) {
	t.Helper()
	post := func(provider, contract, site string, i int, lines ...encounters.LineInput) {
		ext := "REV-" + provider + "-" + strconv.Itoa(i)
		sum := sha256.Sum256([]byte(ext))
		day, err := trcledger.ParseDate("2025-03-1" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.cfg.Encounters.PostEncounter(as(access.RoleClinic, provider), encounters.EncounterInput{
			ContractCode: contract, SiteCode: site, ExternalID: ext, PatientID: "SFA-REV-" + strconv.Itoa(i),
			BeneficiaryCategory: "irregular_migrant", ServiceDate: day,
			Kind: "consultation", Diagnoses: []string{"J06.9"}, Lines: lines,
		}, encounters.Idempotency{Key: ext, RequestHash: sum[:]})
		if err != nil {
			t.Fatalf("post %s: %v", ext, err)
		}
	}
	one, five := decimal.NewFromInt(1), decimal.NewFromInt(5)
	post(demo.ProviderDZBihac, demo.ContractDZBihac, "TRC-LIPA", 1, encounters.LineInput{ServiceCode: "PZZ-01", Quantity: one})
	post(demo.ProviderDZBihac, demo.ContractDZBihac, "TRC-BORICI", 2, encounters.LineInput{ServiceCode: "PZZ-04", Quantity: five})
	post(demo.ProviderDZBihac, demo.ContractDZBihac, "TRC-LIPA", 3, encounters.LineInput{ServiceCode: "PZZ-02", Quantity: one})
	post(demo.ProviderDZKS, demo.ContractDZKS, "TRC-BLAZUJ", 4, encounters.LineInput{ServiceCode: "PZZ-01", Quantity: one})
	build := func(provider, payer string) *statements.Statement {
		st, err := s.cfg.Statements.CreateStatement(as(access.RoleFinance, ""), provider, payer, "2025-03")
		if err != nil {
			t.Fatalf("build %s/%s: %v", provider, payer, err)
		}
		if st, err = s.cfg.Statements.SubmitStatement(as(access.RoleClinic, provider), st.ID); err != nil {
			t.Fatalf("submit %s: %v", st.Number, err)
		}
		return st
	}
	return build(demo.ProviderDZBihac, demo.PayerZZOUSK), build(demo.ProviderDZKS, demo.PayerZZOKS)
}

// linesBy returns the statement's lines as admin reads them, split into flagged and not.
func linesBy(t *testing.T, s *site, id string) (flagged, plain []statements.StatementLine) {
	t.Helper()
	st, err := s.cfg.Statements.FindStatementByID(as(access.RoleAdmin, ""), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range st.Lines {
		if len(l.Flags) > 0 {
			flagged = append(flagged, l)
		} else {
			plain = append(plain, l)
		}
	}
	if len(flagged) != 1 || len(plain) != 2 {
		t.Fatalf("want 1 flagged and 2 plain lines, got %d and %d", len(flagged), len(plain))
	}
	return flagged, plain
}

// TestReviewQueueShowsOnlyOwnPayersStatements: the reviewer of ZZO USK sees their fund's
// statement in the queue with its progress, and another fund's statement neither there nor at
// its address (404, as an unknown one).
func TestReviewQueueShowsOnlyOwnPayersStatements(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ours, foreign := reviewStatements(t, s)
	v := s.visitor()
	v.signIn("reviewer")
	q := v.get("/review")
	if q.status != 200 || !strings.Contains(q.body, ours.Number) || !strings.Contains(q.body, "/review/statements/"+ours.ID) {
		t.Fatalf("queue: %d, lacks %s", q.status, ours.Number)
	}
	if strings.Contains(q.body, foreign.Number) || strings.Contains(q.body, foreign.ID) {
		t.Errorf("the queue lists another fund's statement %s", foreign.Number)
	}
	for _, want := range []string{"0 od 3 odlučeno", "JU Dom zdravlja Bihać", "ožujak 2025.", "Podneseno"} {
		if !strings.Contains(q.body, want) {
			t.Errorf("queue lacks %q", want)
		}
	}
	if done := v.get("/review?show=done"); strings.Contains(done.body, ours.Number) {
		t.Errorf("a submitted statement is listed as reviewed")
	}
	for _, path := range []string{"/review/statements/" + foreign.ID, "/review/statements/" + foreign.ID + "/export.csv", "/review/statements/" + foreign.ID + "/complete", "/review/statements/nope"} {
		if p := v.get(path); p.status != http.StatusNotFound || strings.Contains(p.body, foreign.Number) {
			t.Errorf("%s: %d, want 404", path, p.status)
		}
	}
	p := v.get("/review/statements/" + ours.ID)
	if p.status != 200 || !strings.Contains(p.body, "J06.9") || !strings.Contains(p.body, "Količina na granici") || !strings.Contains(p.body, "TRC Borići") {
		t.Errorf("statement page: %d, lacks its lines, flags, sites or diagnoses", p.status)
	}
	if csv := v.get("/review/statements/" + ours.ID + "/export.csv"); csv.status != 200 || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || !strings.Contains(csv.body, "PZZ-04") {
		t.Errorf("CSV export: %d %s", csv.status, csv.header.Get("Content-Type"))
	}
	if pdf := v.get("/review/statements/" + ours.ID + "/export.pdf"); pdf.status != 200 || !strings.HasPrefix(pdf.body, "%PDF") {
		t.Errorf("PDF export: %d", pdf.status)
	}
	// The filters narrow the lines; a bad amount is named next to its field.
	f := v.get("/review/statements/" + ours.ID + "?flag=quantity_limit")
	if n := strings.Count(f.body, `<tr id="line-`); n != 1 || !strings.Contains(f.body, "PZZ-04") {
		t.Errorf("flag filter shows %d lines", n)
	}
	if f := v.get("/review/statements/" + ours.ID + "?site=TRC-LIPA&max_amount=100"); strings.Count(f.body, `<tr id="line-`) != 2 {
		t.Errorf("site and amount filter shows %d lines, want 2", strings.Count(f.body, `<tr id="line-`))
	}
	if f := v.get("/review/statements/" + ours.ID + "?min_amount=abc"); !strings.Contains(f.body, `id="err-min_amount"`) {
		t.Errorf("a bad amount is not named next to its field")
	}
	// A page of one line links to the next.
	if f := v.get("/review/statements/" + ours.ID + "?lines_limit=1"); strings.Count(f.body, `<tr id="line-`) != 1 || !strings.Contains(f.body, "lines_cursor=") {
		t.Errorf("paging: %d lines, next link %v", strings.Count(f.body, `<tr id="line-`), strings.Contains(f.body, "lines_cursor="))
	}
}

// TestReviewBulkApprovalLeavesFlaggedLinesUndecided: "approve every unflagged line" approves
// the two plain lines in one action and leaves the flagged one for the reviewer.
func TestReviewBulkApprovalLeavesFlaggedLinesUndecided(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ours, _ := reviewStatements(t, s)
	v := s.visitor()
	v.signIn("reviewer")
	page := v.get("/review/statements/" + ours.ID)
	p := v.post("/review/statements/"+ours.ID+"/approve-unflagged", page, url.Values{})
	if p.status != 200 || !strings.Contains(p.url, "approved=2") || !strings.Contains(p.body, "Odobreno stavki bez oznake: 2.") || !strings.Contains(p.body, "2 od 3 odlučeno") {
		t.Fatalf("bulk approval landed on %s (%d)", p.url, p.status)
	}
	flagged, plain := linesBy(t, s, ours.ID)
	if flagged[0].Decision != nil {
		t.Errorf("the flagged line was decided: %v", *flagged[0].Decision)
	}
	for _, l := range plain {
		if l.Decision == nil || *l.Decision != "approve" || l.DecidedBy == nil || !strings.Contains(*l.DecidedBy, "user:") {
			t.Errorf("line %d after bulk approval: %v by %v", l.ID, l.Decision, l.DecidedBy)
		}
	}
}

// TestReviewRejectWithoutReasonIsExplainedInCroatian: a rejection without a reason comes back
// (422) with the message next to the reason, in the reviewer's language (hr), and nothing is
// recorded; through fetch the answer is JSON with the line's row carrying the same message.
func TestReviewRejectWithoutReasonIsExplainedInCroatian(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ours, _ := reviewStatements(t, s)
	flagged, _ := linesBy(t, s, ours.ID)
	id := strconv.FormatInt(flagged[0].ID, 10)
	v := s.visitor()
	v.signIn("reviewer")
	page := v.get("/review/statements/" + ours.ID)
	if strings.Contains(page.body, `name="_csrf" value=""`) || !strings.Contains(page.body, `class="decide"`) {
		t.Fatal("a line's decision form has no CSRF token: without JavaScript it would be refused")
	}
	p := v.post("/review/statements/"+ours.ID+"/decide", page, url.Values{"line_id": {id}, "decision": {"reject"}, "note": {"bez razloga"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("reject without a reason: %d", p.status)
	}
	msg := regexp.MustCompile(`<p class="field-error" id="err-reason_code-` + id + `">([^<]*)</p>`).FindStringSubmatch(p.body)
	if msg == nil || msg[1] != "Odaberite razlog odbijanja." {
		t.Errorf("message next to the reason: %v", msg)
	}
	if !regexp.MustCompile(`id="reason-` + id + `" name="reason_code" class="f-reason" aria-invalid="true" aria-describedby="err-reason_code-` + id + `"`).MatchString(p.body) {
		t.Errorf("the reason field is not marked invalid")
	}
	if !strings.Contains(p.body, `value="bez razloga"`) || !strings.Contains(p.body, `<option value="reject" selected>`) {
		t.Errorf("the form does not keep what was sent")
	}
	if flagged, _ := linesBy(t, s, ours.ID); flagged[0].Decision != nil {
		t.Errorf("a refused decision was recorded")
	}
	// The same through fetch, with the token in the header.
	body := url.Values{"line_id": {id}, "decision": {"reject"}}
	req, _ := http.NewRequest("POST", s.base+"/review/statements/"+ours.ID+"/decide", strings.NewReader(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", csrfOf(page))
	r := v.do(req)
	var answer struct {
		OK     bool              `json:"ok"`
		Row    string            `json:"row"`
		Errors map[string]string `json:"errors"`
	}
	if err := json.Unmarshal([]byte(r.body), &answer); err != nil || r.status != 422 || answer.OK || answer.Errors["reason_code"] != "Odaberite razlog odbijanja." || !strings.Contains(answer.Row, "err-reason_code-"+id) {
		t.Errorf("fetch: %d %.300s", r.status, r.body)
	}
	// With the reason, through fetch: the row and the progress come back.
	body.Set("reason_code", "quantity_exceeded")
	req, _ = http.NewRequest("POST", s.base+"/review/statements/"+ours.ID+"/decide", strings.NewReader(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", csrfOf(page))
	r = v.do(req)
	if r.status != 200 || !strings.Contains(r.body, `"decided":1`) || !strings.Contains(r.body, "Prekoračena količina") {
		t.Errorf("fetch with a reason: %d %.300s", r.status, r.body)
	}
}

// TestReviewCompleteReview: the confirmation refuses while a line is undecided; once every line
// is decided the reviewer confirms, the totals are fixed and the statement is reviewed.
func TestReviewCompleteReview(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ours, _ := reviewStatements(t, s)
	flagged, _ := linesBy(t, s, ours.ID)
	v := s.visitor()
	v.signIn("reviewer")
	page := v.get("/review/statements/" + ours.ID)
	v.post("/review/statements/"+ours.ID+"/approve-unflagged", page, url.Values{})
	c := v.get("/review/statements/" + ours.ID + "/complete")
	if !strings.Contains(c.body, `id="undecided"`) || strings.Contains(c.body, `id="complete-form"`) {
		t.Errorf("the confirmation offers to complete with a line undecided")
	}
	if p := v.post("/review/statements/"+ours.ID+"/complete", c, url.Values{}); p.status != http.StatusConflict {
		t.Errorf("complete with a line undecided: %d", p.status)
	}
	p := v.post("/review/statements/"+ours.ID+"/decide", page, url.Values{"line_id": {strconv.FormatInt(flagged[0].ID, 10)}, "decision": {"reject"}, "reason_code": {"quantity_exceeded"}})
	if p.status != 200 || !strings.Contains(p.url, "saved=1") || !strings.Contains(p.body, "3 od 3 odlučeno") {
		t.Fatalf("reject: %d at %s", p.status, p.url)
	}
	if !strings.Contains(p.body, `<span class="badge decision-reject">Odbij</span>`) || !strings.Contains(p.body, "<div>Prekoračena količina</div>") {
		t.Errorf("the page does not show the rejection and its reason")
	}
	c = v.get("/review/statements/" + ours.ID + "/complete")
	if !strings.Contains(c.body, `id="complete-form"`) {
		t.Fatalf("no confirmation form once every line is decided")
	}
	done := v.post("/review/statements/"+ours.ID+"/complete", c, url.Values{})
	if done.status != 200 || !strings.Contains(done.url, "completed=1") || !strings.Contains(done.body, "Revizija je završena.") {
		t.Fatalf("complete: %d at %s", done.status, done.url)
	}
	st, err := s.cfg.Statements.FindStatementByID(as(access.RoleAdmin, ""), ours.ID)
	if err != nil || st.Status != statements.StatusReviewed || st.Rejected == nil || !st.Rejected.Equal(flagged[0].Amount.Decimal) {
		t.Errorf("after completing: %v %v", st, err)
	}
	if strings.Contains(done.body, `action="/review/statements/`+ours.ID+`/decide"`) {
		t.Errorf("a reviewed statement still offers decision forms")
	}
}
