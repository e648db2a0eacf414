package encounters

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/ledger"
)

// MaxBatch is the most encounters one batch may hold.
const MaxBatch = 1000

// Idempotency is claims.Idempotency: the client's key and the digest of its request.
type Idempotency = claims.Idempotency

// PostResult is the answer to a post: the encounters, and Body, the exact JSON of the answer,
// which a retry with the same key receives again (Replayed).
type PostResult struct {
	claims.PostResult
	Encounters []*Encounter
}

// keyed is the answer of a key recorded before, as a post's answer (its Encounters are in Body).
func keyed(res *claims.PostResult) *PostResult {
	if res == nil {
		return nil
	}
	return &PostResult{PostResult: *res}
}

// PostEncounter validates, prices, splits and stores one encounter with its ledger transaction,
// all or nothing. It returns EINVALID naming every bad field, ECONFLICT duplicate_external_id
// (with existing_id) or idempotency_key_reused, and replays the first answer for a key used
// again with the same body.
func (s *Service) PostEncounter(ctx context.Context, in EncounterInput, idem Idempotency) (*PostResult, error) {
	return s.post(ctx, []EncounterInput{in}, idem, false)
}

// PostBatch posts up to MaxBatch encounters in one database transaction, all or nothing; errors
// name each bad one by index (encounters[3].lines[0].quantity). It returns the errors of
// PostEncounter, and EINVALID for an empty batch or one of more than MaxBatch.
func (s *Service) PostBatch(ctx context.Context, ins []EncounterInput, idem Idempotency) (*PostResult, error) {
	if len(ins) == 0 || len(ins) > MaxBatch {
		return nil, (&trcledger.Fields{}).AddErr("encounters", "send 1 to %d encounters", MaxBatch)
	}
	return s.post(ctx, ins, idem, true)
}

func idemScope(ctx context.Context) string { return "encounters:" + claims.CallerScope(ctx) }

func (s *Service) post(ctx context.Context, ins []EncounterInput, idem Idempotency, batch bool) (*PostResult, error) {
	scope := idemScope(ctx)
	idem = s.keys.Seal(scope, idem)
	for attempt := 1; ; attempt++ {
		encs, err := s.validate(ctx, s.db, ins, batch)
		if err != nil {
			// The writer answers a key used before; a request it never sees (its contract has
			// been terminated since, say) still gets its first answer.
			if idem.Key != "" {
				if res, rerr := claims.Replay(ctx, s.db, scope, idem); res != nil || rerr != nil {
					res, rerr = s.auditReplay(ctx, res, rerr)
					return keyed(res), rerr
				}
			}
			return nil, err
		}
		// A single post joins the posts that arrive with it (groupcommit.go); a batch is one
		// job of its own, all or nothing: any outcome but stored is the batch's answer.
		job := newJob(ctx, encs, scope, idem, batch)
		if batch {
			err = s.write(ctx, []*writeJob{job})
		} else {
			err = s.postGrouped(ctx, job)
		}
		if err != nil {
			return nil, err
		}
		if job.outcome == outcomeStale && attempt < 3 {
			s.refs.drop() // price again with the contract as it is now
			continue
		}
		res, err := job.answer()
		if err != nil || !res.Replayed {
			return res, err
		}
		if _, err := s.auditReplay(ctx, &res.PostResult, nil); err != nil {
			return nil, err
		}
		return res, nil
	}
}

// errStalePricing says a contract changed after its pricing was read, three times over: a 503,
// since nothing was written and the same request may simply be sent again.
var errStalePricing = trcledger.Errorf(trcledger.EUNAVAILABLE, "the contract's tariff or schedule was being changed while this was priced, and nothing was written; send the same request again with the same Idempotency-Key")

// answer is a post's answer to its job's outcome.
func (j *writeJob) answer() (*PostResult, error) {
	switch j.outcome {
	case outcomeStored:
		if j.res.Body == nil {
			body, err := encodeResult(j.encs, j.batch)
			if err != nil {
				return nil, err
			}
			j.res.Body = body
		}
		return j.res, nil
	case outcomeReplayed:
		return j.res, j.err
	case outcomeStale:
		return nil, errStalePricing
	case outcomeDuplicate, outcomeInvalid:
		return nil, j.err
	}
	return nil, fmt.Errorf("post: the writer left the job without an outcome")
}

func encodeResult(encs []*Encounter, batch bool) ([]byte, error) {
	if batch {
		return claims.EncodeAnswer(struct {
			Encounters []*Encounter `json:"encounters"`
		}{encs})
	}
	return claims.EncodeAnswer(encs[0])
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

// postingTransaction is the ledger transaction of a posted encounter: per payer, debit its
// expense and credit what it owes the provider.
func postingTransaction(e *Encounter) *ledger.Transaction {
	day := e.ServiceDate
	if !e.effectiveDate.Time().IsZero() {
		day = e.effectiveDate
	}
	t := &ledger.Transaction{Kind: "encounter_posted", Reference: "encounter:" + e.ID, EffectiveDate: day}
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

// Check validates and prices encounters as a post would, and writes nothing; it returns
// EINVALID naming every bad field (batch: encounters[i].field).
func (s *Service) Check(ctx context.Context, ins []EncounterInput, batch bool) error {
	_, err := s.validate(ctx, s.db, ins, batch)
	return err
}
