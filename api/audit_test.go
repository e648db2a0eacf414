package api_test

import (
	"strings"
	"testing"
	"time"
)

func TestAuditLogAndTokenLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	created := e.do("POST", "/v1/tokens", "admin", `{"name":"nurse Borići","role":"clinic","org_code":"DZ-BIHAC","expires_at":"2099-01-01T00:00:00Z"}`)
	if created.status != 201 {
		t.Fatal(created.raw)
	}
	secret, tokID := created.json["token"].(string), created.json["id"].(string)
	post := e.do("POST", "/v1/encounters", secret, consultation, "Idempotency-Key", "audit-1")
	if post.status != 201 {
		t.Fatal(post.raw)
	}
	encID := post.json["id"].(string)
	e.do("GET", "/v1/encounters/"+encID, "reviewer", "")
	e.do("DELETE", "/v1/tokens/"+tokID, "admin", "")

	// Newest first; filters by object, action and actor; pages with a cursor.
	all := e.do("GET", "/v1/audit?limit=500", "admin", "")
	if all.status != 200 {
		t.Fatal(all.raw)
	}
	items := all.json["items"].([]any)
	first := items[0].(map[string]any)
	if first["action"] != "revoke" || first["object_id"] != tokID {
		t.Errorf("newest entry = %v", first)
	}
	if strings.Contains(all.raw, secret) || strings.Contains(all.raw, "SFA-2025-77777") || strings.Contains(all.raw, "J06.9") {
		t.Errorf("the audit log holds a token, a patient id or a diagnosis")
	}
	reads := e.do("GET", "/v1/audit?object="+encID, "admin", "")
	var actions []string
	for _, it := range reads.json["items"].([]any) {
		m := it.(map[string]any)
		actions = append(actions, m["action"].(string)+"/"+m["role"].(string))
		if m["request_id"] == "" {
			t.Errorf("entry without request id: %v", m)
		}
	}
	if strings.Join(actions, ",") != "read/reviewer,post/clinic" {
		t.Errorf("audit of the encounter = %v", actions)
	}
	if r := e.do("GET", "/v1/audit?actor="+tokID+"&action=post", "admin", ""); len(r.json["items"].([]any)) != 1 {
		t.Errorf("by actor and action: %s", r.raw)
	}
	page := e.do("GET", "/v1/audit?limit=2", "admin", "")
	next, _ := page.json["next_cursor"].(string)
	if next == "" {
		t.Fatalf("no next cursor: %s", page.raw)
	}
	page2 := e.do("GET", "/v1/audit?limit=2&cursor="+next, "admin", "")
	if page2.status != 200 || strings.Contains(page2.raw, page.json["items"].([]any)[1].(map[string]any)["request_id"].(string)+`","detail`) {
		t.Errorf("second page: %s", page2.raw)
	}
	e.do("GET", "/v1/audit?cursor=bogus!&from=yesterday", "admin", "").isProblem(t, 422)
	e.do("GET", "/v1/audit", "finance", "").isProblem(t, 403)
	// The revoked token stops at once.
	e.do("GET", "/v1/contracts", secret, "").isProblem(t, 401)
}

func TestAuditIsAppendOnlyAndTokensExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, q := range []string{`UPDATE audit_log SET action = 'nothing'`, `DELETE FROM audit_log`} {
		if _, err := e.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
	created := e.do("POST", "/v1/tokens", "admin", `{"name":"temp","role":"finance","expires_at":"2099-01-01T00:00:00Z"}`)
	secret := created.json["token"].(string)
	if r := e.do("GET", "/v1/ledger/accounts", secret, ""); r.status != 200 {
		t.Fatalf("fresh token: %d", r.status)
	}
	if _, err := e.db.Exec(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, created.json["id"]); err != nil {
		t.Fatal(err)
	}
	// The row was changed behind the server's back, as another process would: a token's row is
	// trusted for a second at most (access.knownTTL).
	for changed := time.Now(); e.do("GET", "/v1/ledger/accounts", secret, "").status != 401; time.Sleep(50 * time.Millisecond) {
		if time.Since(changed) > 1500*time.Millisecond {
			t.Fatal("an expired token is still accepted after 1.5 s")
		}
	}
	var digest []byte
	if err := e.db.Get(&digest, `SELECT digest FROM api_tokens WHERE id = $1`, created.json["id"]); err != nil || strings.Contains(string(digest), secret) || len(digest) != 32 {
		t.Errorf("stored token: %d bytes, %v", len(digest), err)
	}
}
