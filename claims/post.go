package claims

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/ledger"
)

// MaxBatch is the most encounters one batch may hold.
const MaxBatch = 1000

// Idempotency ties a request to the client's key and a digest of what it sent. RequestHash is
// the SHA-256 of the request as received; the service stores only a keyed hash of it (see
// idempotency.go), never the digest itself.
type Idempotency struct {
	Key         string
	RequestHash []byte

	plain []byte // the digest as received, once RequestHash is keyed (seal)
}

// PostResult is the answer to a post: the encounters, and Body, the exact JSON of the answer,
// which a retry with the same key receives again (Replayed).
type PostResult struct {
	Encounters []*Encounter
	Body       []byte
	Replayed   bool
}

// PostEncounter validates, prices, splits and stores one encounter with its ledger transaction,
// all or nothing. It returns EINVALID naming every bad field, ECONFLICT duplicate_external_id
// (with existing_id) or idempotency_key_reused, and replays the first answer for a key used
// again with the same body.
func (s *Service) PostEncounter(ctx context.Context, in EncounterInput, idem Idempotency) (*PostResult, error) {
	return s.post(ctx, []EncounterInput{in}, idem, false)
}

// PostBatch posts up to MaxBatch encounters in one database transaction, all or nothing; errors
// name each bad one by index (encounters[3].lines[0].quantity).
func (s *Service) PostBatch(ctx context.Context, ins []EncounterInput, idem Idempotency) (*PostResult, error) {
	if len(ins) == 0 || len(ins) > MaxBatch {
		return nil, (&trcledger.Fields{}).AddErr("encounters", "send 1 to %d encounters", MaxBatch)
	}
	return s.post(ctx, ins, idem, true)
}

func idemScope(ctx context.Context) string { return "encounters:" + callerScope(ctx) }

func (s *Service) post(ctx context.Context, ins []EncounterInput, idem Idempotency, batch bool) (*PostResult, error) {
	scope := idemScope(ctx)
	idem = s.seal(scope, idem)
	if idem.Key != "" {
		if res, err := replay(ctx, s.db, scope, idem); res != nil || err != nil {
			return s.auditReplay(ctx, res, err)
		}
	}
	for attempt := 1; ; attempt++ {
		res, err := s.postOnce(ctx, ins, idem, batch, scope)
		if errors.Is(err, errStalePricing) && attempt < 3 {
			s.refs.drop()
			continue
		}
		return s.auditReplay(ctx, res, err)
	}
}

// errStalePricing says a contract changed after its pricing was read: price again.
var errStalePricing = errors.New("the contract changed while the encounter was priced")

// checkPricing locks the contracts the encounters were priced on against tariff, cost-share
// and status changes until commit, and returns errStalePricing when one changed since its
// pricing was read.
func checkPricing(ctx context.Context, tx *sqlx.Tx, encs []*Encounter) error {
	rev := map[int64]time.Time{}
	var ids []int64
	for _, e := range encs {
		if _, ok := rev[e.contractID]; !ok {
			ids = append(ids, e.contractID)
		}
		rev[e.contractID] = e.contractRev
	}
	var rows []struct {
		ID        int64     `db:"id"`
		UpdatedAt time.Time `db:"updated_at"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT id, updated_at FROM contracts WHERE id = ANY($1) ORDER BY id FOR KEY SHARE`, pq.Array(ids)); err != nil {
		return fmt.Errorf("lock contracts: %w", err)
	}
	for _, r := range rows {
		if !r.UpdatedAt.Equal(rev[r.ID]) {
			return errStalePricing
		}
	}
	return nil
}

func (s *Service) postOnce(ctx context.Context, ins []EncounterInput, idem Idempotency, batch bool, scope string) (*PostResult, error) {
	encs, err := s.validate(ctx, s.db, ins, batch)
	if err != nil {
		return nil, err
	}
	if !batch {
		return s.postGrouped(ctx, encs, idem, scope)
	}
	res, err := s.postInTx(ctx, encs, idem, scope, true)
	if err != nil {
		return nil, err
	}
	if !res.Replayed && s.sealer != nil {
		s.sealer.Kick()
	}
	return res, nil
}

func encodeResult(encs []*Encounter, batch bool) ([]byte, error) {
	if batch {
		return encodeAnswer(struct {
			Encounters []*Encounter `json:"encounters"`
		}{encs})
	}
	return encodeAnswer(encs[0])
}

// postInTx posts encounters in a transaction of their own: it records the idempotency key (or
// answers what the key's first post got), checks and stores the encounters, and keeps the
// answer for the key.
func (s *Service) postInTx(ctx context.Context, encs []*Encounter, idem Idempotency, scope string, batch bool) (*PostResult, error) {
	var res *PostResult
	err := pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		res = nil
		if idem.Key != "" {
			claimed, err := claimKey(ctx, tx, scope, idem)
			if err != nil {
				return err
			}
			if !claimed { // another request with this key committed first
				r, err := replay(ctx, tx, scope, idem)
				res = r
				return err
			}
		}
		if err := s.insert(ctx, tx, encs, batch); err != nil {
			return err
		}
		body, err := encodeResult(encs, batch)
		if err != nil {
			return err
		}
		res = &PostResult{Encounters: encs, Body: body}
		if idem.Key != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = 201, response = $3 WHERE scope = $1 AND key = $2`, scope, idem.Key, body); err != nil {
				return fmt.Errorf("store idempotent response: %w", err)
			}
		}
		return nil
	})
	return res, err
}

// replay returns the stored answer for the key, nil when the key is unused, and ECONFLICT when
// it was used with another body. A row written before migration 0013 (not keyed yet) holds the
// plain digest.
func replay(ctx context.Context, q sqlx.QueryerContext, scope string, idem Idempotency) (*PostResult, error) {
	var row struct {
		Hash     []byte `db:"request_hash"`
		Response []byte `db:"response"`
		Keyed    bool   `db:"keyed"`
	}
	err := sqlx.GetContext(ctx, q, &row, `SELECT request_hash, response, keyed FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, idem.Key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find idempotency key: %w", err)
	}
	want := idem.RequestHash
	if !row.Keyed && idem.plain != nil {
		want = idem.plain
	}
	if !hmac.Equal(row.Hash, want) {
		return nil, trcledger.Errorf(trcledger.ECONFLICT, "this Idempotency-Key was used with a different body").WithReason("idempotency_key_reused")
	}
	if row.Response == nil {
		return nil, trcledger.Errorf(trcledger.ECONFLICT, "a request with this Idempotency-Key is still in progress; retry").WithReason("idempotency_key_in_progress")
	}
	return &PostResult{Body: row.Response, Replayed: true}, nil
}

// claimKey records the key in the posting transaction. A concurrent request with the same key
// waits here until the first commits (or rolls back), so 50 retries at once post once.
func claimKey(ctx context.Context, tx *sqlx.Tx, scope string, idem Idempotency) (bool, error) {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO idempotency_keys (scope, key, request_hash, keyed) VALUES ($1, $2, $3, true) ON CONFLICT DO NOTHING`,
		scope, idem.Key, idem.RequestHash)
	if err != nil {
		return false, fmt.Errorf("claim idempotency key: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// validate checks and prices every input; errors of a batch are prefixed encounters[i].
func (s *Service) validate(ctx context.Context, q sqlx.QueryerContext, ins []EncounterInput, batch bool) ([]*Encounter, error) {
	ref, err := s.refs.get(ctx, q)
	if err != nil {
		return nil, err
	}
	var f trcledger.Fields
	encs := make([]*Encounter, len(ins))
	seen := map[string]int{}
	denied := deniedContracts{}
	for i := 0; i < len(ins) && !f.Full(); i++ { // a full list of errors will not grow: stop
		prefix := ""
		if batch {
			prefix = fmt.Sprintf("encounters[%d].", i)
		}
		e, err := s.price(ctx, ref, &ins[i], prefix, &f)
		if err != nil {
			return nil, err
		}
		if e == nil {
			denied.note(ctx, ref, ins[i].ContractCode)
			continue
		}
		key := e.ProviderCode + "\x00" + e.ExternalID
		if j, dup := seen[key]; dup {
			f.Add(prefix+"external_id", "encounters[%d] has the same external_id", j)
			continue
		}
		seen[key] = i
		encs[i] = e
	}
	if err := denied.record(ctx, s); err != nil {
		return nil, err
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	return encs, nil
}

// newUUID returns a version 7 UUID: 48 bits of Unix milliseconds, then random bits. Ids made
// one after another sort together, so inserting them touches the right-most index pages rather
// than a random page per row (which halved posting throughput once the tables were large).
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(time.Now().UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// postingTransaction is the ledger transaction of a posted encounter: per payer, debit its
// expense and credit what it owes the provider.
func postingTransaction(e *Encounter) *ledger.Transaction {
	t := &ledger.Transaction{Kind: "encounter_posted", Reference: "encounter:" + e.ID, EffectiveDate: e.ServiceDate}
	var payers []string
	amounts := map[string]decimal.Decimal{}
	for _, l := range e.Lines {
		for _, sh := range l.Shares {
			if _, ok := amounts[sh.PayerCode]; !ok {
				payers = append(payers, sh.PayerCode)
			}
			amounts[sh.PayerCode] = amounts[sh.PayerCode].Add(sh.Amount.Decimal)
		}
	}
	for _, p := range payers {
		if a := amounts[p]; !a.IsZero() {
			t.Postings = append(t.Postings,
				ledger.Posting{Account: "expense:" + p, Currency: e.Currency, Amount: a},
				ledger.Posting{Account: "payable:" + p + ":" + e.ProviderCode, Currency: e.Currency, Amount: a.Neg()})
		}
	}
	return t
}

// insert stores the encounters, their lines and shares and their ledger transactions with one
// statement per table.
func (s *Service) insert(ctx context.Context, tx *sqlx.Tx, encs []*Encounter, batch bool) error {
	if err := checkExisting(ctx, tx, encs, batch); err != nil {
		return err
	}
	return s.insertChecked(ctx, tx, encs, batch)
}

// insertChecked stores encounters whose external ids have just been checked (the import does it
// per chunk): it skips that lookup but still checks prices and corrections.
func (s *Service) insertChecked(ctx context.Context, tx *sqlx.Tx, encs []*Encounter, batch bool) error {
	if err := checkPricing(ctx, tx, encs); err != nil {
		return err
	}
	if err := checkCorrections(ctx, tx, encs, batch); err != nil {
		return err
	}
	for _, e := range encs {
		e.ID = newUUID()
	}
	ids, err := writeEncounters(ctx, tx, encs, s.now().UTC())
	if err != nil {
		return err
	}
	return access.RecordEach(ctx, tx, "post", "encounter", ids)
}

// writeEncounters stores encounters (their ids set), their lines and shares and their ledger
// transactions with one statement per table, and returns their ids.
func writeEncounters(ctx context.Context, tx *sqlx.Tx, encs []*Encounter, now time.Time) ([]string, error) {
	txs := make([]*ledger.Transaction, len(encs))
	for i, e := range encs {
		e.CreatedAt = trcledger.TimeOf(now)
		txs[i] = postingTransaction(e)
		txs[i].CreatedAt = trcledger.TimeOf(now)
	}
	if err := ledger.Append(ctx, tx, txs); err != nil {
		return nil, err
	}
	n := len(encs)
	var (
		ids, providers, sites, extIDs, keys, benefs, dates, kinds, diags, currencies, totals []string
		sexes, refNums, refLevels, refProviders, practs, corrects                            = make([]sql.NullString, n), make([]sql.NullString, n), make([]sql.NullString, n), make([]sql.NullString, n), make([]sql.NullString, n), make([]sql.NullString, n)
		births                                                                               = make([]sql.NullInt64, n)
		contractIDs, ledgerIDs                                                               []int64
		hashes                                                                               [][]byte
	)
	ns := func(p *string) sql.NullString {
		if p == nil {
			return sql.NullString{}
		}
		return sql.NullString{String: *p, Valid: true}
	}
	var lEnc, lSvc, lQty, lUnit, lNet, lRate, lVat, lAmt []string
	var lNo []int64
	var lVer, lRule []int64
	var sEnc, sPayer, sProv, sDate, sAmt []string
	var sLine, sPos, sBP []int64
	var sClaim []bool
	for i, e := range encs {
		e.LedgerTransactionID = txs[i].ID
		ids = append(ids, e.ID)
		providers = append(providers, e.ProviderCode)
		sites = append(sites, e.SiteCode)
		extIDs = append(extIDs, e.ExternalID)
		keys = append(keys, e.PatientKey)
		benefs = append(benefs, e.BeneficiaryCategory)
		dates = append(dates, e.ServiceDate.String())
		kinds = append(kinds, e.Kind)
		diags = append(diags, joinCodes(e.Diagnoses))
		currencies = append(currencies, e.Currency)
		totals = append(totals, e.Total.String())
		contractIDs = append(contractIDs, e.contractID)
		ledgerIDs = append(ledgerIDs, e.LedgerTransactionID)
		hashes = append(hashes, e.contentHash)
		sexes[i], practs[i], corrects[i] = ns(e.Sex), ns(e.PractitionerRef), ns(e.Corrects)
		if e.BirthYear != nil {
			births[i] = sql.NullInt64{Int64: int64(*e.BirthYear), Valid: true}
		}
		if r := e.Referral; r != nil {
			refNums[i], refLevels[i], refProviders[i] = ns(&r.Number), ns(&r.ToLevel), ns(r.ToProviderCode)
		}
		for _, l := range e.Lines {
			lEnc = append(lEnc, e.ID)
			lNo = append(lNo, int64(l.LineNo))
			lSvc = append(lSvc, l.ServiceCode)
			lQty = append(lQty, l.Quantity.String())
			lUnit = append(lUnit, l.UnitPrice.Decimal.String())
			lNet = append(lNet, l.Net.String())
			lRate = append(lRate, l.VATRate.String())
			lVat = append(lVat, l.VAT.String())
			lAmt = append(lAmt, l.Amount.String())
			lVer = append(lVer, l.TariffVersionID)
			lRule = append(lRule, l.CostShareRuleID)
			for pos, sh := range l.Shares {
				sEnc = append(sEnc, e.ID)
				sLine = append(sLine, int64(l.LineNo))
				sPos = append(sPos, int64(pos+1))
				sPayer = append(sPayer, sh.PayerCode)
				sProv = append(sProv, e.ProviderCode)
				sDate = append(sDate, e.ServiceDate.String())
				sBP = append(sBP, int64(sh.BasisPoints))
				sAmt = append(sAmt, sh.Amount.String())
				sClaim = append(sClaim, claimable(e.Currency, sh.Amount))
			}
		}
	}
	// The months written to are marked for the transition report's refresher (report_months).
	_, err := tx.ExecContext(ctx, `
		WITH ins AS (
		INSERT INTO encounters (id, provider_code, contract_id, site_code, external_id, patient_key, beneficiary_category,
			sex, birth_year, service_date, kind, diagnoses, referral_number, referral_to_level, referral_to_provider,
			practitioner_ref, corrects, currency, total, content_hash, ledger_transaction_id, created_at)
		SELECT id, prov, cid, site, ext, pkey, benef, sex, birth, sdate, kind,
			CASE WHEN diag = '' THEN '{}'::text[] ELSE string_to_array(diag, ',') END,
			rnum, rlevel, rprov, pract, corr, cur, total, hash, lid, $21
		FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::int[], $10::date[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
			$17::uuid[], $18::text[], $19::numeric[], $20::bytea[], $22::bigint[])
			AS t(id, prov, cid, site, ext, pkey, benef, sex, birth, sdate, kind, diag, rnum, rlevel, rprov, pract, corr, cur, total, hash, lid)
		RETURNING service_date)
		INSERT INTO report_dirty (period) SELECT DISTINCT to_char(service_date, 'YYYY-MM') FROM ins`,
		pq.Array(ids), pq.Array(providers), pq.Array(contractIDs), pq.Array(sites), pq.Array(extIDs), pq.Array(keys),
		pq.Array(benefs), pq.Array(sexes), pq.Array(births), pq.Array(dates), pq.Array(kinds), pq.Array(diags),
		pq.Array(refNums), pq.Array(refLevels), pq.Array(refProviders), pq.Array(practs), pq.Array(corrects),
		pq.Array(currencies), pq.Array(totals), pq.ByteaArray(hashes), now, pq.Array(ledgerIDs))
	if err != nil {
		return nil, pg.Translate(err)
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO encounter_lines (encounter_id, line_no, service_code, quantity, unit_price, net, vat_rate, vat, amount, tariff_version_id, cost_share_rule_id)
		SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[],
			$8::numeric[], $9::numeric[], $10::bigint[], $11::bigint[])`,
		pq.Array(lEnc), pq.Array(lNo), pq.Array(lSvc), pq.Array(lQty), pq.Array(lUnit), pq.Array(lNet), pq.Array(lRate),
		pq.Array(lVat), pq.Array(lAmt), pq.Array(lVer), pq.Array(lRule))
	if err != nil {
		return nil, pg.Translate(err)
	}
	// The claimable shares (positive, in BAM) also wait in unclaimed_shares for their statement.
	_, err = tx.ExecContext(ctx, `
		WITH src AS (
			SELECT * FROM unnest($1::uuid[], $2::int[], $3::smallint[], $4::text[], $5::text[], $6::date[], $7::int[], $8::numeric[], $9::bool[])
				AS t(enc, line, pos, payer, prov, sdate, bp, amt, claimable)
		), ins AS (
			INSERT INTO line_shares (encounter_id, line_no, position, payer_code, provider_code, service_date, basis_points, amount)
			SELECT enc, line, pos, payer, prov, sdate, bp, amt FROM src
			RETURNING id, encounter_id, line_no, position, provider_code, payer_code, service_date, amount)
		INSERT INTO unclaimed_shares (share_id, encounter_id, provider_code, payer_code, service_date, amount)
		SELECT ins.id, ins.encounter_id, ins.provider_code, ins.payer_code, ins.service_date, ins.amount
		FROM ins JOIN src ON src.enc = ins.encounter_id AND src.line = ins.line_no AND src.pos = ins.position
		WHERE src.claimable`,
		pq.Array(sEnc), pq.Array(sLine), pq.Array(sPos), pq.Array(sPayer), pq.Array(sProv), pq.Array(sDate), pq.Array(sBP), pq.Array(sAmt),
		pq.Array(sClaim))
	if err != nil {
		return nil, pg.Translate(err)
	}
	return ids, nil
}

func joinCodes(codes []string) string { return strings.Join(codes, ",") }

// postedEncounter is the posted encounter that holds an external id.
type postedEncounter struct {
	id   string
	hash []byte
}

// externalKey names a provider's external id in the maps of postedByExternalID.
func externalKey(provider, externalID string) string { return provider + "\x00" + externalID }

// postedByExternalID returns the posted encounters that hold the external ids of encs, keyed by
// externalKey. It probes the partial unique index once per encounter: a plain join on unnest
// lets the planner pick a hash join over every posted encounter when the statistics are young,
// and the LIMIT keeps it from flattening the lateral lookup back into such a join.
func postedByExternalID(ctx context.Context, q sqlx.QueryerContext, encs []*Encounter) (map[string]postedEncounter, error) {
	out := map[string]postedEncounter{}
	if len(encs) == 0 {
		return out, nil
	}
	provs, exts := make([]string, len(encs)), make([]string, len(encs))
	for i, e := range encs {
		provs[i], exts[i] = e.ProviderCode, e.ExternalID
	}
	rows, err := q.QueryxContext(ctx, `
		SELECT e.id, e.provider_code, e.external_id, e.content_hash FROM unnest($1::text[], $2::text[]) AS t(prov, ext)
		CROSS JOIN LATERAL (SELECT e.id, e.provider_code, e.external_id, e.content_hash FROM encounters e
			WHERE e.provider_code = t.prov AND e.external_id = t.ext AND e.status = 'posted' LIMIT 1) e`,
		pq.Array(provs), pq.Array(exts))
	if err != nil {
		return nil, fmt.Errorf("find external ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p postedEncounter
		var prov, ext string
		if err := rows.Scan(&p.id, &prov, &ext, &p.hash); err != nil {
			return nil, fmt.Errorf("find external ids: %w", err)
		}
		out[externalKey(prov, ext)] = p
	}
	return out, rows.Err()
}

// checkExisting refuses an external_id the provider already has on a posted encounter:
// ECONFLICT duplicate_external_id naming the existing encounter.
func checkExisting(ctx context.Context, tx *sqlx.Tx, encs []*Encounter, batch bool) error {
	existing, err := postedByExternalID(ctx, tx, encs)
	if err != nil || len(existing) == 0 {
		return err
	}
	var f trcledger.Fields
	first := ""
	for i, e := range encs {
		if p, ok := existing[externalKey(e.ProviderCode, e.ExternalID)]; ok {
			id := p.id
			field := "external_id"
			if batch {
				field = fmt.Sprintf("encounters[%d].external_id", i)
			}
			f.Add(field, "encounter %s already has external_id %s", id, e.ExternalID)
			if first == "" {
				first = id
			}
		}
	}
	return &trcledger.Error{Code: trcledger.ECONFLICT, Reason: "duplicate_external_id",
		Message: "an encounter with this external_id is already posted; void it first to correct it",
		Fields:  f.List(), Extra: map[string]any{"existing_id": first}}
}

// checkCorrections requires that an encounter named in corrects is the same provider's and voided.
func checkCorrections(ctx context.Context, tx *sqlx.Tx, encs []*Encounter, batch bool) error {
	var f trcledger.Fields
	for i, e := range encs {
		if e.Corrects == nil {
			continue
		}
		var row struct {
			Provider string `db:"provider_code"`
			Status   string `db:"status"`
		}
		field := "corrects"
		if batch {
			field = fmt.Sprintf("encounters[%d].corrects", i)
		}
		err := tx.GetContext(ctx, &row, `SELECT provider_code, status FROM encounters WHERE id = $1`, *e.Corrects)
		switch {
		case errors.Is(err, sql.ErrNoRows) || err == nil && row.Provider != e.ProviderCode:
			f.Add(field, "unknown encounter %s", *e.Corrects)
		case err != nil:
			return fmt.Errorf("find corrected encounter: %w", err)
		case row.Status != "voided":
			f.Add(field, "encounter %s is still posted; void it before posting its correction", *e.Corrects)
		}
	}
	return f.Err()
}

// Check validates and prices encounters as a post would, and writes nothing; it returns
// EINVALID naming every bad field (batch: encounters[i].field).
func (s *Service) Check(ctx context.Context, ins []EncounterInput, batch bool) error {
	_, err := s.validate(ctx, s.db, ins, batch)
	return err
}
