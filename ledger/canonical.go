package ledger

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"slices"
	"strconv"
	"time"
)

// CanonicalVersion opens the canonical bytes of every transaction; a new form gets a new one.
const CanonicalVersion = "trcledger-ledger-tx-v1"

// createdAtLayout writes created_at in UTC with exactly 6 decimals (PostgreSQL's precision).
const createdAtLayout = "2006-01-02T15:04:05.000000Z"

// GenesisHash is the hash the first link of the chain follows: 32 zero bytes.
var GenesisHash = make([]byte, sha256.Size)

// CanonicalBytes returns the fixed text form of t that the hash chain covers. Every line ends
// with "\n"; texts a user chooses are length-prefixed as <byte length>:<bytes>, so no content
// (a "|" or a newline in a reference, say) can make two different transactions write the same
// bytes:
//
//	trcledger-ledger-tx-v1
//	id <id, decimal>
//	kind <len>:<kind>
//	reference <len>:<reference>
//	effective_date <YYYY-MM-DD>
//	created_at <YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC, microseconds>
//	postings <number of postings>
//	<len>:<account>|<len>:<currency>|<amount with exactly 2 decimals, "-" when a credit>
//	... one line per posting, sorted by account, then currency (both bytewise), then amount
//
// The order of t.Postings therefore does not matter; any change of any field of the
// transaction or of any posting changes the bytes. t is not modified. Amounts are taken
// rounded to 2 decimals, as Validate and the database require them to be already.
func CanonicalBytes(t *Transaction) []byte {
	return appendCanonical(nil, t, entriesOf(t.Postings))
}

// LinkHash returns the chain link of t after the link prev: SHA-256(prev || CanonicalBytes(t)).
// The first link follows GenesisHash.
func LinkHash(prev []byte, t *Transaction) []byte {
	var buf []byte
	return linkHash(&buf, prev, t, entriesOf(t.Postings))
}

// entry is a posting as the chain sees it: the amount in cents.
type entry struct {
	account, currency string
	cents             int64
}

func entriesOf(ps []Posting) []entry {
	es := make([]entry, len(ps))
	for i, p := range ps {
		es[i] = entry{p.Account, p.Currency, p.Amount.Round(2).Shift(2).IntPart()}
	}
	return es
}

// linkHash is LinkHash with a reusable buffer; it sorts es, the entries of t, in place.
func linkHash(buf *[]byte, prev []byte, t *Transaction, es []entry) []byte {
	b := append((*buf)[:0], prev...)
	b = appendCanonical(b, t, es)
	*buf = b
	sum := sha256.Sum256(b)
	return sum[:]
}

func appendCanonical(b []byte, t *Transaction, es []entry) []byte {
	slices.SortFunc(es, func(a, b entry) int {
		if c := cmp.Compare(a.account, b.account); c != 0 {
			return c
		}
		if c := cmp.Compare(a.currency, b.currency); c != 0 {
			return c
		}
		return cmp.Compare(a.cents, b.cents)
	})
	b = append(b, CanonicalVersion...)
	b = append(b, "\nid "...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, "\nkind "...)
	b = appendText(b, t.Kind)
	b = append(b, "\nreference "...)
	b = appendText(b, t.Reference)
	b = append(b, "\neffective_date "...)
	b = t.EffectiveDate.Time().AppendFormat(b, "2006-01-02")
	b = append(b, "\ncreated_at "...)
	b = t.CreatedAt.UTC().Truncate(time.Microsecond).AppendFormat(b, createdAtLayout)
	b = append(b, "\npostings "...)
	b = strconv.AppendInt(b, int64(len(es)), 10)
	b = append(b, '\n')
	for _, e := range es {
		b = appendText(b, e.account)
		b = append(b, '|')
		b = appendText(b, e.currency)
		b = append(b, '|')
		b = appendCents(b, e.cents)
		b = append(b, '\n')
	}
	return b
}

func appendText(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// appendCents writes c cents as an amount with exactly 2 decimals: -5 is "-0.05".
func appendCents(b []byte, c int64) []byte {
	u := uint64(c) //nolint:gosec // two's complement on purpose: -u below is |c|, even for MinInt64
	if c < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/100, 10)
	return append(b, '.', byte('0'+u%100/10), byte('0'+u%10))
}

var errAmount = errors.New("not an amount with 2 decimals")

// parseCents reads an amount as PostgreSQL writes numeric(18,2): [-]digits.dd.
func parseCents(s string) (int64, error) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	n := len(s)
	if n < 4 || n > 19 || s[n-3] != '.' {
		return 0, errAmount
	}
	var c int64
	for i := 0; i < n; i++ {
		if i == n-3 {
			continue
		}
		d := s[i]
		if d < '0' || d > '9' {
			return 0, errAmount
		}
		c = c*10 + int64(d-'0')
	}
	if neg {
		c = -c
	}
	return c, nil
}
