package ledger_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/ledger"
)

func canonicalSample() *ledger.Transaction {
	return &ledger.Transaction{
		ID: 42, Kind: "encounter_posted", Reference: "encounter:7f0c|x\ny",
		EffectiveDate: trcledger.NewDate(2024, time.March, 5),
		CreatedAt:     trcledger.TimeOf(time.Date(2024, 3, 5, 10, 11, 12, 123456789, time.FixedZone("CET", 3600))),
		Postings: []ledger.Posting{
			{Account: "payable:IOM:DZ-BIHAC", Currency: "BAM", Amount: dec("-20")},
			{Account: "expense:IOM", Currency: "BAM", Amount: dec("20.00")},
			{Account: "expense:IOM", Currency: "EUR", Amount: dec("1.5")},
			{Account: "cash:IOM", Currency: "EUR", Amount: dec("-1.50")},
		},
	}
}

// The canonical form is a contract with every hash already stored: it must never drift.
func TestCanonicalBytesAreStable(t *testing.T) {
	t.Parallel()
	tx := canonicalSample()
	const want = "trcledger-ledger-tx-v1\n" +
		"id 42\n" +
		"kind 16:encounter_posted\n" +
		"reference 18:encounter:7f0c|x\ny\n" +
		"effective_date 2024-03-05\n" +
		"created_at 2024-03-05T09:11:12.123456Z\n" +
		"postings 4\n" +
		"8:cash:IOM|3:EUR|-1.50\n" +
		"11:expense:IOM|3:BAM|20.00\n" +
		"11:expense:IOM|3:EUR|1.50\n" +
		"20:payable:IOM:DZ-BIHAC|3:BAM|-20.00\n"
	if got := string(ledger.CanonicalBytes(tx)); got != want {
		t.Fatalf("canonical bytes:\n%s\nwant:\n%s", got, want)
	}
	if tx.Postings[0].Account != "payable:IOM:DZ-BIHAC" {
		t.Fatalf("CanonicalBytes reordered the caller's postings")
	}
	// Computed independently: sha256(32 zero bytes || want), then sha256(that || want).
	first := ledger.LinkHash(ledger.GenesisHash, tx)
	if got := hex.EncodeToString(first); got != "825507d03d76879aa255dce4f856d399a30e55f4f14cf1fdcfb777e4705f7522" {
		t.Fatalf("first link = %s", got)
	}
	if got := hex.EncodeToString(ledger.LinkHash(first, tx)); got != "44fad5d67a6808bde658c57ee6d189f3c89d8437fab6d656ef2e08e34bb4752a" {
		t.Fatalf("second link = %s", got)
	}
}

func TestCanonicalBytesChangeWithEveryField(t *testing.T) {
	t.Parallel()
	base := string(ledger.CanonicalBytes(canonicalSample()))
	for _, tc := range []struct {
		name   string
		change func(*ledger.Transaction)
		same   bool
	}{
		{"postings in another order", func(x *ledger.Transaction) {
			x.Postings[0], x.Postings[3] = x.Postings[3], x.Postings[0]
		}, true},
		{"same instant in another zone", func(x *ledger.Transaction) { x.CreatedAt = trcledger.TimeOf(x.CreatedAt.UTC()) }, true},
		{"nanoseconds PostgreSQL does not keep", func(x *ledger.Transaction) { x.CreatedAt = trcledger.TimeOf(x.CreatedAt.Add(-789)) }, true},
		{"amount written with fewer decimals", func(x *ledger.Transaction) { x.Postings[1].Amount = dec("20") }, true},
		{"id", func(x *ledger.Transaction) { x.ID = 43 }, false},
		{"kind", func(x *ledger.Transaction) { x.Kind = "encounter_voided" }, false},
		{"reference", func(x *ledger.Transaction) { x.Reference = "encounter:7f0d|x\ny" }, false},
		{"effective date", func(x *ledger.Transaction) { x.EffectiveDate = x.EffectiveDate.AddDays(1) }, false},
		{"created at, 1 µs", func(x *ledger.Transaction) { x.CreatedAt = trcledger.TimeOf(x.CreatedAt.Add(time.Microsecond)) }, false},
		{"posting account", func(x *ledger.Transaction) { x.Postings[0].Account = "payable:IOM:DZ-CAZIN" }, false},
		{"posting currency", func(x *ledger.Transaction) { x.Postings[2].Currency = "USD" }, false},
		{"posting amount, 1 cent", func(x *ledger.Transaction) { x.Postings[1].Amount = dec("20.01") }, false},
		{"posting sign", func(x *ledger.Transaction) { x.Postings[1].Amount = dec("-20") }, false},
		{"posting removed", func(x *ledger.Transaction) { x.Postings = x.Postings[:3] }, false},
		{"posting duplicated", func(x *ledger.Transaction) { x.Postings = append(x.Postings, x.Postings[0]) }, false},
		{"separator moved between fields", func(x *ledger.Transaction) {
			x.Postings[2].Account, x.Postings[2].Currency = "expense:IOM|EUR", ""
		}, false},
		{"newline moved from reference into kind", func(x *ledger.Transaction) {
			x.Kind, x.Reference = "encounter_posted\nreference 18:encounter:7f0c|x", "y"
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := canonicalSample()
			tc.change(x)
			got := string(ledger.CanonicalBytes(x))
			if (got == base) != tc.same {
				t.Fatalf("same bytes = %v, want %v:\n%s", got == base, tc.same, got)
			}
		})
	}
	// Two different posting lists that a plain "account|currency|amount" join would confuse.
	a := canonicalSample()
	a.Postings = []ledger.Posting{{Account: "a|BAM", Currency: "EUR", Amount: dec("1")}}
	b := canonicalSample()
	b.Postings = []ledger.Posting{{Account: "a", Currency: "BAM|EUR", Amount: dec("1")}}
	if string(ledger.CanonicalBytes(a)) == string(ledger.CanonicalBytes(b)) {
		t.Fatalf("length prefixes do not separate fields")
	}
}
