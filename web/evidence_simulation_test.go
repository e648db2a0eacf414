package web_test

import (
	"context"
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

func simPost(t *testing.T, s *site, ext, day string, lines ...encounters.LineInput) {
	t.Helper()
	clinic := access.WithPrincipal(context.Background(), access.Principal{TokenID: "t", Role: access.RoleClinic, OrgCode: demo.ProviderDZBihac})
	in := encounters.EncounterInput{ContractCode: demo.ContractDZBihac, SiteCode: "TRC-LIPA", ExternalID: ext, PatientID: "SFA-" + ext,
		BeneficiaryCategory: "irregular_migrant", ServiceDate: mustDate(t, day), Kind: "consultation", Diagnoses: []string{"J06.9"}, Lines: lines}
	if _, err := s.cfg.Encounters.PostEncounter(clinic, in, claims.Idempotency{Key: ext, RequestHash: []byte(ext)}); err != nil {
		t.Fatal(err)
	}
}

// TestSimulationPage: finance proposes ZZO USK 100% of primary care from 2025 through the
// form and sees, for March 2025, ZZO USK's actual 12.00 (60% of a 20.00 consultation) against
// 20.00 simulated, IOM's 8.00 against 0.00, in the table and as bars of the chart; a share that
// does not add up to 100 shows its message next to the percentage.
func TestSimulationPage(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	simPost(t, s, "SIMW-1", "2025-03-10", encounters.LineInput{ServiceCode: "PZZ-01", Quantity: decimal.NewFromInt(1)})
	admin, _ := adminIn(s, "en") // admin may simulate too, and reads English
	form := admin.get("/finance/simulations")
	if form.status != http.StatusOK {
		t.Fatalf("form: %d", form.status)
	}
	base := url.Values{"from": {"2025-03"}, "to": {"2025-03"}, "contract": {demo.ContractDZBihac}, "r0_from": {"2025-01-01"}, "r0_category": {"primary_care"},
		"r0_payer0": {"ZZO-USK"}}
	bad := url.Values{}
	for k, v := range base {
		bad[k] = v
	}
	bad.Set("r0_pct0", "90")
	res := admin.post("/finance/simulations", form, bad)
	if res.status != http.StatusUnprocessableEntity || fieldMessage(res, "r0_pct0") == "" {
		t.Fatalf("bad share: %d %q", res.status, fieldMessage(res, "r0_pct0"))
	}
	base.Set("r0_pct0", "100")
	res = admin.post("/finance/simulations", form, base)
	if res.status != http.StatusOK {
		t.Fatalf("simulate: %d", res.status)
	}
	body := strings.NewReplacer("\u00a0", " ", "\u202f", " ", "&nbsp;", " ").Replace(res.body)
	for payer, want := range map[string][3]string{"ZZO-USK": {"12.00 KM", "20.00 KM", "8.00 KM"}, "IOM": {"8.00 KM", "0.00 KM", "−8.00 KM"}} {
		row := regexp.MustCompile(`(?s)<tr data-period="2025-03" data-payer="` + payer + `"[^>]*>.*?</tr>`).FindString(body)
		for _, w := range want {
			if !strings.Contains(row, w) {
				t.Errorf("%s row lacks %s: %s", payer, w, row)
			}
		}
	}
	if n := strings.Count(body, `class="sim-bar"`); n != 4 {
		t.Errorf("%d bars, want 2 per payer", n)
	}
	// Reviewers and clinics do not simulate.
	for _, who := range []string{"reviewer", "clinic"} {
		v := s.visitor()
		v.signIn(who)
		if p := v.get("/finance/simulations"); p.status != http.StatusForbidden && p.status != http.StatusNotFound {
			t.Errorf("%s: %d", who, p.status)
		}
	}
}

// TestParityPages: the admin publishes ZZO USK's tariff (PZZ-01 at 15.00) through the form;
// ZZO USK's reviewer and finance then see the March consultation at 20.00 above parity by 5.00.
func TestParityPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	simPost(t, s, "PAR-1", "2025-03-10", encounters.LineInput{ServiceCode: "PZZ-01", Quantity: decimal.NewFromInt(1)})
	admin, _ := adminIn(s, "en")
	list := admin.get("/admin/parity")
	if list.status != http.StatusOK || !strings.Contains(list.body, `href="/admin/parity/ZZO-USK"`) || strings.Contains(list.body, `href="/admin/parity/IOM"`) {
		t.Fatalf("funds: %d", list.status)
	}
	page := admin.get("/admin/parity/ZZO-USK")
	bad := admin.post("/admin/parity/ZZO-USK", page, url.Values{"price_PZZ-01": {"x"}})
	if bad.status != http.StatusUnprocessableEntity || fieldMessage(bad, "effective_from") == "" || fieldMessage(bad, "price_PZZ-01") == "" {
		t.Fatalf("bad: %d", bad.status)
	}
	ok := admin.post("/admin/parity/ZZO-USK", page, url.Values{"effective_from": {"2025-01-01"}, "price_PZZ-01": {"15,00"}})
	if !strings.Contains(ok.url, "added=1") {
		t.Fatalf("add: %d %s", ok.status, ok.url)
	}
	reviewer := s.visitor()
	reviewer.signIn("reviewer")
	for _, v := range []struct {
		who  *visitor
		path string
	}{{reviewer, "/review/parity?from=2025-01&to=2025-12"}, {admin, ""}} {
		if v.path == "" {
			fin := s.visitor()
			fin.signIn("finance")
			v.who, v.path = fin, "/finance/parity?from=2025-01&to=2025-12&payer_code=ZZO-USK"
		}
		p := v.who.get(v.path)
		row := regexp.MustCompile(`(?s)<tr data-service="PZZ-01">.*?</tr>`).FindString(p.body)
		if p.status != http.StatusOK || !strings.Contains(row, `data-amount="5.00"`) {
			t.Errorf("%s: %d %s", v.path, p.status, row)
		}
	}
	p := reviewer.get("/review/parity?from=2025-01&to=2025-12&payer_code=ZZO-KS")
	if h := regexp.MustCompile(`<h2 id="parity-result">[^<]*</h2>`).FindString(p.body); !strings.Contains(h, "ZZO-USK") {
		t.Errorf("a reviewer's parity is of their own fund: %q", h)
	}
}
