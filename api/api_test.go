package api_test

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/api"
)

func TestQuoteShowsTheStateShareRising(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want := map[string][]string{
		"2024-03-15": {"IOM=20.00"},
		"2024-09-15": {"ZZO-USK=6.00", "IOM=14.00"},
		"2025-03-15": {"ZZO-USK=12.00", "IOM=8.00"},
		"2025-09-15": {"ZZO-USK=20.00"},
	}
	for on, shares := range want {
		res := e.do("GET", "/v1/contracts/IOM-DZBIH-2024/quote?service_code=PZZ-01&quantity=1&on="+on+"&site_code=TRC-LIPA", "finance", "")
		if res.status != 200 {
			t.Fatalf("quote on %s: %d %s", on, res.status, res.raw)
		}
		var got []string
		for _, s := range res.json["shares"].([]any) {
			m := s.(map[string]any)
			got = append(got, fmt.Sprintf("%s=%s", m["payer_code"], m["amount"]))
		}
		if !slices.Equal(got, shares) {
			t.Errorf("on %s: shares %v, want %v", on, got, shares)
		}
		for k, v := range map[string]any{"line_no": 1.0, "service_code": "PZZ-01", "quantity": "1", "unit_price": "20.00", "net": "20.00", "vat": "0.00", "amount": "20.00", "tariff_version": 1.0} {
			if res.json[k] != v {
				t.Errorf("on %s: %s = %v, want %v", on, k, res.json[k], v)
			}
		}
	}
	// The clinic quotes its own contract; another provider's is 404, like an unknown one.
	if res := e.do("GET", "/v1/contracts/IOM-DZBIH-2024/quote?service_code=PZZ-01&on=2025-03-15", "clinic", ""); res.status != 200 {
		t.Errorf("own quote: %d %s", res.status, res.raw)
	}
	e.do("GET", "/v1/contracts/IOM-KCUS-2024/quote?service_code=SKZ-01&on=2025-03-15", "clinic", "").isProblem(t, 404)
	e.do("GET", "/v1/contracts/IOM-KCUS-2024", "clinic", "").isProblem(t, 404)
	e.do("GET", "/v1/contracts/NOPE", "clinic", "").isProblem(t, 404)
	e.do("GET", "/v1/contracts/IOM-DZBIH-2024/quote?service_code=PZZ-01", "reviewer", "").isProblem(t, 403)
}

func TestQuoteBadParameters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		query  string
		status int
		fields []string
	}{
		{"", 422, []string{"service_code"}},
		{"service_code=PZZ-01&quantity=abc&on=2024-02-30&beneficiary_category=alien", 422, []string{"beneficiary_category", "quantity", "on"}},
		{"service_code=PZZ-01&quantity=-1", 422, []string{"quantity"}},
		{"service_code=PZZ-01&quantity=1.23456", 422, []string{"quantity"}},
		{"service_code=PZZ-01&quantity=1e3", 422, []string{"quantity"}},
		{"service_code=NOPE&site_code=NOWHERE&on=2025-01-01", 422, []string{"service_code", "site_code"}},
		{"service_code=PZZ-04&quantity=6&on=2025-01-01", 422, []string{"quantity"}},
		{"service_code=PZZ-01&on=2023-06-01", 422, []string{"on"}},
		{"service_code=" + strings.Repeat("X", 2000), 422, []string{"service_code"}},
	}
	for _, tt := range tests {
		res := e.do("GET", "/v1/contracts/IOM-DZBIH-2024/quote?"+tt.query, "admin", "")
		res.isProblem(t, tt.status)
		if got := res.fields(); !sameSet(got, tt.fields) {
			t.Errorf("%.60s: fields %v, want %v", tt.query, got, tt.fields)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("GET", "/v1/sites", "", "").isProblem(t, 401)
	e.do("GET", "/v1/sites", "Bearer trc_nonsense", "").isProblem(t, 401)
	e.do("GET", "/v1/sites", "", "", "Authorization", "Basic YWRtaW46YWRtaW4=").isProblem(t, 401)
	if res := e.do("GET", "/v1/sites", "reviewer", ""); res.status != 200 || len(res.json["items"].([]any)) != 5 {
		t.Errorf("sites: %d %s", res.status, res.raw)
	}
	e.do("POST", "/v1/sites", "clinic", `{"code":"X","name":"X","kind":"trc","jurisdiction_code":"BA"}`).isProblem(t, 403)
	e.do("GET", "/v1/contracts", "reviewer", "").isProblem(t, 403)
	e.do("GET", "/v1/tokens", "finance", "").isProblem(t, 403)

	// A token issued through the API works until it is revoked.
	res := e.do("POST", "/v1/tokens", "admin", `{"name":"nurse Lipa","role":"clinic","org_code":"DZ-BIHAC"}`)
	if res.status != 201 {
		t.Fatalf("create token: %d %s", res.status, res.raw)
	}
	secret, id := res.json["token"].(string), res.json["id"].(string)
	if r := e.do("GET", "/v1/contracts", secret, ""); r.status != 200 || len(r.json["items"].([]any)) != 1 {
		t.Errorf("new clinic token: %d %s", r.status, r.raw)
	}
	if r := e.do("DELETE", "/v1/tokens/"+id, "admin", ""); r.status != 204 {
		t.Errorf("revoke: %d %s", r.status, r.raw)
	}
	e.do("GET", "/v1/contracts", secret, "").isProblem(t, 401)
	e.do("DELETE", "/v1/tokens/"+id, "admin", "").isProblem(t, 404)
	e.do("DELETE", "/v1/tokens/not-a-uuid", "admin", "").isProblem(t, 404)
	// The listing never shows a secret.
	if r := e.do("GET", "/v1/tokens", "admin", ""); strings.Contains(r.raw, secret) || strings.Contains(r.raw, "trc_") {
		t.Errorf("token list leaks a secret")
	}
	// Bindings must fit the role.
	for body, field := range map[string]string{
		`{"name":"x","role":"clinic"}`:                                    "org_code",
		`{"name":"x","role":"clinic","org_code":"IOM"}`:                   "org_code",
		`{"name":"x","role":"reviewer","org_code":"DZ-BIHAC"}`:            "org_code",
		`{"name":"x","role":"finance","org_code":"IOM"}`:                  "org_code",
		`{"name":"x","role":"root"}`:                                      "role",
		`{"name":"x","role":"admin","expires_at":"tomorrow"}`:             "expires_at",
		`{"name":"x","role":"admin","expires_at":"2001-01-01T00:00:00Z"}`: "expires_at",
	} {
		r := e.do("POST", "/v1/tokens", "admin", body)
		r.isProblem(t, 422)
		if !slices.Contains(r.fields(), field) {
			t.Errorf("%s: fields %v, want %s", body, r.fields(), field)
		}
	}
}

func TestBadInputNeverAnswers500(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := strings.Repeat("x", 100_000)
	tests := []struct {
		name, method, path, body string
		status                   int
		fields                   []string
	}{
		{"malformed JSON", "POST", "/v1/sites", `{"code": "X",`, 400, nil},
		{"not JSON", "POST", "/v1/sites", `code=X`, 400, nil},
		{"empty body", "POST", "/v1/sites", ``, 400, nil},
		{"two values", "POST", "/v1/sites", `{} {}`, 400, nil},
		{"an array", "POST", "/v1/sites", `[1,2]`, 400, nil},
		{"unknown field", "POST", "/v1/sites", `{"code":"S1","name":"S","kind":"trc","jurisdiction_code":"BA","colour":"red"}`, 422, []string{"colour"}},
		{"wrong types, all named", "POST", "/v1/sites", `{"code":1,"name":true,"kind":"trc","jurisdiction_code":["BA"]}`, 422, []string{"code", "name", "jurisdiction_code"}},
		{"missing and null fields", "POST", "/v1/sites", `{"code":null,"kind":"tent"}`, 422, []string{"code", "name", "kind", "jurisdiction_code"}},
		{"100k string", "POST", "/v1/services", `{"code":"S1","name":"` + long + `","category":"dental","unit":"item"}`, 422, []string{"name"}},
		{"lower-case code", "POST", "/v1/services", `{"code":"pzz 9","name":"x","category":"dental","unit":"item"}`, 422, []string{"code"}},
		{"unknown jurisdiction", "POST", "/v1/sites", `{"code":"S1","name":"S","kind":"trc","jurisdiction_code":"BA-XX"}`, 422, []string{"jurisdiction_code"}},
		{"duplicate code", "POST", "/v1/sites", `{"code":"TRC-LIPA","name":"S","kind":"trc","jurisdiction_code":"BA"}`, 409, []string{"code"}},
		{"payer without type", "POST", "/v1/organizations", `{"code":"P1","name":"P","kind":"payer","jurisdiction_code":"BA","level":"primary"}`, 422, []string{"payer_type", "level"}},
		{"impossible date", "POST", "/v1/contracts", `{"code":"C1","provider_code":"DZ-KS","valid_from":"2024-02-30"}`, 422, []string{"valid_from"}},
		{"date in a wrong format", "POST", "/v1/contracts", `{"code":"C1","provider_code":"DZ-KS","valid_from":"15.03.2024","valid_to":"2024-3-1"}`, 422, []string{"valid_from", "valid_to"}},
		{"bad date and bad currency", "POST", "/v1/contracts", `{"code":"c 1","provider_code":"DZ-KS","valid_from":"2024-13-01","currency":"XYZ"}`, 422, []string{"code", "valid_from", "currency"}},
		{"unknown provider and currency", "POST", "/v1/contracts", `{"code":"C1","provider_code":"NOPE","valid_from":"2024-01-01","currency":"XYZ"}`, 422, []string{"provider_code", "currency"}},
		{"end before start", "POST", "/v1/contracts", `{"code":"C1","provider_code":"DZ-KS","valid_from":"2024-01-01","valid_to":"2023-01-01"}`, 422, []string{"valid_to"}},
		{"empty items", "POST", "/v1/contracts/IOM-DZKS-2024/tariffs", `{"effective_from":"2027-01-01","items":[]}`, 422, []string{"items"}},
		{"bad prices", "POST", "/v1/contracts/IOM-DZKS-2024/tariffs", `{"effective_from":"2027-01-01","items":[{"service_code":"PZZ-01","method":"fixed","price":"-5"},{"service_code":"PZZ-02","method":"fixed","price":"abc"},{"service_code":"PZZ-03","method":"fixed","price":{"v":1}},{"service_code":"NOPE","method":"barter"}]}`, 422, []string{"items[0].price", "items[1].price", "items[2].price", "items[3].method", "items[3].service_code"}},
		{"unknown service in a tariff", "POST", "/v1/contracts/IOM-DZKS-2024/tariffs", `{"effective_from":"2027-01-01","items":[{"service_code":"NOPE","method":"fixed","price":"1"}]}`, 422, []string{"items[0].service_code"}},
		{"tariff of an unknown contract", "POST", "/v1/contracts/NOPE/tariffs", `{"effective_from":"2027-01-01","items":[{"service_code":"PZZ-01","method":"fixed","price":"1"}]}`, 404, nil},
		{"basis points short", "POST", "/v1/contracts/IOM-DZKS-2024/cost-shares", `{"effective_from":"2027-01-01","service_category":"dental","shares":[{"payer_code":"IOM","basis_points":5000},{"payer_code":"ZZO-KS","basis_points":4999}]}`, 422, []string{"shares"}},
		{"basis points wrong", "POST", "/v1/contracts/IOM-DZKS-2024/cost-shares", `{"effective_from":"2027-01-01","service_category":"dental","shares":[{"payer_code":"IOM","basis_points":"5000"},{"payer_code":"ZZO-KS","basis_points":50.5},{"payer_code":"MSB"}]}`, 422, []string{"shares[0].basis_points", "shares[1].basis_points", "shares[2].basis_points"}},
		{"basis points huge", "POST", "/v1/contracts/IOM-DZKS-2024/cost-shares", `{"effective_from":"2027-01-01","shares":[{"payer_code":"IOM","basis_points":99999999999999999999}]}`, 422, []string{"shares[0].basis_points"}},
		{"negative basis points", "POST", "/v1/contracts/IOM-DZKS-2024/cost-shares", `{"effective_from":"2027-01-01","service_category":"dental","shares":[{"payer_code":"IOM","basis_points":-1},{"payer_code":"ZZO-KS","basis_points":10001}]}`, 422, []string{"shares[0].basis_points", "shares[1].basis_points"}},
		{"unknown category and payer", "POST", "/v1/contracts/IOM-DZKS-2024/cost-shares", `{"effective_from":"2027-01-01","service_category":"magic","shares":[{"payer_code":"NOPE","basis_points":10000}]}`, 422, []string{"service_category", "shares[0].payer_code"}},
		{"payer that is a provider", "POST", "/v1/contracts/IOM-DZKS-2024/cost-shares", `{"effective_from":"2027-01-01","service_category":"dental","shares":[{"payer_code":"DZ-KS","basis_points":10000}]}`, 422, []string{"shares[0].payer_code"}},
		{"ambiguous rule", "POST", "/v1/contracts/IOM-DZKS-2024/cost-shares", `{"effective_from":"2024-03-01","service_category":"primary_care","shares":[{"payer_code":"IOM","basis_points":10000}]}`, 409, nil},
		{"patch with nothing", "PATCH", "/v1/contracts/IOM-DZKS-2024", `{}`, 422, []string{"status"}},
		{"unknown route", "GET", "/v1/nothing", ``, 404, nil},
		{"wrong method", "PUT", "/v1/sites", `{}`, 405, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(tt.method, tt.path, "admin", tt.body)
			res.isProblem(t, tt.status)
			if tt.fields != nil && !sameSet(res.fields(), tt.fields) {
				t.Errorf("fields %v, want %v (%s)", res.fields(), tt.fields, res.raw)
			}
		})
	}
	if strings.Contains(e.logs.String(), `"level":"ERROR"`) {
		t.Errorf("bad input was logged as an internal error:\n%s", e.logs.String())
	}
}

func TestAmbiguousRuleNamesTheRule(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do("POST", "/v1/contracts/IOM-DZKS-2024/cost-shares", "admin", `{"effective_from":"2024-03-01","effective_to":"2024-04-01","service_category":"primary_care","shares":[{"payer_code":"IOM","basis_points":10000}]}`)
	res.isProblem(t, 409)
	if res.json["code"] != "ambiguous_cost_share_rule" || res.json["conflicting_rule_id"] == nil {
		t.Errorf("problem = %s", res.raw)
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) { c.BodyLimit = 1024 })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.srv.App.Listener(ln) }()
	t.Cleanup(func() { _ = e.srv.App.Shutdown() })
	big := `{"code":"S1","name":"` + strings.Repeat("x", 4096) + `"}`
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/sites", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+e.tokens["admin"])
	req.Header.Set("Content-Type", "application/json")
	req.Close = true // no idle keep-alive connection for Shutdown to wait on
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res := readResult(t, resp)
	res.isProblem(t, 413)
	// A problem Fiber raises itself keeps the members' order too.
	if got, want := keysOf(t, res.raw), []string{"type", "title", "status", "detail", "code", "errors", "request_id"}; !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
}

func TestAdminBuildsAContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	steps := []struct{ method, path, body string }{
		{"POST", "/v1/jurisdictions", `{"code":"BA-FBIH-ZDK","name":"Zenica-Doboj Canton","parent_code":"BA-FBIH"}`},
		{"POST", "/v1/organizations", `{"code":"DZ-ZE","name":"JU Dom zdravlja Zenica","kind":"provider","level":"primary","jurisdiction_code":"BA-FBIH-ZDK"}`},
		{"POST", "/v1/sites", `{"code":"MOBILE-ZDK","name":"Mobile team Zenica","kind":"mobile","jurisdiction_code":"BA-FBIH-ZDK"}`},
		{"POST", "/v1/services", `{"code":"VAC-01","name":"Vaccination","category":"vaccination","unit":"item"}`},
		{"POST", "/v1/contracts", `{"code":"IOM-DZZE-2025","provider_code":"DZ-ZE","payer_code":"IOM","valid_from":"2025-01-01","status":"active"}`},
		{"POST", "/v1/contracts/IOM-DZZE-2025/tariffs", `{"effective_from":"2025-01-01","point_value":"0.3333","items":[{"service_code":"VAC-01","method":"points","points":13,"max_quantity":"3","vat_rate":"17"}]}`},
		{"POST", "/v1/contracts/IOM-DZZE-2025/cost-shares", `{"effective_from":"2025-01-01","shares":[{"payer_code":"MSB","basis_points":3333},{"payer_code":"IOM","basis_points":6667}]}`},
	}
	for _, s := range steps {
		if res := e.do(s.method, s.path, "admin", s.body); res.status != 201 {
			t.Fatalf("%s %s: %d %s", s.method, s.path, res.status, res.raw)
		}
	}
	// 13 points × 0.3333 = 4.3329 a dose; × 3 = 12.9987 -> net 13.00; VAT 17% = 2.21; 15.21 split 3333/6667.
	res := e.do("GET", "/v1/contracts/IOM-DZZE-2025/quote?service_code=VAC-01&quantity=3&on=2025-06-01&site_code=MOBILE-ZDK", "admin", "")
	want := map[string]any{"unit_price": "4.3329", "net": "13.00", "vat": "2.21", "amount": "15.21"}
	for k, v := range want {
		if res.json[k] != v {
			t.Errorf("%s = %v, want %v (%s)", k, res.json[k], v, res.raw)
		}
	}
	shares := res.json["shares"].([]any)
	if a, b := shares[0].(map[string]any)["amount"], shares[1].(map[string]any)["amount"]; a != "5.07" || b != "10.14" {
		t.Errorf("shares %v %v, want 5.07 10.14", a, b)
	}
	if r := e.do("GET", "/v1/contracts/IOM-DZZE-2025/tariffs", "finance", ""); r.status != 200 || !strings.Contains(r.raw, `"point_value":"0.3333"`) {
		t.Errorf("tariffs: %s", r.raw)
	}
	if r := e.do("GET", "/v1/organizations/DZ-ZE", "reviewer", ""); r.status != 200 || r.json["level"] != "primary" {
		t.Errorf("organization: %s", r.raw)
	}
	e.do("GET", "/v1/organizations/NOPE", "reviewer", "").isProblem(t, 404)
}

func TestHealthAndHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		res := e.do("GET", p, "", "")
		if res.status != 200 {
			t.Errorf("%s: %d", p, res.status)
		}
		for _, h := range []string{"X-Content-Type-Options", "X-Request-Id", "Content-Security-Policy"} {
			if res.header.Get(h) == "" {
				t.Errorf("%s lacks %s", p, h)
			}
		}
	}
	res := e.do("GET", "/healthz", "", "", "X-Request-Id", "nurse-42")
	if res.header.Get("X-Request-Id") != "nurse-42" {
		t.Errorf("request id not echoed: %q", res.header.Get("X-Request-Id"))
	}
	if !strings.Contains(e.logs.String(), `"request_id":"nurse-42"`) {
		t.Errorf("no log line with the request id")
	}
}

func TestRateLimitPerToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *api.Config) { c.RateLimit = 2 })
	// Seven quick requests span at most one window boundary, so some window sees more than 2.
	var limited *result
	for i := 0; i < 7; i++ {
		r := e.do("GET", "/v1/sites", "clinic", "")
		if r.status == 429 {
			limited = &r
		} else if r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
	}
	if limited == nil {
		t.Fatal("7 requests at a limit of 2 a second were never refused")
	}
	limited.isProblem(t, 429)
	if limited.header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After")
	}
	// Another token has its own budget.
	if r := e.do("GET", "/v1/sites", "finance", ""); r.status != 200 {
		t.Errorf("finance limited by the clinic's use: %d", r.status)
	}
}
