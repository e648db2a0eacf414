package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// centsOf reads an amount string ("12.34") as whole cents.
func centsOf(t *testing.T, v any) int64 {
	t.Helper()
	s, _ := v.(string)
	whole, frac, ok := strings.Cut(s, ".")
	n, err1 := strconv.ParseInt(whole, 10, 64)
	c, err2 := strconv.ParseInt(frac, 10, 64)
	if !ok || len(frac) != 2 || err1 != nil || err2 != nil {
		t.Fatalf("amount %v", v)
	}
	return n*100 + c
}

// TestExtrapolateBulkDecision: GET /v1/statements/{id}/sample draws the documented sample (the
// same for the same seed); {"bulk": {"decision": "extrapolate", ...}} is refused until the
// sample is decided and for bad percents and seeds, then applies the sample's rejected share by
// amount to the other unflagged lines (amounts worked out here in whole cents), marks them
// extrapolated in the statement and the CSV, replays under its Idempotency-Key, and is audited.
func TestExtrapolateBulkDecision(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 12 {
		body := fmt.Sprintf(`{"contract_code":"IOM-DZBIH-2024","site_code":"TRC-LIPA","external_id":"SMP-%d","patient_id":"SFA-SMP-%d",
			"beneficiary_category":"irregular_migrant","service_date":"2025-03-%02d","kind":"consultation","diagnoses":["J06.9"],
			"lines":[{"service_code":"PZZ-02","quantity":"%d.%02d"}]}`, i, i, i+1, 1+i/3, (i*29)%100)
		if r := e.do("POST", "/v1/encounters", "clinic", body, "Idempotency-Key", fmt.Sprintf("smp-%d", i)); r.status != 201 {
			t.Fatalf("post %d: %s", i, r.raw)
		}
	}
	id, lines := submittedStatement(t, e) // three more encounters; one line flagged
	amount := map[string]int64{}
	var unflagged []string
	for lid, l := range lines {
		amount[lid] = centsOf(t, l["amount"])
		if !flagged(l) {
			unflagged = append(unflagged, lid)
		}
	}
	if len(unflagged) < 13 {
		t.Fatalf("%d unflagged lines", len(unflagged))
	}
	// The documented draw: ids ordered by the hex SHA-256 of "<seed>:<id>", the first ⌈n × p / 100⌉.
	draw := func(seed string, percent int) []string {
		ids := slices.Clone(unflagged)
		key := func(id string) string { s := sha256.Sum256([]byte(seed + ":" + id)); return hex.EncodeToString(s[:]) }
		sort.Slice(ids, func(i, j int) bool { return key(ids[i]) < key(ids[j]) })
		return ids[:(len(ids)*percent+99)/100]
	}
	idsOf := func(r result) []string {
		var out []string
		for _, v := range r.json["line_ids"].([]any) {
			out = append(out, jsonNumber(v))
		}
		return out
	}
	samplePath := "/v1/statements/" + id + "/sample"
	s := e.do("GET", samplePath+"?percent=25&seed=42", "reviewer", "")
	want := draw("42", 25)
	if s.status != 200 || !slices.Equal(idsOf(s), want) || s.json["rate"] != nil || s.json["can_extrapolate"] != false {
		t.Fatalf("sample: %d %v, want %v: %.300s", s.status, idsOf(s), want, s.raw)
	}
	if again := e.do("GET", samplePath+"?percent=25&seed=42", "finance", ""); !slices.Equal(idsOf(again), want) {
		t.Errorf("the same seed drew %v", idsOf(again))
	}
	e.do("GET", samplePath+"?percent=25&seed=42", e.token("reviewer", "ZZO-KS"), "").isProblem(t, 404)
	for q, fields := range map[string][]string{
		"percent=0&seed=1": {"percent"}, "percent=101&seed=1": {"percent"}, "": {"percent", "seed"},
		"percent=ten&seed=1": {"percent"}, "percent=10&seed=-1": {"seed"}, "percent=10&seed=0": {"seed"}, "percent=10&seed=9007199254740992": {"seed"},
	} {
		r := e.do("GET", samplePath+"?"+q, "reviewer", "")
		r.isProblem(t, 422)
		if !sameSet(r.fields(), fields) {
			t.Errorf("%s: fields %v, want %v", q, r.fields(), fields)
		}
	}

	path := "/v1/statements/" + id + "/decisions"
	x := `{"bulk":{"decision":"extrapolate","sample_percent":25,"seed":42}}`
	for body, fields := range map[string][]string{
		`{"bulk":{"decision":"extrapolate","sample_percent":0,"seed":42}}`:                    {"bulk.sample_percent"},
		`{"bulk":{"decision":"extrapolate","sample_percent":101,"seed":42}}`:                  {"bulk.sample_percent"},
		`{"bulk":{"decision":"extrapolate","seed":42}}`:                                       {"bulk.sample_percent"},
		`{"bulk":{"decision":"extrapolate","sample_percent":25}}`:                             {"bulk.seed"},
		`{"bulk":{"decision":"extrapolate","sample_percent":25,"seed":42,"where":"flagged"}}`: {"bulk.where"},
		`{"bulk":{"decision":"approve","where":"unflagged","seed":42}}`:                       {"bulk.seed"},
		`{"bulk":{"decision":"approve"}}`:                                                     {"bulk.where"},
	} {
		r := e.do("POST", path, "reviewer", body)
		r.isProblem(t, 422)
		if !sameSet(r.fields(), fields) {
			t.Errorf("%s: fields %v, want %v", body, r.fields(), fields)
		}
	}
	e.do("POST", path, e.token("reviewer", "ZZO-KS"), x).isProblem(t, 404)
	undecided := e.do("POST", path, "reviewer", x)
	undecided.isProblem(t, 409)
	if undecided.json["code"] != "sample_undecided" || len(undecided.fields()) != len(want) {
		t.Errorf("undecided sample: %s", undecided.raw)
	}

	// Decide the sample: reject the first line, take a third off the second, approve the rest.
	var ds []string
	var sampled, rejected int64
	for i, lid := range want {
		sampled += amount[lid]
		switch i {
		case 0:
			ds = append(ds, `{"line_id":`+lid+`,"decision":"reject","reason_code":"not_eligible"}`)
			rejected += amount[lid]
		case 1:
			keep := amount[lid] - amount[lid]/3
			ds = append(ds, fmt.Sprintf(`{"line_id":%s,"decision":"adjust","approved_amount":"%d.%02d","reason_code":"tariff_error"}`, lid, keep/100, keep%100))
			rejected += amount[lid] / 3
		default:
			ds = append(ds, `{"line_id":`+lid+`,"decision":"approve"}`)
		}
	}
	if r := e.do("POST", path, "reviewer", `{"decisions":[`+strings.Join(ds, ",")+`]}`); r.status != 200 {
		t.Fatalf("decide the sample: %s", r.raw)
	}
	rate := (2*rejected*1_000_000 + sampled) / (2 * sampled) // millionths, half up
	rateText := fmt.Sprintf("%d.%06d", rate/1_000_000, rate%1_000_000)
	if s := e.do("GET", samplePath+"?percent=25&seed=42", "reviewer", ""); s.json["rate"] != rateText || s.json["can_extrapolate"] != true {
		t.Errorf("decided sample: rate %v, want %s", s.json["rate"], rateText)
	}

	r := e.do("POST", path, "reviewer", x, "Idempotency-Key", "extrapolate-1")
	rest := len(unflagged) - len(want)
	if r.status != 200 || r.json["decided"] != float64(rest) {
		t.Fatalf("extrapolate: %d %.400s", r.status, r.raw)
	}
	if xr, _ := r.json["extrapolation"].(map[string]any); xr == nil || xr["rate"] != rateText || xr["seed"] != 42.0 || xr["sample_percent"] != 25.0 {
		t.Errorf("extrapolation = %v", r.json["extrapolation"])
	}
	replay := e.do("POST", path, "reviewer", x, "Idempotency-Key", "extrapolate-1")
	if replay.raw != r.raw || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %.200s", replay.status, replay.raw)
	}
	if other := e.do("POST", path, "reviewer", `{"bulk":{"decision":"extrapolate","sample_percent":25,"seed":43}}`, "Idempotency-Key", "extrapolate-1"); other.status != 409 {
		t.Errorf("another body under the key: %d", other.status)
	}
	var approvedTotal, claimed int64
	for lid, l := range linesOf(r) {
		claimed += amount[lid]
		if flagged(l) {
			if l["decision"] != nil || l["extrapolated"] != false {
				t.Errorf("flagged line %s: %v", lid, l)
			}
			continue
		}
		if slices.Contains(want, lid) {
			if l["extrapolated"] != false || l["extrapolation"] != nil {
				t.Errorf("sampled line %s is marked extrapolated", lid)
			}
			approvedTotal += centsOf(t, l["approved_amount"])
			continue
		}
		a := (2*amount[lid]*(1_000_000-rate) + 1_000_000) / 2_000_000
		xl, _ := l["extrapolation"].(map[string]any)
		if l["extrapolated"] != true || xl == nil || xl["rate"] != rateText || xl["seed"] != 42.0 || centsOf(t, l["approved_amount"]) != a ||
			(a < amount[lid]) != (l["decision"] == "adjust") {
			t.Errorf("line %s of %d cents: %v approved %v, want %d extrapolated", lid, amount[lid], l["decision"], l["approved_amount"], a)
		}
		approvedTotal += a
	}
	var csv strings.Builder
	csv.WriteString(e.do("GET", "/v1/statements/"+id+"/export.csv", "reviewer", "").raw)
	if !strings.Contains(csv.String(), ",extrapolated\n") || strings.Count(csv.String(), "seed=42;percent=25;rate="+rateText) != rest {
		t.Errorf("csv:\n%s", csv.String())
	}
	if l := e.do("GET", "/v1/statements/"+id+"/extrapolations", "admin", ""); len(l.json["items"].([]any)) != 1 {
		t.Errorf("extrapolations: %s", l.raw)
	}
	if a := e.do("GET", "/v1/audit?action=extrapolate&object="+id, "admin", ""); len(a.json["items"].([]any)) != 1 {
		t.Errorf("extrapolate audit: %.300s", a.raw)
	}

	// The flagged lines decided by hand, the review completes with totals worked out above.
	for lid, l := range lines {
		if flagged(l) {
			if r := e.do("POST", path, "reviewer", `{"decisions":[{"line_id":`+lid+`,"decision":"approve"}]}`); r.status != 200 {
				t.Fatal(r.raw)
			}
			approvedTotal += amount[lid]
		}
	}
	done := e.do("POST", "/v1/statements/"+id+"/complete-review", "reviewer", "")
	if done.status != 200 || centsOf(t, done.json["approved"]) != approvedTotal || centsOf(t, done.json["rejected"]) != claimed-approvedTotal {
		t.Fatalf("complete: approved %v rejected %v, want %d of %d: %.200s", done.json["approved"], done.json["rejected"], approvedTotal, claimed, done.raw)
	}
	if rec := e.do("GET", "/v1/reports/reconciliation", "finance", ""); rec.json["consistent"] != true {
		t.Errorf("reconciliation: %.400s", rec.raw)
	}
	if v := e.do("GET", "/v1/ledger/verify", "finance", ""); v.json["ok"] != true {
		t.Errorf("verify: %s", v.raw)
	}
	e.do("POST", path, "reviewer", x).isProblem(t, 409)
}
