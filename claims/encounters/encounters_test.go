package encounters_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

func TestPostPricesSplitsAndJournals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := visit("V-1",
		encounters.LineInput{ServiceCode: "PZZ-01", Quantity: dec("1")},    // 20.00, 60/40 in 2025 H1
		encounters.LineInput{ServiceCode: "LAB-01", Quantity: dec("3")},    // 18.00, IOM (catch-all)
		encounters.LineInput{ServiceCode: "TRN-01", Quantity: dec("12.5")}, // 22.50, IOM (transport)
	)
	res, err := f.Svc.PostEncounter(f.Clinic, in, key("k1"))
	if err != nil {
		t.Fatal(err)
	}
	e := res.Encounters[0]
	if e.Total.String() != "60.50" || e.ProviderCode != demo.ProviderDZBihac || e.Status != "posted" {
		t.Errorf("encounter = total %s provider %s status %s", e.Total, e.ProviderCode, e.Status)
	}
	want := []struct{ amount, shares string }{
		{"20.00", "ZZO-USK=12.00 IOM=8.00"}, {"18.00", "IOM=18.00"}, {"22.50", "IOM=22.50"},
	}
	for i, w := range want {
		if l := e.Lines[i]; l.Amount.String() != w.amount || sharesOf(l) != w.shares || l.LineNo != i+1 || l.TariffVersion != 1 {
			t.Errorf("line %d = %s %s (no %d, v%d), want %s %s", i, l.Amount, sharesOf(l), l.LineNo, l.TariffVersion, w.amount, w.shares)
		}
	}
	if e.PatientKey == "" || strings.Contains(e.PatientKey, "SFA") || e.PatientKey != claims.PatientKey(testKey, " sfa-2025-00017 ") {
		t.Errorf("patient key %q", e.PatientKey)
	}
	for account, want := range map[string]string{
		"expense:ZZO-USK":          "12.00",
		"expense:IOM":              "48.50",
		"payable:ZZO-USK:DZ-BIHAC": "-12.00",
		"payable:IOM:DZ-BIHAC":     "-48.50",
	} {
		if got := balance(t, f.Journal, account); got != want {
			t.Errorf("%s = %s, want %s", account, got, want)
		}
	}
	// A half cent: 12.00 × 1.2345 = 14.814 -> 14.81; 30% of it in 2024 H2 = 4.443 -> 4.44, IOM the rest.
	half := visit("V-2", encounters.LineInput{ServiceCode: "PZZ-02", Quantity: dec("1.2345")})
	half.ServiceDate = date("2024-09-15")
	res, err = f.Svc.PostEncounter(f.Clinic, half, key("k2"))
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Encounters[0].Lines[0]; l.Net.String() != "14.81" || sharesOf(l) != "ZZO-USK=4.44 IOM=10.37" {
		t.Errorf("half-cent line = %s %s", l.Net, sharesOf(l))
	}
	// The stored encounter reads back exactly as it was answered.
	got, err := f.Svc.FindEncounterByID(f.Clinic, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total.String() != "60.50" || len(got.Lines) != 3 || sharesOf(got.Lines[0]) != "ZZO-USK=12.00 IOM=8.00" || len(got.Diagnoses) != 1 {
		t.Errorf("read back: %+v", got)
	}
	if v, err := f.Journal.Verify(context.Background()); err != nil || !v.OK || v.TransactionsChecked != 2 {
		t.Errorf("verify = %+v, %v", v, err)
	}
}

func TestValidationNamesEveryProblem(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := visit("V-BAD",
		encounters.LineInput{ServiceCode: "PZZ-04", Quantity: dec("6")}, // over max_quantity 5
		encounters.LineInput{ServiceCode: "NOPE-1", Quantity: dec("1")}, // unknown service
		encounters.LineInput{ServiceCode: "PZZ-01", Quantity: dec("0")}, // not positive
		encounters.LineInput{ServiceCode: "BOL-01", Quantity: dec("1")}, // needs a referral; not in this tariff
	)
	in.SiteCode = "TRC-NOWHERE"
	in.Diagnoses = []string{"flu"}
	in.Sex = sp("male")
	_, err := f.Svc.PostEncounter(f.Clinic, in, key("k"))
	e := wantError(t, err, trcledger.EINVALID, "")
	fs := fieldSet(e)
	for _, want := range []string{"site_code", "diagnoses[0]", "sex", "referral", "lines[0].quantity", "lines[1].service_code", "lines[2].quantity"} {
		if !fs[want] {
			t.Errorf("no error for %s in %v", want, e.Fields)
		}
	}
	// A future date, a missing diagnosis, another provider's contract.
	in = visit("V-BAD2")
	in.ServiceDate = date("2026-11-24")
	in.Diagnoses = nil
	_, err = f.Svc.PostEncounter(f.Clinic, in, key("k"))
	fs = fieldSet(wantError(t, err, trcledger.EINVALID, ""))
	if !fs["service_date"] || !fs["diagnoses"] {
		t.Errorf("fields %v", fs)
	}
	in = visit("V-BAD3")
	in.ContractCode = demo.ContractKCUS
	_, err = f.Svc.PostEncounter(f.Clinic, in, key("k"))
	if fs = fieldSet(wantError(t, err, trcledger.EINVALID, "")); !fs["contract_code"] {
		t.Errorf("fields %v", fs)
	}
	// Outside the contract's validity.
	in = visit("V-BAD4")
	in.ServiceDate = date("2023-12-31")
	_, err = f.Svc.PostEncounter(f.Clinic, in, key("k"))
	if fs = fieldSet(wantError(t, err, trcledger.EINVALID, "")); !fs["service_date"] {
		t.Errorf("fields %v", fs)
	}
	// Nothing was written.
	var n int
	_ = f.DB.Get(&n, `SELECT count(*) FROM encounters`)
	if n != 0 {
		t.Errorf("%d encounters written by failed posts", n)
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first, err := f.Svc.PostEncounter(f.Clinic, visit("V-1"), key("same"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.Svc.PostEncounter(f.Clinic, visit("V-1"), key("same"))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || string(again.Body) != string(first.Body) {
		t.Errorf("replay differs:\n%s\n%s", first.Body, again.Body)
	}
	_, err = f.Svc.PostEncounter(f.Clinic, visit("V-1"), claims.Idempotency{Key: "same", RequestHash: []byte("other body")})
	wantCode(t, err, trcledger.ECONFLICT, "idempotency_key_reused")
	// Same external_id under a new key: 409 naming the encounter.
	_, err = f.Svc.PostEncounter(f.Clinic, visit("V-1"), key("new"))
	e := wantError(t, err, trcledger.ECONFLICT, "duplicate_external_id")
	if e.Extra["existing_id"] != first.Encounters[0].ID {
		t.Errorf("existing_id = %v, want %s", e.Extra["existing_id"], first.Encounters[0].ID)
	}

	// 50 retries at once post once.
	const n = 50
	bodies := make(chan string, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			r, err := f.Svc.PostEncounter(f.Clinic, visit("V-50"), key("storm"))
			if err != nil {
				errs <- err
				return
			}
			bodies <- string(r.Body)
		}()
	}
	var seen string
	for i := 0; i < n; i++ {
		select {
		case err := <-errs:
			t.Fatalf("retry failed: %v", err)
		case b := <-bodies:
			if seen == "" {
				seen = b
			} else if b != seen {
				t.Fatalf("retries answered differently")
			}
		}
	}
	var count int
	_ = f.DB.Get(&count, `SELECT count(*) FROM encounters WHERE external_id = 'V-50'`)
	if count != 1 {
		t.Errorf("%d encounters for 50 retries", count)
	}
}

func TestVoidReversesAndCorrectionFollows(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.Svc.PostEncounter(f.Clinic, visit("V-1"), key("k1"))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Encounters[0].ID
	// Another clinic cannot void it; it does not even exist for them.
	_, err = f.Svc.VoidEncounter(as(access.RoleClinic, demo.ProviderDZKS), id, "mistake")
	wantCode(t, err, trcledger.ENOTFOUND, "")
	_, err = f.Svc.VoidEncounter(f.Clinic, id, "  ")
	wantCode(t, err, trcledger.EINVALID, "")
	// A correction must name a voided encounter.
	corr := visit("V-1b")
	corr.Corrects = &id
	_, err = f.Svc.PostEncounter(f.Clinic, corr, key("k2"))
	wantCode(t, err, trcledger.EINVALID, "")

	v, err := f.Svc.VoidEncounter(f.Clinic, id, "wrong patient")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "voided" || v.VoidedAt == nil {
		t.Errorf("voided = %+v", v)
	}
	for _, acct := range []string{"expense:ZZO-USK", "expense:IOM", "payable:ZZO-USK:DZ-BIHAC", "payable:IOM:DZ-BIHAC"} {
		if got := balance(t, f.Journal, acct); got != "0.00" {
			t.Errorf("%s = %s after void", acct, got)
		}
	}
	_, err = f.Svc.VoidEncounter(f.Clinic, id, "again")
	wantCode(t, err, trcledger.ESTATE, "invalid_state")

	// The correction reuses the record number and names the voided encounter.
	corr = visit("V-1")
	corr.Corrects = &id
	corr.PatientID = "SFA-2025-00099"
	c, err := f.Svc.PostEncounter(f.Clinic, corr, key("k3"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Encounters[0].Corrects == nil || *c.Encounters[0].Corrects != id {
		t.Errorf("correction = %+v", c.Encounters[0])
	}
	if got := balance(t, f.Journal, "payable:IOM:DZ-BIHAC"); got != "-8.00" {
		t.Errorf("payable after correction = %s", got)
	}
	if r, err := f.Journal.Verify(context.Background()); err != nil || !r.OK || r.TransactionsChecked != 3 {
		t.Errorf("verify = %+v %v", r, err)
	}
}

func TestBatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	batch := []encounters.EncounterInput{visit("B-1"), visit("B-2"), visit("B-3"), visit("B-4")}
	batch[3].Lines[0].ServiceCode = "NOPE"
	batch[1].Kind = "party"
	_, err := f.Svc.PostBatch(f.Clinic, batch, key("b"))
	fs := fieldSet(wantError(t, err, trcledger.EINVALID, ""))
	if !fs["encounters[3].lines[0].service_code"] || !fs["encounters[1].kind"] || len(fs) != 2 {
		t.Errorf("fields %v", fs)
	}
	var n int
	_ = f.DB.Get(&n, `SELECT count(*) FROM encounters`)
	if n != 0 {
		t.Fatalf("%d encounters written by a failed batch", n)
	}
	batch[3].Lines[0].ServiceCode, batch[1].Kind = "PZZ-02", "consultation"
	batch = append(batch, visit("B-1"))
	_, err = f.Svc.PostBatch(f.Clinic, batch, key("b"))
	if fs := fieldSet(wantError(t, err, trcledger.EINVALID, "")); !fs["encounters[4].external_id"] {
		t.Errorf("duplicate in batch not named: %v", fs)
	}
	res, err := f.Svc.PostBatch(f.Clinic, batch[:4], key("b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Encounters) != 4 || !strings.HasPrefix(string(res.Body), `{"encounters":[`) {
		t.Errorf("batch answer %.80s", res.Body)
	}
	if got := balance(t, f.Journal, "payable:IOM:DZ-BIHAC"); got != "-28.80" { // 3 × 8.00 + 12.00 × 40%
		t.Errorf("payable = %s", got)
	}
}

func TestConcurrentPostsLoseNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.Journal.Run(ctx, 5*time.Millisecond)
	const n = 60
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			_, err := f.Svc.PostEncounter(f.Clinic, visit(fmt.Sprintf("C-%d", i)), key(fmt.Sprintf("c-%d", i)))
			errs <- err
		}(i)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := balance(t, f.Journal, "payable:IOM:DZ-BIHAC"); got != fmt.Sprintf("-%d.00", n*8) {
		t.Errorf("payable = %s", got)
	}
	r, err := f.Journal.Verify(context.Background())
	if err != nil || !r.OK || r.TransactionsChecked != n {
		t.Errorf("verify = %+v %v", r, err)
	}
}

func TestClinicalDataVisibility(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.Svc.PostEncounter(f.Clinic, visit("V-1"), key("k1")) // ZZO-USK and IOM share it
	if err != nil {
		t.Fatal(err)
	}
	id := res.Encounters[0].ID
	for _, tt := range []struct {
		ctx       context.Context
		visible   bool
		diagnoses bool
	}{
		{f.Clinic, true, true},
		{as(access.RoleReviewer, demo.PayerZZOUSK), true, true},
		{as(access.RoleReviewer, demo.PayerIOM), true, true},
		{as(access.RoleReviewer, demo.PayerZZOKS), false, false},
		{as(access.RoleClinic, demo.ProviderDZKS), false, false},
		{as(access.RoleAdmin, ""), true, false},
	} {
		p := access.PrincipalFrom(tt.ctx)
		e, err := f.Svc.FindEncounterByID(tt.ctx, id)
		if !tt.visible {
			wantCode(t, err, trcledger.ENOTFOUND, "")
			continue
		}
		if err != nil {
			t.Fatalf("%s %s: %v", p.Role, p.OrgCode, err)
		}
		if got := e.Diagnoses != nil; got != tt.diagnoses {
			t.Errorf("%s %s sees diagnoses: %v", p.Role, p.OrgCode, got)
		}
	}
	var reads int
	_ = f.DB.Get(&reads, `SELECT count(*) FROM audit_log WHERE action = 'read' AND object_id = $1`, id)
	if reads != 4 {
		t.Errorf("%d reads audited, want 4", reads)
	}
}

func TestRawPatientIDIsNeverStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := visit("V-1")
	in.PatientID = "SFA-SECRET-4242"
	// The key's request digest is what the API computes: the SHA-256 of the body as sent.
	sent := sha256.Sum256([]byte(postBody(in.PatientID)))
	if _, err := f.Svc.PostEncounter(f.Clinic, in, claims.Idempotency{Key: "k1", RequestHash: sent[:]}); err != nil {
		t.Fatal(err)
	}
	batch := sha256.Sum256([]byte(`{"encounters":[` + postBody("SFA-2025-00017") + `]}`))
	if _, err := f.Svc.PostBatch(f.Clinic, []encounters.EncounterInput{visit("V-2")}, claims.Idempotency{Key: "k2", RequestHash: batch[:]}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.Import(f.Clinic, strings.NewReader(sampleCSV(t))); err != nil {
		t.Fatal(err)
	}
	var tables []string
	if err := f.DB.Select(&tables, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tables {
		for _, raw := range []string{"SECRET-4242", "SFA-2025-00017", "IOM-BIH-88412"} {
			var n int
			q := fmt.Sprintf(`SELECT count(*) FROM %q t WHERE t::text ILIKE '%%' || $1 || '%%'`, tbl)
			if err := f.DB.Get(&n, q, raw); err != nil {
				t.Fatalf("%s: %v", tbl, err)
			}
			if n > 0 {
				t.Errorf("table %s holds the raw patient id %s", tbl, raw)
			}
		}
	}
	dictionaryAttack(t, f.DB, tables)
}

// dictionaryAttack is what someone with a copy of the database but not the pseudonym key would
// try: hash the request bodies of a dictionary of case numbers with plain SHA-256 and look for
// the digests (raw bytes, hex or base64) in every column of every table. Each row is read as
// text, so every bytea column shows its bytes as hex and every text or jsonb column its text.
func dictionaryAttack(t *testing.T, db *sqlx.DB, tables []string) {
	t.Helper()
	guesses := map[string]string{} // hex or base64 digest -> case number
	for _, prefix := range []string{"SFA-SECRET-%04d", "SFA-2025-%05d"} {
		for n := 0; n < 10000; n++ {
			id := fmt.Sprintf(prefix, n)
			for _, body := range []string{postBody(id), `{"encounters":[` + postBody(id) + `]}`} {
				d := sha256.Sum256([]byte(body))
				guesses[hex.EncodeToString(d[:])] = id
				guesses[base64.StdEncoding.EncodeToString(d[:])] = id
			}
		}
	}
	hexRun := regexp.MustCompile(`[0-9a-fA-F]{64,}`)
	b64 := regexp.MustCompile(`[A-Za-z0-9+/]{43}=`)
	for _, tbl := range tables {
		var rows []string
		if err := db.Select(&rows, fmt.Sprintf(`SELECT t::text FROM %q t`, tbl)); err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		for _, row := range rows {
			var found []string
			for _, run := range hexRun.FindAllString(row, -1) {
				run = strings.ToLower(run)
				for i := 0; i+64 <= len(run); i += 2 {
					if id, ok := guesses[run[i:i+64]]; ok {
						found = append(found, id)
					}
				}
			}
			for _, m := range b64.FindAllString(row, -1) {
				if id, ok := guesses[m]; ok {
					found = append(found, id)
				}
			}
			for _, id := range found {
				t.Errorf("table %s holds the plain SHA-256 of a request for patient %s: a dictionary of case numbers finds it", tbl, id)
			}
		}
	}
}

func TestUsedTariffVersionIsNotCutShort(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := visit("V-2026")
	in.ServiceDate = date("2026-03-15") // priced by version 2, open since 2026-01-01
	if _, err := f.Svc.PostEncounter(f.Clinic, in, key("k")); err != nil {
		t.Fatal(err)
	}
	st := contracts.NewStore(f.DB, time.Now)
	item := []contracts.TariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("25")}}
	_, err := st.AddTariffVersion(context.Background(), demo.ContractDZBihac, contracts.TariffVersion{EffectiveFrom: date("2026-02-01"), Items: item})
	wantCode(t, err, trcledger.ECONFLICT, "tariff_version_in_use")
	// After the last priced day it may close.
	if _, err := st.AddTariffVersion(context.Background(), demo.ContractDZBihac, contracts.TariffVersion{EffectiveFrom: date("2026-03-16"), Items: item}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.DB.Exec(`UPDATE tariff_versions SET point_value = 2 WHERE version = 1`); err == nil {
		t.Error("a used tariff version was edited")
	}
}

// TestWhatIsWrittenStaysWritten proves the database itself refuses edits the code never makes.
func TestWhatIsWrittenStaysWritten(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.Svc.PostEncounter(f.Clinic, visit("G-1"), key("g1"))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Encounters[0].ID
	st, err := f.Svc.CreateStatement(as(access.RoleFinance, ""), demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.SubmitStatement(f.Clinic, st.ID); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE encounters SET total = 1 WHERE id = '` + id + `'`,
		`UPDATE encounters SET diagnoses = '{}' WHERE id = '` + id + `'`,
		`DELETE FROM encounters WHERE id = '` + id + `'`,
		`UPDATE cost_share_rules SET effective_from = '2020-01-01'`,
		`UPDATE statements SET content_hash = 'x', claimed = 0 WHERE id = '` + st.ID + `'`,
		`UPDATE line_shares SET amount = 0`,
		`TRUNCATE audit_log`,
		`TRUNCATE payments CASCADE`,
		`TRUNCATE encounters CASCADE`,
	} {
		if _, err := f.DB.Exec(q); err == nil {
			t.Errorf("the database accepted: %s", q)
		}
	}
	// The one change an encounter may make is to be voided -- and not back.
	if _, err := f.DB.Exec(`UPDATE encounters SET status = 'posted' WHERE id = $1`, id); err == nil {
		t.Error("status changed without a void")
	}
}

// TestPostSeesATariffChangedByAnotherProcess: pricing comes from a cache, but a post checks,
// under a lock, that the contract has not changed since, and prices again when it has.
func TestPostSeesATariffChangedByAnotherProcess(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := visit("T-1")
	in.ServiceDate = date("2026-01-15")
	res, err := f.Svc.PostEncounter(f.Clinic, in, key("t1")) // loads the cache: version 2, 22.00
	if err != nil || res.Encounters[0].Total.String() != "22.00" {
		t.Fatalf("first post: %v", err)
	}
	// Another server process adds version 3 from 2026-03-01 (so the cache here knows nothing).
	tx := f.DB.MustBegin()
	tx.MustExec(`UPDATE contracts SET updated_at = now() WHERE code = $1`, demo.ContractDZBihac)
	tx.MustExec(`UPDATE tariff_versions SET effective_to = '2026-03-01' WHERE version = 2 AND contract_id = (SELECT id FROM contracts WHERE code = $1)`, demo.ContractDZBihac)
	var v3 int64
	if err := tx.Get(&v3, `INSERT INTO tariff_versions (contract_id, version, effective_from) SELECT id, 3, '2026-03-01' FROM contracts WHERE code = $1 RETURNING id`, demo.ContractDZBihac); err == nil {
		tx.MustExec(`INSERT INTO tariff_items (tariff_version_id, service_code, method, price) VALUES ($1, 'PZZ-01', 'fixed', 99)`, v3)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("the other process's change: %v", err)
	}
	in.ExternalID, in.ServiceDate = "T-2", date("2026-03-15")
	res, err = f.Svc.PostEncounter(f.Clinic, in, key("t2"))
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Encounters[0].Lines[0]; l.TariffVersion != 3 || l.Amount.String() != "99.00" {
		t.Errorf("priced with version %d at %s, want version 3 at 99.00", l.TariffVersion, l.Amount)
	}
}

// TestGroupedPostsAnswerEachOnItsOwn: posts that share one transaction are checked one by one;
// a duplicate or a retried key in the same group gets its own answer.
func TestGroupedPostsAnswerEachOnItsOwn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.Svc.PostEncounter(f.Clinic, visit("G-TAKEN"), key("g0")); err != nil {
		t.Fatal(err)
	}
	type call struct {
		ext, key string
	}
	calls := []call{{"G-1", "g1"}, {"G-TAKEN", "g2"}, {"G-2", "g3"}, {"G-2", "g3"}, {"G-DUP", "g4"}, {"G-DUP", "g5"}}
	for round := 0; round < 5; round++ {
		errs := make([]error, len(calls))
		ids := make([]string, len(calls))
		done := make(chan int, len(calls))
		for i, c := range calls {
			go func(i int, c call) {
				ext := fmt.Sprintf("%s-%d", c.ext, round)
				if c.ext == "G-TAKEN" {
					ext = c.ext
				}
				r, err := f.Svc.PostEncounter(f.Clinic, visit(ext), key(fmt.Sprintf("%s-%d", c.key, round)))
				errs[i] = err
				if err == nil {
					var e encounters.Encounter
					_ = json.Unmarshal(r.Body, &e)
					ids[i] = e.ID
				}
				done <- i
			}(i, c)
		}
		for range calls {
			<-done
		}
		if errs[0] != nil || errs[2] != nil || errs[3] != nil {
			t.Fatalf("round %d: %v %v %v", round, errs[0], errs[2], errs[3])
		}
		wantCode(t, errs[1], trcledger.ECONFLICT, "duplicate_external_id")
		if ids[2] != ids[3] {
			t.Errorf("round %d: the same key answered two encounters", round)
		}
		if (errs[4] == nil) == (errs[5] == nil) {
			t.Errorf("round %d: two posts of one external_id: %v, %v", round, errs[4], errs[5])
		}
	}
	var n int
	_ = f.DB.Get(&n, `SELECT count(*) FROM encounters`)
	if n != 1+5*3 {
		t.Errorf("%d encounters, want %d", n, 1+5*3)
	}
	if v, err := f.Journal.Verify(context.Background()); err != nil || !v.OK || v.TransactionsChecked != int64(n) {
		t.Errorf("verify %+v %v", v, err)
	}
}
