package api_test

import (
	"strconv"
	"strings"
	"testing"
)

// TestZeroBasisPointsAreRefused: a new cost-share rule may not list a payer at 0 basis points.
func TestZeroBasisPointsAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do("POST", "/v1/contracts/IOM-DZBIH-2024/cost-shares", "admin",
		`{"effective_from":"2026-01-01","site_code":"TRC-BORICI","shares":[{"payer_code":"ZZO-KS","basis_points":0},{"payer_code":"IOM","basis_points":10000}]}`)
	res.isProblem(t, 422)
	if f := res.fields(); len(f) != 1 || f[0] != "shares[0].basis_points" {
		t.Errorf("fields = %v: %s", f, res.raw)
	}
}

// TestPrivacyThroughTheAPI: a foreign clinic's attempt on an encounter and the replay of a post
// are in the audit log; the clinic and finance do not see who decided a line; the transition
// report names its percentage.
func TestPrivacyThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	enc := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "privacy-1")
	if enc.status != 201 {
		t.Fatalf("post: %s", enc.raw)
	}
	id := enc.json["id"].(string)
	if again := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "privacy-1"); again.status != 201 || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.status, again.raw)
	}
	if reads := e.do("GET", "/v1/audit?action=read&object="+id, "admin", ""); len(reads.json["items"].([]any)) != 1 {
		t.Errorf("reads after a replay: %s", reads.raw)
	}
	other := e.token("clinic", "DZ-KS")
	e.do("GET", "/v1/encounters/"+id, other, "").isProblem(t, 404)
	denied := e.do("GET", "/v1/audit?action=access_denied&object="+id, "admin", "")
	items, _ := denied.json["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["role"] != "clinic" || items[0].(map[string]any)["object_type"] != "encounter" {
		t.Errorf("access_denied entries: %s", denied.raw)
	}

	st := e.do("POST", "/v1/statements", "finance", `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`)
	stID := st.json["id"].(string)
	sub := e.do("POST", "/v1/statements/"+stID+"/submit", "clinic", "")
	lines := sub.json["lines"].([]any)
	var decisions []string
	for _, l := range lines {
		decisions = append(decisions, `{"line_id":`+jsonNumber(l.(map[string]any)["id"])+`,"decision":"approve"}`)
	}
	if res := e.do("POST", "/v1/statements/"+stID+"/decisions", "reviewer", `{"decisions":[`+strings.Join(decisions, ",")+`]}`); res.status != 200 {
		t.Fatalf("decide: %s", res.raw)
	}
	for who, sees := range map[string]bool{"clinic": false, "finance": false, "reviewer": true, "admin": true} {
		res := e.do("GET", "/v1/statements/"+stID, who, "")
		l := res.json["lines"].([]any)[0].(map[string]any)
		if by, ok := l["decided_by"]; !ok || (by != nil) != sees || l["decision"] != "approve" {
			t.Errorf("%s: decided_by %v, decision %v", who, by, l["decision"])
		}
	}

	rep := e.do("GET", "/v1/reports/transition?from=2025-03&to=2025-03", "finance", "")
	row := rep.json["items"].([]any)[0].(map[string]any)
	if row["state_share_percent"] != row["state_share"] || row["state_share_percent"] == nil {
		t.Errorf("transition row: %s", rep.raw)
	}
}

func jsonNumber(v any) string { return strconv.FormatFloat(v.(float64), 'f', -1, 64) }
