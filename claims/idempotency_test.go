package claims_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/migrations"
)

// TestLegacyIdempotencyKeysAreRekeyed takes a key recorded the way posts recorded them before
// migration 0013 (the plain SHA-256 of the body) through the migration: it still replays, the
// rekeying leaves no plain digest in the table, and it replays and refuses another body after.
func TestLegacyIdempotencyKeysAreRekeyed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	in := visit("V-1")
	body := postBody(in.PatientID)
	plain := sha256.Sum256([]byte(body))
	idem := claims.Idempotency{Key: "old-1", RequestHash: plain[:]}
	first, err := f.Svc.PostEncounter(f.Clinic, in, idem)
	if err != nil {
		t.Fatal(err)
	}

	provider, err := goose.NewProvider(goose.DialectPostgres, f.DB.DB, migrations.FS, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.DownTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	// What the code before 0013 stored for this post.
	if _, err := f.DB.Exec(`UPDATE idempotency_keys SET request_hash = $1 WHERE key = 'old-1'`, plain[:]); err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx, f.DB); err != nil {
		t.Fatal(err)
	}
	var keyed bool
	if err := f.DB.Get(&keyed, `SELECT keyed FROM idempotency_keys WHERE key = 'old-1'`); err != nil || keyed {
		t.Fatalf("the old row is keyed = %v after migrating (%v)", keyed, err)
	}

	replays := func(when string) {
		t.Helper()
		again, err := f.Svc.PostEncounter(f.Clinic, in, idem)
		if err != nil || !again.Replayed || !bytes.Equal(again.Body, first.Body) {
			t.Fatalf("%s: the same key and body: %v, replayed %v", when, err, again != nil && again.Replayed)
		}
		other := sha256.Sum256([]byte(body + " "))
		_, err = f.Svc.PostEncounter(f.Clinic, visit("V-9"), claims.Idempotency{Key: "old-1", RequestHash: other[:]})
		wantCode(t, err, trcledger.ECONFLICT, "idempotency_key_reused")
	}
	replays("before rekeying")

	n, err := claims.NewKeys(f.DB, testKey).RekeyLegacyIdempotencyKeys(ctx)
	if err != nil || n != 1 {
		t.Fatalf("rekeyed %d keys (%v), want 1", n, err)
	}
	if n, err := claims.NewKeys(f.DB, testKey).RekeyLegacyIdempotencyKeys(ctx); err != nil || n != 0 {
		t.Fatalf("rekeyed %d keys a second time (%v)", n, err)
	}
	var stored []byte
	if err := f.DB.Get(&stored, `SELECT request_hash FROM idempotency_keys WHERE key = 'old-1' AND keyed`); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(stored, plain[:]) {
		t.Fatal("the plain digest is still stored")
	}
	replays("after rekeying")
	var posted int
	if err := f.DB.Get(&posted, `SELECT count(*) FROM encounters`); err != nil || posted != 1 {
		t.Errorf("%d encounters posted, want 1 (%v)", posted, err)
	}
}

// sameAnswer fails unless again replays first byte for byte.
func sameAnswer(t *testing.T, what string, first, again *claims.PostResult, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s again: %v", what, err)
	}
	if first.Replayed || !again.Replayed || !bytes.Equal(first.Body, again.Body) {
		t.Fatalf("%s again: replayed %v/%v, same body %v", what, first.Replayed, again.Replayed, bytes.Equal(first.Body, again.Body))
	}
}

// TestVoidUnderAKeyVoidsOnce: a clinic whose connection died during a void sends it again with
// its key and learns that it happened, instead of 409 invalid_state; one reversal is appended.
func TestVoidUnderAKeyVoidsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.PostOn(t, "V-1", "P1", "2025-03-03")
	b := f.PostOn(t, "V-2", "P2", "2025-03-04")
	idem := idemOf("void-1", `{"reason":"posted twice"}`)
	first, err := f.Svc.VoidEncounterKeyed(f.Clinic, a.ID, "posted twice", idem)
	if err != nil {
		t.Fatal(err)
	}
	var e encounters.Encounter
	if err := json.Unmarshal(first.Body, &e); err != nil || e.ID != a.ID || e.Status != "voided" {
		t.Fatalf("void answered %s (%v)", first.Body, err)
	}
	again, err := f.Svc.VoidEncounterKeyed(f.Clinic, a.ID, "posted twice", idem)
	sameAnswer(t, "void", first, again, err)
	reversals := `SELECT count(*) FROM ledger_transactions WHERE kind = 'encounter_voided' AND reference = $1`
	if n := f.Count(t, reversals, "encounter:"+a.ID); n != 1 {
		t.Errorf("%d reversals, want 1", n)
	}
	// Another body, or the same body for another encounter, under the key: 409.
	_, err = f.Svc.VoidEncounterKeyed(f.Clinic, a.ID, "wrong patient", idemOf("void-1", `{"reason":"wrong patient"}`))
	wantCode(t, err, trcledger.ECONFLICT, "idempotency_key_reused")
	_, err = f.Svc.VoidEncounterKeyed(f.Clinic, b.ID, "posted twice", idem)
	wantCode(t, err, trcledger.ECONFLICT, "idempotency_key_reused")
	// Keys are the caller's: another clinic's void-1 is its own (and b is not its encounter).
	_, err = f.Svc.VoidEncounterKeyed(as(access.RoleClinic, demo.ProviderDZKS), b.ID, "posted twice", idem)
	wantCode(t, err, trcledger.ENOTFOUND, "")
	// Without a key a second void is refused, as before.
	_, err = f.Svc.VoidEncounter(f.Clinic, a.ID, "posted twice")
	wantCode(t, err, trcledger.ESTATE, "invalid_state")

	// Eight retries at once with one key: one void.
	concurrently(t, 8, func() (*claims.PostResult, error) {
		return f.Svc.VoidEncounterKeyed(f.Clinic, b.ID, "posted twice", idemOf("void-2", `{"reason":"posted twice"}`))
	})
	if n := f.Count(t, reversals, "encounter:"+b.ID); n != 1 {
		t.Errorf("%d reversals of b, want 1", n)
	}
}

// TestStatementActionsUnderAKeyActOnce: building, submitting, deciding and completing the review
// under a key answer a retry with the first answer and do not act again.
func TestStatementActionsUnderAKeyActOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.PostOn(t, "MAR-1", "P1", "2025-03-03")
	f.PostOn(t, "MAR-2", "P2", "2025-03-04")
	audited := func(action, id string) int {
		return f.Count(t, `SELECT count(*) FROM audit_log WHERE action = $1 AND object_id = $2`, action, id)
	}

	body := `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`
	built, err := f.Svc.CreateStatementKeyed(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03", idemOf("build-1", body))
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.Svc.CreateStatementKeyed(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03", idemOf("build-1", body))
	sameAnswer(t, "build", built, again, err)
	var st statements.Statement
	if err := json.Unmarshal(built.Body, &st); err != nil || st.LineCount != 2 {
		t.Fatalf("build answered %s (%v)", built.Body, err)
	}
	if n := audited("refresh", st.ID); n != 0 {
		t.Errorf("the retry refreshed the draft (%d refreshes)", n)
	}
	_, err = f.Svc.CreateStatementKeyed(finance, demo.ProviderDZBihac, demo.PayerIOM, "2025-03", idemOf("build-1", `{"payer_code":"IOM"}`))
	wantCode(t, err, trcledger.ECONFLICT, "idempotency_key_reused")

	submitted, err := f.Svc.SubmitStatementKeyed(f.Clinic, st.ID, idemOf("submit-1", ""))
	if err != nil {
		t.Fatal(err)
	}
	again, err = f.Svc.SubmitStatementKeyed(f.Clinic, st.ID, idemOf("submit-1", ""))
	sameAnswer(t, "submit", submitted, again, err)
	if n := audited("submit", st.ID); n != 1 {
		t.Errorf("%d submits audited, want 1", n)
	}
	// The same key for another action is another request.
	_, err = f.Svc.CancelStatementKeyed(f.Clinic, st.ID, idemOf("submit-1", ""))
	wantCode(t, err, trcledger.ECONFLICT, "idempotency_key_reused")

	var full statements.Statement
	if err := json.Unmarshal(submitted.Body, &full); err != nil || full.Status != "submitted" || len(full.Lines) != 2 {
		t.Fatalf("submit answered %s (%v)", submitted.Body, err)
	}
	ds := []statements.Decision{{LineID: full.Lines[0].ID, Decision: "approve"}, {LineID: full.Lines[1].ID, Decision: "reject", ReasonCode: "not_eligible"}}
	dbody := `{"decisions":[...]}`
	decided, err := f.Svc.DecideKeyed(reviewer, st.ID, ds, idemOf("decide-1", dbody))
	if err != nil {
		t.Fatal(err)
	}
	again, err = f.Svc.DecideKeyed(reviewer, st.ID, ds, idemOf("decide-1", dbody))
	sameAnswer(t, "decide", decided, again, err)
	if n := f.Count(t, `SELECT count(*) FROM statement_decisions WHERE statement_id = $1`, st.ID); n != 2 {
		t.Errorf("%d decisions recorded, want 2", n)
	}
	_, err = f.Svc.DecideKeyed(reviewer, st.ID, ds[:1], idemOf("decide-1", `{"decisions":[one]}`))
	wantCode(t, err, trcledger.ECONFLICT, "idempotency_key_reused")

	// Eight retries of complete-review at once with one key: one review, one ledger transaction.
	answers := concurrently(t, 8, func() (*claims.PostResult, error) {
		return f.Svc.CompleteReviewKeyed(reviewer, st.ID, idemOf("complete-1", ""))
	})
	if err := json.Unmarshal(answers[0].Body, &full); err != nil || full.Status != "reviewed" {
		t.Fatalf("complete-review answered %s (%v)", answers[0].Body, err)
	}
	if n := f.Count(t, `SELECT count(*) FROM ledger_transactions WHERE kind = 'review_adjustment' AND reference = $1`, "statement:"+st.ID); n != 1 {
		t.Errorf("%d review adjustments, want 1", n)
	}
	if n := audited("complete_review", st.ID); n != 1 {
		t.Errorf("%d reviews completed, want 1", n)
	}

	// Cancel under a key, on a new draft.
	f.PostOn(t, "APR-1", "P3", "2025-04-02")
	apr, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-04")
	if err != nil {
		t.Fatal(err)
	}
	cancelled, err := f.Svc.CancelStatementKeyed(finance, apr.ID, idemOf("cancel-1", ""))
	if err != nil {
		t.Fatal(err)
	}
	again, err = f.Svc.CancelStatementKeyed(finance, apr.ID, idemOf("cancel-1", ""))
	sameAnswer(t, "cancel", cancelled, again, err)
	if n := audited("cancel", apr.ID); n != 1 {
		t.Errorf("%d cancels audited, want 1", n)
	}
}

// ageKey sets back the creation of the keys named key (all keys when key is "") by d.
func ageKey(t *testing.T, f *fixture, key string, d time.Duration) {
	t.Helper()
	if _, err := f.DB.Exec(`UPDATE idempotency_keys SET created_at = now() - make_interval(secs => $1) WHERE $2 = '' OR key = $2`, d.Seconds(), key); err != nil {
		t.Fatal(err)
	}
}

// wantExpired fails unless err is the 409 of a retry under an expired action key.
func wantExpired(t *testing.T, what string, err error) {
	t.Helper()
	e := wantError(t, err, trcledger.ECONFLICT, "idempotency_key_expired")
	if e != nil && e.Message != "this key was used more than 7 days ago; its answer is no longer kept — read the object to see its state" {
		t.Errorf("%s: message %q", what, e.Message)
	}
}

// TestActionKeysExpire: an action's answer is replayed for ActionKeyLifetime; after it the answer
// is dropped (a statement's answers are large) but the key is kept, and a retry under it, with
// the same body or another, is 409 idempotency_key_expired and does not act. A post's answer is
// kept.
func TestActionKeysExpire(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.PostOn(t, "V-1", "P1", "2025-03-03")
	b := f.PostOn(t, "V-2", "P2", "2025-03-04")
	idem := idemOf("void-1", `{"reason":"posted twice"}`)
	first, err := f.Svc.VoidEncounterKeyed(f.Clinic, a.ID, "posted twice", idem)
	if err != nil {
		t.Fatal(err)
	}
	ageKey(t, f, "", claims.ActionKeyLifetime-time.Hour)
	again, err := f.Svc.VoidEncounterKeyed(f.Clinic, a.ID, "posted twice", idem)
	sameAnswer(t, "void within the lifetime", first, again, err)

	ageKey(t, f, "", claims.ActionKeyLifetime+time.Hour)
	_, err = f.Svc.VoidEncounterKeyed(f.Clinic, a.ID, "posted twice", idem)
	wantExpired(t, "the same void", err)
	_, err = f.Svc.VoidEncounterKeyed(f.Clinic, a.ID, "wrong patient", idemOf("void-1", `{"reason":"wrong patient"}`))
	wantExpired(t, "another body", err)
	// Another object under the key: expired too, and b is not voided.
	_, err = f.Svc.VoidEncounterKeyed(f.Clinic, b.ID, "posted twice", idem)
	wantExpired(t, "another encounter", err)
	if n := f.Count(t, `SELECT count(*) FROM ledger_transactions WHERE kind = 'encounter_voided'`); n != 1 {
		t.Errorf("%d voids in the ledger, want 1", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM encounters WHERE status = 'voided'`); n != 1 {
		t.Errorf("%d encounters voided, want 1", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM idempotency_keys WHERE scope LIKE 'actions:%' AND key = 'void-1' AND response IS NULL AND request_hash IS NOT NULL`); n != 1 {
		t.Errorf("%d expired keys kept without their answer, want 1", n)
	}
	if n := f.Count(t, `SELECT count(*) FROM idempotency_keys WHERE scope LIKE 'encounters:%' AND response IS NOT NULL`); n != 2 {
		t.Errorf("%d post keys kept with their answer, want 2", n)
	}
	// A new key acts (and its answer is kept).
	if _, err := f.Svc.VoidEncounterKeyed(f.Clinic, b.ID, "posted twice", idemOf("void-2", `{"reason":"posted twice"}`)); err != nil {
		t.Fatal(err)
	}
}

// TestLateRetriesOfStatementActionsDoNotAct: a build retried after the lifetime does not refresh
// the draft, and decisions retried after it do not re-apply the old verdicts over the reviewer's
// later ones.
func TestLateRetriesOfStatementActionsDoNotAct(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.PostOn(t, "MAR-1", "P1", "2025-03-03")
	f.PostOn(t, "MAR-2", "P2", "2025-03-04")

	body := `{"provider_code":"DZ-BIHAC","payer_code":"ZZO-USK","period":"2025-03"}`
	built, err := f.Svc.CreateStatementKeyed(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03", idemOf("build-1", body))
	if err != nil {
		t.Fatal(err)
	}
	var st statements.Statement
	if err := json.Unmarshal(built.Body, &st); err != nil {
		t.Fatal(err)
	}
	ageKey(t, f, "build-1", claims.ActionKeyLifetime+time.Minute)
	_, err = f.Svc.CreateStatementKeyed(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03", idemOf("build-1", body))
	wantExpired(t, "a late build", err)
	if n := f.Count(t, `SELECT count(*) FROM audit_log WHERE action = 'refresh' AND object_id = $1`, st.ID); n != 0 {
		t.Errorf("the late build refreshed the draft (%d refreshes)", n)
	}

	full, err := f.Svc.SubmitStatement(f.Clinic, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	approve := []statements.Decision{{LineID: full.Lines[0].ID, Decision: "approve"}, {LineID: full.Lines[1].ID, Decision: "approve"}}
	dbody := `{"decisions":[approve, approve]}`
	if _, err := f.Svc.DecideKeyed(reviewer, st.ID, approve, idemOf("decide-1", dbody)); err != nil {
		t.Fatal(err)
	}
	// The reviewer changes their mind about the first line, without a key.
	if _, err := f.Svc.Decide(reviewer, st.ID, []statements.Decision{{LineID: full.Lines[0].ID, Decision: "reject", ReasonCode: "not_eligible"}}); err != nil {
		t.Fatal(err)
	}
	decisions := `SELECT count(*) FROM statement_decisions WHERE statement_id = $1`
	before := f.Count(t, decisions, st.ID)
	ageKey(t, f, "decide-1", claims.ActionKeyLifetime+time.Minute)
	_, err = f.Svc.DecideKeyed(reviewer, st.ID, approve, idemOf("decide-1", dbody))
	wantExpired(t, "late decisions", err)
	_, err = f.Svc.DecideKeyed(reviewer, st.ID, approve[:1], idemOf("decide-1", `{"decisions":[approve]}`))
	wantExpired(t, "late decisions with another body", err)
	if n := f.Count(t, decisions, st.ID); n != before {
		t.Errorf("%d decisions after the late retries, want %d", n, before)
	}
	now, err := f.Svc.FindStatementByID(reviewer, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := now.Lines[0].Decision; d == nil || *d != "reject" {
		t.Errorf("the first line's decision is %v after the late retry, want the reviewer's reject", d)
	}
	if n := f.Count(t, `SELECT count(*) FROM idempotency_keys WHERE key IN ('build-1', 'decide-1') AND response IS NULL`); n != 2 {
		t.Errorf("%d expired keys kept without their answer, want 2", n)
	}
}

// TestStoredAnswersAreNotHTMLEscaped: a stored answer is encoded as the API encodes a live one
// (no \u003c for <), so the first answer and its replay are the same bytes the API would send.
func TestStoredAnswersAreNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const odd = "a<b & c>d"
	raw := func(what string, body []byte) {
		t.Helper()
		if !bytes.Contains(body, []byte(odd)) || bytes.Contains(body, []byte(`\u00`)) {
			t.Errorf("%s answered %s, want %q unescaped", what, body, odd)
		}
	}
	a := f.PostOn(t, "V-1", "P1", "2025-03-03")
	idem := idemOf("void-1", `{"reason":"`+odd+`"}`)
	first, err := f.Svc.VoidEncounterKeyed(f.Clinic, a.ID, odd, idem)
	if err != nil {
		t.Fatal(err)
	}
	raw("the void", first.Body)
	again, err := f.Svc.VoidEncounterKeyed(f.Clinic, a.ID, odd, idem)
	sameAnswer(t, "void", first, again, err)

	f.PostOn(t, "MAR-1", "P2", "2025-03-04")
	st, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	full, err := f.Svc.SubmitStatement(f.Clinic, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	ds := []statements.Decision{{LineID: full.Lines[0].ID, Decision: "approve", Note: odd}}
	didem := idemOf("decide-1", `{"decisions":[...]}`)
	decided, err := f.Svc.DecideKeyed(reviewer, st.ID, ds, didem)
	if err != nil {
		t.Fatal(err)
	}
	raw("the decisions", decided.Body)
	again, err = f.Svc.DecideKeyed(reviewer, st.ID, ds, didem)
	sameAnswer(t, "decisions", decided, again, err)

	// A payment's answer too (its key is required).
	if _, err := f.Svc.CompleteReview(reviewer, st.ID); err != nil {
		t.Fatal(err)
	}
	pay := func() (*claims.PostResult, error) {
		return f.Svc.RecordPayment(finance, st.ID, statements.PaymentInput{Amount: dec("5.00"), PaidOn: date("2025-05-02"), Reference: odd}, idemOf("pay-1", odd))
	}
	paid, err := pay()
	if err != nil {
		t.Fatal(err)
	}
	raw("the payment", paid.Body)
	again, err = pay()
	sameAnswer(t, "payment", paid, again, err)
}
