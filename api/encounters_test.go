package api_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

const consultation = `{"contract_code":"IOM-DZBIH-2024","site_code":"TRC-LIPA","external_id":"LIPA-0001",
	"patient_id":"SFA-2025-77777","beneficiary_category":"irregular_migrant","sex":"F","birth_year":1998,
	"service_date":"2025-03-15","kind":"consultation","diagnoses":["J06.9"],
	"lines":[{"service_code":"PZZ-01","quantity":"1"},{"service_code":"LAB-01","quantity":2}]}`

func TestClinicPostsReplaysAndVoids(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "lipa-0001")
	if res.status != 201 {
		t.Fatalf("post: %d %s", res.status, res.raw)
	}
	id := res.json["id"].(string)
	if res.json["total"] != "32.00" || res.json["provider_code"] != "DZ-BIHAC" || res.json["status"] != "posted" {
		t.Errorf("posted = %s", res.raw)
	}
	line := res.json["lines"].([]any)[0].(map[string]any)
	for k, v := range map[string]any{"line_no": 1.0, "unit_price": "20.00", "net": "20.00", "vat": "0.00", "amount": "20.00", "tariff_version": 1.0} {
		if line[k] != v {
			t.Errorf("line %s = %v, want %v", k, line[k], v)
		}
	}
	if strings.Contains(res.raw, "SFA-2025-77777") || res.json["patient_key"] == "" {
		t.Errorf("the answer holds the raw patient id or no key")
	}
	again := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "lipa-0001")
	if again.status != 201 || again.raw != res.raw || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %s", again.status, again.raw)
	}
	other := strings.Replace(consultation, `"quantity":2`, `"quantity":3`, 1)
	e.do("POST", "/v1/encounters", "clinic", other, "Idempotency-Key", "lipa-0001").isProblem(t, 409)
	dup := e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "lipa-0001-b")
	dup.isProblem(t, 409)
	if dup.json["existing_id"] != id || dup.json["code"] != "duplicate_external_id" {
		t.Errorf("duplicate: %s", dup.raw)
	}

	// Finance sees the journal: ZZO USK owes 12.00 (60% of the consultation), IOM 20.00.
	bal := e.do("GET", "/v1/ledger/balances?account=payable:ZZO-USK:DZ-BIHAC", "finance", "")
	if bal.status != 200 || !strings.Contains(bal.raw, `"balance":"-12.00"`) {
		t.Errorf("balance: %d %s", bal.status, bal.raw)
	}
	accts := e.do("GET", "/v1/ledger/accounts", "finance", "")
	if accts.status != 200 || len(accts.json["items"].([]any)) != 4 {
		t.Errorf("accounts: %s", accts.raw)
	}
	// Reads: the clinic and the payer's reviewer see the diagnosis, admin does not.
	if r := e.do("GET", "/v1/encounters/"+id, "reviewer", ""); r.status != 200 || r.json["diagnoses"] == nil {
		t.Errorf("reviewer read: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/v1/encounters/"+id, "admin", ""); r.status != 200 || r.json["diagnoses"] != nil {
		t.Errorf("admin read: %d %s", r.status, r.raw)
	}
	e.do("GET", "/v1/encounters/"+id, "finance", "").isProblem(t, 403)
	otherClinic := e.token("clinic", "DZ-KS")
	e.do("GET", "/v1/encounters/"+id, otherClinic, "").isProblem(t, 404)
	e.do("POST", "/v1/encounters/"+id+"/void", otherClinic, `{"reason":"not mine"}`).isProblem(t, 404)
	if r := e.do("GET", "/v1/encounters", otherClinic, ""); r.status != 200 || len(r.json["items"].([]any)) != 0 {
		t.Errorf("other clinic lists: %s", r.raw)
	}

	void := e.do("POST", "/v1/encounters/"+id+"/void", "clinic", `{"reason":"entered twice"}`)
	if void.status != 200 || void.json["status"] != "voided" {
		t.Fatalf("void: %d %s", void.status, void.raw)
	}
	e.do("POST", "/v1/encounters/"+id+"/void", "clinic", `{"reason":"again"}`).isProblem(t, 409)
	bal = e.do("GET", "/v1/ledger/balances?account=payable:ZZO-USK:DZ-BIHAC", "finance", "")
	if !strings.Contains(bal.raw, `"balance":"0.00"`) {
		t.Errorf("balance after void: %s", bal.raw)
	}
	v := e.do("GET", "/v1/ledger/verify", "finance", "")
	if v.status != 200 || v.json["ok"] != true || v.json["transactions_checked"] != 2.0 {
		t.Errorf("verify: %s", v.raw)
	}
	tx := e.do("GET", "/v1/ledger/transactions?limit=1", "admin", "")
	if tx.status != 200 || len(tx.json["items"].([]any)) != 1 || tx.json["next_cursor"] == nil {
		t.Errorf("transactions: %s", tx.raw)
	}
	e.do("GET", "/v1/ledger/transactions?cursor=%%%", "admin", "").isProblem(t, 422)
	e.do("GET", "/v1/ledger/balances", "finance", "").isProblem(t, 422)
	e.do("GET", "/v1/ledger/balances?account=expense:IOM", "clinic", "").isProblem(t, 403)
}

func TestEncounterBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name, body, key string
		status          int
		fields          []string
	}{
		{"no idempotency key", consultation, "", 422, []string{"Idempotency-Key"}},
		{"malformed", `{"contract_code":`, "k", 400, nil},
		{"wrong types", strings.NewReplacer(`"birth_year":1998`, `"birth_year":"1998"`, `"diagnoses":["J06.9"]`, `"diagnoses":"J06.9"`).Replace(consultation), "k", 422, []string{"birth_year", "diagnoses"}},
		{"another institution's contract", strings.Replace(consultation, "IOM-DZBIH-2024", "IOM-KCUS-2024", 1), "k", 422, []string{"contract_code"}},
		{"everything wrong", `{"contract_code":"IOM-DZBIH-2024","site_code":"MARS","external_id":"","patient_id":"` + strings.Repeat("9", 100) + `",
			"beneficiary_category":"tourist","service_date":"2025-02-30","kind":"consultation","diagnoses":["XYZ"],
			"lines":[{"service_code":"PZZ-01","quantity":"-1"},{"service_code":"PZZ-04","quantity":"abc"},{"quantity":"1"}]}`, "k", 422,
			[]string{"site_code", "external_id", "patient_id", "beneficiary_category", "service_date", "diagnoses[0]", "lines[0].quantity", "lines[1].quantity", "lines[2].service_code"}},
		{"empty lines", strings.Replace(consultation, `"lines":[{"service_code":"PZZ-01","quantity":"1"},{"service_code":"LAB-01","quantity":2}]`, `"lines":[]`, 1), "k", 422, []string{"lines"}},
		{"referral without referral", strings.Replace(consultation, `"kind":"consultation"`, `"kind":"referral"`, 1), "k", 422, []string{"referral"}},
		{"future", strings.Replace(consultation, "2025-03-15", "2099-01-01", 1), "k", 422, []string{"service_date"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.key != "" {
				headers = []string{"Idempotency-Key", tt.key}
			}
			res := e.do("POST", "/v1/encounters", "clinic", tt.body, headers...)
			res.isProblem(t, tt.status)
			if tt.fields != nil && !sameSet(res.fields(), tt.fields) {
				t.Errorf("fields %v, want %v\n%s", res.fields(), tt.fields, res.raw)
			}
		})
	}
	batch := `{"encounters":[` + consultation + `,` + strings.Replace(consultation, `"site_code":"TRC-LIPA"`, `"site_code":"MARS"`, 1) + `]}`
	res := e.do("POST", "/v1/encounters/batch", "clinic", batch, "Idempotency-Key", "b1")
	res.isProblem(t, 422)
	if !slices.Contains(res.fields(), "encounters[1].site_code") {
		t.Errorf("batch fields %v", res.fields())
	}
	e.do("POST", "/v1/encounters", "admin", consultation, "Idempotency-Key", "k").isProblem(t, 403)
	e.do("GET", "/v1/encounters/not-a-uuid", "clinic", "").isProblem(t, 404)
	e.do("GET", "/v1/encounters?from=yesterday&limit=0&status=lost", "clinic", "").isProblem(t, 422)
	if strings.Contains(e.logs.String(), `"level":"ERROR"`) {
		t.Errorf("bad input logged as an internal error:\n%s", e.logs.String())
	}
}

func TestImportUploadAndLogsStayClean(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	csv, err := os.ReadFile("../claims/testdata/encounters.csv")
	if err != nil {
		t.Fatal(err)
	}
	upload := func() result {
		req := httptest.NewRequest("POST", "/v1/encounters/import", strings.NewReader(string(csv)))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Authorization", "Bearer "+e.tokens["clinic"])
		return readResult(t, e.test(req))
	}
	if r := upload(); r.status != 200 || r.json["accepted"] != 8.0 {
		t.Fatalf("import: %d %s", r.status, r.raw)
	}
	if r := upload(); r.json["skipped"] != 8.0 || r.json["accepted"] != 0.0 {
		t.Errorf("re-import: %s", r.raw)
	}
	// Many clients at once, then look for secrets in the logs.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := strings.Replace(consultation, "LIPA-0001", fmt.Sprintf("LIPA-C%d", i), 1)
			e.do("POST", "/v1/encounters", "clinic", body, "Idempotency-Key", fmt.Sprintf("c%d", i))
		}(i)
	}
	wg.Wait()
	logs := e.logs.String()
	for _, secret := range []string{"SFA-2025-77777", "SFA-2025-00017", "J06.9", "O26.9", e.tokens["clinic"], e.tokens["admin"]} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
	if !strings.Contains(logs, `"route":"/v1/encounters"`) {
		t.Errorf("no request lines in the log")
	}
}

func TestTextThatPostgreSQLCannotStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nul := strings.Replace(consultation, `"LIPA-0001"`, `"LIPA\u00000001"`, 1)
	e.do("POST", "/v1/encounters", "clinic", nul, "Idempotency-Key", "n1").isProblem(t, 422)
	e.do("POST", "/v1/encounters", "clinic", strings.Replace(consultation, "LIPA-0001", "LIPA-\xff", 1), "Idempotency-Key", "n2").isProblem(t, 400)
	e.do("POST", "/v1/sites", "admin", `{"code":"X1","name":"a\u0000b","kind":"trc","jurisdiction_code":"BA"}`).isProblem(t, 422)
	// An escaped backslash followed by u0000 is the text \u0000, not a NUL.
	if r := e.do("POST", "/v1/sites", "admin", `{"code":"X2","name":"C:\\u0000","kind":"trc","jurisdiction_code":"BA"}`); r.status != 201 || r.json["name"] != `C:\u0000` {
		t.Errorf("a name holding an escaped backslash and u0000: %d %s, want 201", r.status, r.raw)
	}
	for _, path := range []string{"/v1/encounters?site_code=%00", "/v1/statements?period=%FF", "/v1/ledger/balances?account=%00",
		"/v1/audit?actor=%00", "/v1/contracts/IOM-DZBIH-2024/quote?service_code=PZZ-01&site_code=%FF"} {
		for _, who := range []string{"clinic", "admin", "finance"} {
			if r := e.do("GET", path, who, ""); r.status >= 500 {
				t.Errorf("%s as %s: %d", path, who, r.status)
			}
		}
	}
	e.do("GET", "/v1/encounters?site_code=%00", "clinic", "").isProblem(t, 422)
	e.do("POST", "/v1/encounters", "clinic", consultation, "Idempotency-Key", "k\x00").isProblem(t, 422)
	e.do("POST", "/v1/tokens", "admin", `{"name":"x","role":"admin","expires_at":"9999-12-31T23:59:59-23:59"}`).isProblem(t, 422)
	e.do("POST", "/v1/contracts/IOM-DZKS-2024/tariffs", "admin", `{"effective_from":"2027-01-01","items":[{"service_code":"PZZ-01","method":"fixed","price":"99999999999999"}]}`).isProblem(t, 422)
	csv := "external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,diagnoses,service_code,quantity\n" +
		"N-1,IOM-DZBIH-2024,TRC-LIPA,P\x00,unknown,2025-03-01,consultation,J06.9,PZZ-01,1\n" +
		"N-2,IOM-DZBIH-2024,TRC-LIPA,P2,unknown,2025-03-01,consultation,J06.9,PZZ-01,1\n"
	req := httptest.NewRequest("POST", "/v1/encounters/import", strings.NewReader(csv))
	req.Header.Set("Authorization", "Bearer "+e.tokens["clinic"])
	if r := readResult(t, e.test(req)); r.status != 200 || r.json["accepted"] != 1.0 || r.json["rejected"] != 1.0 {
		t.Errorf("import with a NUL: %s", r.raw)
	}
	if strings.Contains(e.logs.String(), `"level":"ERROR"`) {
		t.Errorf("logged as internal errors:\n%s", e.logs.String())
	}
}
