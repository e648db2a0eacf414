package encounters_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/internal/pgtest"
	"github.com/trcledger/trcledger/ledger"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var testKey = []byte("test-pseudonym-key-0123456789")

// today is fixed so that dates in the demo schedule are in the past.
var today = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

type fixture struct {
	db      *sqlx.DB
	svc     *claims.Service
	journal *ledger.Journal
	clinic  context.Context // DZ Bihać's clinic staff
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := pgtest.NewDB(t)
	if _, err := demo.Seed(context.Background(), contracts.NewStore(db, time.Now), access.NewTokens(db, time.Now)); err != nil {
		t.Fatal(err)
	}
	j := ledger.New(db)
	t.Cleanup(func() { checkUnclaimed(t, db) })
	return &fixture{
		db: db, journal: j,
		svc:    claims.NewService(db, func() time.Time { return today }, testKey, j),
		clinic: as(access.RoleClinic, demo.ProviderDZBihac),
	}
}

// checkUnclaimed fails when the claims queue is not exactly what its definition says: the
// positive BAM shares of posted encounters that sit on no live statement line. Every test of
// the package checks it at its end, after whatever posts, voids, statements and cancels it made.
func checkUnclaimed(t *testing.T, db *sqlx.DB) {
	t.Helper()
	var wrong []string
	err := db.Select(&wrong, `
		WITH want AS (
			SELECT sh.id, sh.encounter_id, sh.provider_code, sh.payer_code, sh.service_date, sh.amount
			FROM line_shares sh JOIN encounters e ON e.id = sh.encounter_id
			WHERE e.status = 'posted' AND e.currency = 'BAM' AND sh.amount > 0
			  AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.share_id = sh.id AND l.live)
		), got AS (
			SELECT share_id AS id, encounter_id, provider_code, payer_code, service_date, amount FROM unclaimed_shares
		)
		SELECT 'missing share ' || id FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM got) m
		UNION ALL
		SELECT 'extra share ' || id FROM (SELECT * FROM got EXCEPT ALL SELECT * FROM want) x`)
	if err != nil {
		t.Errorf("check unclaimed shares: %v", err)
	}
	for _, w := range wrong {
		t.Errorf("unclaimed_shares: %s", w)
	}
}

func as(role, org string) context.Context {
	return access.WithPrincipal(context.Background(), access.Principal{TokenID: role + "-" + org, Role: role, OrgCode: org})
}

func date(s string) trcledger.Date {
	d, err := trcledger.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func sp(s string) *string { return &s }

// visit is a valid consultation at Lipa; change what a test needs.
func visit(ext string, lines ...claims.LineInput) claims.EncounterInput {
	if len(lines) == 0 {
		lines = []claims.LineInput{{ServiceCode: "PZZ-01", Quantity: dec("1")}}
	}
	return claims.EncounterInput{
		ContractCode: demo.ContractDZBihac, SiteCode: "TRC-LIPA", ExternalID: ext, PatientID: "SFA-2025-00017",
		BeneficiaryCategory: "irregular_migrant", ServiceDate: date("2025-03-15"), Kind: "consultation",
		Diagnoses: []string{"J06.9"}, Lines: lines,
	}
}

func key(s string) claims.Idempotency {
	return claims.Idempotency{Key: s, RequestHash: []byte("hash-of-" + s)}
}

func wantCode(t *testing.T, err error, code, reason string) *trcledger.Error {
	t.Helper()
	var e *trcledger.Error
	if !errors.As(err, &e) || e.Code != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("err = %v, want %s/%s", err, code, reason)
	}
	return e
}

func fieldSet(e *trcledger.Error) map[string]bool {
	out := map[string]bool{}
	for _, f := range e.Fields {
		out[f.Field] = true
	}
	return out
}

func balance(t *testing.T, j *ledger.Journal, account string) string {
	t.Helper()
	bs, err := j.Balance(context.Background(), account, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) == 0 {
		return "0.00"
	}
	return bs[0].Balance.String()
}

func sharesOf(l contracts.PricedLine) string {
	var parts []string
	for _, s := range l.Shares {
		parts = append(parts, s.PayerCode+"="+s.Amount.String())
	}
	return strings.Join(parts, " ")
}

func TestPostPricesSplitsAndJournals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := visit("V-1",
		claims.LineInput{ServiceCode: "PZZ-01", Quantity: dec("1")},    // 20.00, 60/40 in 2025 H1
		claims.LineInput{ServiceCode: "LAB-01", Quantity: dec("3")},    // 18.00, IOM (catch-all)
		claims.LineInput{ServiceCode: "TRN-01", Quantity: dec("12.5")}, // 22.50, IOM (transport)
	)
	res, err := f.svc.PostEncounter(f.clinic, in, key("k1"))
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
		if got := balance(t, f.journal, account); got != want {
			t.Errorf("%s = %s, want %s", account, got, want)
		}
	}
	// A half cent: 12.00 × 1.2345 = 14.814 -> 14.81; 30% of it in 2024 H2 = 4.443 -> 4.44, IOM the rest.
	half := visit("V-2", claims.LineInput{ServiceCode: "PZZ-02", Quantity: dec("1.2345")})
	half.ServiceDate = date("2024-09-15")
	res, err = f.svc.PostEncounter(f.clinic, half, key("k2"))
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Encounters[0].Lines[0]; l.Net.String() != "14.81" || sharesOf(l) != "ZZO-USK=4.44 IOM=10.37" {
		t.Errorf("half-cent line = %s %s", l.Net, sharesOf(l))
	}
	// The stored encounter reads back exactly as it was answered.
	got, err := f.svc.FindEncounterByID(f.clinic, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total.String() != "60.50" || len(got.Lines) != 3 || sharesOf(got.Lines[0]) != "ZZO-USK=12.00 IOM=8.00" || len(got.Diagnoses) != 1 {
		t.Errorf("read back: %+v", got)
	}
	if v, err := f.journal.Verify(context.Background()); err != nil || !v.OK || v.TransactionsChecked != 2 {
		t.Errorf("verify = %+v, %v", v, err)
	}
}

func TestValidationNamesEveryProblem(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := visit("V-BAD",
		claims.LineInput{ServiceCode: "PZZ-04", Quantity: dec("6")}, // over max_quantity 5
		claims.LineInput{ServiceCode: "NOPE-1", Quantity: dec("1")}, // unknown service
		claims.LineInput{ServiceCode: "PZZ-01", Quantity: dec("0")}, // not positive
		claims.LineInput{ServiceCode: "BOL-01", Quantity: dec("1")}, // needs a referral; not in this tariff
	)
	in.SiteCode = "TRC-NOWHERE"
	in.Diagnoses = []string{"flu"}
	in.Sex = sp("male")
	_, err := f.svc.PostEncounter(f.clinic, in, key("k"))
	e := wantCode(t, err, trcledger.EINVALID, "")
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
	_, err = f.svc.PostEncounter(f.clinic, in, key("k"))
	fs = fieldSet(wantCode(t, err, trcledger.EINVALID, ""))
	if !fs["service_date"] || !fs["diagnoses"] {
		t.Errorf("fields %v", fs)
	}
	in = visit("V-BAD3")
	in.ContractCode = demo.ContractKCUS
	_, err = f.svc.PostEncounter(f.clinic, in, key("k"))
	if fs = fieldSet(wantCode(t, err, trcledger.EINVALID, "")); !fs["contract_code"] {
		t.Errorf("fields %v", fs)
	}
	// Outside the contract's validity.
	in = visit("V-BAD4")
	in.ServiceDate = date("2023-12-31")
	_, err = f.svc.PostEncounter(f.clinic, in, key("k"))
	if fs = fieldSet(wantCode(t, err, trcledger.EINVALID, "")); !fs["service_date"] {
		t.Errorf("fields %v", fs)
	}
	// Nothing was written.
	var n int
	_ = f.db.Get(&n, `SELECT count(*) FROM encounters`)
	if n != 0 {
		t.Errorf("%d encounters written by failed posts", n)
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first, err := f.svc.PostEncounter(f.clinic, visit("V-1"), key("same"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.PostEncounter(f.clinic, visit("V-1"), key("same"))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || string(again.Body) != string(first.Body) {
		t.Errorf("replay differs:\n%s\n%s", first.Body, again.Body)
	}
	_, err = f.svc.PostEncounter(f.clinic, visit("V-1"), claims.Idempotency{Key: "same", RequestHash: []byte("other body")})
	wantCode(t, err, trcledger.ECONFLICT, "idempotency_key_reused")
	// Same external_id under a new key: 409 naming the encounter.
	_, err = f.svc.PostEncounter(f.clinic, visit("V-1"), key("new"))
	e := wantCode(t, err, trcledger.ECONFLICT, "duplicate_external_id")
	if e.Extra["existing_id"] != first.Encounters[0].ID {
		t.Errorf("existing_id = %v, want %s", e.Extra["existing_id"], first.Encounters[0].ID)
	}

	// 50 retries at once post once.
	const n = 50
	bodies := make(chan string, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			r, err := f.svc.PostEncounter(f.clinic, visit("V-50"), key("storm"))
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
	_ = f.db.Get(&count, `SELECT count(*) FROM encounters WHERE external_id = 'V-50'`)
	if count != 1 {
		t.Errorf("%d encounters for 50 retries", count)
	}
}

func TestVoidReversesAndCorrectionFollows(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.svc.PostEncounter(f.clinic, visit("V-1"), key("k1"))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Encounters[0].ID
	// Another clinic cannot void it; it does not even exist for them.
	_, err = f.svc.VoidEncounter(as(access.RoleClinic, demo.ProviderDZKS), id, "mistake")
	wantCode(t, err, trcledger.ENOTFOUND, "")
	_, err = f.svc.VoidEncounter(f.clinic, id, "  ")
	wantCode(t, err, trcledger.EINVALID, "")
	// A correction must name a voided encounter.
	corr := visit("V-1b")
	corr.Corrects = &id
	_, err = f.svc.PostEncounter(f.clinic, corr, key("k2"))
	wantCode(t, err, trcledger.EINVALID, "")

	v, err := f.svc.VoidEncounter(f.clinic, id, "wrong patient")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "voided" || v.VoidedAt == nil {
		t.Errorf("voided = %+v", v)
	}
	for _, acct := range []string{"expense:ZZO-USK", "expense:IOM", "payable:ZZO-USK:DZ-BIHAC", "payable:IOM:DZ-BIHAC"} {
		if got := balance(t, f.journal, acct); got != "0.00" {
			t.Errorf("%s = %s after void", acct, got)
		}
	}
	_, err = f.svc.VoidEncounter(f.clinic, id, "again")
	wantCode(t, err, trcledger.ESTATE, "invalid_state")

	// The correction reuses the record number and names the voided encounter.
	corr = visit("V-1")
	corr.Corrects = &id
	corr.PatientID = "SFA-2025-00099"
	c, err := f.svc.PostEncounter(f.clinic, corr, key("k3"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Encounters[0].Corrects == nil || *c.Encounters[0].Corrects != id {
		t.Errorf("correction = %+v", c.Encounters[0])
	}
	if got := balance(t, f.journal, "payable:IOM:DZ-BIHAC"); got != "-8.00" {
		t.Errorf("payable after correction = %s", got)
	}
	if r, err := f.journal.Verify(context.Background()); err != nil || !r.OK || r.TransactionsChecked != 3 {
		t.Errorf("verify = %+v %v", r, err)
	}
}

func TestBatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	batch := []claims.EncounterInput{visit("B-1"), visit("B-2"), visit("B-3"), visit("B-4")}
	batch[3].Lines[0].ServiceCode = "NOPE"
	batch[1].Kind = "party"
	_, err := f.svc.PostBatch(f.clinic, batch, key("b"))
	fs := fieldSet(wantCode(t, err, trcledger.EINVALID, ""))
	if !fs["encounters[3].lines[0].service_code"] || !fs["encounters[1].kind"] || len(fs) != 2 {
		t.Errorf("fields %v", fs)
	}
	var n int
	_ = f.db.Get(&n, `SELECT count(*) FROM encounters`)
	if n != 0 {
		t.Fatalf("%d encounters written by a failed batch", n)
	}
	batch[3].Lines[0].ServiceCode, batch[1].Kind = "PZZ-02", "consultation"
	batch = append(batch, visit("B-1"))
	_, err = f.svc.PostBatch(f.clinic, batch, key("b"))
	if fs := fieldSet(wantCode(t, err, trcledger.EINVALID, "")); !fs["encounters[4].external_id"] {
		t.Errorf("duplicate in batch not named: %v", fs)
	}
	res, err := f.svc.PostBatch(f.clinic, batch[:4], key("b"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Encounters) != 4 || !strings.HasPrefix(string(res.Body), `{"encounters":[`) {
		t.Errorf("batch answer %.80s", res.Body)
	}
	if got := balance(t, f.journal, "payable:IOM:DZ-BIHAC"); got != "-28.80" { // 3 × 8.00 + 12.00 × 40%
		t.Errorf("payable = %s", got)
	}
}

func TestConcurrentPostsLoseNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.journal.Run(ctx, 5*time.Millisecond)
	const n = 60
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			_, err := f.svc.PostEncounter(f.clinic, visit(fmt.Sprintf("C-%d", i)), key(fmt.Sprintf("c-%d", i)))
			errs <- err
		}(i)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := balance(t, f.journal, "payable:IOM:DZ-BIHAC"); got != fmt.Sprintf("-%d.00", n*8) {
		t.Errorf("payable = %s", got)
	}
	r, err := f.journal.Verify(context.Background())
	if err != nil || !r.OK || r.TransactionsChecked != n {
		t.Errorf("verify = %+v %v", r, err)
	}
}

func TestClinicalDataVisibility(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.svc.PostEncounter(f.clinic, visit("V-1"), key("k1")) // ZZO-USK and IOM share it
	if err != nil {
		t.Fatal(err)
	}
	id := res.Encounters[0].ID
	for _, tt := range []struct {
		ctx       context.Context
		visible   bool
		diagnoses bool
	}{
		{f.clinic, true, true},
		{as(access.RoleReviewer, demo.PayerZZOUSK), true, true},
		{as(access.RoleReviewer, demo.PayerIOM), true, true},
		{as(access.RoleReviewer, demo.PayerZZOKS), false, false},
		{as(access.RoleClinic, demo.ProviderDZKS), false, false},
		{as(access.RoleAdmin, ""), true, false},
	} {
		p := access.PrincipalFrom(tt.ctx)
		e, err := f.svc.FindEncounterByID(tt.ctx, id)
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
	_ = f.db.Get(&reads, `SELECT count(*) FROM audit_log WHERE action = 'read' AND object_id = $1`, id)
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
	if _, err := f.svc.PostEncounter(f.clinic, in, claims.Idempotency{Key: "k1", RequestHash: sent[:]}); err != nil {
		t.Fatal(err)
	}
	batch := sha256.Sum256([]byte(`{"encounters":[` + postBody("SFA-2025-00017") + `]}`))
	if _, err := f.svc.PostBatch(f.clinic, []claims.EncounterInput{visit("V-2")}, claims.Idempotency{Key: "k2", RequestHash: batch[:]}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Import(f.clinic, strings.NewReader(sampleCSV(t))); err != nil {
		t.Fatal(err)
	}
	var tables []string
	if err := f.db.Select(&tables, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`); err != nil {
		t.Fatal(err)
	}
	for _, tbl := range tables {
		for _, raw := range []string{"SECRET-4242", "SFA-2025-00017", "IOM-BIH-88412"} {
			var n int
			q := fmt.Sprintf(`SELECT count(*) FROM %q t WHERE t::text ILIKE '%%' || $1 || '%%'`, tbl)
			if err := f.db.Get(&n, q, raw); err != nil {
				t.Fatalf("%s: %v", tbl, err)
			}
			if n > 0 {
				t.Errorf("table %s holds the raw patient id %s", tbl, raw)
			}
		}
	}
	dictionaryAttack(t, f.db, tables)
}

// postBody is the JSON a clinic sends to post visit("V-1") for a patient.
func postBody(patientID string) string {
	return `{"contract_code":"` + demo.ContractDZBihac + `","site_code":"TRC-LIPA","external_id":"V-1","patient_id":"` + patientID +
		`","beneficiary_category":"irregular_migrant","service_date":"2025-03-15","kind":"consultation","diagnoses":["J06.9"],` +
		`"lines":[{"service_code":"PZZ-01","quantity":"1"}]}`
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
	if _, err := f.svc.PostEncounter(f.clinic, in, key("k")); err != nil {
		t.Fatal(err)
	}
	st := contracts.NewStore(f.db, time.Now)
	item := []contracts.TariffItem{{ServiceCode: "PZZ-01", Method: "fixed", Price: decp("25")}}
	_, err := st.AddTariffVersion(context.Background(), demo.ContractDZBihac, contracts.TariffVersion{EffectiveFrom: date("2026-02-01"), Items: item})
	wantCode(t, err, trcledger.ECONFLICT, "tariff_version_in_use")
	// After the last priced day it may close.
	if _, err := st.AddTariffVersion(context.Background(), demo.ContractDZBihac, contracts.TariffVersion{EffectiveFrom: date("2026-03-16"), Items: item}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(`UPDATE tariff_versions SET point_value = 2 WHERE version = 1`); err == nil {
		t.Error("a used tariff version was edited")
	}
}

func decp(s string) *decimal.Decimal {
	d := dec(s)
	return &d
}

// TestWhatIsWrittenStaysWritten proves the database itself refuses edits the code never makes.
func TestWhatIsWrittenStaysWritten(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	res, err := f.svc.PostEncounter(f.clinic, visit("G-1"), key("g1"))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Encounters[0].ID
	st, err := f.svc.CreateStatement(as(access.RoleFinance, ""), demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SubmitStatement(f.clinic, st.ID); err != nil {
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
		if _, err := f.db.Exec(q); err == nil {
			t.Errorf("the database accepted: %s", q)
		}
	}
	// The one change an encounter may make is to be voided -- and not back.
	if _, err := f.db.Exec(`UPDATE encounters SET status = 'posted' WHERE id = $1`, id); err == nil {
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
	res, err := f.svc.PostEncounter(f.clinic, in, key("t1")) // loads the cache: version 2, 22.00
	if err != nil || res.Encounters[0].Total.String() != "22.00" {
		t.Fatalf("first post: %v", err)
	}
	// Another server process adds version 3 from 2026-03-01 (so the cache here knows nothing).
	tx := f.db.MustBegin()
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
	res, err = f.svc.PostEncounter(f.clinic, in, key("t2"))
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
	if _, err := f.svc.PostEncounter(f.clinic, visit("G-TAKEN"), key("g0")); err != nil {
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
				r, err := f.svc.PostEncounter(f.clinic, visit(ext), key(fmt.Sprintf("%s-%d", c.key, round)))
				errs[i] = err
				if err == nil {
					var e claims.Encounter
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
	_ = f.db.Get(&n, `SELECT count(*) FROM encounters`)
	if n != 1+5*3 {
		t.Errorf("%d encounters, want %d", n, 1+5*3)
	}
	if v, err := f.journal.Verify(context.Background()); err != nil || !v.OK || v.TransactionsChecked != int64(n) {
		t.Errorf("verify %+v %v", v, err)
	}
}
