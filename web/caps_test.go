package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// TestCapPages: the admin adds a ceiling of 10.00 a month for ZZO USK on DZ Bihać's contract
// through the form (a bad form shows its messages next to the fields; an overlapping one 409);
// after a consultation whose ZZO USK share is 12.00, the page shows March with 10.00 used,
// 0.00 left and 2.00 routed, in every language without a missing key.
func TestCapPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin, _ := adminIn(s, "en")
	path := "/admin/contracts/" + demo.ContractDZBihac + "/caps"
	list := admin.get("/admin/caps")
	if list.status != http.StatusOK || !strings.Contains(list.body, `href="`+path+`"`) {
		t.Fatalf("list: %d", list.status)
	}
	form := admin.get(path)
	if form.status != http.StatusOK || !strings.Contains(form.body, "This contract has no budget ceiling.") {
		t.Fatalf("caps page: %d", form.status)
	}
	bad := admin.post(path, form, url.Values{"payer_code": {"ZZO-USK"}, "period": {"month"}, "amount": {"abc"}, "mode": {"route"}})
	if bad.status != http.StatusUnprocessableEntity || fieldMessage(bad, "amount") == "" || fieldMessage(bad, "effective_from") == "" ||
		fieldMessage(bad, "overflow_payer_code") == "" {
		t.Fatalf("bad form: %d amount %q from %q overflow %q", bad.status, fieldMessage(bad, "amount"), fieldMessage(bad, "effective_from"), fieldMessage(bad, "overflow_payer_code"))
	}
	ok := admin.post(path, form, url.Values{"payer_code": {"ZZO-USK"}, "period": {"month"}, "amount": {"10,00"}, "effective_from": {"2025-01-01"},
		"mode": {"route"}, "overflow_payer_code": {"IOM"}})
	if !strings.Contains(ok.url, "added=cap") || !strings.Contains(ok.body, "The ceiling was added.") {
		t.Fatalf("add: %d at %s", ok.status, ok.url)
	}
	overlap := admin.post(path, ok, url.Values{"payer_code": {"ZZO-USK"}, "period": {"year"}, "amount": {"5"}, "effective_from": {"2025-06-01"}, "mode": {"warn"}})
	if overlap.status != http.StatusConflict || !strings.Contains(overlap.body, "covers some of the same days") {
		t.Errorf("overlap: %d", overlap.status)
	}

	clinic := access.WithPrincipal(context.Background(), access.Principal{TokenID: "t", Role: access.RoleClinic, OrgCode: demo.ProviderDZBihac})
	in := encounters.EncounterInput{ContractCode: demo.ContractDZBihac, SiteCode: "TRC-LIPA", ExternalID: "CAP-1", PatientID: "SFA-1",
		BeneficiaryCategory: "irregular_migrant", ServiceDate: mustDate(t, "2025-03-15"), Kind: "consultation", Diagnoses: []string{"J06.9"},
		Lines: []encounters.LineInput{{ServiceCode: "PZZ-01", Quantity: decimal.NewFromInt(1)}}}
	if _, err := s.cfg.Encounters.PostEncounter(clinic, in, claims.Idempotency{Key: "cap-1", RequestHash: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{"en", "bs", "hr", "sr-Latn", "sr-Cyrl"} {
		v, _ := adminIn(s, loc)
		p := v.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d", loc, p.status)
		}
		if m := regexp.MustCompile(`\[(admin|common|review)\.[a-z0-9_.]+\]`).FindString(p.body); m != "" {
			t.Errorf("%s shows the missing key %s", loc, m)
		}
		if loc == "en" {
			row := regexp.MustCompile(`(?s)<td data-label="Period">2025-03</td>.*?</tr>`).FindString(p.body)
			row = strings.NewReplacer("\u00a0", " ", "\u202f", " ", "&nbsp;", " ").Replace(row)
			for _, want := range []string{"10.00 KM", "0.00 KM", "2.00 KM"} {
				if !strings.Contains(row, want) {
					t.Errorf("March row lacks %s: %s", want, row)
				}
			}
		}
	}
}

func mustDate(t *testing.T, s string) trcledger.Date {
	t.Helper()
	d, err := trcledger.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
