package api_test

import (
	"slices"
	"strings"
	"testing"
)

// probe is how the access matrix test calls one route on an object of another institution.
type probe struct {
	path, body string
	headers    []string
	// foreign is what clinic staff of another provider (DZ-KS) and a reviewer of another payer
	// (ZZO-KS) get when their role is allowed: 404 for an object outside their scope, 422 for a
	// body naming another institution's contract, 200 for lists scoped to their own.
	foreignClinic, foreignReviewer int
}

// importCSV is a one-row import file of DZ Bihać.
const importCSV = "external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,service_code,quantity\nM-1,IOM-DZBIH-2024,TRC-LIPA,P,unknown,2025-03-01,consultation,PZZ-01,1\n"

// TestAccessMatrix walks every registered route × every role: a role the route does not allow
// gets 403; an allowed role from another institution gets 404 for the object (or 422 for a body
// that names it). A route added without a probe here fails the test.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Objects of DZ Bihać (provider) and ZZO USK (payer).
	enc := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "matrix-1")
	if enc.status != 201 {
		t.Fatalf("post: %s", enc.raw)
	}
	encID := enc.json["id"].(string)
	st := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	if st.status != 201 {
		t.Fatalf("statement: %s", st.raw)
	}
	stID := st.json["id"].(string)
	tok := e.do("POST", "/v1/tokens", "admin", `{"name":"x","role":"finance"}`).json["id"].(string)
	job := e.do("POST", "/v1/imports", "clinic", importCSV, "Content-Type", "text/csv")
	if job.status != 202 {
		t.Fatalf("import job: %s", job.raw)
	}
	jobID := job.json["id"].(string)

	probes := map[string]probe{
		"GET /healthz":                                   {path: "/healthz"},
		"GET /readyz":                                    {path: "/readyz"},
		"GET /v1/openapi.json":                           {path: "/v1/openapi.json"},
		"GET /v1/jurisdictions":                          {path: "/v1/jurisdictions", foreignClinic: 200, foreignReviewer: 200},
		"POST /v1/jurisdictions":                         {path: "/v1/jurisdictions", body: `{}`},
		"GET /v1/organizations":                          {path: "/v1/organizations", foreignClinic: 200, foreignReviewer: 200},
		"POST /v1/organizations":                         {path: "/v1/organizations", body: `{}`},
		"GET /v1/organizations/:code":                    {path: "/v1/organizations/DZ-BIHAC", foreignClinic: 200, foreignReviewer: 200},
		"GET /v1/sites":                                  {path: "/v1/sites", foreignClinic: 200, foreignReviewer: 200},
		"POST /v1/sites":                                 {path: "/v1/sites", body: `{}`},
		"GET /v1/services":                               {path: "/v1/services", foreignClinic: 200, foreignReviewer: 200},
		"POST /v1/services":                              {path: "/v1/services", body: `{}`},
		"GET /v1/contracts":                              {path: "/v1/contracts?provider_code=DZ-BIHAC", foreignClinic: 200},
		"POST /v1/contracts":                             {path: "/v1/contracts", body: `{}`},
		"GET /v1/contracts/:code":                        {path: "/v1/contracts/IOM-DZBIH-2024", foreignClinic: 404},
		"PATCH /v1/contracts/:code":                      {path: "/v1/contracts/IOM-DZBIH-2024", body: `{}`},
		"GET /v1/contracts/:code/tariffs":                {path: "/v1/contracts/IOM-DZBIH-2024/tariffs", foreignClinic: 404},
		"POST /v1/contracts/:code/tariffs":               {path: "/v1/contracts/IOM-DZBIH-2024/tariffs", body: `{}`},
		"GET /v1/contracts/:code/cost-shares":            {path: "/v1/contracts/IOM-DZBIH-2024/cost-shares", foreignClinic: 404},
		"POST /v1/contracts/:code/cost-shares":           {path: "/v1/contracts/IOM-DZBIH-2024/cost-shares", body: `{}`},
		"GET /v1/contracts/:code/caps":                   {path: "/v1/contracts/IOM-DZBIH-2024/caps", foreignClinic: 404},
		"POST /v1/contracts/:code/caps":                  {path: "/v1/contracts/IOM-DZBIH-2024/caps", body: `{}`},
		"GET /v1/contracts/:code/quote":                  {path: "/v1/contracts/IOM-DZBIH-2024/quote?service_code=PZZ-01&on=2025-01-01", foreignClinic: 404},
		"POST /v1/encounters":                            {path: "/v1/encounters", body: strings.Replace(consultation, "LIPA-0001", "LIPA-9", 1), headers: []string{"Idempotency-Key", "m2"}, foreignClinic: 422},
		"POST /v1/encounters/batch":                      {path: "/v1/encounters/batch", body: `{"encounters":[` + strings.Replace(consultation, "LIPA-0001", "LIPA-8", 1) + `]}`, headers: []string{"Idempotency-Key", "m3"}, foreignClinic: 422},
		"POST /v1/encounters/import":                     {path: "/v1/encounters/import", body: "external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,service_code,quantity\nM-1,IOM-DZBIH-2024,TRC-LIPA,P,unknown,2025-03-01,consultation,PZZ-01,1\n", headers: []string{"Content-Type", "text/csv"}, foreignClinic: 200},
		"GET /v1/encounters":                             {path: "/v1/encounters", foreignClinic: 200},
		"GET /v1/encounters/:id":                         {path: "/v1/encounters/" + encID, foreignClinic: 404, foreignReviewer: 404},
		"POST /v1/encounters/:id/void":                   {path: "/v1/encounters/" + encID + "/void", body: `{"reason":"not mine"}`, foreignClinic: 404},
		"GET /v1/ledger/accounts":                        {path: "/v1/ledger/accounts"},
		"GET /v1/ledger/balances":                        {path: "/v1/ledger/balances?account=expense:IOM"},
		"GET /v1/ledger/transactions":                    {path: "/v1/ledger/transactions"},
		"POST /v1/contracts/:code/repricings":            {path: "/v1/contracts/IOM-DZBIH-2024/repricings", body: `{"from":"2025-03-01","to":"2025-03-31","dry_run":true}`},
		"GET /v1/periods":                                {path: "/v1/periods"},
		"POST /v1/periods/:period/close":                 {path: "/v1/periods/2099-01/close"},
		"POST /v1/periods/:period/reopen":                {path: "/v1/periods/2099-01/reopen", body: `{"reason":"x"}`},
		"GET /v1/ledger/verify":                          {path: "/v1/ledger/verify"},
		"POST /v1/statements":                            {path: "/v1/statements", body: `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`},
		"GET /v1/statements":                             {path: "/v1/statements", foreignClinic: 200, foreignReviewer: 200},
		"GET /v1/statements/:id":                         {path: "/v1/statements/" + stID, foreignClinic: 404, foreignReviewer: 404},
		"POST /v1/statements/:id/submit":                 {path: "/v1/statements/" + stID + "/submit", foreignClinic: 404},
		"POST /v1/statements/:id/cancel":                 {path: "/v1/statements/" + stID + "/cancel", foreignClinic: 404},
		"POST /v1/statements/:id/decisions":              {path: "/v1/statements/" + stID + "/decisions", body: `{"decisions":[{"line_id":1,"decision":"approve"}]}`, foreignReviewer: 404},
		"POST /v1/statements/:id/complete-review":        {path: "/v1/statements/" + stID + "/complete-review", foreignReviewer: 404},
		"GET /v1/statements/:id/sample":                  {path: "/v1/statements/" + stID + "/sample?percent=10&seed=42", foreignClinic: 404, foreignReviewer: 404},
		"GET /v1/statements/:id/extrapolations":          {path: "/v1/statements/" + stID + "/extrapolations", foreignClinic: 404, foreignReviewer: 404},
		"POST /v1/statements/:id/payments":               {path: "/v1/statements/" + stID + "/payments", body: `{"amount":"1.00","paid_on":"2025-05-01","reference":"x"}`, headers: []string{"Idempotency-Key", "m4"}},
		"POST /v1/statements/:id/appeals":                {path: "/v1/statements/" + stID + "/appeals", body: `{"line_id":1,"reason":"documentation_added"}`, foreignClinic: 404},
		"GET /v1/appeals":                                {path: "/v1/appeals", foreignClinic: 200, foreignReviewer: 200},
		"GET /v1/appeals/:id":                            {path: "/v1/appeals/0190a0b0-0000-7000-8000-000000000001", foreignClinic: 404, foreignReviewer: 404},
		"POST /v1/appeals/:id/decision":                  {path: "/v1/appeals/0190a0b0-0000-7000-8000-000000000001/decision", body: `{"outcome":"upheld"}`, foreignReviewer: 404},
		"GET /v1/statements/:id/export.csv":              {path: "/v1/statements/" + stID + "/export.csv", foreignClinic: 404, foreignReviewer: 404},
		"GET /v1/statements/:id/export.pdf":              {path: "/v1/statements/" + stID + "/export.pdf", foreignClinic: 404, foreignReviewer: 404},
		"GET /v1/statements/:id/fhir":                    {path: "/v1/statements/" + stID + "/fhir", foreignClinic: 404, foreignReviewer: 404},
		"GET /v1/fhir/export":                            {path: "/v1/fhir/export?period=2025-03", foreignClinic: 200, foreignReviewer: 200},
		"GET /v1/reports/transition":                     {path: "/v1/reports/transition?from=2025-01&to=2025-12", foreignReviewer: 200},
		"GET /v1/reports/reconciliation":                 {path: "/v1/reports/reconciliation?payer_code=ZZO-USK", foreignReviewer: 200},
		"GET /docs":                                      {path: "/docs"},
		"GET /v1/reports/payers":                         {path: "/v1/reports/payers?from=2025-01&to=2025-12", foreignReviewer: 200},
		"POST /v1/bulletins":                             {path: "/v1/bulletins", body: `{"period":"2025-03"}`},
		"GET /v1/bulletins":                              {path: "/v1/bulletins"},
		"GET /v1/bulletins/:period":                      {path: "/v1/bulletins/2025-03"},
		"GET /v1/bulletins/:period/verify":               {path: "/v1/bulletins/2025-03/verify"},
		"GET /v1/bulletins/:period/export.pdf":           {path: "/v1/bulletins/2025-03/export.pdf?lang=en"},
		"GET /v1/users":                                  {path: "/v1/users"},
		"POST /v1/users":                                 {path: "/v1/users", body: `{"username":"matrix.user","display_name":"M","role":"finance","locale":"bs"}`},
		"POST /v1/users/:username/password":              {path: "/v1/users/admin.matrix/password", body: `{}`},
		"GET /v1/tokens":                                 {path: "/v1/tokens"},
		"POST /v1/tokens":                                {path: "/v1/tokens", body: `{}`},
		"DELETE /v1/tokens/:id":                          {path: "/v1/tokens/" + tok},
		"GET /v1/audit":                                  {path: "/v1/audit"},
		"POST /v1/imports":                               {path: "/v1/imports", body: importCSV, headers: []string{"Content-Type", "text/csv"}, foreignClinic: 202},
		"GET /v1/imports":                                {path: "/v1/imports", foreignClinic: 200},
		"GET /v1/imports/:id":                            {path: "/v1/imports/" + jobID, foreignClinic: 404},
		"GET /v1/imports/:id/errors.csv":                 {path: "/v1/imports/" + jobID + "/errors.csv", foreignClinic: 404},
		"POST /v1/reports/simulations":                   {path: "/v1/reports/simulations", body: `{"from":"2025-01","to":"2025-03"}`},
		"GET /v1/reports/parity":                         {path: "/v1/reports/parity?from=2025-01&to=2025-12&payer_code=ZZO-USK", foreignReviewer: 404},
		"GET /v1/organizations/:code/reference-tariffs":  {path: "/v1/organizations/ZZO-USK/reference-tariffs", foreignClinic: 200, foreignReviewer: 200},
		"POST /v1/organizations/:code/reference-tariffs": {path: "/v1/organizations/ZZO-USK/reference-tariffs", body: `{}`},
	}
	foreign := map[string]string{
		"clinic":   e.token("clinic", "DZ-KS"),
		"reviewer": e.token("reviewer", "ZZO-KS"),
	}
	seen := map[string]bool{}
	for _, r := range e.srv.Access() {
		name := r.Method + " " + r.Path
		seen[name] = true
		p, ok := probes[name]
		if !ok {
			t.Errorf("%s has no entry in the access matrix test", name)
			continue
		}
		if r.Roles == nil {
			if res := e.do(r.Method, p.path, "", p.body, p.headers...); res.status >= 400 {
				t.Errorf("%s is public but answered %d", name, res.status)
			}
			continue
		}
		if res := e.do(r.Method, p.path, "", p.body, p.headers...); res.status != 401 {
			t.Errorf("%s without a token: %d, want 401", name, res.status)
		}
		for _, role := range []string{"admin", "clinic", "reviewer", "finance"} {
			who := e.tokens[role]
			want := 0 // allowed: anything but 401/403
			if !slices.Contains(r.Roles, role) {
				want = 403
			} else if role == "clinic" && p.foreignClinic != 0 {
				who, want = foreign["clinic"], p.foreignClinic
			} else if role == "reviewer" && p.foreignReviewer != 0 {
				who, want = foreign["reviewer"], p.foreignReviewer
			}
			res := e.do(r.Method, p.path, who, p.body, p.headers...)
			switch {
			case want == 0 && (res.status == 401 || res.status == 403 || res.status >= 500):
				t.Errorf("%s as %s: %d, want it allowed (%s)", name, role, res.status, res.raw)
			case want != 0 && res.status != want:
				t.Errorf("%s as %s (foreign object): %d, want %d (%.200s)", name, role, res.status, want, res.raw)
			}
			if want == 200 && strings.Contains(res.raw, encID) {
				t.Errorf("%s as foreign %s lists the other institution's encounter", name, role)
			}
		}
	}
	for name := range probes {
		if !seen[name] {
			t.Errorf("the access matrix test probes %s, which is not a route", name)
		}
	}
}
