package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/internal/demo"
)

// adminGetPages are the admin pages a link can open (the forms' targets are tested below).
var adminGetPages = []string{
	"/admin", "/admin/users", "/admin/users/clinic/password", "/admin/tokens",
	"/admin/organizations", "/admin/sites", "/admin/services", "/admin/jurisdictions",
	"/admin/contracts", "/admin/contracts/" + demo.ContractDZBihac,
	"/admin/contracts/" + demo.ContractDZBihac + "/tariffs/new",
	"/admin/contracts/" + demo.ContractDZBihac + "/cost-shares/new", "/admin/audit",
}

// adminIn signs in as the admin and switches to locale.
func adminIn(s *site, locale string) (*visitor, page) {
	v := s.visitor()
	home := v.signIn("admin")
	home = v.post("/language", home, url.Values{"locale": {locale}, "next": {"/admin"}})
	return v, home
}

// TestAdminPagesOpenForAdminsOnly: every admin page opens for the admin in every language with
// no key missing from the catalogue, and is refused to the other roles.
func TestAdminPagesOpenForAdminsOnly(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for _, loc := range []string{"en", "bs", "hr", "sr-Latn", "sr-Cyrl"} {
		v, _ := adminIn(s, loc)
		for _, path := range adminGetPages {
			p := v.get(path)
			if p.status != http.StatusOK || !strings.Contains(p.body, `<html lang="`+loc+`">`) {
				t.Errorf("%s in %s: %d", path, loc, p.status)
			}
			if m := regexp.MustCompile(`\[(admin|common)\.[a-z0-9_.]+\]`).FindString(p.body); m != "" {
				t.Errorf("%s in %s shows the missing key %s", path, loc, m)
			}
		}
	}
	for _, who := range []string{"clinic", "reviewer", "finance"} {
		v := s.visitor()
		v.signIn(who)
		for _, path := range adminGetPages {
			if p := v.get(path); p.status != http.StatusForbidden {
				t.Errorf("%s opened %s: %d", who, path, p.status)
			}
		}
	}
}

var secretPattern = regexp.MustCompile(`<code id="new-secret"[^>]*>([^<]+)</code>`)

func secretOf(t *testing.T, p page) string {
	t.Helper()
	m := secretPattern.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no secret on the page (%d %s)", p.status, p.url)
	}
	return html.UnescapeString(m[1])
}

// fieldMessage returns the message shown next to field (its err-<field> paragraph).
func fieldMessage(p page, field string) string {
	m := regexp.MustCompile(`<p class="field-error" id="err-` + regexp.QuoteMeta(field) + `"[^>]*>([^<]*)</p>`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestAdminUserCreationShowsMessagesNextToTheFields(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	for loc, want := range map[string][2]string{
		"en": {"Use 2 to 64 lower-case letters", "Choose an organization: the role Clinic staff is bound to one."},
		"bs": {"Koristite 2 do 64 mala slova", "Odaberite organizaciju: uloga Osoblje klinike je vezana za jednu."},
	} {
		v, _ := adminIn(s, loc)
		form := v.get("/admin/users")
		p := v.post("/admin/users", form, url.Values{"username": {"Bad Name!"}, "display_name": {"Nova Sestra"},
			"role": {"clinic"}, "org_code": {""}, "locale": {"bs"}, "password_mode": {"generate"}})
		if p.status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d, want 422", loc, p.status)
		}
		if got := fieldMessage(p, "username"); !strings.HasPrefix(got, want[0]) {
			t.Errorf("%s: username message %q, want %q", loc, got, want[0])
		}
		if got := fieldMessage(p, "org_code"); got != want[1] {
			t.Errorf("%s: org_code message %q, want %q", loc, got, want[1])
		}
		if !strings.Contains(p.body, `name="username" type="text" value="Bad Name!" required autocomplete="off" aria-invalid="true" aria-describedby="err-username"`) ||
			!strings.Contains(p.body, `aria-describedby="err-org_code" aria-invalid="true"`) || !strings.Contains(p.body, `value="Nova Sestra"`) {
			t.Errorf("%s: the fields are not marked, or the values were lost", loc)
		}
	}
	// A taken username and a short typed password are named too.
	v, form := adminIn(s, "en")
	p := v.post("/admin/users", form, url.Values{"username": {"clinic"}, "display_name": {"X"}, "role": {"finance"},
		"locale": {"en"}, "password_mode": {"type"}, "password": {"short"}})
	if got := fieldMessage(p, "password"); p.status != http.StatusUnprocessableEntity || got != "Use at least 10 characters." {
		t.Errorf("short password: %d %q", p.status, got)
	}
	p = v.post("/admin/users", form, url.Values{"username": {"clinic"}, "display_name": {"X"}, "role": {"finance"},
		"locale": {"en"}, "password_mode": {"type"}})
	if got := fieldMessage(p, "password"); got != "Type a password, or choose to generate one." {
		t.Errorf("typed nothing: %d %q", p.status, got)
	}
	p = v.post("/admin/users", form, url.Values{"username": {"clinic"}, "display_name": {"X"}, "role": {"finance"},
		"locale": {"en"}, "password_mode": {"generate"}})
	if got := fieldMessage(p, "username"); p.status != http.StatusConflict || got != "This username is taken." {
		t.Errorf("taken username: %d %q", p.status, got)
	}
}

func TestAdminGeneratedPasswordIsShownOnceAndSignsIn(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin, form := adminIn(s, "en")
	p := admin.post("/admin/users", form, url.Values{"username": {"sestra.nova"}, "display_name": {"Nova Sestra"},
		"role": {"clinic"}, "org_code": {demo.ProviderDZBihac}, "locale": {"hr"}, "password_mode": {"generate"}})
	password := secretOf(t, p)
	if len(password) < 16 || !strings.Contains(p.body, "shown only this once") {
		t.Fatalf("generated password %q", password)
	}
	list := admin.get("/admin/users")
	if !strings.Contains(list.body, "sestra.nova") || strings.Contains(list.body, password) {
		t.Fatal("the list lacks the user, or shows the password again")
	}
	nurse := s.visitor()
	home := nurse.post("/login", nurse.get("/login"), url.Values{"username": {"sestra.nova"}, "password": {password}})
	if home.url != "/clinic" || !strings.Contains(home.body, `<html lang="hr">`) {
		t.Fatalf("the new user landed on %s", home.url)
	}
	// A reset ends the user's sessions; the old password stops working, the new one works.
	reset := admin.post("/admin/users/sestra.nova/password", admin.get("/admin/users/sestra.nova/password"), url.Values{"password_mode": {"generate"}})
	fresh := secretOf(t, reset)
	if fresh == password {
		t.Fatal("the reset gave the same password")
	}
	if p := nurse.get("/clinic"); !strings.HasPrefix(p.url, "/login") {
		t.Errorf("after the reset the old session still opens %s", p.url)
	}
	other := s.visitor()
	if p := other.post("/login", other.get("/login"), url.Values{"username": {"sestra.nova"}, "password": {password}}); p.status != http.StatusUnauthorized {
		t.Errorf("the old password: %d", p.status)
	}
	if p := other.post("/login", other.get("/login"), url.Values{"username": {"sestra.nova"}, "password": {fresh}}); p.url != "/clinic" {
		t.Errorf("the new password: %d at %s", p.status, p.url)
	}
	// A typed password is taken as typed.
	reset = admin.post("/admin/users/sestra.nova/password", admin.get("/admin/users/sestra.nova/password"),
		url.Values{"password_mode": {"type"}, "password": {"typed-password-123"}})
	if got := secretOf(t, reset); got != "typed-password-123" {
		t.Errorf("typed password shown as %q", got)
	}
	if p := admin.get("/admin/users/nobody/password"); p.status != http.StatusNotFound {
		t.Errorf("unknown user: %d", p.status)
	}
}

func TestAdminTokenIsCreatedShownOnceAndRevoked(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin, _ := adminIn(s, "bs")
	form := admin.get("/admin/tokens")
	p := admin.post("/admin/tokens", form, url.Values{"name": {""}, "role": {"reviewer"}, "org_code": {demo.ProviderDZBihac}})
	if p.status != http.StatusUnprocessableEntity || fieldMessage(p, "name") != "Ovo polje je obavezno." || fieldMessage(p, "org_code") == "" {
		t.Fatalf("bad token form: %d name=%q org=%q", p.status, fieldMessage(p, "name"), fieldMessage(p, "org_code"))
	}
	p = admin.post("/admin/tokens", form, url.Values{"name": {"Uvoz DZ Bihać"}, "role": {"clinic"}, "org_code": {demo.ProviderDZBihac}, "expires_on": {"2999-12-31"}})
	secret := secretOf(t, p)
	ctx := context.Background()
	principal, err := s.cfg.Tokens.Authenticate(ctx, secret)
	if err != nil || principal.Role != "clinic" || principal.OrgCode != demo.ProviderDZBihac {
		t.Fatalf("the new token: %+v %v", principal, err)
	}
	list := admin.get("/admin/tokens")
	if strings.Contains(list.body, secret) || !strings.Contains(list.body, "Uvoz DZ Bihać") {
		t.Fatal("the list shows the secret, or lacks the token")
	}
	confirm := admin.get("/admin/tokens/" + principal.TokenID + "/revoke")
	if !strings.Contains(confirm.body, "Opozvati token Uvoz DZ Bihać?") {
		t.Fatalf("confirmation page: %d", confirm.status)
	}
	done := admin.post("/admin/tokens/"+principal.TokenID+"/revoke", confirm, url.Values{})
	if done.url != "/admin/tokens?revoked=1" || !strings.Contains(done.body, "Token je opozvan.") {
		t.Fatalf("after revoking: %s", done.url)
	}
	if _, err := s.cfg.Tokens.Authenticate(ctx, secret); err == nil {
		t.Error("the revoked token still authenticates")
	}
	if p := admin.get("/admin/tokens/" + principal.TokenID + "/revoke"); p.status != http.StatusNotFound {
		t.Errorf("revoking twice: %d", p.status)
	}
}

func TestAdminReferenceDataIsListedAndAdded(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin, _ := adminIn(s, "bs")
	sites := admin.get("/admin/sites")
	p := admin.post("/admin/sites", sites, url.Values{"code": {"lipa 2"}, "name": {"TRC Lipa 2"}, "kind": {""}, "jurisdiction_code": {"BA-XX"}})
	if p.status != http.StatusUnprocessableEntity || fieldMessage(p, "code") == "" || fieldMessage(p, "kind") == "" || fieldMessage(p, "jurisdiction_code") == "" {
		t.Fatalf("bad site: %d code=%q kind=%q jur=%q", p.status, fieldMessage(p, "code"), fieldMessage(p, "kind"), fieldMessage(p, "jurisdiction_code"))
	}
	for _, c := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/admin/sites", url.Values{"code": {"TRC-LIPA-2"}, "name": {"TRC Lipa 2"}, "kind": {"trc"}, "jurisdiction_code": {"BA-FBIH-USK"}}, "TRC-LIPA-2"},
		{"/admin/organizations", url.Values{"code": {"UNHCR"}, "name": {"UNHCR BiH"}, "kind": {"payer"}, "payer_type": {"donor"}, "level": {"primary"}, "jurisdiction_code": {"BA"}}, "donator"},
		{"/admin/services", url.Values{"code": {"PSI-01"}, "name": {"Psihološko savjetovanje"}, "category": {"mental_health"}, "unit": {"visit"}, "requires_referral": {"1"}}, "mentalno zdravlje"},
		{"/admin/jurisdictions", url.Values{"code": {"BA-FBIH-ZDK"}, "name": {"Zeničko-dobojski kanton"}, "parent_code": {"BA-FBIH"}}, "Zeničko-dobojski kanton"},
	} {
		p := admin.post(c.path, admin.get(c.path), c.form)
		if !strings.HasPrefix(p.url, c.path+"?added=") || !strings.Contains(p.body, c.want) || !strings.Contains(p.body, `class="flash"`) {
			t.Errorf("%s: %d at %s", c.path, p.status, p.url)
		}
	}
	p = admin.post("/admin/services", admin.get("/admin/services"), url.Values{"code": {"PSI-01"}, "name": {"x"}, "category": {"dental"}, "unit": {"visit"}})
	if p.status != http.StatusConflict || fieldMessage(p, "code") != "Ova šifra se već koristi." {
		t.Errorf("a code in use: %d %q", p.status, fieldMessage(p, "code"))
	}
}

func TestAdminContractShowsTariffsAndTheScheduleAsATimeline(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin, _ := adminIn(s, "en")
	path := "/admin/contracts/" + demo.ContractDZBihac
	p := admin.get(path)
	for _, want := range []string{`<svg xmlns="http://www.w3.org/2000/svg"`, `role="img"`, `>ZZO-USK 30%<`, `>IOM 70%<`,
		"primary care · asylum seeker", "ZZO-USK 60% · IOM 40%", "Version 2", "22.00\u00a0KM", "Version 1"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the contract page lacks %q", want)
		}
	}
	if n := strings.Count(p.body, `<g class="bar">`); n != 8 {
		t.Errorf("%d bars, want one per rule (8)", n)
	}
	if p := admin.get("/admin/contracts/NO-SUCH"); p.status != http.StatusNotFound {
		t.Errorf("unknown contract: %d", p.status)
	}

	// A new tariff version: the form holds the latest items; a bad price is named in its row.
	form := admin.get(path + "/tariffs/new")
	if !strings.Contains(form.body, `name="items[0].value" value="25"`) || !strings.Contains(form.body, `<option value="PZZ-01" selected>`) {
		t.Fatal("the tariff form is not filled in with the latest version")
	}
	bad := admin.post(path+"/tariffs", form, url.Values{"rows": {"4"}, "effective_from": {"2026-07-01"},
		"items[0].service_code": {"PZZ-01"}, "items[0].method": {"fixed"}, "items[0].value": {"abc"},
		"items[3].service_code": {"PZZ-02"}, "items[3].method": {"fixed"}, "items[3].value": {"-1"}})
	if bad.status != http.StatusUnprocessableEntity || fieldMessage(bad, "items-0-value") != "Enter a number such as 12,50." ||
		fieldMessage(bad, "items-3-value") != "Enter an amount greater than zero." {
		t.Fatalf("bad tariff: %d %q %q", bad.status, fieldMessage(bad, "items-0-value"), fieldMessage(bad, "items-3-value"))
	}
	ok := admin.post(path+"/tariffs", form, url.Values{"rows": {"4"}, "effective_from": {"2026-07-01"},
		"items[0].service_code": {"PZZ-01"}, "items[0].method": {"fixed"}, "items[0].value": {"24,50"},
		"items[2].service_code": {"PZZ-02"}, "items[2].method": {"fixed"}, "items[2].value": {"13"}, "items[2].max_quantity": {"1"}})
	if !strings.Contains(ok.url, "added=tariff") || !strings.Contains(ok.body, "Version 3") || !strings.Contains(ok.body, "24.50\u00a0KM") {
		t.Fatalf("tariff not added: %d %s", ok.status, ok.url)
	}

	// A new cost-share rule: shares that do not add up are refused; a rule like one in force is
	// refused as ambiguous; a good one appears in the table and the timeline.
	rule := admin.get(path + "/cost-shares/new")
	bad = admin.post(path+"/cost-shares", rule, url.Values{"rows": {"4"}, "effective_from": {"2026-01-01"}, "service_category": {"dental"},
		"shares[0].payer_code": {"ZZO-USK"}, "shares[0].percent": {"50"}, "shares[1].payer_code": {"IOM"}, "shares[1].percent": {"40,5"}})
	if bad.status != http.StatusUnprocessableEntity || fieldMessage(bad, "shares") != "The shares add up to 90.5%; they must add up to exactly 100." {
		t.Fatalf("bad rule: %d %q", bad.status, fieldMessage(bad, "shares"))
	}
	conflict := admin.post(path+"/cost-shares", rule, url.Values{"rows": {"4"}, "effective_from": {"2025-08-01"}, "service_category": {"primary_care"},
		"shares[0].payer_code": {"IOM"}, "shares[0].percent": {"100"}})
	if conflict.status != http.StatusConflict || !strings.Contains(conflict.body, "could apply to the same lines") {
		t.Fatalf("ambiguous rule: %d", conflict.status)
	}
	ok = admin.post(path+"/cost-shares", rule, url.Values{"rows": {"4"}, "effective_from": {"2026-01-01"}, "service_category": {"dental"},
		"shares[0].payer_code": {"ZZO-USK"}, "shares[0].percent": {"50"}, "shares[2].payer_code": {"IOM"}, "shares[2].percent": {"50"}})
	if !strings.Contains(ok.url, "added=rule") || !strings.Contains(ok.body, "ZZO-USK 50% · IOM 50%") || strings.Count(ok.body, `<g class="bar">`) != 9 {
		t.Fatalf("rule not added: %d %s", ok.status, ok.url)
	}

	// A new contract.
	list := admin.get("/admin/contracts")
	p = admin.post("/admin/contracts", list, url.Values{"code": {"IOM-TEST-2026"}, "provider_code": {demo.PayerIOM}, "currency": {"BAM"}, "valid_from": {"2026-01-01"}, "status": {"draft"}})
	if p.status != http.StatusUnprocessableEntity || fieldMessage(p, "provider_code") != "IOM is not a provider." {
		t.Errorf("a payer as provider: %d %q", p.status, fieldMessage(p, "provider_code"))
	}
	p = admin.post("/admin/contracts", list, url.Values{"code": {"IOM-TEST-2026"}, "provider_code": {demo.ProviderDZBihac}, "payer_code": {demo.PayerIOM}, "currency": {"BAM"}, "valid_from": {"2026-01-01"}, "status": {"draft"}})
	if p.url != "/admin/contracts/IOM-TEST-2026?added=contract" || !strings.Contains(p.body, "No cost-share rules yet") {
		t.Errorf("new contract: %d at %s", p.status, p.url)
	}
}

func TestAdminAuditLogFiltersAndPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin, _ := adminIn(s, "bs")
	admin.post("/admin/sites", admin.get("/admin/sites"), url.Values{"code": {"TRC-AUDIT"}, "name": {"TRC Audit"}, "kind": {"trc"}, "jurisdiction_code": {"BA-FBIH-USK"}})

	// The demo data alone is more than a page: the next page goes on where the first ended.
	first := admin.get("/admin/audit")
	next := regexp.MustCompile(`href="([^"]+)" rel="next" id="audit-next"`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatal("no next page")
	}
	second := admin.get(html.UnescapeString(next[1]))
	rows := regexp.MustCompile(`<tr>\s*<td data-label="Kada"><time datetime="([^"]+)"`)
	a, b := rows.FindAllStringSubmatch(first.body, -1), rows.FindAllStringSubmatch(second.body, -1)
	if len(a) != 50 || len(b) == 0 || b[0][1] > a[len(a)-1][1] || !strings.Contains(second.body, "Prva stranica") {
		t.Fatalf("pages of %d and %d entries", len(a), len(b))
	}
	// Times are shown in Sarajevo time, in the reader's format.
	if !regexp.MustCompile(`>\d\d\.\d\d\.\d{4}\. \d\d:\d\d</time>`).MatchString(first.body) {
		t.Error("times are not in the local format")
	}

	// Filters: the object, the action, the admin as actor, a period.
	p := admin.get("/admin/audit?object=TRC-AUDIT")
	if n := len(rows.FindAllString(p.body, -1)); n != 1 || !strings.Contains(p.body, ">create<") || !strings.Contains(p.body, ">admin<") {
		t.Errorf("filter by object: %d rows", n)
	}
	var adminID string
	if m := regexp.MustCompile(`<option value="(user:[^"]+)">admin</option>`).FindStringSubmatch(p.body); m != nil {
		adminID = m[1]
	}
	p = admin.get("/admin/audit?" + url.Values{"actor": {adminID}, "action": {"create"}}.Encode())
	if n := len(rows.FindAllString(p.body, -1)); n != 1 || !strings.Contains(p.body, "TRC-AUDIT") {
		t.Errorf("filter by actor and action: %d rows", n)
	}
	p = admin.get("/admin/audit?object=TRC-AUDIT&to=2000-01-01")
	if strings.Contains(p.body, ">create<") || !strings.Contains(p.body, "Ništa ne odgovara") {
		t.Error("filter by period: an entry of today is shown before 2000")
	}
	p = admin.get("/admin/audit?from=15.13.2025")
	if p.status != http.StatusUnprocessableEntity || fieldMessage(p, "from") == "" {
		t.Errorf("a bad date: %d", p.status)
	}
	p = admin.get("/admin/audit?cursor=forged")
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "više ne važi") {
		t.Errorf("a forged cursor: %d", p.status)
	}
}
