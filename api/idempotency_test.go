package api_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger/claims"
)

// TestActionsReplayUnderAKey: a void and the statement actions sent again with their
// Idempotency-Key answer the first answer (status and body) instead of acting again or
// answering 409 invalid_state; another body under the key is 409 idempotency_key_reused.
func TestActionsReplayUnderAKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	enc := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "post-1")
	if enc.status != 201 {
		t.Fatalf("post: %s", enc.raw)
	}
	id := enc.json["id"].(string)
	replays := func(what string, first, again result, status int) {
		t.Helper()
		if first.status != status || again.status != status || again.raw != first.raw ||
			first.header.Get("Idempotent-Replayed") != "" || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("%s: %d then %d (replayed %q), same body %v: %s", what, first.status, again.status,
				again.header.Get("Idempotent-Replayed"), again.raw == first.raw, again.raw)
		}
	}
	reused := func(r result) {
		t.Helper()
		r.isProblem(t, 409)
		if r.json["code"] != "idempotency_key_reused" {
			t.Errorf("code = %v, want idempotency_key_reused", r.json["code"])
		}
	}

	void := func(body string) result {
		return e.do("POST", "/v1/encounters/"+id+"/void", "clinic", body, "Idempotency-Key", "void-1")
	}
	first := void(`{"reason":"posted twice"}`)
	replays("void", first, void(`{"reason":"posted twice"}`), 200)
	if first.json["status"] != "voided" {
		t.Errorf("void answered %s", first.raw)
	}
	reused(void(`{"reason":"another reason"}`))
	if r := e.do("POST", "/v1/encounters/"+id+"/void", "clinic", `{"reason":"posted twice"}`); r.status != 409 || r.json["code"] != "invalid_state" {
		t.Errorf("a second void without a key: %d %s", r.status, r.raw)
	}

	post2 := e.do("POST", "/v1/encounters", "clinic", strings.Replace(consultation, "LIPA-0001", "LIPA-0002", 1), "Idempotency-Key", "post-2")
	if post2.status != 201 {
		t.Fatalf("post: %s", post2.raw)
	}
	build := `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`
	created := e.do("POST", "/v1/statements", "finance", build, "Idempotency-Key", "build-1")
	replays("build", created, e.do("POST", "/v1/statements", "finance", build, "Idempotency-Key", "build-1"), 201)
	reused(e.do("POST", "/v1/statements", "finance", strings.Replace(build, "ZZO-USK", "IOM", 1), "Idempotency-Key", "build-1"))
	st := "/v1/statements/" + created.json["id"].(string)

	submitted := e.do("POST", st+"/submit", "clinic", "", "Idempotency-Key", "submit-1")
	replays("submit", submitted, e.do("POST", st+"/submit", "clinic", "", "Idempotency-Key", "submit-1"), 200)
	reused(e.do("POST", st+"/submit", "clinic", `{"x":1}`, "Idempotency-Key", "submit-1"))
	reused(e.do("POST", st+"/cancel", "clinic", "", "Idempotency-Key", "submit-1"))
	e.do("POST", st+"/submit", "clinic", "", "Idempotency-Key", strings.Repeat("k", 201)).isProblem(t, 422)

	var decisions []string
	for _, l := range submitted.json["lines"].([]any) {
		decisions = append(decisions, `{"line_id":`+fmt.Sprintf("%.0f", l.(map[string]any)["id"].(float64))+`,"decision":"approve"}`)
	}
	decide := `{"decisions":[` + strings.Join(decisions, ",") + `]}`
	decided := e.do("POST", st+"/decisions", "reviewer", decide, "Idempotency-Key", "decide-1")
	replays("decisions", decided, e.do("POST", st+"/decisions", "reviewer", decide, "Idempotency-Key", "decide-1"), 200)
	completed := e.do("POST", st+"/complete-review", "reviewer", "", "Idempotency-Key", "complete-1")
	replays("complete-review", completed, e.do("POST", st+"/complete-review", "reviewer", "", "Idempotency-Key", "complete-1"), 200)
	if completed.json["status"] != "reviewed" {
		t.Errorf("complete-review answered %s", completed.raw)
	}
	// Without a key the actions answer as before.
	if r := e.do("POST", st+"/complete-review", "reviewer", ""); r.status != 409 || r.json["code"] != "invalid_state" {
		t.Errorf("complete-review again without a key: %d %s", r.status, r.raw)
	}
}

// TestMissingKeyMessageNamesWhatItStandsFor: each route that requires an Idempotency-Key says
// what one key stands for, not "a unique key per encounter" everywhere.
func TestMissingKeyMessageNamesWhatItStandsFor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tt := range []struct{ path, who, body, want string }{
		{"/v1/encounters", "clinic", consultation, "a unique key per encounter"},
		{"/v1/encounters/batch", "clinic", `{"encounters":[` + consultation + `]}`, "a unique key per batch"},
		{"/v1/statements/0190f0c4-0000-7000-8000-000000000000/payments", "finance", `{"amount":"1.00","paid_on":"2025-05-01","reference":"BT-1"}`, "a unique key per payment"},
	} {
		r := e.do("POST", tt.path, tt.who, tt.body)
		r.isProblem(t, 422)
		var msg string
		for _, fe := range r.json["errors"].([]any) {
			if fe.(map[string]any)["field"] == "Idempotency-Key" {
				msg = fe.(map[string]any)["message"].(string)
			}
		}
		if !strings.Contains(msg, tt.want) {
			t.Errorf("%s without a key: %q, want it to say %q", tt.path, msg, tt.want)
		}
	}
}

// TestExpiredActionKeyAnswers409: after claims.ActionKeyLifetime a retry under a void's key, with
// the same body or another, is a 409 idempotency_key_expired problem (as the contract documents
// 409 on writes), and the encounter is not voided again.
func TestExpiredActionKeyAnswers409(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	enc := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "post-1")
	if enc.status != 201 {
		t.Fatalf("post: %s", enc.raw)
	}
	void := func(body string) result {
		return e.do("POST", "/v1/encounters/"+enc.json["id"].(string)+"/void", "clinic", body, "Idempotency-Key", "void-1")
	}
	if r := void(`{"reason":"posted twice"}`); r.status != 200 {
		t.Fatalf("void: %d %s", r.status, r.raw)
	}
	if _, err := e.db.Exec(`UPDATE idempotency_keys SET created_at = now() - make_interval(secs => $1) WHERE key = 'void-1'`,
		(claims.ActionKeyLifetime + time.Minute).Seconds()); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"reason":"posted twice"}`, `{"reason":"another reason"}`} {
		r := void(body)
		r.isProblem(t, 409)
		if r.json["code"] != "idempotency_key_expired" || r.header.Get("Idempotent-Replayed") != "" ||
			!strings.Contains(r.json["detail"].(string), "more than 7 days ago") {
			t.Errorf("%s under an expired key: %s", body, r.raw)
		}
	}
	var voids int
	if err := e.db.Get(&voids, `SELECT count(*) FROM ledger_transactions WHERE kind = 'encounter_voided'`); err != nil || voids != 1 {
		t.Errorf("%d voids in the ledger, want 1 (%v)", voids, err)
	}
}

// TestReplayedAnswersAreNotHTMLEscaped: a keyed void answers its reason as sent ("a<b & c>d",
// not "a\u003cb ..."), as every live answer of the API does, and its replay is the same bytes.
func TestReplayedAnswersAreNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	enc := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "post-1")
	if enc.status != 201 {
		t.Fatalf("post: %s", enc.raw)
	}
	void := func() result {
		return e.do("POST", "/v1/encounters/"+enc.json["id"].(string)+"/void", "clinic", `{"reason":"a<b & c>d"}`, "Idempotency-Key", "void-1")
	}
	first, again := void(), void()
	if first.status != 200 || !strings.Contains(first.raw, `"void_reason":"a<b & c>d"`) || strings.Contains(first.raw, `\u00`) {
		t.Fatalf("void: %d %s", first.status, first.raw)
	}
	if again.raw != first.raw || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the replay differs: %s", again.raw)
	}
}
