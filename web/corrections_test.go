package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// The repricing page (admin) and the months page (finance) of issue 13 items 1 and 6.
func TestRepricingAndPeriodPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	clinic := access.WithPrincipal(t.Context(), access.Principal{TokenID: "c", Role: access.RoleClinic, OrgCode: demo.ProviderDZBihac})
	admin := access.WithPrincipal(t.Context(), access.Principal{TokenID: "a", Role: access.RoleAdmin})
	day, _ := trcledger.ParseDate("2025-03-10")
	for _, ext := range []string{"W-1", "W-2"} {
		in := encounters.EncounterInput{ContractCode: demo.ContractDZBihac, SiteCode: "TRC-LIPA", ExternalID: ext, PatientID: "SFA-" + ext,
			BeneficiaryCategory: "irregular_migrant", ServiceDate: day, Kind: "consultation", Diagnoses: []string{"J06.9"},
			Lines: []encounters.LineInput{{ServiceCode: "PZZ-01", Quantity: decimal.NewFromInt(1)}}}
		if _, err := s.cfg.Encounters.PostEncounter(clinic, in, claims.Idempotency{Key: ext, RequestHash: []byte(ext)}); err != nil {
			t.Fatal(err)
		}
	}
	from, _ := trcledger.ParseDate("2025-01-01")
	to, _ := trcledger.ParseDate("2026-01-01")
	price := decimal.RequireFromString("23")
	if _, err := s.cfg.Contracts.AddTariffVersion(admin, demo.ContractDZBihac, contracts.TariffVersion{EffectiveFrom: from, EffectiveTo: &to, Retroactive: true,
		Items: []contracts.TariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: &price}}}); err != nil {
		t.Fatal(err)
	}

	a := s.visitor()
	a.signIn("admin") // English
	path := "/admin/contracts/" + demo.ContractDZBihac + "/reprice"
	p := a.get(path + "?from=2025-03-01&to=2025-03-31")
	// 20.00 → 23.00, 60/40, two visits: ZZO USK +3.60, IOM +2.40.
	if p.status != 200 || !strings.Contains(p.body, "3.60") || !strings.Contains(p.body, "2.40") || !strings.Contains(p.body, `name="key"`) {
		t.Fatalf("preview: %d %s", p.status, p.body)
	}
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(p.body)[1]
	form := url.Values{"from": {"2025-03-01"}, "to": {"2025-03-31"}, "key": {key}}
	if q := a.post(path, p, form); q.status != 422 || !strings.Contains(q.body, `id="err-confirm"`) {
		t.Fatalf("apply without confirmation: %d", q.status)
	}
	form.Set("confirm", "yes")
	q := a.post(path, p, form)
	if q.status != 200 || !strings.Contains(q.body, "What was repriced") {
		t.Fatalf("apply: %d %s", q.status, q.body)
	}
	if r := a.post(path, p, form); r.status != 200 || !strings.Contains(r.body, "applied already") {
		t.Fatalf("the same form again: %d", r.status)
	}
	if r := a.get(path + "?from=2025-03-31&to=2025-03-01"); r.status != 422 || !strings.Contains(r.body, `id="err-to"`) {
		t.Fatalf("bad range: %d", r.status)
	}

	f := s.visitor()
	f.signIn("finance")
	p = f.get("/finance/periods")
	if p.status != 200 {
		t.Fatalf("periods: %d", p.status)
	}
	if q := f.post("/finance/periods/close", p, url.Values{"period": {"2025-03"}}); q.status != 200 || !strings.Contains(q.body, `action="/finance/periods/reopen"`) {
		t.Fatalf("close: %d %s", q.status, q.body)
	}
	if r := a.get(path + "?from=2025-03-01&to=2025-03-31"); r.status != 409 {
		t.Fatalf("repricing a closed month: %d", r.status)
	}
	if q := f.post("/finance/periods/reopen", p, url.Values{"period": {"2025-03"}}); q.status != 422 || !strings.Contains(q.body, `id="err-reason"`) {
		t.Fatalf("reopen without reason: %d", q.status)
	}
	if q := f.post("/finance/periods/reopen", p, url.Values{"period": {"2025-03"}, "reason": {"late invoice"}}); q.status != 200 || !strings.Contains(q.body, "late invoice") {
		t.Fatalf("reopen: %d", q.status)
	}
	// Others may not open these pages.
	if r := f.get(path); r.status != 403 && r.status != 404 {
		t.Fatalf("finance on the repricing page: %d", r.status)
	}
}
