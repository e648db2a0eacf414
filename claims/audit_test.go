package claims_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/demo"
)

// auditCount counts the audit entries of an action on an object by an actor.
func auditCount(t *testing.T, f *fixture, actor, action, object string) int {
	t.Helper()
	var n int
	if err := f.DB.Get(&n, `SELECT count(*) FROM audit_log WHERE actor = $1 AND action = $2 AND object_id = $3`, actor, action, object); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReplayIsAuditedAsARead: the replayed answer of a post shows the encounter's diagnoses
// again, so each replay is a read in the audit log, for a single post and for a batch.
func TestReplayIsAuditedAsARead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	clinic := access.PrincipalFrom(f.Clinic).TokenID
	in := visit("REPLAY-1")
	first, err := f.Svc.PostEncounter(f.Clinic, in, key("replay-1"))
	if err != nil {
		t.Fatal(err)
	}
	id := first.Encounters[0].ID
	if n := auditCount(t, f, clinic, "read", id); n != 0 {
		t.Fatalf("%d reads after the post", n)
	}
	for i := 1; i <= 2; i++ {
		again, err := f.Svc.PostEncounter(f.Clinic, in, key("replay-1"))
		if err != nil || !again.Replayed {
			t.Fatalf("replay: %v %+v", err, again)
		}
		if n := auditCount(t, f, clinic, "read", id); n != i {
			t.Errorf("after replay %d: %d reads of the encounter in the audit log", i, n)
		}
	}

	ins := []encounters.EncounterInput{visit("REPLAY-B1"), visit("REPLAY-B2")}
	ins[1].PatientID = "SFA-2025-00018"
	batch, err := f.Svc.PostBatch(f.Clinic, ins, key("replay-batch"))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.Svc.PostBatch(f.Clinic, ins, key("replay-batch")); err != nil || !again.Replayed {
		t.Fatalf("batch replay: %v", err)
	}
	for _, e := range batch.Encounters {
		if n := auditCount(t, f, clinic, "read", e.ID); n != 1 {
			t.Errorf("batch replay: %d reads of %s", n, e.ExternalID)
		}
	}
}

// TestActionReplayIsAuditedAsARead: a replayed void answers the encounter again, a replayed
// statement action the statement with its lines: each is a read.
func TestActionReplayIsAuditedAsARead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	clinic := access.PrincipalFrom(f.Clinic).TokenID
	e := f.PostOn(t, "REPLAY-V1", "P1", "2025-03-10")
	f.PostOn(t, "REPLAY-V2", "P2", "2025-03-11")
	for i := 0; i < 3; i++ {
		res, err := f.Svc.VoidEncounterKeyed(f.Clinic, e.ID, "posted twice", key("void-1"))
		if err != nil || res.Replayed != (i > 0) {
			t.Fatalf("void %d: %v %+v", i, err, res)
		}
		if n := auditCount(t, f, clinic, "read", e.ID); n != i {
			t.Errorf("after %d replays of the void: %d reads", i, n)
		}
	}
	st, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		before := auditCount(t, f, clinic, "read", st.ID)
		res, err := f.Svc.SubmitStatementKeyed(f.Clinic, st.ID, key("submit-1"))
		if err != nil || res.Replayed != (i > 0) {
			t.Fatalf("submit %d: %v %+v", i, err, res)
		}
		if n := auditCount(t, f, clinic, "read", st.ID) - before; n != 1 {
			t.Errorf("submit %d: %d reads of the statement", i, n)
		}
	}
}

// TestRefusalsOutOfScopeAreAudited: asking for another institution's encounter, statement or
// contract answers 404, as for an unknown id, and leaves an access_denied entry with the
// object, the actor and the role; an unknown id leaves none.
func TestRefusalsOutOfScopeAreAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := f.PostOn(t, "DENY-1", "P1", "2025-03-10")
	st, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	otherClinic, otherReviewer := as(access.RoleClinic, demo.ProviderDZKS), as(access.RoleReviewer, demo.PayerZZOKS)
	store := contracts.NewStore(f.DB, func() time.Time { return today })
	for _, tt := range []struct {
		what   string
		ctx    context.Context
		object string
		try    func() error
	}{
		{"read an encounter", otherClinic, e.ID, func() error { _, err := f.Svc.FindEncounterByID(otherClinic, e.ID); return err }},
		{"void an encounter", otherClinic, e.ID, func() error { _, err := f.Svc.VoidEncounter(otherClinic, e.ID, "not mine"); return err }},
		{"read a statement", otherReviewer, st.ID, func() error { _, err := f.Svc.FindStatementByID(otherReviewer, st.ID); return err }},
		{"submit a statement", otherClinic, st.ID, func() error { _, err := f.Svc.SubmitStatement(otherClinic, st.ID); return err }},
		{"export a statement", otherReviewer, st.ID, func() error { return f.Svc.ExportCSV(otherReviewer, st.ID, io.Discard) }},
		{"read a contract", otherClinic, demo.ContractDZBihac, func() error { _, err := store.FindContractByCode(otherClinic, demo.ContractDZBihac); return err }},
		{"quote on a contract", otherClinic, demo.ContractDZBihac, func() error {
			_, err := store.Quote(otherClinic, demo.ContractDZBihac, contracts.QuoteInput{ServiceCode: "PZZ-01", Quantity: dec("1"), On: date("2025-03-01"), BeneficiaryCategory: "unknown"})
			return err
		}},
	} {
		p := access.PrincipalFrom(tt.ctx)
		before := auditCount(t, f, p.TokenID, access.ActionDenied, tt.object)
		wantCode(t, tt.try(), trcledger.ENOTFOUND, "")
		if n := auditCount(t, f, p.TokenID, access.ActionDenied, tt.object) - before; n != 1 {
			t.Errorf("%s: %d access_denied entries", tt.what, n)
		}
		var role string
		if err := f.DB.Get(&role, `SELECT role FROM audit_log WHERE action = $1 AND object_id = $2 ORDER BY id DESC LIMIT 1`, access.ActionDenied, tt.object); err != nil || role != p.Role {
			t.Errorf("%s: role %q, %v", tt.what, role, err)
		}
	}
	unknown := "00000000-0000-4000-8000-000000000000"
	_, err = f.Svc.FindEncounterByID(otherClinic, unknown)
	wantCode(t, err, trcledger.ENOTFOUND, "")
	var n int
	if err := f.DB.Get(&n, `SELECT count(*) FROM audit_log WHERE object_id = $1`, unknown); err != nil || n != 0 {
		t.Errorf("an unknown id left %d entries (%v)", n, err)
	}
}

// TestWhoDecidedIsThePayersBusiness: a statement line names the reviewer who decided it (token
// name and id) to admin and the payer's reviewers only, not to the clinic or finance.
func TestWhoDecidedIsThePayersBusiness(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.PostOn(t, "DECIDED-1", "P1", "2025-03-10")
	st, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	if st, err = f.Svc.SubmitStatement(f.Clinic, st.ID); err != nil {
		t.Fatal(err)
	}
	st, err = f.Svc.Decide(reviewer, st.ID, []statements.Decision{{LineID: st.Lines[0].ID, Decision: "approve"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		who  string
		ctx  context.Context
		sees bool
	}{{"clinic", f.Clinic, false}, {"finance", finance, false}, {"reviewer", reviewer, true}, {"admin", as(access.RoleAdmin, ""), true}} {
		got, err := f.Svc.FindStatementByID(tt.ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		l := got.Lines[0]
		if (l.DecidedBy != nil) != tt.sees || l.Decision == nil {
			t.Errorf("%s: decided_by %v, decision %v", tt.who, l.DecidedBy, l.Decision)
		}
	}
}

// TestPostingOnAnotherProvidersContractIsAudited: a clinic that posts, in a batch or imports
// encounters on another provider's contract is told "unknown contract", as for a code that does
// not exist, and the attempt is recorded once per request (or import chunk), not once per row.
func TestPostingOnAnotherProvidersContractIsAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	otherClinic := as(access.RoleClinic, demo.ProviderDZKS)
	p := access.PrincipalFrom(otherClinic)
	count := func() int { return auditCount(t, f, p.TokenID, access.ActionDenied, demo.ContractDZBihac) }

	_, err := f.Svc.PostEncounter(otherClinic, visit("FOREIGN-1"), key("foreign-1"))
	if e := wantError(t, err, trcledger.EINVALID, ""); e != nil && !fieldSet(e)["contract_code"] {
		t.Errorf("single post: %v", e.Fields)
	}
	if n := count(); n != 1 {
		t.Errorf("single post: %d access_denied entries, want 1", n)
	}
	_, err = f.Svc.PostBatch(otherClinic, []encounters.EncounterInput{visit("FOREIGN-2"), visit("FOREIGN-3"), visit("FOREIGN-4")}, key("foreign-batch"))
	wantCode(t, err, trcledger.EINVALID, "")
	if n := count(); n != 2 {
		t.Errorf("after a batch of three: %d access_denied entries, want 2", n)
	}
	csv := "external_id,contract_code,site_code,patient_id,beneficiary_category,service_date,kind,diagnoses,service_code,quantity\n"
	for i := 0; i < 5; i++ {
		csv += fmt.Sprintf("FOREIGN-CSV-%d,%s,TRC-LIPA,P-%d,unknown,2025-03-03,consultation,J06.9,PZZ-01,1\n", i, demo.ContractDZBihac, i)
	}
	res, err := f.Svc.Import(otherClinic, strings.NewReader(csv))
	if err != nil || res.Rejected != 5 || res.Accepted != 0 {
		t.Fatalf("import: %+v %v", res, err)
	}
	if n := count(); n != 3 {
		t.Errorf("after an import of five rows: %d access_denied entries, want 3", n)
	}
	// A code that names no contract at all is no attempt on anyone's object.
	in := visit("NOWHERE-1")
	in.ContractCode = "NO-SUCH-CONTRACT"
	_, err = f.Svc.PostEncounter(otherClinic, in, key("nowhere-1"))
	wantCode(t, err, trcledger.EINVALID, "")
	if n := auditCount(t, f, p.TokenID, access.ActionDenied, "NO-SUCH-CONTRACT"); n != 0 {
		t.Errorf("an unknown contract code left %d entries", n)
	}
}
