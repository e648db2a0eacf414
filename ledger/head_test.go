package ledger_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/internal/pgtest"
	"github.com/trcledger/trcledger/ledger"
)

// TestVerifyHead: a head taken after 3 of 5 transactions verifies; a posting changed under it
// is named; one changed after it is not the head's business (Verify finds it); a head beyond
// the chain, or with another hash, fails.
func TestVerifyHead(t *testing.T) {
	t.Parallel()
	empty, err := ledger.New(pgtest.NewDB(t)).SealHead(ctx)
	if err != nil || empty.Position != 0 || empty.TransactionID != nil || empty.Hash != strings.Repeat("0", 64) {
		t.Fatalf("head of an empty chain = %+v, %v", empty, err)
	}
	db, j, ids := sealedJournal(t, 3)
	head, err := j.SealHead(ctx)
	if err != nil || head.Position != 3 || *head.TransactionID != ids[2] {
		t.Fatalf("head = %+v, %v", head, err)
	}
	appendTx(t, db, encounter(t, "e4", "2024-02-01", "IOM", "DZ-BIHAC", "1.50"))
	appendTx(t, db, encounter(t, "e5", "2024-02-02", "IOM", "DZ-BIHAC", "2.50"))
	if later, err := j.SealHead(ctx); err != nil || later.Position != 5 {
		t.Fatalf("later head = %+v, %v", later, err)
	}
	if res, err := j.VerifyHead(ctx, head); err != nil || !res.OK || res.TransactionsChecked != 3 {
		t.Fatalf("verify head = %+v, %v", res, err)
	}
	var last int64
	if err := db.Get(&last, `SELECT transaction_id FROM ledger_chain WHERE position = 5`); err != nil {
		t.Fatal(err)
	}
	tamper(t, db, fmt.Sprintf(`UPDATE ledger_postings SET amount = amount * 3 WHERE transaction_id = %d`, last))
	if res, err := j.VerifyHead(ctx, head); err != nil || !res.OK {
		t.Errorf("a change after the head failed the head: %+v, %v", res, err)
	}
	if res, err := j.Verify(ctx); err != nil || res.OK || *res.FirstBad != last {
		t.Errorf("verify = %+v, %v", res, err)
	}
	tamper(t, db, fmt.Sprintf(`UPDATE ledger_postings SET amount = amount * 3 WHERE transaction_id = %d`, ids[1]))
	if res, err := j.VerifyHead(ctx, head); err != nil || res.OK || res.FirstBad == nil || *res.FirstBad != ids[1] || res.Reason != "hash mismatch" {
		t.Errorf("a change under the head = %+v, %v", res, err)
	}
	tamper(t, db, fmt.Sprintf(`UPDATE ledger_postings SET amount = amount / 3 WHERE transaction_id IN (%d, %d)`, ids[1], last))
	beyond := head
	beyond.Position = 9
	if res, err := j.VerifyHead(ctx, beyond); err != nil || res.OK || !strings.Contains(res.Reason, "ends at position 5") {
		t.Errorf("a head beyond the chain = %+v, %v", res, err)
	}
	other := head
	other.Hash = strings.Repeat("ab", 32)
	if res, err := j.VerifyHead(ctx, other); err != nil || res.OK || res.FirstBad != nil || !strings.Contains(res.Reason, "not the published head") {
		t.Errorf("another hash = %+v, %v", res, err)
	}
	bad := head
	bad.Hash = "xyz"
	if _, err := j.VerifyHead(ctx, bad); err == nil {
		t.Error("a malformed hash was accepted")
	}
}
