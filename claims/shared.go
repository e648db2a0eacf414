package claims

import (
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
)

// UUIDPattern is the form of the ids the services make (NewUUID) and accept in a path.
var UUIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// PeriodPattern is the form of a month, YYYY-MM: a statement's period, a report's month.
var PeriodPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// Sealer is told when new ledger transactions wait to be chained.
type Sealer interface{ Kick() }

// StatementCurrency is the currency statements claim in; shares priced in another are not
// claimed (DESIGN.md section 5 bills the funds in BAM).
const StatementCurrency = "BAM"

// Claimable reports whether a share waits for a statement: a positive amount in
// StatementCurrency. unclaimed_shares holds exactly these, while they are on no live statement.
func Claimable(currency string, amount trcledger.Amount) bool {
	return currency == StatementCurrency && amount.IsPositive()
}

// ShareCostsSQL is access.ShareCounts in SQL, on line_shares sh: a payer's share counts for
// access (and in its reviewers' reports) when it is more than 0 basis points and more than 0.00.
const ShareCostsSQL = `sh.basis_points > 0 AND sh.amount > 0`

// NewUUID returns a version 7 UUID: 48 bits of Unix milliseconds, then random bits. Ids made
// one after another sort together, so inserting them touches the right-most index pages rather
// than a random page per row (which halved posting throughput once the tables were large).
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(time.Now().UnixMilli())
	//nolint:gosec // G115: each byte takes the next 8 of the 48 low bits of ms; dropping the rest is the point
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// LockClaims serialises, per provider and payer, building statements and voiding encounters, so
// that a void either happens before a statement gathers its lines or finds them on it. It
// returns only database failures.
func LockClaims(ctx context.Context, tx *sqlx.Tx, provider string, payers []string) error {
	payers = append([]string(nil), payers...)
	sort.Strings(payers) // one order everywhere: no deadlock between two voids
	for _, payer := range payers {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('claims'), hashtext($1 || '|' || $2))`, provider, payer); err != nil {
			return fmt.Errorf("lock claims of %s on %s: %w", provider, payer, err)
		}
	}
	return nil
}

// The transition report keeps each month's rows computed in report_months (migrations 0010 and
// 0017): writers record the encounters they post or void in report_changes, the refresher of
// package reports folds what they add or take away into the kept rows (and recomputes whole the
// months marked in report_dirty), and its TransitionReport reads the kept rows of the other
// months and aggregates those with changes or marks live.

// Signs of a report change: the encounters were posted, or voided.
const (
	ReportPosted = 1
	ReportVoided = -1
)

// RecordReportChange records, in the writer's transaction, that the encounters ids of the
// month of day were posted (ReportPosted) or voided (ReportVoided). It returns only database
// failures.
func RecordReportChange(ctx context.Context, tx *sqlx.Tx, day trcledger.Date, sign int, ids ...string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO report_changes (period, sign, encounter_ids) VALUES (to_char($1::date, 'YYYY-MM'), $2, $3::uuid[])`,
		day, sign, pq.Array(ids)); err != nil {
		return fmt.Errorf("record the report change: %w", err)
	}
	return nil
}

// Outstanding is what is still to be paid on a statement: approved (claimed until the review
// is complete) minus paid.
func Outstanding(claimed trcledger.Amount, approved *trcledger.Amount, paid trcledger.Amount) trcledger.Amount {
	base := claimed.Decimal
	if approved != nil {
		base = approved.Decimal
	}
	return trcledger.NewAmount(base.Sub(paid.Decimal))
}

// PeriodBounds returns the first and the last day of a YYYY-MM month, or EINVALID naming
// "period".
func PeriodBounds(period string) (trcledger.Date, trcledger.Date, error) {
	if !PeriodPattern.MatchString(period) {
		return trcledger.Date{}, trcledger.Date{}, (&trcledger.Fields{}).AddErr("period", "must be a month written YYYY-MM")
	}
	start, _ := trcledger.ParseDate(period + "-01")
	return start, trcledger.DateOf(start.Time().AddDate(0, 1, -1)), nil
}
