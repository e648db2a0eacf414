package api_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// repeat returns n copies of el joined by commas.
func repeat(el string, n int) string {
	var b strings.Builder
	b.Grow(n * (len(el) + 1))
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(el)
	}
	return b.String()
}

// allocated returns what do allocated (TotalAlloc, garbage included) and its answer.
func allocated(do func() result) (uint64, result) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := do()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, res
}

// Not parallel: TotalAlloc counts every goroutine, so no other test may run meanwhile.
func TestHugeBadBodiesCostLittleMemory(t *testing.T) {
	e := newEnv(t)
	const limit = 64 << 20 // well under the 256 MiB the server may use in all
	tests := []struct {
		name, path, who, body string
		field, message        string // the one error of a too_many_items answer; "" for a truncated list
	}{
		{"a million encounters", "/v1/encounters/batch", "clinic", `{"encounters":[` + repeat("1", 1_000_000) + `]}`,
			"encounters", "must have at most 1000 items"},
		{"150,000 unknown fields", "/v1/encounters", "clinic", func() string {
			var b strings.Builder
			b.WriteString("{")
			for i := 0; i < 150_000; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `"f%d":1`, i)
			}
			return b.String() + "}"
		}(), "", ""},
		{"a million diagnoses", "/v1/encounters", "clinic", `{"diagnoses":[` + repeat("1", 1_000_000) + `]}`,
			"diagnoses", "must have at most 20 items"},
		{"a million decisions", "/v1/statements/0193b4c2-0000-7000-8000-000000000000/decisions", "reviewer",
			`{"decisions":[` + repeat("1", 1_000_000) + `]}`, "decisions", "must have at most 5000 items"},
		{"a million tariff items", "/v1/contracts/IOM-DZBIH-2024/tariffs", "admin",
			`{"effective_from":"2030-01-01","items":[` + repeat("1", 1_000_000) + `]}`, "items", "must have at most 500 items"},
		{"a million lines", "/v1/encounters", "clinic", `{"lines":[` + repeat("{}", 600_000) + `]}`,
			"lines", "must have at most 100 items"},
	}
	for _, tt := range tests {
		if len(tt.body) > 2<<20 {
			t.Fatalf("%s: the body is %d bytes, beyond the body limit", tt.name, len(tt.body))
		}
		alloc, res := allocated(func() result {
			return e.do("POST", tt.path, tt.who, tt.body, "Idempotency-Key", "huge")
		})
		t.Logf("%s: %d MiB allocated, %d bytes answered", tt.name, alloc>>20, len(res.raw))
		res.isProblem(t, 422)
		if alloc > limit {
			t.Errorf("%s: the request allocated %d MiB", tt.name, alloc>>20)
		}
		if len(res.raw) > 32<<10 {
			t.Errorf("%s: the answer is %d bytes", tt.name, len(res.raw))
		}
		errs, _ := res.json["errors"].([]any)
		if tt.field != "" {
			if res.json["code"] != "too_many_items" || len(errs) != 1 || !strings.Contains(res.raw, `{"field":"`+tt.field+`","message":"`+tt.message+`"}`) {
				t.Errorf("%s: %.400s", tt.name, res.raw)
			}
			continue
		}
		if len(errs) != 100 || res.json["errors_truncated"] != true || res.json["errors_total"].(float64) <= 100 {
			t.Errorf("%s: %d errors, truncated %v, total %v", tt.name, len(errs), res.json["errors_truncated"], res.json["errors_total"])
		}
	}
}

func TestErrorListIsCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// 500 encounters that are not objects: a shape error each.
	res := e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[`+repeat("1", 500)+`]}`, "Idempotency-Key", "cap")
	res.isProblem(t, 422)
	fields := res.fields()
	if len(fields) != 100 || fields[0] != "encounters[0]" || fields[99] != "encounters[99]" {
		t.Errorf("fields %d: %v", len(fields), fields)
	}
	if res.json["errors_truncated"] != true || res.json["errors_total"] != 101.0 {
		t.Errorf("truncated %v, total %v", res.json["errors_truncated"], res.json["errors_total"])
	}
	// 300 encounters that are objects but empty: validation stops at the cap too.
	res = e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[`+repeat("{}", 300)+`]}`, "Idempotency-Key", "cap2")
	res.isProblem(t, 422)
	if len(res.fields()) != 100 || res.json["errors_truncated"] != true {
		t.Errorf("empty encounters: %d fields, %.300s", len(res.fields()), res.raw)
	}
	// 1000 valid-looking encounters with an unknown site each: the service's check is capped too.
	bad := strings.Replace(consultation, `"site_code":"TRC-LIPA"`, `"site_code":"MARS"`, 1)
	res = e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[`+repeat(bad, 1000)+`]}`, "Idempotency-Key", "cap3")
	res.isProblem(t, 422)
	if len(res.fields()) != 100 || res.json["errors_truncated"] != true || res.fields()[0] != "encounters[0].site_code" {
		t.Errorf("unknown sites: %d fields, %.300s", len(res.fields()), res.raw)
	}
	// A short list says nothing of truncation; an element that is not an object is named once.
	res = e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[1,`+consultation+`,1]}`, "Idempotency-Key", "cap4")
	if strings.Contains(res.raw, "errors_truncated") || strings.Contains(res.raw, "errors_total") || !sameSet(res.fields(), []string{"encounters[0]", "encounters[2]"}) {
		t.Errorf("short list: %s", res.raw)
	}
}

// keysOf returns the member names of the JSON object raw, in the order they are written.
func keysOf(t *testing.T, raw string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %.200s", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestProblemDocumentsKeepOneKeyOrderAndReadablePunctuation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := []string{"type", "title", "status", "detail", "code", "errors", "request_id"}
	truncated := []string{"type", "title", "status", "detail", "code", "errors", "errors_truncated", "errors_total", "request_id"}

	unauth := e.do("GET", "/v1/sites", "", "")
	unauth.isProblem(t, 401)
	if !strings.Contains(unauth.raw, `"send Authorization: Bearer <token>"`) || strings.Contains(unauth.raw, `\u003c`) {
		t.Errorf("401 detail is HTML-escaped: %s", unauth.raw)
	}
	if r := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "first"); r.status != 201 {
		t.Fatalf("post: %s", r.raw)
	}
	dup := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "second")
	dup.isProblem(t, 409)
	tests := []struct {
		name string
		res  result
		want []string
	}{
		{"401 bad token", unauth, base},
		{"404 unknown route (Fiber's own)", e.do("GET", "/v1/nowhere", "admin", ""), base},
		{"wrong method (Fiber's own)", e.do("PUT", "/v1/sites", "admin", `{}`), base},
		{"403", e.do("POST", "/v1/sites", "clinic", `{}`), base},
		{"400 malformed", e.do("POST", "/v1/sites", "admin", `{"code":`), base},
		{"409 with existing_id", dup, append(slices.Clone(base), "existing_id")},
		{"422 truncated", e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[`+repeat("1", 300)+`]}`, "Idempotency-Key", "k"), truncated},
		{"422 too many items", e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[`+repeat("1", 1001)+`]}`, "Idempotency-Key", "k"), base},
	}
	for _, tt := range tests {
		if tt.res.status < 400 {
			t.Errorf("%s: status %d", tt.name, tt.res.status)
			continue
		}
		if got := keysOf(t, tt.res.raw); !slices.Equal(got, tt.want) {
			t.Errorf("%s: keys %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCompleteReviewNamesTheFirstHundredUndecidedLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	encs := make([]string, 102)
	for i := range encs {
		encs[i] = strings.Replace(consultation, "LIPA-0001", fmt.Sprintf("LIPA-U%03d", i), 1)
	}
	if r := e.do("POST", "/v1/encounters/batch", "clinic", `{"encounters":[`+strings.Join(encs, ",")+`]}`, "Idempotency-Key", "u"); r.status != 201 {
		t.Fatalf("batch: %.300s", r.raw)
	}
	st := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	if st.status != 201 {
		t.Fatalf("statement: %s", st.raw)
	}
	id := st.json["id"].(string)
	if r := e.do("POST", "/v1/statements/"+id+"/submit", "clinic", ""); r.status != 200 {
		t.Fatalf("submit: %.300s", r.raw)
	}
	var lineIDs []string
	for _, l := range e.do("GET", "/v1/statements/"+id, "reviewer", "").json["lines"].([]any) {
		lineIDs = append(lineIDs, fmt.Sprint(l.(map[string]any)["id"]))
	}
	if len(lineIDs) != 102 { // each encounter has one line that ZZO-USK shares, and one it does not
		t.Fatalf("%d lines", len(lineIDs))
	}
	if r := e.do("POST", "/v1/statements/"+id+"/decisions", "reviewer", `{"decisions":[{"line_id":`+lineIDs[0]+`,"decision":"approve"}]}`); r.status != 200 {
		t.Fatalf("decide: %.300s", r.raw)
	}
	res := e.do("POST", "/v1/statements/"+id+"/complete-review", "reviewer", "")
	res.isProblem(t, 409)
	fields := res.fields()
	if len(fields) != 100 || fields[0] != "lines[id="+lineIDs[1]+"].decision" || fields[99] != "lines[id="+lineIDs[100]+"].decision" {
		t.Errorf("undecided lines named: %d, first %v", len(fields), fields[:min(3, len(fields))])
	}
	if res.json["errors_truncated"] != true || res.json["errors_total"] != 101.0 || res.json["undecided"] != 101.0 {
		t.Errorf("truncated %v, total %v, undecided %v", res.json["errors_truncated"], res.json["errors_total"], res.json["undecided"])
	}
	want := []string{"type", "title", "status", "detail", "code", "errors", "errors_truncated", "errors_total", "request_id", "undecided"}
	if got := keysOf(t, res.raw); !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
}

var timestampFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

// timestamps collects every member named at or *_at in v, with its path.
func timestamps(v any, path string, out map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if (k == "at" || strings.HasSuffix(k, "_at")) && x != nil {
				out[path+"."+k] = x
			}
			timestamps(x, path+"."+k, out)
		}
	case []any:
		for i, x := range v {
			timestamps(x, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

func TestEveryTimestampHasOneFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	post := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "ts")
	if post.status != 201 {
		t.Fatalf("post: %s", post.raw)
	}
	id := post.json["id"].(string)
	st := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	if st.status != 201 {
		t.Fatalf("statement: %s", st.raw)
	}
	stID := st.json["id"].(string)
	answers := []result{
		post,
		e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "ts"), // the replay
		e.do("GET", "/v1/encounters/"+id, "clinic", ""),
		st,
		e.do("POST", "/v1/statements/"+stID+"/submit", "clinic", ""),
		e.do("GET", "/v1/statements", "finance", ""),
		e.do("GET", "/v1/ledger/transactions", "finance", ""),
		e.do("GET", "/v1/contracts", "admin", ""),
		e.do("GET", "/v1/contracts/IOM-DZBIH-2024/tariffs", "admin", ""),
		e.do("GET", "/v1/contracts/IOM-DZBIH-2024/cost-shares", "admin", ""),
		e.do("GET", "/v1/organizations", "admin", ""),
		e.do("POST", "/v1/tokens", "admin", `{"name":"ts","role":"admin","expires_at":"2099-01-01T00:00:00+01:00"}`),
		e.do("GET", "/v1/tokens", "admin", ""),
		e.do("GET", "/v1/audit", "admin", ""),
	}
	iom := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"IOM","period":"2025-03"}`)
	other := e.do("POST", "/v1/encounters", "clinic", strings.Replace(consultation, "LIPA-0001", "LIPA-TS2", 1), "Idempotency-Key", "ts2")
	if iom.status != 201 || other.status != 201 {
		t.Fatalf("second statement %d, second encounter %d", iom.status, other.status)
	}
	answers = append(answers,
		e.do("POST", "/v1/statements/"+iom.json["id"].(string)+"/cancel", "finance", ""),
		e.do("POST", "/v1/encounters/"+other.json["id"].(string)+"/void", "clinic", `{"reason":"test"}`))
	found := map[string]bool{}
	for i, res := range answers {
		if res.status >= 300 {
			t.Errorf("answer %d: %d %.300s", i, res.status, res.raw)
			continue
		}
		var doc any
		_ = json.Unmarshal([]byte(res.raw), &doc)
		stamps := map[string]any{}
		timestamps(doc, "", stamps)
		for path, v := range stamps {
			s, _ := v.(string)
			if !timestampFormat.MatchString(s) {
				t.Errorf("answer %d: %s = %v, want UTC with six decimals", i, path, v)
			}
			found[path[strings.LastIndexByte(path, '.')+1:]] = true
		}
	}
	for _, name := range []string{"created_at", "updated_at", "submitted_at", "cancelled_at", "voided_at", "expires_at", "at"} {
		if !found[name] {
			t.Errorf("no %s in the answers", name)
		}
	}
}

func TestOneAnswerNamesShapeErrorsAndUnknownCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	badYear := `"birth_year":"x"`
	tests := []struct {
		path, who, body string
		fields          []string
	}{
		{"/v1/encounters", "clinic", strings.NewReplacer(`"birth_year":1998`, badYear, `"PZZ-01"`, `"NOPE"`).Replace(consultation),
			[]string{"birth_year", "lines[0].service_code"}},
		{"/v1/encounters", "clinic", strings.NewReplacer(`"birth_year":1998`, badYear, `IOM-DZBIH-2024`, `NOPE`).Replace(consultation),
			[]string{"birth_year", "contract_code"}},
		{"/v1/encounters/batch", "clinic", `{"encounters":[` + consultation + `,` + strings.NewReplacer(`"birth_year":1998`, badYear, `"PZZ-01"`, `"NOPE"`).Replace(consultation) + `]}`,
			[]string{"encounters[1].birth_year", "encounters[1].lines[0].service_code"}},
		{"/v1/contracts/IOM-DZBIH-2024/tariffs", "admin", `{"effective_from":"2030-01-01","point_value":true,"items":[{"service_code":"PZZ-01","method":"fixed","price":"1"},{"service_code":"NOPE","method":"fixed","price":"1"}]}`,
			[]string{"point_value", "items[1].service_code"}},
		{"/v1/contracts/IOM-DZBIH-2024/tariffs", "admin", `{"effective_from":"2030-01-01","items":[{"service_code":"NOPE","method":"fixed","price":"-1"}]}`,
			[]string{"items[0].price", "items[0].service_code"}},
		{"/v1/contracts/IOM-DZBIH-2024/cost-shares", "admin", `{"effective_from":"2030-01-01","service_category":5,"site_code":"MARS","shares":[{"payer_code":"NOPE","basis_points":10000}]}`,
			[]string{"service_category", "site_code", "shares[0].payer_code"}},
		{"/v1/contracts", "admin", `{"code":"X-1","provider_code":"IOM","payer_code":"NOPE","valid_from":"2030-01-01","status":5}`,
			[]string{"status", "provider_code", "payer_code"}},
		{"/v1/sites", "admin", `{"code":"S-1","name":5,"kind":"trc","jurisdiction_code":"NOPE"}`, []string{"name", "jurisdiction_code"}},
		{"/v1/organizations", "admin", `{"code":"O-1","name":5,"kind":"provider","jurisdiction_code":"NOPE"}`, []string{"name", "jurisdiction_code"}},
		{"/v1/jurisdictions", "admin", `{"code":"J-1","name":5,"parent_code":"NOPE"}`, []string{"name", "parent_code"}},
		{"/v1/statements", "finance", `{"provider_code":"NOPE","payer_code":"DZ-BIHAC","period":"2025-13"}`, []string{"period", "provider_code", "payer_code"}},
		{"/v1/tokens", "admin", `{"name":"","role":"clinic","org_code":"NOPE"}`, []string{"name", "org_code"}},
		{"/v1/tokens", "admin", `{"name":"","role":"reviewer","org_code":"DZ-BIHAC"}`, []string{"name", "org_code"}},
	}
	for _, tt := range tests {
		res := e.do("POST", tt.path, tt.who, tt.body, "Idempotency-Key", "x")
		res.isProblem(t, 422)
		if !sameSet(res.fields(), tt.fields) {
			t.Errorf("%s: fields %v, want %v", tt.path, res.fields(), tt.fields)
		}
	}
}
