package encounters

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
)

const encounterColumns = `e.id, e.seq, e.provider_code, c.code AS contract_code, e.contract_id, e.site_code, e.external_id,
	e.patient_key, e.beneficiary_category, e.sex, e.birth_year, e.service_date, e.kind, e.status, e.currency, e.total,
	e.diagnoses, e.referral_number, e.referral_to_level, e.referral_to_provider, e.practitioner_ref, e.corrects,
	e.ledger_transaction_id, e.created_at, e.voided_at, e.void_reason`

type encounterRow struct {
	ID                  string          `db:"id"`
	Seq                 int64           `db:"seq"`
	ProviderCode        string          `db:"provider_code"`
	ContractCode        string          `db:"contract_code"`
	ContractID          int64           `db:"contract_id"`
	SiteCode            string          `db:"site_code"`
	ExternalID          string          `db:"external_id"`
	PatientKey          string          `db:"patient_key"`
	BeneficiaryCategory string          `db:"beneficiary_category"`
	Sex                 *string         `db:"sex"`
	BirthYear           *int            `db:"birth_year"`
	ServiceDate         trcledger.Date  `db:"service_date"`
	Kind                string          `db:"kind"`
	Status              string          `db:"status"`
	Currency            string          `db:"currency"`
	Total               decimal.Decimal `db:"total"`
	Diagnoses           pq.StringArray  `db:"diagnoses"`
	ReferralNumber      *string         `db:"referral_number"`
	ReferralToLevel     *string         `db:"referral_to_level"`
	ReferralToProvider  *string         `db:"referral_to_provider"`
	PractitionerRef     *string         `db:"practitioner_ref"`
	Corrects            *string         `db:"corrects"`
	LedgerTransactionID int64           `db:"ledger_transaction_id"`
	CreatedAt           time.Time       `db:"created_at"`
	VoidedAt            *time.Time      `db:"voided_at"`
	VoidReason          *string         `db:"void_reason"`
}

func (r *encounterRow) encounter() *Encounter {
	e := &Encounter{
		ID: r.ID, ExternalID: r.ExternalID, ContractCode: r.ContractCode, ProviderCode: r.ProviderCode, SiteCode: r.SiteCode,
		PatientKey: r.PatientKey, BeneficiaryCategory: r.BeneficiaryCategory, Sex: r.Sex, BirthYear: r.BirthYear,
		ServiceDate: r.ServiceDate, Kind: r.Kind, Status: r.Status, Currency: r.Currency, Total: trcledger.NewAmount(r.Total),
		Diagnoses: []string(r.Diagnoses), PractitionerRef: r.PractitionerRef, Corrects: r.Corrects,
		LedgerTransactionID: r.LedgerTransactionID, CreatedAt: trcledger.TimeOf(r.CreatedAt), VoidedAt: trcledger.TimePtr(r.VoidedAt), VoidReason: r.VoidReason,
		Lines: []contracts.PricedLine{}, contractID: r.ContractID,
	}
	if e.Diagnoses == nil {
		e.Diagnoses = []string{}
	}
	if r.ReferralNumber != nil {
		e.Referral = &Referral{Number: *r.ReferralNumber, ToProviderCode: r.ReferralToProvider}
		if r.ReferralToLevel != nil {
			e.Referral.ToLevel = *r.ReferralToLevel
		}
	}
	return e
}

// loadLines fills the priced lines and shares of the encounters.
func loadLines(ctx context.Context, q sqlx.QueryerContext, encs []*Encounter) error {
	if len(encs) == 0 {
		return nil
	}
	ids := make([]string, len(encs))
	byID := map[string]*Encounter{}
	for i, e := range encs {
		ids[i], byID[e.ID] = e.ID, e
	}
	var lines []struct {
		EncounterID string          `db:"encounter_id"`
		LineNo      int             `db:"line_no"`
		ServiceCode string          `db:"service_code"`
		Quantity    decimal.Decimal `db:"quantity"`
		UnitPrice   decimal.Decimal `db:"unit_price"`
		Net         decimal.Decimal `db:"net"`
		VATRate     decimal.Decimal `db:"vat_rate"`
		VAT         decimal.Decimal `db:"vat"`
		Amount      decimal.Decimal `db:"amount"`
		Version     int             `db:"version"`
		VersionID   int64           `db:"tariff_version_id"`
		RuleID      int64           `db:"cost_share_rule_id"`
	}
	err := sqlx.SelectContext(ctx, q, &lines, `
		SELECT l.encounter_id, l.line_no, l.service_code, l.quantity, l.unit_price, l.net, l.vat_rate, l.vat, l.amount,
		       v.version, l.tariff_version_id, l.cost_share_rule_id
		FROM encounter_lines l JOIN tariff_versions v ON v.id = l.tariff_version_id
		WHERE l.encounter_id = ANY($1::uuid[]) ORDER BY l.encounter_id, l.line_no`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("load lines: %w", err)
	}
	var shares []struct {
		EncounterID string          `db:"encounter_id"`
		LineNo      int             `db:"line_no"`
		PayerCode   string          `db:"payer_code"`
		BasisPoints int             `db:"basis_points"`
		Amount      decimal.Decimal `db:"amount"`
	}
	err = sqlx.SelectContext(ctx, q, &shares, `
		SELECT encounter_id, line_no, payer_code, basis_points, amount FROM line_shares
		WHERE encounter_id = ANY($1::uuid[]) ORDER BY encounter_id, line_no, position`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("load shares: %w", err)
	}
	for _, l := range lines {
		e := byID[l.EncounterID]
		e.Lines = append(e.Lines, contracts.PricedLine{
			LineNo: l.LineNo, ServiceCode: l.ServiceCode, Quantity: l.Quantity, UnitPrice: trcledger.NewPrice(l.UnitPrice),
			Net: trcledger.NewAmount(l.Net), VATRate: l.VATRate, VAT: trcledger.NewAmount(l.VAT), Amount: trcledger.NewAmount(l.Amount),
			TariffVersion: l.Version, TariffVersionID: l.VersionID, CostShareRuleID: l.RuleID, Shares: []contracts.ShareAmount{},
		})
	}
	for _, s := range shares {
		e := byID[s.EncounterID]
		line := &e.Lines[s.LineNo-1]
		line.Shares = append(line.Shares, contracts.ShareAmount{PayerCode: s.PayerCode, BasisPoints: s.BasisPoints, Amount: trcledger.NewAmount(s.Amount)})
	}
	return nil
}

// redact removes clinical data (diagnoses, referral) for those who may not see it
// (access.CanSeeDiagnoses).
func redact(p access.Principal, e *Encounter) {
	if !access.CanSeeDiagnoses(p, e.parties()) {
		e.Diagnoses, e.Referral = nil, nil
	}
}

// FindEncounterByID returns the encounter as the caller may see it, or ENOTFOUND (also when it
// belongs to another institution, an attempt recorded as access_denied). The read is recorded
// in the audit log.
func (s *Service) FindEncounterByID(ctx context.Context, id string) (*Encounter, error) {
	notFound := trcledger.Errorf(trcledger.ENOTFOUND, "encounter %s not found", id)
	if !claims.UUIDPattern.MatchString(id) {
		return nil, notFound
	}
	var rows []encounterRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+encounterColumns+` FROM encounters e JOIN contracts c ON c.id = e.contract_id WHERE e.id = $1`, id)
	if err != nil {
		return nil, fmt.Errorf("find encounter: %w", err)
	}
	if len(rows) == 0 {
		return nil, notFound
	}
	e := rows[0].encounter()
	if err := loadLines(ctx, s.db, []*Encounter{e}); err != nil {
		return nil, err
	}
	p := access.PrincipalFrom(ctx)
	if !access.CanSeeEncounter(p, e.parties()) {
		return nil, access.RecordDenied(ctx, s.db, access.Denied(notFound, "encounter", e.ID))
	}
	redact(p, e)
	if err := access.Record(ctx, s.db, "read", "encounter", e.ID, nil); err != nil {
		return nil, err
	}
	return e, nil
}

// EncounterFilter narrows FindEncounters; empty fields match everything.
type EncounterFilter struct {
	ContractCode string
	SiteCode     string
	// ExternalID is the clinic's own record number (exact match).
	ExternalID string
	From, To   *trcledger.Date
	Status     string
	Limit      int
	Cursor     string
}

// FindEncounters lists encounters in the order they were posted, a page at a time; a clinic sees
// only its own. It returns the next cursor ("" on the last page) and EINVALID for a bad cursor.
func (s *Service) FindEncounters(ctx context.Context, f EncounterFilter) ([]*Encounter, string, error) {
	after := int64(0)
	if f.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		n, perr := strconv.ParseInt(string(b), 10, 64)
		if err != nil || perr != nil || n < 0 {
			return nil, "", (&trcledger.Fields{}).AddErr("cursor", "is not a cursor this service gave out")
		}
		after = n
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	p := access.PrincipalFrom(ctx)
	provider, _, ok := access.ScopeOf(p).Narrow("", "")
	if !ok {
		return []*Encounter{}, "", nil
	}
	var from, to *string
	if f.From != nil {
		v := f.From.String()
		from = &v
	}
	if f.To != nil {
		v := f.To.String()
		to = &v
	}
	var rows []encounterRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+encounterColumns+` FROM encounters e JOIN contracts c ON c.id = e.contract_id
		WHERE e.seq > $1 AND ($2 = '' OR e.provider_code = $2) AND ($3 = '' OR c.code = $3) AND ($4 = '' OR e.site_code = $4)
		  AND ($5::date IS NULL OR e.service_date >= $5) AND ($6::date IS NULL OR e.service_date <= $6) AND ($7 = '' OR e.status = $7)
		  AND ($9 = '' OR e.external_id = $9)
		ORDER BY e.seq LIMIT $8`, after, provider, f.ContractCode, f.SiteCode, from, to, f.Status, f.Limit+1, f.ExternalID)
	if err != nil {
		return nil, "", fmt.Errorf("list encounters: %w", err)
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(rows[len(rows)-1].Seq, 10)))
	}
	out := make([]*Encounter, len(rows))
	for i := range rows {
		out[i] = rows[i].encounter()
	}
	if err := loadLines(ctx, s.db, out); err != nil {
		return nil, "", err
	}
	for _, e := range out {
		redact(p, e)
	}
	ids := make([]string, len(out))
	for i, e := range out {
		ids[i] = e.ID
	}
	if err := access.RecordEach(ctx, s.db, "list", "encounter", ids); err != nil {
		return nil, "", err
	}
	return out, next, nil
}
