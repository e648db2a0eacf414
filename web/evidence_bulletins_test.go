package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// postMarch posts a PZZ-01 consultation (20.00: ZZO USK 12.00, IOM 8.00) at Lipa on a day of March 2025.
func postMarch(t *testing.T, s *site, ext, day string) {
	t.Helper()
	clinic := access.WithPrincipal(context.Background(), access.Principal{TokenID: "t", Role: access.RoleClinic, OrgCode: demo.ProviderDZBihac})
	in := encounters.EncounterInput{ContractCode: demo.ContractDZBihac, SiteCode: "TRC-LIPA", ExternalID: ext, PatientID: "SFA-" + ext,
		BeneficiaryCategory: "irregular_migrant", ServiceDate: mustDate(t, day), Kind: "consultation", Diagnoses: []string{"J06.9"},
		Lines: []encounters.LineInput{{ServiceCode: "PZZ-01", Quantity: decimal.NewFromInt(1)}}}
	if _, err := s.cfg.Encounters.PostEncounter(clinic, in, claims.Idempotency{Key: ext, RequestHash: []byte(ext)}); err != nil {
		t.Fatal(err)
	}
}

var missingBulletinKey = regexp.MustCompile(`\[(finance|review|common)\.[a-z0-9_.]+\]`)

// TestBulletinPages: finance publishes March 2025 through the form (a bad month shows its
// message next to the field, a second publication 409), sees it published and, after a late
// line, restated by 20.00 in the table and the chart, verifies it and downloads the PDF, in every
// language; the payer report opens for finance (every payer) and for ZZO USK's reviewer (its own).
func TestBulletinPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for i := range 5 {
		postMarch(t, s, fmt.Sprintf("BUL-%d", i), fmt.Sprintf("2025-03-1%d", i))
	}
	fin := s.visitor()
	home := fin.signIn("finance")
	home = fin.post("/language", home, url.Values{"locale": {"en"}, "next": {"/finance/bulletins"}})
	list := fin.get("/finance/bulletins")
	if list.status != http.StatusOK || !strings.Contains(list.body, "No bulletin has been published yet.") {
		t.Fatalf("list: %d", list.status)
	}
	bad := fin.post("/finance/bulletins", list, url.Values{"period": {"2025-3"}})
	if bad.status != http.StatusUnprocessableEntity || fieldMessage(bad, "period") == "" {
		t.Fatalf("bad month: %d %q", bad.status, fieldMessage(bad, "period"))
	}
	ok := fin.post("/finance/bulletins", list, url.Values{"period": {"2025-03"}})
	if ok.status != http.StatusOK || !strings.Contains(ok.url, "/finance/bulletins/2025-03") || !strings.Contains(ok.body, "The bulletin is published.") ||
		!strings.Contains(ok.body, "Not restated") {
		t.Fatalf("publish: %d at %s", ok.status, ok.url)
	}
	again := fin.post("/finance/bulletins", list, url.Values{"period": {"2025-03"}})
	if again.status != http.StatusConflict || fieldMessage(again, "period") == "" {
		t.Errorf("second publication: %d", again.status)
	}
	postMarch(t, s, "BUL-LATE", "2025-03-28")
	show := fin.get("/finance/bulletins/2025-03?verify=1")
	body := strings.NewReplacer("\u00a0", " ", "&nbsp;", " ").Replace(show.body)
	total := regexp.MustCompile(`(?s)<tr data-figure="finance.bulletin.figure.total">.*?</tr>`).FindString(body)
	for _, want := range []string{`data-value="100"`, `data-value="120"`, `data-value="20"`} {
		if !strings.Contains(total, want) {
			t.Errorf("total row lacks %s: %s", want, total)
		}
	}
	if !strings.Contains(body, "Restated: later lines changed the month.") || !strings.Contains(body, `<svg`) ||
		strings.Count(body, `data-figure="published"`) != 5 || !strings.Contains(body, "Verified: the ledger") {
		t.Errorf("bulletin page: %s", body)
	}
	pdf := fin.get("/finance/bulletins/2025-03/export.pdf")
	if pdf.status != http.StatusOK || !strings.HasPrefix(pdf.body, "%PDF-") {
		t.Errorf("pdf: %d", pdf.status)
	}
	for _, loc := range []string{"en", "bs", "hr", "sr-Latn", "sr-Cyrl"} {
		fin.post("/language", home, url.Values{"locale": {loc}, "next": {"/finance/bulletins"}})
		for _, path := range []string{"/finance/bulletins", "/finance/bulletins/2025-03", "/finance/payers?from=2025-01&to=2025-12"} {
			p := fin.get(path)
			if p.status != http.StatusOK || !strings.Contains(p.body, `<html lang="`+loc+`">`) {
				t.Errorf("%s in %s: %d", path, loc, p.status)
			}
			if m := missingBulletinKey.FindString(p.body); m != "" {
				t.Errorf("%s in %s shows the missing key %s", path, loc, m)
			}
		}
	}
	payers := fin.get("/finance/payers?from=2025-01&to=2025-12")
	if !strings.Contains(payers.body, `data-payer="ZZO-USK"`) || !strings.Contains(payers.body, `data-payer="IOM"`) {
		t.Errorf("finance's payer report lacks a payer")
	}
	if bad := fin.get("/finance/payers?from=2025-13&to=2025-12"); bad.status != http.StatusUnprocessableEntity || fieldMessage(bad, "from") == "" {
		t.Errorf("bad month: %d", bad.status)
	}
	rev := s.visitor()
	rev.signIn("reviewer")
	own := rev.get("/review/payers?from=2025-01&to=2025-12")
	if own.status != http.StatusOK || !strings.Contains(own.body, `data-payer="ZZO-USK"`) || strings.Contains(own.body, `data-payer="IOM"`) {
		t.Errorf("reviewer's payer report: %d", own.status)
	}
	if m := missingBulletinKey.FindString(own.body); m != "" {
		t.Errorf("reviewer's page shows the missing key %s", m)
	}
	if p := rev.get("/finance/bulletins"); p.status != http.StatusForbidden && p.status != http.StatusNotFound {
		t.Errorf("reviewer opened the bulletins: %d", p.status)
	}
}
