package encounters_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/trcledger/trcledger/claims/encounters"
)

// holdExternalID inserts, in an open transaction, a bare posted encounter of DZ Bihać with ext,
// copied from the encounter posted as TPL. The caller commits or rolls back.
func holdExternalID(t *testing.T, f *fixture, ext string) *sqlx.Tx {
	t.Helper()
	tx, err := f.DB.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(`INSERT INTO encounters (id, provider_code, contract_id, site_code, external_id, patient_key, beneficiary_category,
		service_date, kind, currency, total, content_hash, ledger_transaction_id, created_at)
		SELECT gen_random_uuid(), provider_code, contract_id, site_code, $1, patient_key, beneficiary_category,
		service_date, kind, currency, total, content_hash, ledger_transaction_id, created_at FROM encounters WHERE external_id = 'TPL'`, ext)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitBlocked waits until some backend waits on a lock in an INSERT INTO encounters.
func waitBlocked(t *testing.T, f *fixture) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var n int
		if err := f.DB.Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO encounters%'`); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer never blocked")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLostRacesForExternalIDsBlameNoOtherJob: three writers each commit one external id of a
// call between its lookup and its insert. Each time the call starts again and finds one more
// posted, so it keeps going: the three jobs are answered duplicate_external_id and the innocent
// one (R-INNOCENT, a fresh external id) is stored. (It used to give up after three attempts and
// answer every post of the group 409 duplicate_external_id.)
func TestLostRacesForExternalIDsBlameNoOtherJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.Svc.PostEncounter(f.Clinic, visit("TPL"), key("tpl")); err != nil {
		t.Fatal(err)
	}
	jobs := []encounters.WriteTest{
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("R-1")}, Idem: key("r-1")},
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("R-2")}, Idem: key("r-2")},
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("R-3")}, Idem: key("r-3")},
		{Caller: f.Clinic, Ins: []encounters.EncounterInput{visit("R-INNOCENT")}, Idem: key("r-innocent")},
	}
	t1 := holdExternalID(t, f, "R-1")
	type result struct {
		res []encounters.WriteResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := f.Svc.Write(context.Background(), jobs)
		done <- result{res, err}
	}()
	waitBlocked(t, f) // attempt 1 waits on R-1
	t2 := holdExternalID(t, f, "R-2")
	if err := t1.Commit(); err != nil {
		t.Fatal(err)
	}
	waitBlocked(t, f) // attempt 2 waits on R-2
	t3 := holdExternalID(t, f, "R-3")
	if err := t2.Commit(); err != nil {
		t.Fatal(err)
	}
	waitBlocked(t, f) // attempt 3 waits on R-3
	if err := t3.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	t.Logf("write err = %v", r.err)
	for i, w := range r.res {
		t.Logf("job %d: %s %v", i, w.Outcome, w.Err)
	}
	if r.err != nil {
		t.Errorf("the whole call failed with %v: every post of the group, R-INNOCENT included, is answered with it", r.err)
	}
	want := []string{"duplicate_external_id", "duplicate_external_id", "duplicate_external_id", "stored"}
	for i, w := range r.res {
		if w.Outcome != want[i] {
			t.Errorf("job %d: %s, want %s", i, w.Outcome, want[i])
		}
	}
	var n int
	if err := f.DB.Get(&n, `SELECT count(*) FROM encounters WHERE external_id = 'R-INNOCENT'`); err != nil || n != 1 {
		t.Errorf("R-INNOCENT written %d times (%v), want once", n, err)
	}
}
