package reports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/ledger"
)

// Monthly bulletins (issue 15 item 3, docs/bulletins-and-payer-report.md). A bulletin freezes
// the transition report rows of a month, for the month's totals and for every grouping, exactly
// as the report answered them at publication, with the head of the ledger's hash chain at that
// moment. It is never changed: what later posts, voids and repricings change in the month is
// shown beside it as a restatement, computed whenever the bulletin is read.

// BulletinGroupings are the groupings a bulletin freezes, in the order its items list them:
// the month's totals ("") first, then by canton, site, provider and service category.
var BulletinGroupings = []string{"", ByCanton, BySite, ByProvider, ByServiceCategory}

// BulletinRow is one row of a bulletin: a transition report row (the same fields, the same
// suppression) and the grouping it was answered under ("" for the month's totals).
type BulletinRow struct {
	Grouping string `json:"grouping"`
	TransitionRow
}

// Bulletin is a published month. ChainHead is the hash (hex) of the chain's head at
// publication; Chain says which link that is. Items are the rows as published; ItemsHash is
// the SHA-256 of their JSON as published. Restated is null while the month's figures are still
// those published, else the figures now and how they differ.
type Bulletin struct {
	Period      string           `json:"period"`
	PublishedAt trcledger.Time   `json:"published_at"`
	PublishedBy string           `json:"published_by"`
	ChainHead   string           `json:"chain_head"`
	Chain       ledger.ChainHead `json:"chain"`
	ItemsHash   string           `json:"items_hash"`
	Items       []BulletinRow    `json:"items"`
	Restated    *Restatement     `json:"restated"`
}

// BulletinSummary is a bulletin in a list: when it was published and its chain head.
type BulletinSummary struct {
	Period      string           `json:"period"`
	PublishedAt trcledger.Time   `json:"published_at"`
	PublishedBy string           `json:"published_by"`
	ChainHead   string           `json:"chain_head"`
	Chain       ledger.ChainHead `json:"chain"`
	ItemsHash   string           `json:"items_hash"`
}

// Restatement is what a published month looks like now: the rows as the transition report
// answers them today (every grouping) and, per row that changed, the difference.
type Restatement struct {
	Items      []BulletinRow        `json:"items"`
	Difference []BulletinDifference `json:"difference"`
}

// BulletinDifference is how one row (grouping, group, currency) changed since publication:
// now minus published, amounts in the currency, StateShare in percentage points (2 decimals).
// A row that appeared since counts as zero when published, and one that went away as zero now.
// Encounters and Patients are null when either side is suppressed.
type BulletinDifference struct {
	Grouping    string           `json:"grouping"`
	Group       *string          `json:"group"`
	Currency    string           `json:"currency"`
	Total       trcledger.Amount `json:"total"`
	ByPayerType PayerTypeAmounts `json:"by_payer_type"`
	StateShare  string           `json:"state_share"`
	Encounters  *int             `json:"encounters"`
	Patients    *int             `json:"patients"`
	Rerouted    trcledger.Amount `json:"rerouted"`
}

// BulletinVerification is the verdict on a bulletin: the hash chain recomputed from its start
// up to the bulletin's head (ledger.Journal.VerifyHead: OK, TransactionsChecked, FirstBad,
// Reason) and whether the stored items are still those published (ItemsIntact). OK is both.
type BulletinVerification struct {
	Period  string           `json:"period"`
	Chain   ledger.ChainHead `json:"chain"`
	ItemsOK bool             `json:"items_intact"`
	ChainOK bool             `json:"chain_ok"`
	ledger.VerifyResult
}

// Bulletins publishes and reads monthly bulletins; it reads the transition report through the
// reports service and the chain through the journal.
type Bulletins struct {
	reports *Service
	journal *ledger.Journal
	now     func() time.Time
}

// NewBulletins returns the bulletins of the reports service rp, sealing and verifying with j,
// stamping publications with now.
func NewBulletins(rp *Service, j *ledger.Journal, now func() time.Time) *Bulletins {
	return &Bulletins{reports: rp, journal: j, now: now}
}

// bulletinReader checks that the caller may read bulletins: finance and admin. Reviewers read
// the payer report and their own transition report; clinic staff neither.
func bulletinReader(ctx context.Context) error {
	switch access.PrincipalFrom(ctx).Role {
	case access.RoleFinance, access.RoleAdmin:
		return nil
	}
	return trcledger.Errorf(trcledger.EFORBIDDEN, "bulletins are for finance and admin")
}

// Publish freezes the month's transition report rows (every grouping of BulletinGroupings,
// as TransitionReport answers them now) and records the chain head after sealing, so that the
// head covers every ledger transaction committed before the rows were read. One bulletin per
// month: a second is ECONFLICT bulletin_exists (a bulletin is never replaced; later changes
// show as its restatement). It returns EFORBIDDEN unless the caller is finance, EINVALID
// (period) for a malformed month or one that has not ended yet (in Sarajevo), or the errors of
// the transition report and the seal.
func (b *Bulletins) Publish(ctx context.Context, period string) (*Bulletin, error) {
	p := access.PrincipalFrom(ctx)
	if p.Role != access.RoleFinance {
		return nil, trcledger.Errorf(trcledger.EFORBIDDEN, "only finance publishes bulletins")
	}
	_, last, err := claims.PeriodBounds(period)
	if err != nil {
		return nil, err
	}
	if !last.Before(trcledger.Today(b.now())) {
		return nil, (&trcledger.Fields{}).AddErr("period", "%s has not ended; a month is published once it is over", period)
	}
	if _, err := b.find(ctx, b.reports.db, period); err == nil {
		return nil, bulletinExists(period)
	} else if trcledger.ErrorCode(err) != trcledger.ENOTFOUND {
		return nil, err
	}
	items, err := b.rows(ctx, period)
	if err != nil {
		return nil, err
	}
	// The head is taken after the rows: everything the rows were read from was committed
	// before the seal began, so it lies under the head.
	head, err := b.journal.SealHead(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(items)
	if err != nil {
		return nil, fmt.Errorf("publish bulletin: %w", err)
	}
	itemsHash := sha256.Sum256(raw)
	headHash, _ := hex.DecodeString(head.Hash)
	out := &Bulletin{Period: period, PublishedAt: trcledger.TimeOf(b.now().UTC().Truncate(time.Microsecond)), PublishedBy: actorName(p),
		ChainHead: head.Hash, Chain: head, ItemsHash: hex.EncodeToString(itemsHash[:]), Items: items}
	err = pg.WithTx(ctx, b.reports.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO bulletins (period, published_at, published_by, chain_position, chain_transaction_id, chain_head, items, items_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, period, out.PublishedAt, out.PublishedBy, head.Position, head.TransactionID, headHash, string(raw), itemsHash[:]); err != nil {
			return pg.Translate(err)
		}
		return access.Record(ctx, tx, "publish", "bulletin", period, map[string]any{"chain_position": head.Position, "chain_head": head.Hash})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func bulletinExists(period string) error {
	return trcledger.Errorf(trcledger.ECONFLICT, "the bulletin of %s is published already; later changes show as its restatement", period).
		WithReason("bulletin_exists")
}

// rows answers the month's transition report rows for every grouping of BulletinGroupings.
func (b *Bulletins) rows(ctx context.Context, period string) ([]BulletinRow, error) {
	out := []BulletinRow{}
	for _, g := range BulletinGroupings {
		rep, err := b.reports.TransitionReport(ctx, TransitionFilter{From: period, To: period, By: g})
		if err != nil {
			return nil, err
		}
		for _, r := range rep.Items {
			out = append(out, BulletinRow{Grouping: g, TransitionRow: r})
		}
	}
	return out, nil
}

// bulletinRow is a stored bulletin.
type bulletinRow struct {
	Period        string         `db:"period"`
	PublishedAt   trcledger.Time `db:"published_at"`
	PublishedBy   string         `db:"published_by"`
	ChainPosition int64          `db:"chain_position"`
	ChainTxID     *int64         `db:"chain_transaction_id"`
	ChainHead     []byte         `db:"chain_head"`
	Items         []byte         `db:"items"`
	ItemsHash     []byte         `db:"items_hash"`
}

func (r bulletinRow) bulletin() Bulletin {
	head := ledger.ChainHead{Position: r.ChainPosition, TransactionID: r.ChainTxID, Hash: hex.EncodeToString(r.ChainHead)}
	return Bulletin{Period: r.Period, PublishedAt: r.PublishedAt, PublishedBy: r.PublishedBy, ChainHead: head.Hash, Chain: head,
		ItemsHash: hex.EncodeToString(r.ItemsHash)}
}

const bulletinSelect = `period, published_at, published_by, chain_position, chain_transaction_id, chain_head, items, items_hash`

// find reads the stored bulletin of period: ENOTFOUND when there is none.
func (b *Bulletins) find(ctx context.Context, q sqlx.QueryerContext, period string) (*bulletinRow, error) {
	var r bulletinRow
	err := sqlx.GetContext(ctx, q, &r, `SELECT `+bulletinSelect+` FROM bulletins WHERE period = $1`, period)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, trcledger.Errorf(trcledger.ENOTFOUND, "no bulletin was published for %s", period)
	}
	if err != nil {
		return nil, fmt.Errorf("read bulletin: %w", err)
	}
	return &r, nil
}

// List returns every published bulletin, newest month first, without items or restatement.
// It returns EFORBIDDEN unless the caller is finance or admin.
func (b *Bulletins) List(ctx context.Context) ([]BulletinSummary, error) {
	if err := bulletinReader(ctx); err != nil {
		return nil, err
	}
	var rows []bulletinRow
	if err := b.reports.db.SelectContext(ctx, &rows, `SELECT period, published_at, published_by, chain_position, chain_transaction_id, chain_head, ''::bytea AS items, items_hash
		FROM bulletins ORDER BY period DESC`); err != nil {
		return nil, fmt.Errorf("list bulletins: %w", err)
	}
	out := make([]BulletinSummary, 0, len(rows))
	for _, r := range rows {
		x := r.bulletin()
		out = append(out, BulletinSummary{Period: x.Period, PublishedAt: x.PublishedAt, PublishedBy: x.PublishedBy, ChainHead: x.ChainHead, Chain: x.Chain, ItemsHash: x.ItemsHash})
	}
	return out, nil
}

// Get returns the bulletin of period with its published rows and, when the month's transition
// report now answers other rows (later, voided or repriced lines, re-routed rejections), the
// restatement beside them. It returns EFORBIDDEN unless the caller is finance or admin,
// EINVALID (period) for a malformed month and ENOTFOUND when the month has no bulletin.
func (b *Bulletins) Get(ctx context.Context, period string) (*Bulletin, error) {
	if err := bulletinReader(ctx); err != nil {
		return nil, err
	}
	if _, _, err := claims.PeriodBounds(period); err != nil {
		return nil, err
	}
	r, err := b.find(ctx, b.reports.db, period)
	if err != nil {
		return nil, err
	}
	out := r.bulletin()
	if err := json.Unmarshal(r.Items, &out.Items); err != nil {
		return nil, fmt.Errorf("read bulletin items: %w", err)
	}
	now, err := b.rows(ctx, period)
	if err != nil {
		return nil, err
	}
	out.Restated = restate(out.Items, now)
	return &out, nil
}

// Verify checks the bulletin of period: the hash chain from its start up to the bulletin's
// head (ledger.Journal.VerifyHead), so a ledger row changed, removed or inserted under it is
// found and named, and the stored items against the hash taken at publication. It returns the
// errors of Get's checks (EFORBIDDEN, EINVALID, ENOTFOUND) and wrapped database errors; a
// failed check is a result with OK false.
func (b *Bulletins) Verify(ctx context.Context, period string) (*BulletinVerification, error) {
	if err := bulletinReader(ctx); err != nil {
		return nil, err
	}
	if _, _, err := claims.PeriodBounds(period); err != nil {
		return nil, err
	}
	r, err := b.find(ctx, b.reports.db, period)
	if err != nil {
		return nil, err
	}
	bl := r.bulletin()
	res, err := b.journal.VerifyHead(ctx, bl.Chain)
	if err != nil {
		return nil, err
	}
	out := &BulletinVerification{Period: period, Chain: bl.Chain, ChainOK: res.OK, VerifyResult: res}
	var items []BulletinRow
	if err := json.Unmarshal(r.Items, &items); err == nil {
		if raw, err := json.Marshal(items); err == nil {
			sum := sha256.Sum256(raw)
			out.ItemsOK = bytes.Equal(sum[:], r.ItemsHash)
		}
	}
	if !out.ItemsOK {
		out.OK = false
		if out.Reason == "" {
			out.Reason = "the bulletin's items are not those published"
		}
	}
	return out, nil
}

// rowKey identifies a bulletin row: grouping, group and currency.
type rowKey struct{ grouping, group, currency string }

func keyOf(r BulletinRow) rowKey { return rowKey{r.Grouping, groupName(r.Group), r.Currency} }

// restate compares the published rows with those of now: nil when every row is the same (all
// of its fields), else now's rows and the difference of each row that changed, in now's order
// followed by the rows that went away.
func restate(published, now []BulletinRow) *Restatement {
	old := map[rowKey]BulletinRow{}
	for _, r := range published {
		old[keyOf(r)] = r
	}
	var diff []BulletinDifference
	seen := map[rowKey]bool{}
	for _, r := range now {
		k := keyOf(r)
		seen[k] = true
		p, ok := old[k]
		if ok && sameRow(p, r) {
			continue
		}
		if !ok {
			p = BulletinRow{Grouping: r.Grouping, TransitionRow: TransitionRow{Group: r.Group, Currency: r.Currency, StateShare: "0.00"}}
			zero := 0
			p.Encounters, p.Patients = &zero, &zero
		}
		diff = append(diff, difference(p, r))
	}
	for _, p := range published {
		if k := keyOf(p); !seen[k] {
			zero := 0
			n := BulletinRow{Grouping: p.Grouping, TransitionRow: TransitionRow{Group: p.Group, Currency: p.Currency, StateShare: "0.00", Encounters: &zero, Patients: &zero}}
			diff = append(diff, difference(p, n))
		}
	}
	if len(diff) == 0 {
		return nil
	}
	return &Restatement{Items: now, Difference: diff}
}

// sameRow reports whether two rows carry the same figures (as their JSON says).
func sameRow(a, b BulletinRow) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// difference is now minus published for one row.
func difference(p, n BulletinRow) BulletinDifference {
	sub := func(a, b trcledger.Amount) trcledger.Amount { return trcledger.NewAmount(a.Sub(b.Decimal)) }
	d := BulletinDifference{Grouping: n.Grouping, Group: n.Group, Currency: n.Currency,
		Total: sub(n.Total, p.Total), Rerouted: sub(n.Rerouted, p.Rerouted),
		ByPayerType: PayerTypeAmounts{
			International: sub(n.ByPayerType.International, p.ByPayerType.International),
			Donor:         sub(n.ByPayerType.Donor, p.ByPayerType.Donor),
			StateFund:     sub(n.ByPayerType.StateFund, p.ByPayerType.StateFund),
			Government:    sub(n.ByPayerType.Government, p.ByPayerType.Government),
		}}
	ps, _ := decimal.NewFromString(p.StateShare)
	ns, _ := decimal.NewFromString(n.StateShare)
	d.StateShare = ns.Sub(ps).StringFixed(2)
	if n.Encounters != nil && p.Encounters != nil {
		v := *n.Encounters - *p.Encounters
		d.Encounters = &v
	}
	if n.Patients != nil && p.Patients != nil {
		v := *n.Patients - *p.Patients
		d.Patients = &v
	}
	return d
}
