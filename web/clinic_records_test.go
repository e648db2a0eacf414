package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"golang.org/x/text/encoding/charmap"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/web/i18n"
)

func recAs(role, org string) context.Context {
	return access.WithPrincipal(context.Background(), access.Principal{TokenID: "test-" + role + "-" + org, Role: role, OrgCode: org})
}

// recVisit is an encounter of DZ Bihać (or, with contract and site, of another provider):
// a GP consultation and a blood count on 3 March 2025 (primary care: ZZO USK 60%, IOM 40%).
func recVisit(ext string) encounters.EncounterInput {
	d, _ := trcledger.ParseDate("2025-03-03")
	sex, year, dr := "F", 1994, "dr-hadzic"
	return encounters.EncounterInput{Sex: &sex, BirthYear: &year, PractitionerRef: &dr,
		ContractCode: demo.ContractDZBihac, SiteCode: "TRC-LIPA", ExternalID: ext, PatientID: "SFA-" + ext,
		BeneficiaryCategory: "irregular_migrant", ServiceDate: d, Kind: "consultation", Diagnoses: []string{"J06.9"},
		Lines: []encounters.LineInput{{ServiceCode: "PZZ-01", Quantity: decimal.NewFromInt(1)}, {ServiceCode: "LAB-01", Quantity: decimal.NewFromInt(2)}},
	}
}

// recPost posts encounters as the clinic of provider and returns their ids.
func (s *site) recPost(provider string, ins ...encounters.EncounterInput) []string {
	s.t.Helper()
	res, err := s.cfg.Encounters.PostBatch(recAs(access.RoleClinic, provider), ins, claims.Idempotency{Key: fmt.Sprintf("k-%s-%s", provider, ins[0].ExternalID), RequestHash: []byte("x")})
	if err != nil {
		s.t.Fatal(err)
	}
	var ids []string
	for _, e := range res.Encounters {
		ids = append(ids, e.ID)
	}
	return ids
}

func recOtherVisit(ext string) encounters.EncounterInput {
	in := recVisit(ext)
	in.ContractCode, in.SiteCode = demo.ContractDZKS, "TRC-BLAZUJ"
	return in
}

func recWantIn(t *testing.T, p page, what ...string) {
	t.Helper()
	for _, w := range what {
		if !strings.Contains(p.body, w) {
			t.Errorf("%s (%d) lacks %q", p.url, p.status, w)
		}
	}
}

func TestClinicEncountersListFilterPagesAndOneEncounter(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	var batch []encounters.EncounterInput
	for i := range 55 {
		batch = append(batch, recVisit(fmt.Sprintf("LIPA-%03d", i)))
	}
	ids := s.recPost(demo.ProviderDZBihac, batch...)
	other := s.recPost(demo.ProviderDZKS, recOtherVisit("KS-001"))
	v := s.visitor()
	v.signIn("clinic")

	p := v.get("/clinic/encounters")
	recWantIn(t, p, "LIPA-000", "LIPA-049", `rel="next"`, "Posjete")
	if strings.Contains(p.body, "LIPA-050") || strings.Contains(p.body, "KS-001") {
		t.Error("the first page shows more than 50 encounters, or another provider's")
	}
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.body)
	p = v.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	recWantIn(t, p, "LIPA-050", "LIPA-054", "Prva stranica")
	if strings.Contains(p.body, "LIPA-049<") {
		t.Error("the second page repeats the first")
	}

	p = v.get("/clinic/encounters?external_id=LIPA-007&from=2025-03-01&to=2025-03-31&status=posted&site_code=TRC-LIPA")
	recWantIn(t, p, "LIPA-007")
	if strings.Contains(p.body, "LIPA-008") {
		t.Error("the external id filter shows other encounters")
	}
	p = v.get("/clinic/encounters?from=15.03.2025")
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="err-from"`) {
		t.Errorf("a bad date: %d, no error next to the field", p.status)
	}

	p = v.get("/clinic/encounters/" + ids[0])
	// 20.00 + 2 × 6.00 = 32.00; primary care in March 2025 is ZZO USK's 60 % (12.00) and IOM's
	// 40 % (8.00), diagnostics IOM's: IOM 20.00 in all.
	recWantIn(t, p, "LIPA-000", "PZZ-01", "LAB-01", "32,00", "ZZO-USK", "12,00", "8,00", "20,00", "60,00 %", "Ženski", "1994", "dr-hadzic", "J06.9", "Unesena", `href="/clinic/encounters/`+ids[0]+`/void"`)
	if strings.Contains(p.body, "SFA-LIPA-000") {
		t.Error("the raw patient id is shown")
	}
	if p = v.get("/clinic/encounters/" + other[0]); p.status != http.StatusNotFound {
		t.Errorf("another provider's encounter: %d, want 404", p.status)
	}
	for _, path := range []string{"/void", "/correct"} {
		if p = v.get("/clinic/encounters/" + other[0] + path); p.status != http.StatusNotFound {
			t.Errorf("another provider's encounter %s: %d, want 404", path, p.status)
		}
	}
}

func TestClinicVoidsWithAReason(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ids := s.recPost(demo.ProviderDZBihac, recVisit("V-1"))
	other := s.recPost(demo.ProviderDZKS, recOtherVisit("KS-V-1"))
	v := s.visitor()
	v.signIn("clinic") // Bosnian
	form := v.get("/clinic/encounters/" + ids[0] + "/void")
	recWantIn(t, form, "Storniraj ovu posjetu", `name="reason"`)

	p := v.post("/clinic/encounters/"+ids[0]+"/void", form, url.Values{"reason": {"   "}})
	if p.status != http.StatusUnprocessableEntity {
		t.Errorf("void without a reason: %d, want 422", p.status)
	}
	recWantIn(t, p, `<p class="field-error" id="err-reason">Upišite zašto se posjeta stornira.</p>`, `aria-describedby="err-reason"`, `aria-invalid="true"`)
	p = v.post("/clinic/encounters/"+ids[0]+"/void", form, url.Values{"reason": {strings.Repeat("x", 501)}})
	recWantIn(t, p, `id="err-reason">Razlog može imati najviše 500 znakova.`)

	if p = v.post("/clinic/encounters/"+other[0]+"/void", form, url.Values{"reason": {"mine?"}}); p.status != http.StatusNotFound {
		t.Errorf("voiding another provider's encounter: %d, want 404", p.status)
	}
	e, err := s.cfg.Encounters.FindEncounterByID(recAs(access.RoleClinic, demo.ProviderDZKS), other[0])
	if err != nil || e.Status != "posted" {
		t.Errorf("another provider's encounter after the attempt: %v %v", e, err)
	}

	p = v.post("/clinic/encounters/"+ids[0]+"/void", form, url.Values{"reason": {"unesено dvaput"}})
	if p.status != 200 || p.url != "/clinic/encounters/"+ids[0]+"?done=voided" {
		t.Fatalf("void: %d at %s", p.status, p.url)
	}
	recWantIn(t, p, "Posjeta je stornirana.", "Stornirana", "unesено dvaput")
	if strings.Contains(p.body, `/void"`) {
		t.Error("a voided encounter still offers a void")
	}
	p = v.post("/clinic/encounters/"+ids[0]+"/void", form, url.Values{"reason": {"again"}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "već stornirana") {
		t.Errorf("voiding twice: %d", p.status)
	}
}

func TestClinicCorrectsAnEncounter(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ids := s.recPost(demo.ProviderDZBihac, recVisit("C-1"))
	v := s.visitor()
	v.signIn("clinic")
	form := v.get("/clinic/encounters/" + ids[0] + "/correct")
	recWantIn(t, form, `name="patient_id"`, `value="C-1"`, `value="J06.9"`, `name="confirm"`)
	fields := url.Values{
		"contract_code": {demo.ContractDZBihac}, "site_code": {"TRC-LIPA"}, "external_id": {"C-1"},
		"beneficiary_category": {"irregular_migrant"}, "service_date": {"2025-03-03"}, "kind": {"consultation"},
		"diagnoses": {"J06.9"}, "service_code": {"PZZ-01", "LAB-01", ""}, "quantity": {"1", "abc", ""},
		"key": {"web-correct-test-1"}, "reason": {""},
	}
	p := v.post("/clinic/encounters/"+ids[0]+"/correct", form, fields)
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("an incomplete correction: %d", p.status)
	}
	for _, f := range []string{"reason", "confirm", "patient_id", "lines[1].quantity"} {
		if !strings.Contains(p.body, `id="err-`+f+`"`) {
			t.Errorf("no error next to %s", f)
		}
	}
	if e, _ := s.cfg.Encounters.FindEncounterByID(recAs(access.RoleClinic, demo.ProviderDZBihac), ids[0]); e.Status != "posted" {
		t.Error("an invalid correction voided the original")
	}
	fields.Set("patient_id", "SFA-C-1")
	fields["quantity"] = []string{"1", "3", ""}
	fields.Set("reason", "krivа količina")
	fields.Set("confirm", "1")
	p = v.post("/clinic/encounters/"+ids[0]+"/correct", form, fields)
	if p.status != 200 || !strings.HasSuffix(p.url, "?done=corrected") {
		t.Fatalf("correction: %d at %s", p.status, p.url)
	}
	recWantIn(t, p, "38,00", `href="/clinic/encounters/`+ids[0]+`"`, "Ispravka je unesena")
	orig, _ := s.cfg.Encounters.FindEncounterByID(recAs(access.RoleClinic, demo.ProviderDZBihac), ids[0])
	if orig.Status != "voided" || *orig.VoidReason != "krivа količina" {
		t.Errorf("the original: %s %v", orig.Status, orig.VoidReason)
	}
	// The same form again (a double click) posts nothing more.
	again := v.post("/clinic/encounters/"+ids[0]+"/correct", form, fields)
	if again.url != p.url {
		t.Errorf("the form sent twice landed on %s, first on %s", again.url, p.url)
	}
}

// recUpload sends a file as the form without JavaScript does: _csrf, then the file part.
func (v *visitor) recUpload(from page, name, contentType string, file []byte, csrf bool) page {
	v.s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if csrf {
		_ = mw.WriteField("_csrf", csrfOf(from))
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, name))
	h.Set("Content-Type", contentType)
	w, _ := mw.CreatePart(h)
	_, _ = w.Write(file)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", v.s.base+"/clinic/upload", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return v.do(req)
}

// recMarch is a month's file as Excel writes it on a Bosnian Windows: ";", Windows-1250, dates
// 15.03.2025., decimal commas; row 4 (an encounter of two rows) has a bad quantity in row 5.
const recMarch = "external_id;contract_code;site_code;patient_id;beneficiary_category;sex;birth_year;service_date;kind;diagnoses;practitioner_ref;service_code;quantity\r\n" +
	"U-1;IOM-DZBIH-2024;TRC-LIPA;SFA-2025-1;irregular_migrant;M;1994;03.03.2025.;consultation;J06.9;dr Hodžić;PZZ-01;1\r\n" +
	"U-2;IOM-DZBIH-2024;TRC-BORICI;SFA-2025-2;unknown;X;;04.03.2025.;transport;;Šćekić;TRN-01;37,5\r\n" +
	"U-3;IOM-DZBIH-2024;TRC-LIPA;SFA-2025-3;refugee;F;2001;05.03.2025.;consultation;R10.4;dr Hodžić;PZZ-01;1\r\n" +
	"U-3;IOM-DZBIH-2024;TRC-LIPA;SFA-2025-3;refugee;F;2001;05.03.2025.;consultation;R10.4;dr Hodžić;LAB-01;dva\r\n"

func recWin1250(t *testing.T, s string) []byte {
	b, err := charmap.Windows1250.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClinicUploadsTheMonthlyCSV(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	v.signIn("clinic")
	form := v.get("/clinic/upload")
	recWantIn(t, form, `enctype="multipart/form-data"`, `type="file"`, `/static/clinic_records.js`)

	if p := v.recUpload(form, "mart.csv", "application/vnd.ms-excel", recWin1250(t, recMarch), false); p.status != http.StatusForbidden {
		t.Errorf("an upload without the CSRF token: %d, want 403", p.status)
	}
	p := v.recUpload(form, "mart.csv", "application/vnd.ms-excel", recWin1250(t, recMarch), true)
	if p.status != 200 || !strings.HasPrefix(p.url, "/clinic/upload/") {
		t.Fatalf("upload: %d at %s\n%s", p.status, p.url, p.body)
	}
	for id, want := range map[string]string{"count-read": "4", "count-stored": "2", "count-skipped": "0", "count-rejected": "2"} {
		if !strings.Contains(p.body, `id="`+id+`">`+want+`<`) {
			t.Errorf("%s is not %s", id, want)
		}
	}
	recWantIn(t, p, "Pogrešne ili nedostajuće vrijednosti", "rejected.csv")
	result := p.url

	rep := v.get(result + "/rejected.csv")
	if rep.status != 200 || !strings.HasPrefix(rep.header.Get("Content-Type"), "text/csv") || !strings.Contains(rep.header.Get("Content-Disposition"), "mart-rejected.csv") {
		t.Fatalf("report: %d %s %s", rep.status, rep.header.Get("Content-Type"), rep.header.Get("Content-Disposition"))
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(rep.body, "\ufeff")))
	r.Comma = ';'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	if header[0] != "row" || header[1] != "reason" || !slices.Contains(header, "external_id") || !slices.Contains(header, "quantity") || len(recs) != 3 {
		t.Fatalf("report:\n%s", rep.body)
	}
	col := func(rec []string, name string) string { return rec[slices.Index(header, name)] }
	if recs[1][0] != "4" || recs[2][0] != "5" || col(recs[2], "quantity") != "dva" || col(recs[1], "practitioner_ref") != "dr Hodžić" {
		t.Errorf("rejected rows: %q", recs[1:])
	}
	if col(recs[1], "patient_id") != "" || strings.Contains(rep.body, "SFA-2025-3") {
		t.Error("the report gives back a raw patient id")
	}
	if !strings.HasPrefix(recs[2][1], "Pogrešne ili nedostajuće vrijednosti: ") || !strings.Contains(recs[2][1], "quantity") {
		t.Errorf("reason: %q", recs[2][1])
	}

	// The same file again: the stored rows are skipped.
	p = v.recUpload(form, "mart.csv", "text/csv", recWin1250(t, recMarch), true)
	if !strings.Contains(p.body, `id="count-skipped">2<`) {
		t.Error("the second upload did not skip the stored rows")
	}
	// Another session (the same user elsewhere) does not see this session's uploads.
	w := s.visitor()
	w.signIn("clinic")
	if p := w.get(result); p.status != http.StatusNotFound {
		t.Errorf("another session opened the result: %d", p.status)
	}
	if p := w.get(result + "/rejected.csv"); p.status != http.StatusNotFound {
		t.Errorf("another session downloaded the report: %d", p.status)
	}
	// A file that is no import file: the reason next to the file field.
	p = v.recUpload(form, "book.csv", "text/csv", []byte("name;amount\r\nx;1\r\n"), true)
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="err-file"`) || !strings.Contains(p.body, "nepoznata kolona") {
		t.Errorf("a file with a bad header: %d\n%s", p.status, p.body)
	}
	p = v.post("/clinic/upload", form, url.Values{"file": {"x"}})
	if p.status != http.StatusUnsupportedMediaType || !strings.Contains(p.body, `id="err-file"`) {
		t.Errorf("a form that is not multipart: %d", p.status)
	}
}

func TestClinicSeesItsStatementsAndDecisions(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.recPost(demo.ProviderDZBihac, recVisit("S-1"), recVisit("S-2"))
	s.recPost(demo.ProviderDZKS, recOtherVisit("KS-S-1"))
	finance := recAs(access.RoleFinance, "")
	st, err := s.cfg.Statements.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := s.cfg.Statements.CreateStatement(finance, demo.ProviderDZKS, demo.PayerZZOKS, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.cfg.Statements.SubmitStatement(recAs(access.RoleClinic, demo.ProviderDZBihac), st.ID); err != nil {
		t.Fatal(err)
	}
	full, err := s.cfg.Statements.FindStatementByID(finance, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	reviewer := recAs(access.RoleReviewer, demo.PayerZZOUSK)
	ds := []statements.Decision{{LineID: full.Lines[0].ID, Decision: "reject", ReasonCode: "documentation_missing", Note: "nema nalaza"}}
	for _, l := range full.Lines[1:] {
		ds = append(ds, statements.Decision{LineID: l.ID, Decision: "approve"})
	}
	if _, err := s.cfg.Statements.Decide(reviewer, st.ID, ds); err != nil {
		t.Fatal(err)
	}
	v := s.visitor()
	v.signIn("clinic")
	p := v.get("/clinic/statements")
	recWantIn(t, p, st.Number, "mart 2025.", "U reviziji")
	if strings.Contains(p.body, foreign.Number) {
		t.Error("another provider's statement is listed")
	}
	if p = v.get("/clinic/statements?period=2025-04"); strings.Contains(p.body, st.Number) {
		t.Error("the period filter shows March in April")
	}
	if p = v.get("/clinic/statements?status=paid"); strings.Contains(p.body, st.Number) {
		t.Error("the status filter shows a statement under review as paid")
	}
	if p = v.get("/clinic/statements?period=mart"); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="err-period"`) {
		t.Errorf("a bad period: %d", p.status)
	}

	p = v.get("/clinic/statements/" + st.ID)
	recWantIn(t, p, "S-1", "Odbijeno", "Nedostaje dokumentacija", "nema nalaza", "Odobreno", "export.csv", "export.pdf", "J06.9")
	if p = v.get("/clinic/statements/" + foreign.ID); p.status != http.StatusNotFound {
		t.Errorf("another provider's statement: %d, want 404", p.status)
	}
	c := v.get("/clinic/statements/" + st.ID + "/export.csv")
	if c.status != 200 || !strings.HasPrefix(c.header.Get("Content-Type"), "text/csv") || !strings.Contains(c.body, "documentation_missing") {
		t.Errorf("CSV export: %d %s", c.status, c.header.Get("Content-Type"))
	}
	pdf := v.get("/clinic/statements/" + st.ID + "/export.pdf")
	if pdf.status != 200 || pdf.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.body, "%PDF") {
		t.Errorf("PDF export: %d %s", pdf.status, pdf.header.Get("Content-Type"))
	}
	for _, path := range []string{"/export.csv", "/export.pdf"} {
		if p := v.get("/clinic/statements/" + foreign.ID + path); p.status != http.StatusNotFound {
			t.Errorf("another provider's statement %s: %d, want 404", path, p.status)
		}
	}
}

// Each value of the vocabularies the clinic's records show has a name in the catalogue.
func TestClinicRecordsNameEveryValue(t *testing.T) {
	en := i18n.For("en")
	for group, values := range map[string][]string{
		"status": encounters.EncounterStatuses, "kind": encounters.EncounterKinds, "beneficiary": contracts.BeneficiaryCategories,
		"level": encounters.ReferralLevels, "statement_status": statements.StatementStatuses, "decision": statements.Decisions,
		"flag": statements.LineFlags, "reason": statements.ReasonCodes,
	} {
		for _, v := range values {
			if !en.Has("clinic.records." + group + "." + v) {
				t.Errorf("no name for %s %s", group, v)
			}
		}
	}
	for _, v := range encounters.Sexes {
		if !en.Has("clinic.records.sex." + strings.ToLower(v)) {
			t.Errorf("no name for sex %s", v)
		}
	}
}
