package encounters

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/pg"
)

// The writer's rows as column arrays, one array per column, for unnest.

type encounterRows struct {
	id, provider, site, externalID, patientKey, beneficiary, serviceDate, kind, diagnoses, currency, total []string
	sex, referralNumber, referralLevel, referralProvider, practitioner, corrects, capturedAt               []sql.NullString
	birthYear                                                                                              []sql.NullInt64
	contractID, ledgerID                                                                                   []int64
	contentHash                                                                                            [][]byte
}

type lineColumns struct {
	encounter, service, quantity, unitPrice, net, vatRate, vat, amount []string
	lineNo, tariffVersion, rule                                        []int64
}

type shareColumns struct {
	encounter, payer, provider, serviceDate, amount []string
	lineNo, position, basisPoints                   []int64
	claimable                                       []bool
}

func nullString(p *string) sql.NullString {
	if p == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *p, Valid: true}
}

func (c *encounterRows) add(e *Encounter) {
	c.id = append(c.id, e.ID)
	c.provider = append(c.provider, e.ProviderCode)
	c.site = append(c.site, e.SiteCode)
	c.externalID = append(c.externalID, e.ExternalID)
	c.patientKey = append(c.patientKey, e.PatientKey)
	c.beneficiary = append(c.beneficiary, e.BeneficiaryCategory)
	c.serviceDate = append(c.serviceDate, e.ServiceDate.String())
	c.kind = append(c.kind, e.Kind)
	c.diagnoses = append(c.diagnoses, joinCodes(e.Diagnoses))
	c.currency = append(c.currency, e.Currency)
	c.total = append(c.total, e.Total.String())
	c.sex = append(c.sex, nullString(e.Sex))
	var num, level, prov sql.NullString
	if r := e.Referral; r != nil {
		num, level, prov = nullString(&r.Number), nullString(&r.ToLevel), nullString(r.ToProviderCode)
	}
	c.referralNumber = append(c.referralNumber, num)
	c.referralLevel = append(c.referralLevel, level)
	c.referralProvider = append(c.referralProvider, prov)
	c.practitioner = append(c.practitioner, nullString(e.PractitionerRef))
	c.corrects = append(c.corrects, nullString(e.Corrects))
	var captured sql.NullString
	if e.CapturedAt != nil {
		captured = sql.NullString{String: e.CapturedAt.UTC().Format(time.RFC3339Nano), Valid: true}
	}
	c.capturedAt = append(c.capturedAt, captured)
	var birth sql.NullInt64
	if e.BirthYear != nil {
		birth = sql.NullInt64{Int64: int64(*e.BirthYear), Valid: true}
	}
	c.birthYear = append(c.birthYear, birth)
	c.contractID = append(c.contractID, e.contractID)
	c.ledgerID = append(c.ledgerID, e.LedgerTransactionID)
	c.contentHash = append(c.contentHash, e.contentHash)
}

func (c *lineColumns) add(e *Encounter, l *contracts.PricedLine) {
	c.encounter = append(c.encounter, e.ID)
	c.lineNo = append(c.lineNo, int64(l.LineNo))
	c.service = append(c.service, l.ServiceCode)
	c.quantity = append(c.quantity, l.Quantity.String())
	c.unitPrice = append(c.unitPrice, l.UnitPrice.Decimal.String())
	c.net = append(c.net, l.Net.String())
	c.vatRate = append(c.vatRate, l.VATRate.String())
	c.vat = append(c.vat, l.VAT.String())
	c.amount = append(c.amount, l.Amount.String())
	c.tariffVersion = append(c.tariffVersion, l.TariffVersionID)
	c.rule = append(c.rule, l.CostShareRuleID)
}

func (c *shareColumns) add(e *Encounter, l *contracts.PricedLine, pos int, sh *contracts.ShareAmount) {
	c.encounter = append(c.encounter, e.ID)
	c.lineNo = append(c.lineNo, int64(l.LineNo))
	c.position = append(c.position, int64(pos+1))
	c.payer = append(c.payer, sh.PayerCode)
	c.provider = append(c.provider, e.ProviderCode)
	c.serviceDate = append(c.serviceDate, e.ServiceDate.String())
	c.basisPoints = append(c.basisPoints, int64(sh.BasisPoints))
	c.amount = append(c.amount, sh.Amount.String())
	c.claimable = append(c.claimable, claims.Claimable(e.Currency, sh.Amount))
}

// The writer's three statements: encounters with the report changes of the months written to
// (report_changes, one row per month, for the transition report's refresher:
// claims/reports/report_months.go); their lines; their
// shares with the claimable ones' rows in the claims queue (unclaimed_shares). One statement
// for all three was measured three times slower: the planner, which knows nothing of the arrays,
// joined the shares to their input row by row.
const insertEncountersQuery = `
WITH enc AS (
	INSERT INTO encounters (id, provider_code, contract_id, site_code, external_id, patient_key, beneficiary_category,
		sex, birth_year, service_date, kind, diagnoses, referral_number, referral_to_level, referral_to_provider,
		practitioner_ref, corrects, currency, total, content_hash, ledger_transaction_id, captured_at, created_at)
	SELECT id, prov, cid, site, ext, pkey, benef, sex, birth, sdate, kind,
		CASE WHEN diag = '' THEN '{}'::text[] ELSE string_to_array(diag, ',') END,
		rnum, rlevel, rprov, pract, corr, cur, total, hash, lid, captured, $23
	FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::int[], $10::date[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
		$17::uuid[], $18::text[], $19::numeric[], $20::bytea[], $21::bigint[], $22::timestamptz[])
		AS t(id, prov, cid, site, ext, pkey, benef, sex, birth, sdate, kind, diag, rnum, rlevel, rprov, pract, corr, cur, total, hash, lid, captured)
	ORDER BY prov, ext -- every writer takes the external ids' index entries in one order: no deadlock
	RETURNING id, service_date
)
INSERT INTO report_changes (period, sign, encounter_ids)
SELECT to_char(service_date, 'YYYY-MM'), 1, array_agg(id) FROM enc GROUP BY 1`

const insertLinesQuery = `
INSERT INTO encounter_lines (encounter_id, line_no, service_code, quantity, unit_price, net, vat_rate, vat, amount, tariff_version_id, cost_share_rule_id)
SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[],
	$8::numeric[], $9::numeric[], $10::bigint[], $11::bigint[])`

const insertSharesQuery = `
WITH src AS (
	SELECT * FROM unnest($1::uuid[], $2::int[], $3::smallint[], $4::text[], $5::text[], $6::date[], $7::int[], $8::numeric[], $9::bool[])
		AS t(enc, line, pos, payer, prov, sdate, bp, amt, claimable)
), ins AS (
	INSERT INTO line_shares (encounter_id, line_no, position, payer_code, provider_code, service_date, basis_points, amount)
	SELECT enc, line, pos, payer, prov, sdate, bp, amt FROM src
	RETURNING id, encounter_id, line_no, position, provider_code, payer_code, service_date, amount
)
INSERT INTO unclaimed_shares (share_id, encounter_id, provider_code, payer_code, service_date, amount)
SELECT ins.id, ins.encounter_id, ins.provider_code, ins.payer_code, ins.service_date, ins.amount
FROM ins JOIN src ON src.enc = ins.encounter_id AND src.line = ins.line_no AND src.pos = ins.position
WHERE src.claimable`

// insertEncounters writes encounters (their ids and ledger transactions set), one statement
// per table.
func insertEncounters(ctx context.Context, tx *sqlx.Tx, encs []*Encounter, now time.Time) error {
	var ec encounterRows
	var lc lineColumns
	var sc shareColumns
	for _, e := range encs {
		ec.add(e)
		for li := range e.Lines {
			l := &e.Lines[li]
			lc.add(e, l)
			for pos := range l.Shares {
				sc.add(e, l, pos, &l.Shares[pos])
			}
		}
	}
	if _, err := tx.ExecContext(ctx, insertEncountersQuery,
		pq.Array(ec.id), pq.Array(ec.provider), pq.Array(ec.contractID), pq.Array(ec.site), pq.Array(ec.externalID), pq.Array(ec.patientKey),
		pq.Array(ec.beneficiary), pq.Array(ec.sex), pq.Array(ec.birthYear), pq.Array(ec.serviceDate), pq.Array(ec.kind), pq.Array(ec.diagnoses),
		pq.Array(ec.referralNumber), pq.Array(ec.referralLevel), pq.Array(ec.referralProvider), pq.Array(ec.practitioner), pq.Array(ec.corrects),
		pq.Array(ec.currency), pq.Array(ec.total), pq.ByteaArray(ec.contentHash), pq.Array(ec.ledgerID), pq.Array(ec.capturedAt), now); err != nil {
		return pg.Translate(err)
	}
	if _, err := tx.ExecContext(ctx, insertLinesQuery,
		pq.Array(lc.encounter), pq.Array(lc.lineNo), pq.Array(lc.service), pq.Array(lc.quantity), pq.Array(lc.unitPrice), pq.Array(lc.net),
		pq.Array(lc.vatRate), pq.Array(lc.vat), pq.Array(lc.amount), pq.Array(lc.tariffVersion), pq.Array(lc.rule)); err != nil {
		return pg.Translate(err)
	}
	if _, err := tx.ExecContext(ctx, insertSharesQuery,
		pq.Array(sc.encounter), pq.Array(sc.lineNo), pq.Array(sc.position), pq.Array(sc.payer), pq.Array(sc.provider), pq.Array(sc.serviceDate),
		pq.Array(sc.basisPoints), pq.Array(sc.amount), pq.Array(sc.claimable)); err != nil {
		return pg.Translate(err)
	}
	return nil
}

func joinCodes(codes []string) string { return strings.Join(codes, ",") }
