// Package claimstest is the test fixture of the claims packages: a fresh database from
// internal/pgtest with the demo data seeded, the three services on it, and the small helpers the
// tests of claims, claims/encounters, claims/statements and claims/reports share. It imports no
// mock: the services run against PostgreSQL.
package claimstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/internal/pgtest"
	"github.com/trcledger/trcledger/ledger"
)

// TestKey is the PSEUDONYM_KEY of the fixture's services.
var TestKey = []byte("test-pseudonym-key-0123456789")

// Today is fixed so that dates in the demo schedule are in the past.
var Today = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// Encounters, Statements and Reports name the three services, so that Services can embed them.
type (
	Encounters = encounters.Service
	Statements = statements.Service
	Reports    = reports.Service
)

// Services are the three services of claims on one database; a test calls any of their
// methods on it (f.Svc.PostEncounter, f.Svc.CreateStatement, f.Svc.TransitionReport).
type Services struct {
	*Encounters
	*Statements
	*Reports
}

// Fixture is a fresh database with the demo data, its journal and the services on it.
type Fixture struct {
	DB      *sqlx.DB
	Svc     Services
	Journal *ledger.Journal
	Clinic  context.Context // DZ Bihać's clinic staff
}

// New returns a fixture on a fresh database. At the test's end it checks the claims queue
// (CheckUnclaimed).
func New(t *testing.T) *Fixture {
	t.Helper()
	db := pgtest.NewDB(t)
	if _, err := demo.Seed(context.Background(), contracts.NewStore(db, time.Now), access.NewTokens(db, time.Now)); err != nil {
		t.Fatal(err)
	}
	j := ledger.New(db)
	t.Cleanup(func() { CheckUnclaimed(t, db) })
	now := func() time.Time { return Today }
	return &Fixture{
		DB: db, Journal: j,
		Svc: Services{
			Encounters: encounters.NewService(db, now, TestKey, j),
			Statements: statements.NewService(db, now, TestKey, j),
			Reports:    reports.NewService(db),
		},
		Clinic: As(access.RoleClinic, demo.ProviderDZBihac),
	}
}

// CheckUnclaimed fails when the claims queue is not exactly what its definition says: the
// positive BAM shares of posted encounters that sit on no live statement line. Every fixture
// checks it at its test's end, after whatever posts, voids, statements and cancels it made.
func CheckUnclaimed(t *testing.T, db *sqlx.DB) {
	t.Helper()
	var wrong []string
	err := db.Select(&wrong, `
		WITH want AS (
			SELECT sh.id, sh.encounter_id, sh.provider_code, sh.payer_code, sh.service_date, sh.amount, NULL::bigint AS reroute_id
			FROM line_shares sh JOIN encounters e ON e.id = sh.encounter_id
			WHERE e.status = 'posted' AND e.currency = 'BAM' AND sh.amount > 0
			  AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.share_id = sh.id AND l.live AND l.reroute_id IS NULL)
			UNION ALL
			SELECT rs.share_id, rs.encounter_id, rs.provider_code, rs.fallback_payer_code, rs.service_date, rs.amount, rs.id
			FROM rerouted_shares rs
			WHERE rs.currency = 'BAM' AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.reroute_id = rs.id AND l.live)
		), got AS (
			SELECT share_id AS id, encounter_id, provider_code, payer_code, service_date, amount, reroute_id FROM unclaimed_shares
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

// As is a caller of role in organisation org.
func As(role, org string) context.Context {
	return access.WithPrincipal(context.Background(), access.Principal{TokenID: role + "-" + org, Role: role, OrgCode: org})
}

// Date parses a YYYY-MM-DD date, or panics.
func Date(s string) trcledger.Date {
	d, err := trcledger.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Dec parses a decimal, or panics.
func Dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// Decp is a pointer to Dec(s).
func Decp(s string) *decimal.Decimal {
	d := Dec(s)
	return &d
}

// Sp is a pointer to s.
func Sp(s string) *string { return &s }

// Visit is a valid consultation at Lipa; change what a test needs.
func Visit(ext string, lines ...encounters.LineInput) encounters.EncounterInput {
	if len(lines) == 0 {
		lines = []encounters.LineInput{{ServiceCode: "PZZ-01", Quantity: Dec("1")}}
	}
	return encounters.EncounterInput{
		ContractCode: demo.ContractDZBihac, SiteCode: "TRC-LIPA", ExternalID: ext, PatientID: "SFA-2025-00017",
		BeneficiaryCategory: "irregular_migrant", ServiceDate: Date("2025-03-15"), Kind: "consultation",
		Diagnoses: []string{"J06.9"}, Lines: lines,
	}
}

// Key is an idempotency key s with a request hash of its own.
func Key(s string) claims.Idempotency {
	return claims.Idempotency{Key: s, RequestHash: []byte("hash-of-" + s)}
}

// WantCode fails the test unless err is a trcledger.Error with code and, if reason is not
// empty, reason.
func WantCode(t *testing.T, err error, code, reason string) {
	t.Helper()
	_ = WantError(t, err, code, reason)
}

// WantError is WantCode for a test that reads the error further: it returns it.
func WantError(t *testing.T, err error, code, reason string) *trcledger.Error {
	t.Helper()
	var e *trcledger.Error
	if !errors.As(err, &e) || e.Code != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("err = %v, want %s/%s", err, code, reason)
	}
	return e
}

// FieldSet is the set of fields an EINVALID error names.
func FieldSet(e *trcledger.Error) map[string]bool {
	out := map[string]bool{}
	for _, f := range e.Fields {
		out[f.Field] = true
	}
	return out
}

// Balance is the balance of account, "0.00" when it has none.
func Balance(t *testing.T, j *ledger.Journal, account string) string {
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

// SharesOf is the shares of a priced line, "PAYER=amount" separated by spaces.
func SharesOf(l contracts.PricedLine) string {
	var parts []string
	for _, s := range l.Shares {
		parts = append(parts, s.PayerCode+"="+s.Amount.String())
	}
	return strings.Join(parts, " ")
}

// Finance and Reviewer are callers: finance, and ZZO USK's reviewer.
var (
	Finance  = As(access.RoleFinance, "")
	Reviewer = As(access.RoleReviewer, demo.PayerZZOUSK)
)

// payments numbers the payments Act records, for their idempotency keys.
var payments atomic.Int64

// PostOn posts a PZZ-01 consultation (ZZO USK 60% in 2025 H1) for a patient on a day.
func (f *Fixture) PostOn(t *testing.T, ext, patient, day string, lines ...encounters.LineInput) *encounters.Encounter {
	t.Helper()
	in := Visit(ext, lines...)
	in.PatientID, in.ServiceDate = patient, Date(day)
	res, err := f.Svc.PostEncounter(f.Clinic, in, Key(ext))
	if err != nil {
		t.Fatalf("post %s: %v", ext, err)
	}
	return res.Encounters[0]
}

// StatementIn is a statement of DZ Bihać on ZZO USK for month in state, built and moved there
// if none is.
func (f *Fixture) StatementIn(t *testing.T, state, month string) *statements.Statement {
	t.Helper()
	list, _ := f.Svc.FindStatements(Finance, statements.StatementFilter{Period: month})
	for _, st := range list {
		if st.Status == state || (state == "cancelled" && st.Status == "cancelled") {
			return st
		}
	}
	st, err := f.Svc.CreateStatement(Finance, demo.ProviderDZBihac, demo.PayerZZOUSK, month)
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string][]string{
		"submitted":      {statements.ActionSubmit},
		"under_review":   {statements.ActionSubmit, statements.ActionDecide},
		"reviewed":       {statements.ActionSubmit, statements.ActionDecide, statements.ActionComplete},
		"partially_paid": {statements.ActionSubmit, statements.ActionDecide, statements.ActionComplete, "pay-part"},
		"paid":           {statements.ActionSubmit, statements.ActionDecide, statements.ActionComplete, statements.ActionPay},
		"cancelled":      {statements.ActionCancel},
	}
	for _, a := range steps[state] {
		if err := f.Act(st, a); err != nil {
			t.Fatalf("%s towards %s: %v", a, state, err)
		}
	}
	st, _ = f.Svc.FindStatementByID(Finance, st.ID)
	if st.Status != state {
		t.Fatalf("statement is %s, want %s", st.Status, state)
	}
	return st
}

// Act takes action on st as finance or ZZO USK's reviewer would; "pay-part" pays 0.01.
func (f *Fixture) Act(st *statements.Statement, action string) error {
	var err error
	switch action {
	case statements.ActionSubmit:
		_, err = f.Svc.SubmitStatement(Finance, st.ID)
	case statements.ActionCancel:
		_, err = f.Svc.CancelStatement(Finance, st.ID)
	case statements.ActionDecide:
		full, _ := f.Svc.FindStatementByID(Finance, st.ID)
		var ds []statements.Decision
		for _, l := range full.Lines {
			ds = append(ds, statements.Decision{LineID: l.ID, Decision: "approve"})
		}
		if len(ds) == 0 {
			ds = []statements.Decision{{LineID: 1, Decision: "approve"}}
		}
		_, err = f.Svc.Decide(Reviewer, st.ID, ds)
	case statements.ActionComplete:
		_, err = f.Svc.CompleteReview(Reviewer, st.ID)
	case statements.ActionPay, "pay-part":
		amount := Dec("0.01")
		if action == statements.ActionPay {
			full, _ := f.Svc.FindStatementByID(Finance, st.ID)
			amount = full.Outstanding.Decimal
			if amount.IsZero() {
				amount = decimal.NewFromInt(1)
			}
		}
		n := payments.Add(1)
		_, err = f.Svc.RecordPayment(Finance, st.ID, statements.PaymentInput{Amount: amount, PaidOn: Date("2025-12-01"), Reference: "BT"},
			claims.Idempotency{Key: fmt.Sprintf("%s-%d", st.ID, n), RequestHash: []byte(action)})
	}
	return err
}

// IdemOf is an Idempotency-Key with the digest of body, as the API sends it.
func IdemOf(k, body string) claims.Idempotency {
	d := sha256.Sum256([]byte(body))
	return claims.Idempotency{Key: k, RequestHash: d[:]}
}

// PostBody is the JSON a clinic sends to post Visit("V-1") for a patient.
func PostBody(patientID string) string {
	return `{"contract_code":"` + demo.ContractDZBihac + `","site_code":"TRC-LIPA","external_id":"V-1","patient_id":"` + patientID +
		`","beneficiary_category":"irregular_migrant","service_date":"2025-03-15","kind":"consultation","diagnoses":["J06.9"],` +
		`"lines":[{"service_code":"PZZ-01","quantity":"1"}]}`
}

// Count is the number query (one integer) answers.
func (f *Fixture) Count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.DB.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// Concurrently runs do n times at once, fails unless exactly one of them acted and all
// answered the same body, and returns the answers.
func Concurrently(t *testing.T, n int, do func() (*claims.PostResult, error)) []*claims.PostResult {
	t.Helper()
	out := make([]*claims.PostResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = do()
		}()
	}
	wg.Wait()
	acted := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if !out[i].Replayed {
			acted++
		}
		if !bytes.Equal(out[i].Body, out[0].Body) {
			t.Errorf("request %d answered another body", i)
		}
	}
	if acted != 1 {
		t.Errorf("%d of %d requests with one key acted, want 1", acted, n)
	}
	return out
}
