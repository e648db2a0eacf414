package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger/claims/fhir"
	"github.com/trcledger/trcledger/internal/fhirvalidate"
)

func init() {
	// The month's NDJSON is a stream of lines, not one JSON document, to the contract check.
	openapi3filter.RegisterBodyDecoder("application/fhir+ndjson", openapi3filter.FileBodyDecoder)
}

// resource is one FHIR resource of an answer, decoded and raw.
type resource struct {
	raw  json.RawMessage
	body map[string]any
}

func (r resource) key() string { return r.body["resourceType"].(string) + "/" + r.body["id"].(string) }

// bundleResources checks a statement's FHIR answer and returns its entries' resources.
func bundleResources(t *testing.T, res result) []resource {
	t.Helper()
	if res.status != 200 {
		t.Fatalf("fhir: %d %s", res.status, res.raw)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Errorf("content type %q", ct)
	}
	var b struct {
		ResourceType, Type string
		Entry              []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		}
	}
	if err := json.Unmarshal([]byte(res.raw), &b); err != nil || b.ResourceType != "Bundle" || b.Type != "collection" {
		t.Fatalf("not a collection Bundle (%v): %.300s", err, res.raw)
	}
	var out []resource
	for _, e := range b.Entry {
		r := resource{raw: e.Resource, body: decodeNumbers(t, e.Resource)}
		if e.FullURL != fhir.Base+r.key() {
			t.Errorf("fullUrl %s of %s", e.FullURL, r.key())
		}
		out = append(out, r)
	}
	return out
}

// ndjsonResources checks a month's NDJSON answer and returns its resources.
func ndjsonResources(t *testing.T, res result) []resource {
	t.Helper()
	if res.status != 200 {
		t.Fatalf("export: %d %s", res.status, res.raw)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+ndjson") {
		t.Errorf("content type %q", ct)
	}
	var out []resource
	sc := bufio.NewScanner(strings.NewReader(res.raw))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		r := resource{raw: json.RawMessage(sc.Text())}
		r.body = decodeNumbers(t, r.raw)
		if r.body["resourceType"] == "OperationOutcome" {
			t.Fatalf("the export failed: %s", sc.Text())
		}
		out = append(out, r)
	}
	return out
}

// decodeNumbers decodes a resource keeping its numbers as written ("10.00").
func decodeNumbers(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%v: %.200s", err, raw)
	}
	return m
}

var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// checkSet checks what the validator does not: ids are FHIR ids and unique, every reference
// names a resource of the same set, and the Patient says nothing but its patient_key.
func checkSet(t *testing.T, name string, rs []resource) map[string][]resource {
	t.Helper()
	byType := map[string][]resource{}
	seen := map[string]bool{}
	for _, r := range rs {
		if !fhirID.MatchString(r.body["id"].(string)) {
			t.Errorf("%s: id %q is not a FHIR id", name, r.body["id"])
		}
		if seen[r.key()] {
			t.Errorf("%s: %s twice", name, r.key())
		}
		seen[r.key()] = true
		byType[r.body["resourceType"].(string)] = append(byType[r.body["resourceType"].(string)], r)
	}
	refs := regexp.MustCompile(`"reference":"([^"]+)"`)
	for _, r := range rs {
		for _, m := range refs.FindAllStringSubmatch(string(r.raw), -1) {
			if !seen[m[1]] {
				t.Errorf("%s: %s refers to %s, which is not in the set", name, r.key(), m[1])
			}
		}
	}
	for _, p := range byType["Patient"] {
		ident := p.body["identifier"].([]any)
		if len(p.body) != 3 || len(ident) != 1 || ident[0].(map[string]any)["system"] != fhir.SystemPatientKey ||
			ident[0].(map[string]any)["value"] != p.body["id"] {
			t.Errorf("%s: the Patient says more than its patient_key: %s", name, p.raw)
		}
	}
	return byType
}

func raws(sets ...[]resource) []json.RawMessage {
	var out []json.RawMessage
	for _, s := range sets {
		for _, r := range s {
			out = append(out, r.raw)
		}
	}
	return out
}

// TestFHIRExport runs a month of DZ Bihać to payment and exports it as FHIR R4: ZZO USK's
// statement is submitted, reviewed with a rejected and an adjusted line, and paid in part;
// IOM's stays a draft. Every resource of both endpoints, as each role gets them, passes the
// outside validator (@medplum/core validateResource, internal/fhirvalidate).
func TestFHIRExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	posts := []string{
		`"external_id":"F-1","patient_id":"SFA-FHIR-1","service_date":"2025-03-03","kind":"consultation","diagnoses":["J06.9","R50.9"],"lines":[{"service_code":"PZZ-01","quantity":"1"},{"service_code":"LAB-01","quantity":"2"}]`,
		`"external_id":"F-2","patient_id":"SFA-FHIR-1","service_date":"2025-03-10","kind":"follow_up","diagnoses":["J06.9"],"lines":[{"service_code":"PZZ-02","quantity":"1"}]`,
		`"external_id":"F-3","patient_id":"SFA-FHIR-2","service_date":"2025-03-12","kind":"consultation","diagnoses":["S61.0"],"lines":[{"service_code":"PZZ-04","quantity":"3"},{"service_code":"PZZ-01","quantity":"1"}]`,
	}
	for i, p := range posts {
		body := `{"contract_code":"IOM-DZBIH-2024","site_code":"TRC-LIPA","beneficiary_category":"irregular_migrant",` + p + `}`
		if r := e.do("POST", "/v1/encounters", "clinic", body, "Idempotency-Key", fmt.Sprintf("fhir-%d", i)); r.status != 201 {
			t.Fatalf("post %d: %s", i, r.raw)
		}
	}
	ids := map[string]string{}
	for _, payer := range []string{"ZZO-USK", "IOM"} {
		st := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"`+payer+`","period":"2025-03"}`)
		if st.status != 201 {
			t.Fatalf("statement %s: %s", payer, st.raw)
		}
		ids[payer] = st.json["id"].(string)
	}
	id := ids["ZZO-USK"]
	if r := e.do("POST", "/v1/statements/"+id+"/submit", "clinic", ""); r.status != 200 {
		t.Fatalf("submit: %s", r.raw)
	}
	lines := e.do("GET", "/v1/statements/"+id, "reviewer", "").json["lines"].([]any)
	encs, patients := map[string]bool{}, map[string]bool{}
	for _, l := range lines {
		encs[l.(map[string]any)["encounter_id"].(string)] = true
		patients[l.(map[string]any)["patient_key"].(string)] = true
	}
	if len(lines) < 3 || len(encs) < 2 {
		t.Fatalf("%d lines of %d encounters, want at least 3 of 2", len(lines), len(encs))
	}
	var decisions []string
	claimed, approved := decimal.Zero, decimal.Zero
	rejectedAmount, adjustedTo := "", ""
	for i, l := range lines {
		line := l.(map[string]any)
		amount := decimal.RequireFromString(line["amount"].(string))
		claimed = claimed.Add(amount)
		switch i {
		case 0:
			rejectedAmount = amount.StringFixed(2)
			decisions = append(decisions, fmt.Sprintf(`{"line_id":%v,"decision":"reject","reason_code":"not_eligible"}`, line["id"]))
		case 1:
			half := amount.Div(decimal.NewFromInt(2)).RoundDown(2)
			adjustedTo = half.StringFixed(2)
			approved = approved.Add(half)
			decisions = append(decisions, fmt.Sprintf(`{"line_id":%v,"decision":"adjust","approved_amount":%q,"reason_code":"tariff_error"}`, line["id"], adjustedTo))
		default:
			approved = approved.Add(amount)
			decisions = append(decisions, fmt.Sprintf(`{"line_id":%v,"decision":"approve"}`, line["id"]))
		}
	}
	if r := e.do("POST", "/v1/statements/"+id+"/decisions", "reviewer", `{"decisions":[`+strings.Join(decisions, ",")+`]}`); r.status != 200 {
		t.Fatalf("decisions: %s", r.raw)
	}
	if r := e.do("POST", "/v1/statements/"+id+"/complete-review", "reviewer", ""); r.status != 200 {
		t.Fatalf("complete review: %s", r.raw)
	}
	if r := e.do("POST", "/v1/statements/"+id+"/payments", "finance", `{"amount":"10.00","paid_on":"2025-05-05","reference":"BT-FHIR-1"}`,
		"Idempotency-Key", "fhir-pay-1"); r.status != 201 {
		t.Fatalf("payment: %s", r.raw)
	}

	reviewer := bundleResources(t, e.do("GET", "/v1/statements/"+id+"/fhir", "reviewer", ""))
	finance := bundleResources(t, e.do("GET", "/v1/statements/"+id+"/fhir", "finance", ""))
	draft := bundleResources(t, e.do("GET", "/v1/statements/"+ids["IOM"]+"/fhir", "clinic", ""))
	monthReviewer := ndjsonResources(t, e.do("GET", "/v1/fhir/export?period=2025-03", "reviewer", ""))
	monthFinance := ndjsonResources(t, e.do("GET", "/v1/fhir/export?period=2025-03&payer_code=IOM", "finance", ""))
	monthAll := ndjsonResources(t, e.do("GET", "/v1/fhir/export?period=2025-03", "admin", ""))

	// The reviewed, partly paid statement: three claims with their responses, one payment.
	byType := checkSet(t, "reviewer's bundle", reviewer)
	n := len(encs)
	want := map[string]int{"Organization": 2, "Patient": len(patients), "Coverage": len(patients), "Claim": n, "ClaimResponse": n, "ExplanationOfBenefit": n, "PaymentReconciliation": 1}
	for typ, n := range want {
		if len(byType[typ]) != n {
			t.Errorf("reviewer's bundle: %d %s, want %d", len(byType[typ]), typ, n)
		}
	}
	total, benefit := decimal.Zero, decimal.Zero
	var reasons []string
	var benefits []string
	for _, c := range byType["Claim"] {
		total = total.Add(decimal.RequireFromString(c.body["total"].(map[string]any)["value"].(json.Number).String()))
		if c.body["diagnosis"] == nil {
			t.Errorf("the payer's reviewer does not see the diagnoses of %s", c.key())
		}
		for _, it := range c.body["item"].([]any) {
			code := it.(map[string]any)["productOrService"].(map[string]any)["coding"].([]any)[0].(map[string]any)
			if code["system"] != fhir.SystemService || !strings.HasPrefix(code["code"].(string), "PZZ-") && code["code"] != "LAB-01" {
				t.Errorf("productOrService %v", code)
			}
			if cur := it.(map[string]any)["net"].(map[string]any)["currency"]; cur != "BAM" {
				t.Errorf("net in %v", cur)
			}
		}
	}
	for _, cr := range byType["ClaimResponse"] {
		for _, it := range cr.body["item"].([]any) {
			for _, a := range it.(map[string]any)["adjudication"].([]any) {
				adj := a.(map[string]any)
				cat := adj["category"].(map[string]any)["coding"].([]any)[0].(map[string]any)
				if cat["system"] != fhir.SystemAdjudication {
					t.Errorf("adjudication category %v", cat)
				}
				if cat["code"] != "benefit" {
					continue
				}
				v := adj["amount"].(map[string]any)["value"].(json.Number).String()
				benefit = benefit.Add(decimal.RequireFromString(v))
				if r, ok := adj["reason"].(map[string]any); ok {
					c := r["coding"].([]any)[0].(map[string]any)
					if c["system"] != fhir.SystemReason {
						t.Errorf("reason system %v", c["system"])
					}
					reasons = append(reasons, c["code"].(string))
					benefits = append(benefits, v)
				}
			}
		}
	}
	if !total.Equal(claimed) || !benefit.Equal(approved) {
		t.Errorf("claims total %s, benefit %s; want the statement's claimed %s and approved %s", total, benefit, claimed, approved)
	}
	slices.Sort(reasons)
	if !slices.Equal(reasons, []string{"not_eligible", "tariff_error"}) || !slices.Contains(benefits, "0.00") || !slices.Contains(benefits, adjustedTo) {
		t.Errorf("reasons %v with benefits %v; want not_eligible at 0.00 (of %s) and tariff_error at %s", reasons, benefits, rejectedAmount, adjustedTo)
	}
	pr := byType["PaymentReconciliation"][0].body
	if pr["paymentAmount"].(map[string]any)["value"].(json.Number).String() != "10.00" || pr["paymentDate"] != "2025-05-05" {
		t.Errorf("payment %v", pr)
	}

	// Finance sees the same claims without a diagnosis; a draft has no response yet.
	fin := checkSet(t, "finance's bundle", finance)
	if len(fin["Claim"]) != n || strings.Contains(string(finance[0].raw)+fmt.Sprint(raws(finance)), "icd-10") {
		t.Errorf("finance gets diagnoses, or not every claim")
	}
	dr := checkSet(t, "draft bundle", draft)
	if len(dr["Claim"]) != 3 || len(dr["ClaimResponse"]) != 0 || dr["Claim"][0].body["status"] != "draft" {
		t.Errorf("draft: %d claims, %d responses, status %v", len(dr["Claim"]), len(dr["ClaimResponse"]), dr["Claim"][0].body["status"])
	}

	// The month: the reviewer's is their payer's statement, as in the bundle.
	mr := checkSet(t, "reviewer's month", monthReviewer)
	if len(monthReviewer) != len(reviewer) {
		t.Errorf("the reviewer's month has %d resources, the statement's bundle %d", len(monthReviewer), len(reviewer))
	}
	for typ, n := range want {
		if len(mr[typ]) != n {
			t.Errorf("reviewer's month: %d %s, want %d", len(mr[typ]), typ, n)
		}
	}
	checkSet(t, "finance's month of IOM", monthFinance)
	all := checkSet(t, "the whole month", monthAll)
	if len(all["Claim"]) != n+3 || len(all["Organization"]) != 3 || len(all["Coverage"]) != len(patients)+2 || len(all["Patient"]) != 2 {
		t.Errorf("the whole month: %d claims, %d organizations, %d coverages, %d patients", len(all["Claim"]), len(all["Organization"]), len(all["Coverage"]), len(all["Patient"]))
	}

	// Out of scope is unknown; a bad month is refused.
	if r := e.do("GET", "/v1/statements/"+id+"/fhir", e.token("reviewer", "ZZO-KS"), ""); r.status != 404 {
		t.Errorf("another payer's reviewer: %d", r.status)
	}
	if r := e.do("GET", "/v1/fhir/export?period=2025-03&payer_code=ZZO-USK", e.token("clinic", "DZ-KS"), ""); r.status != 200 || r.raw != "" {
		t.Errorf("another provider's clinic gets %d %q", r.status, r.raw)
	}
	if r := e.do("GET", "/v1/fhir/export?period=2025-13", "finance", ""); r.status != 422 || !slices.Contains(r.fields(), "period") {
		t.Errorf("a bad period: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/v1/fhir/export", "finance", ""); r.status != 422 {
		t.Errorf("no period: %d %s", r.status, r.raw)
	}

	fhirvalidate.Require(t, raws(reviewer, finance, draft, monthReviewer, monthFinance, monthAll))
	// The Bundle itself, as one resource with its entries.
	fhirvalidate.Require(t, []json.RawMessage{json.RawMessage(e.do("GET", "/v1/statements/"+id+"/fhir", "reviewer", "").raw)})
}
