package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger/icd10"
	"github.com/trcledger/trcledger/internal/demo"
)

// sendJSON posts body as the capture page's script does: JSON with the session's CSRF token in
// X-CSRF-Token (taken from from), and headers.
func (v *visitor) sendJSON(path string, from page, body any, headers map[string]string) (int, map[string]any) {
	v.s.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		v.s.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", v.s.base+path, strings.NewReader(string(b)))
	if err != nil {
		v.s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrfOf(from))
	for k, val := range headers {
		req.Header.Set(k, val)
	}
	p := v.do(req)
	var out map[string]any
	if err := json.Unmarshal([]byte(p.body), &out); err != nil {
		v.s.t.Fatalf("POST %s: %d, not JSON: %.300s", path, p.status, p.body)
	}
	return p.status, out
}

// encounterBody is a valid encounter of the demo clinic (DZ Bihać) in the shape the page sends:
// in the first half of 2025, primary care in Una-Sana is 60 % ZZO USK and 40 % IOM.
func encounterBody(externalID string) map[string]any {
	return map[string]any{
		"contract_code": demo.ContractDZBihac, "site_code": "TRC-LIPA", "external_id": externalID,
		"patient_id": "SFA-2025-0042", "beneficiary_category": "irregular_migrant", "service_date": "2025-03-10",
		"kind": "consultation", "diagnoses": []string{"j06.9"},
		"lines":       []map[string]string{{"service_code": "PZZ-01", "quantity": "1"}, {"service_code": "LAB-01", "quantity": "2"}},
		"captured_at": "2025-03-10T09:30:00+01:00",
	}
}

func TestCaptureQuoteIsPricedAndSplitWithoutPosting(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	v.signIn("clinic")
	form := v.get("/clinic/capture")
	if form.status != 200 || !strings.Contains(form.body, `id="capture-form"`) {
		t.Fatalf("capture page: %d\n%.500s", form.status, form.body)
	}
	status, q := v.sendJSON("/clinic/capture/quote", form, encounterBody("Q-1"), nil)
	if status != 200 {
		t.Fatalf("quote: %d %v", status, q)
	}
	// PZZ-01 20.00 (primary care: 60 % ZZO USK, 40 % IOM) + LAB-01 2 × 6.00 (diagnostics: IOM).
	if q["total"] != "32,00\u00a0KM" {
		t.Errorf("total %v, want 32,00 KM", q["total"])
	}
	payers, _ := q["payers"].([]any)
	if len(payers) != 2 || payers[0].(map[string]any)["amount_text"] != "12,00\u00a0KM" || payers[1].(map[string]any)["amount_text"] != "20,00\u00a0KM" {
		t.Errorf("payers %v, want ZZO-USK 12,00 KM and IOM 20,00 KM", payers)
	}
	if lines, _ := q["lines"].([]any); len(lines) != 2 {
		t.Errorf("lines %v", q["lines"])
	}
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM encounters`); err != nil || n != 0 {
		t.Errorf("a quote wrote %d encounters (%v)", n, err)
	}
	// A half-filled form is priced as far as it goes, its problems named in Bosnian.
	body := encounterBody("")
	body["lines"] = []map[string]string{{"service_code": "PZZ-01", "quantity": "1"}, {"service_code": "XYZ-99", "quantity": "1"}}
	_, q = v.sendJSON("/clinic/capture/quote", form, body, nil)
	problems, _ := q["problems"].(map[string]any)
	if problems["lines[1].service_code"] != "nepoznata usluga XYZ-99" || problems["external_id"] != "obavezno polje" {
		t.Errorf("problems %v", problems)
	}
	if q["total"] != "20,00\u00a0KM" {
		t.Errorf("total of the line that could be priced: %v", q["total"])
	}
}

var receiptID = regexp.MustCompile(`id="receipt-id">([0-9a-f-]{36})<`)

func captureForm(p page, set map[string]string) url.Values {
	f := url.Values{
		"idempotency_key": {regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(p.body)[1]},
		"contract_code":   {demo.ContractDZBihac}, "site_code": {"TRC-LIPA"}, "service_date": {"2025-03-10"}, "kind": {"consultation"},
		"external_id": {"F-1"}, "patient_id": {"IOM-77"}, "beneficiary_category": {"asylum_seeker"},
		"line_service": {"PZZ-01", "PZZ-04", ""}, "line_quantity": {"1", "2", "1"}, "diagnosis": {"T14.1", "", ""},
	}
	for k, v := range set {
		f.Set(k, v)
	}
	return f
}

func TestCapturePostsWithoutJavaScriptAndShowsTheReceipt(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	v.signIn("clinic")
	form := v.get("/clinic/capture")
	values := captureForm(form, nil)
	p := v.post("/clinic/capture", form, values)
	if p.status != 200 || !strings.HasPrefix(p.url, "/clinic/capture/receipts/") {
		t.Fatalf("post: %d at %s\n%.1000s", p.status, p.url, p.body)
	}
	m := receiptID.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no receipt id:\n%.2000s", p.body)
	}
	// Asylum seekers' primary care is all the fund's: PZZ-01 20.00 + PZZ-04 2 × 10.00.
	for _, want := range []string{"40,00\u00a0KM", "ZZO-USK", "F-1", "10.03.2025."} {
		if !strings.Contains(p.body, want) {
			t.Errorf("receipt lacks %q", want)
		}
	}
	// The same form sent again (a double click, a reload) shows the same receipt.
	again := v.post("/clinic/capture", form, values)
	if m2 := receiptID.FindStringSubmatch(again.body); m2 == nil || m2[1] != m[1] {
		t.Errorf("sent again: %s, want the receipt of %s", again.url, m[1])
	}
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM encounters`); err != nil || n != 1 {
		t.Errorf("%d encounters, want 1 (%v)", n, err)
	}
	// Another clinic (another provider) cannot open the receipt.
	if p := v.get("/clinic/capture/receipts/" + "00000000-0000-7000-8000-000000000000"); p.status != 404 {
		t.Errorf("unknown receipt: %d", p.status)
	}
}

func TestCaptureErrorsAreShownNextToTheirFieldsInBosnian(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	v.signIn("clinic")
	form := v.get("/clinic/capture")
	p := v.post("/clinic/capture", form, captureForm(form, map[string]string{"patient_id": "", "diagnosis": "J06-9", "line_quantity": "0"}))
	if p.status != 422 {
		t.Fatalf("status %d, want 422", p.status)
	}
	for field, want := range map[string]string{
		"patient_id":            "obavezno polje",
		"diagnoses[0]":          "mora biti ICD-10 šifra, npr. J06.9",
		"lines[0].quantity":     "mora biti pozitivan broj sa najviše 4 decimale",
		"beneficiary_category":  "",
		"lines[1].service_code": "",
		"contract_code":         "",
		"lines[0].service_code": "",
		"external_id":           "",
		"service_date":          "",
		"diagnoses":             "",
		"referral":              "",
		"site_code":             "",
		"kind":                  "",
		"practitioner_ref":      "",
		"birth_year":            "",
		"sex":                   "",
		"referral.number":       "",
		"referral.to_level":     "",
		"lines":                 "",
		"captured_at":           "",
	} {
		re := regexp.MustCompile(`<p class="field-error" id="err-` + regexp.QuoteMeta(field) + `">([^<]*)</p>`)
		m := re.FindStringSubmatch(p.body)
		switch {
		case want != "" && m == nil:
			t.Errorf("no message next to %s", field)
		case want != "" && m[1] != want:
			t.Errorf("%s: %q, want %q", field, m[1], want)
		case want == "" && m != nil:
			t.Errorf("%s: unexpected message %q", field, m[1])
		}
	}
	if !strings.Contains(p.body, `aria-invalid="true" aria-describedby="err-lines[0].quantity"`) {
		t.Error("the bad quantity is not marked invalid")
	}
	if !strings.Contains(p.body, `value="IOM-77"`) && !strings.Contains(p.body, `value="PZZ-04"`) {
		t.Error("the form lost what was typed")
	}
	// A record number already posted is named as such.
	ok := v.post("/clinic/capture", form, captureForm(form, nil))
	if ok.status != 200 {
		t.Fatalf("post: %d", ok.status)
	}
	form = v.get("/clinic/capture")
	dup := v.post("/clinic/capture", form, captureForm(form, map[string]string{"patient_id": "IOM-78"}))
	if dup.status != 422 || !strings.Contains(dup.body, `id="err-external_id">Ovaj broj protokola je već sačuvan`) {
		t.Errorf("duplicate record number: %d\n%.3000s", dup.status, dup.body)
	}
}

func TestCaptureQueueEndpointReplaysTheSameReceipt(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	v.signIn("clinic")
	form := v.get("/clinic/capture")
	key := map[string]string{"Idempotency-Key": "0b6f1a58-3c2d-4f7e-9a41-5d2e8c7b6a10"}
	status, r1 := v.sendJSON("/clinic/capture/encounters", form, encounterBody("OFF-1"), key)
	if status != 201 || r1["total"] != "32.00" || r1["total_text"] != "32,00\u00a0KM" || r1["replayed"] != false {
		t.Fatalf("first send: %d %v", status, r1)
	}
	if shares, _ := r1["shares"].([]any); len(shares) != 2 {
		t.Errorf("shares %v", r1["shares"])
	}
	// The connection dropped before the answer arrived: the queue sends it again.
	status, r2 := v.sendJSON("/clinic/capture/encounters", form, encounterBody("OFF-1"), key)
	if status != 201 || r2["id"] != r1["id"] || r2["replayed"] != true {
		t.Errorf("replay: %d %v, want the receipt of %v", status, r2, r1["id"])
	}
	other := encounterBody("OFF-1")
	other["patient_id"] = "SFA-2025-0043"
	if status, p := v.sendJSON("/clinic/capture/encounters", form, other, key); status != 409 {
		t.Errorf("same key, other body: %d %v, want 409", status, p)
	}
	if status, p := v.sendJSON("/clinic/capture/encounters", form, encounterBody("OFF-2"), nil); status != 400 {
		t.Errorf("no key: %d %v, want 400", status, p)
	}
	var rows []struct {
		N        int        `db:"n"`
		Captured *time.Time `db:"captured_at"`
	}
	if err := s.db.Select(&rows, `SELECT count(*) OVER () AS n, captured_at FROM encounters`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Captured == nil || !rows[0].Captured.Equal(time.Date(2025, 3, 10, 8, 30, 0, 0, time.UTC)) {
		t.Errorf("encounters stored: %+v, want one captured at 2025-03-10T08:30Z", rows)
	}
	// A problem is answered with messages by field for the queue to show next to the encounter.
	bad := encounterBody("OFF-3")
	bad["site_code"] = "NOWHERE"
	status, p := v.sendJSON("/clinic/capture/encounters", form, bad, map[string]string{"Idempotency-Key": "k-3"})
	if problems, _ := p["problems"].(map[string]any); status != 422 || problems["site_code"] != "nepoznata lokacija NOWHERE" {
		t.Errorf("bad site: %d %v", status, p)
	}
}

func TestCaptureRefusesAnotherProvidersContract(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	v.signIn("clinic") // DZ Bihać
	form := v.get("/clinic/capture")
	if strings.Contains(form.body, demo.ContractDZKS) {
		t.Error("the form offers another provider's contract")
	}
	body := encounterBody("FOREIGN-1")
	body["contract_code"] = demo.ContractDZKS
	status, p := v.sendJSON("/clinic/capture/encounters", form, body, map[string]string{"Idempotency-Key": "k-foreign"})
	if problems, _ := p["problems"].(map[string]any); status != 422 || problems["contract_code"] != "nepoznat ugovor "+demo.ContractDZKS {
		t.Errorf("foreign contract: %d %v", status, p)
	}
	_, q := v.sendJSON("/clinic/capture/quote", form, body, nil)
	if problems, _ := q["problems"].(map[string]any); problems["contract_code"] == nil || len(q["lines"].([]any)) != 0 {
		t.Errorf("quote on a foreign contract: %v", q)
	}
	ref := v.get("/clinic/capture/reference")
	if strings.Contains(ref.body, demo.ContractDZKS) || !strings.Contains(ref.body, demo.ContractDZBihac) {
		t.Errorf("reference data: %.500s", ref.body)
	}
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM encounters`); err != nil || n != 0 {
		t.Errorf("%d encounters written (%v)", n, err)
	}
}

func TestCaptureFlagsACodeNotInTheLoadedList(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	v := s.visitor()
	v.signIn("clinic")
	form := v.get("/clinic/capture")
	// Only the shipped list: any well-formed code is accepted without a flag.
	p := v.post("/clinic/capture", form, captureForm(form, map[string]string{"diagnosis": "A00.0"}))
	if p.status != 200 {
		t.Fatalf("shipped list only: %d", p.status)
	}
	codes, err := icd10.ParseCSV(strings.NewReader("code,bs,en\nJ06.9,Akutna infekcija,Acute infection\nT14.1,Rana,Wound\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.cfg.ICD10.Load(context.Background(), codes, "test.csv"); err != nil {
		t.Fatal(err)
	}
	form = v.get("/clinic/capture")
	values := captureForm(form, map[string]string{"external_id": "F-2", "diagnosis": "A00.1"})
	p = v.post("/clinic/capture", form, values)
	if p.status != 422 || !strings.Contains(p.body, `id="err-diagnoses[0]">A00.1 nije u državnoj listi MKB-10`) {
		t.Fatalf("unknown code: %d\n%.3000s", p.status, p.body)
	}
	_, q := v.sendJSON("/clinic/capture/quote", form, map[string]any{"diagnoses": []string{"a00.1", "J06.9"}}, nil)
	if u, _ := q["unknown_diagnoses"].([]any); len(u) != 1 || u[0] != "A00.1" {
		t.Errorf("quote's unknown diagnoses: %v", q["unknown_diagnoses"])
	}
	values.Set("confirm_unknown_diagnoses", "1")
	if p = v.post("/clinic/capture", form, values); p.status != 200 || !strings.HasPrefix(p.url, "/clinic/capture/receipts/") {
		t.Errorf("confirmed: %d at %s", p.status, p.url)
	}
	var ref struct {
		ICD10 struct {
			Loaded bool        `json:"loaded"`
			Codes  [][2]string `json:"codes"`
		} `json:"icd10"`
	}
	if err := json.Unmarshal([]byte(v.get("/clinic/capture/reference").body), &ref); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range ref.ICD10.Codes {
		if c[0] == "J06.9" {
			found = c[1] == "Akutna infekcija"
		}
	}
	if !ref.ICD10.Loaded || !found {
		t.Errorf("reference ICD-10: loaded %v, J06.9 titled in bs: %v", ref.ICD10.Loaded, found)
	}
}
