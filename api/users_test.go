package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/trcledger/trcledger/internal/access"
)

func TestUsersAreCreatedWithAPasswordShownOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do("POST", "/v1/users", "admin", `{"username":"Nurse.Lipa","display_name":"Nurse at Lipa","role":"clinic","org_code":"DZ-BIHAC","locale":"sr-Cyrl"}`)
	if res.status != 201 || res.json["username"] != "nurse.lipa" || len(res.json["password"].(string)) != 16 {
		t.Fatalf("create: %d %s", res.status, res.raw)
	}
	users := access.NewUsers(e.db, time.Now)
	ctx := context.Background()
	if _, err := users.Login(ctx, "nurse.lipa", res.json["password"].(string), "192.0.2.1"); err != nil {
		t.Fatalf("the generated password does not sign in: %v", err)
	}
	if list := e.do("GET", "/v1/users", "admin", ""); list.status != 200 || len(list.json["items"].([]any)) != 1 {
		t.Fatalf("list: %s", list.raw)
	}
	if dup := e.do("POST", "/v1/users", "admin", `{"username":"nurse.lipa","display_name":"x","role":"finance","locale":"bs","password":"long enough password"}`); dup.status != 409 {
		t.Fatalf("duplicate username: %d %s", dup.status, dup.raw)
	}
	bad := e.do("POST", "/v1/users", "admin", `{"username":"a b","display_name":"x","role":"reviewer","org_code":"DZ-BIHAC","locale":"bs","password":"short"}`)
	if got := bad.fields(); bad.status != 422 || len(got) != 3 {
		t.Fatalf("bad user: %d %v %s", bad.status, got, bad.raw)
	}
	reset := e.do("POST", "/v1/users/nurse.lipa/password", "admin", `{"password":"a new password 2026"}`)
	if reset.status != 200 {
		t.Fatalf("reset: %d %s", reset.status, reset.raw)
	}
	if _, err := users.Login(ctx, "nurse.lipa", "a new password 2026", "192.0.2.1"); err != nil {
		t.Fatalf("the new password does not sign in: %v", err)
	}
	if e.do("POST", "/v1/users/nobody/password", "admin", `{}`).status != 404 {
		t.Fatal("reset of an unknown user")
	}
	if e.do("GET", "/v1/users", "finance", "").status != 403 {
		t.Fatal("finance lists users")
	}
}
