package encounters

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
	"github.com/trcledger/trcledger/ledger"
)

// The one writer of encounters (docs/writer.md). Single posts (through the group committer),
// batches and imports hand it jobs; it writes them all in one database transaction, each table
// once, and says per job what became of it. The callers are policies over those outcomes.

// outcome is what the writer made of one job.
type outcome string

const (
	// stored: the job's encounters, lines, shares, claims-queue rows, ledger transactions,
	// report month marks and audit rows are written, and its key (if any) keeps its answer.
	outcomeStored outcome = "stored"
	// replayed: the key was used before; res is its first answer, or err says the key was used
	// with another body (409 idempotency_key_reused) or is still in progress.
	outcomeReplayed outcome = "replayed"
	// duplicate_external_id: an encounter of the job has the external id of a posted encounter
	// (existing names it, per encounter); err is the 409 to answer. Nothing of the job is written.
	outcomeDuplicate outcome = "duplicate_external_id"
	// stale_price: a contract changed after the job was priced: price again and resubmit.
	outcomeStale outcome = "stale_price"
	// invalid: what the job names cannot be written (a correction of an encounter that is not
	// voided, ...); err is the 422 to answer. Nothing of the job is written.
	outcomeInvalid outcome = "invalid"
)

// writeJob is one request's encounters for the writer: a single post (one encounter), a batch
// (all or nothing), or one encounter of an import.
type writeJob struct {
	principal access.Principal
	requestID string
	scope     string      // the idempotency scope (idemScope)
	idem      Idempotency // sealed; Key "" without a key
	encs      []*Encounter
	batch     bool // the answer lists the encounters, and errors name encounters[i]

	outcome  outcome
	res      *PostResult       // stored or replayed: the answer
	err      error             // the answer of the other outcomes, or a replayed 409
	existing []postedEncounter // duplicate_external_id: per encounter, the posted one (id "" if none)
	claimed  bool              // its key was recorded in this transaction
}

func (j *writeJob) reset() {
	j.outcome, j.res, j.err, j.existing, j.claimed = "", nil, nil, nil, false
	for _, e := range j.encs {
		e.ID = ""
	}
}

// IdempotencyKey, Claimed, SetClaimed, Replay and StoredAnswer make a writeJob a
// claims.KeyedJob, for claims.ClaimKeys and claims.FinishKeys.

// IdempotencyKey is the job's scope and sealed key.
func (j *writeJob) IdempotencyKey() (string, Idempotency) { return j.scope, j.idem }

// Claimed reports whether the job's key was recorded in this transaction.
func (j *writeJob) Claimed() bool { return j.claimed }

// SetClaimed notes that the job's key was recorded in this transaction.
func (j *writeJob) SetClaimed() { j.claimed = true }

// Replay answers the job with what its key recorded before.
func (j *writeJob) Replay(res *claims.PostResult, err error) {
	j.outcome, j.res, j.err = outcomeReplayed, keyed(res), err
}

// StoredAnswer is the answer its key keeps, when the job was stored.
func (j *writeJob) StoredAnswer() ([]byte, bool) {
	if j.outcome != outcomeStored {
		return nil, false
	}
	return j.res.Body, true
}

// newJob is a job on behalf of the caller of ctx.
func newJob(ctx context.Context, encs []*Encounter, scope string, idem Idempotency, batch bool) *writeJob {
	return &writeJob{principal: access.PrincipalFrom(ctx), requestID: access.RequestID(ctx), scope: scope, idem: idem, encs: encs, batch: batch}
}

// writeAttempts bounds how often write starts again, without finding more of its external ids
// posted, because another transaction posted one of them after it looked them up. Each attempt
// that finds one more posted starts again freely: there are only so many external ids in a call.
const writeAttempts = 3

// errWriteRaced answers every job of a call that lost the race for its external ids to other
// writers again and again: nothing was written, and the same request may be sent again.
var errWriteRaced = trcledger.Errorf(trcledger.EUNAVAILABLE, "other requests were posting the same external ids at the same moment and nothing was written; send the same request again with the same Idempotency-Key")

// write writes the jobs in one database transaction and sets every job's outcome. It returns an
// error only when the transaction as a whole fails (the database is away, ...): then no job is
// written.
func (s *Service) write(ctx context.Context, jobs []*writeJob) error {
	var err error
	for found, stalls := -1, 0; ; {
		err = pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error { return s.writeTx(ctx, tx, jobs) })
		var terr *trcledger.Error
		if !errors.As(err, &terr) || terr.Reason != "duplicate_external_id" {
			break
		}
		// A concurrent writer committed one of the external ids after the lookup, and the
		// unique index refused it: look again, and that job is answered duplicate_external_id.
		// The database's own duplicate error names no job, so it never reaches a client.
		if n := countOutcome(jobs, outcomeDuplicate); n > found {
			found = n
		} else if stalls++; stalls >= writeAttempts {
			err = errWriteRaced
			break
		}
	}
	if err != nil {
		for _, j := range jobs {
			j.reset()
		}
		return err
	}
	for _, j := range jobs {
		if j.outcome == outcomeStored && s.sealer != nil {
			s.sealer.Kick()
			break
		}
	}
	return nil
}

// countOutcome counts the jobs that an attempt answered o.
func countOutcome(jobs []*writeJob, o outcome) int {
	n := 0
	for _, j := range jobs {
		if j.outcome == o {
			n++
		}
	}
	return n
}

// writeTx is write's transaction: claim the keys and look up what decides every job in one
// statement, decide, write the stored jobs and keep the keys' answers. Without corrections
// among them, the writer's round trips are: BEGIN, that lookup, the ledger append, the
// encounters (with their lines, audit rows and keys' answers), the shares, COMMIT.
func (s *Service) writeTx(ctx context.Context, tx *sqlx.Tx, jobs []*writeJob) error {
	for _, j := range jobs {
		j.reset()
	}
	claim := claims.NewKeyClaim(jobs)
	followers := claim.Followers()
	var encs []*Encounter
	for _, j := range jobs {
		if followers[j] == nil {
			encs = append(encs, j.encs...)
		}
	}
	lk, err := lookup(ctx, tx, claim, encs)
	if err != nil {
		return err
	}
	if err := claim.Finish(ctx, tx); err != nil {
		return err
	}
	var live []*writeJob
	for _, j := range jobs {
		if j.outcome == "" && followers[j] == nil {
			live = append(live, j)
		}
	}
	stored, txs := decide(live, lk)
	if err := s.writeStored(ctx, tx, jobs, stored, txs); err != nil {
		return err
	}
	for j, leader := range followers {
		j.follow(leader)
	}
	return nil
}

// lookups is what decides the jobs: the posted encounters that hold their external ids (keyed
// by externalKey), the current revisions of their contracts, and the encounters their
// corrections name.
type lookups struct {
	posted    map[string]postedEncounter
	current   map[int64]time.Time
	corrected map[string]correctedEncounter
}

// lookupQuery claims the keys ($1-$3, claims.KeyClaimCTEs) and, in the same statement:
//   - looks up the external ids that are posted already ($4, $5). It probes the partial unique
//     index once per encounter: a plain join on unnest lets the planner pick a hash join over
//     every posted encounter when the statistics are young, and the LIMIT keeps it from
//     flattening the lateral lookup back into such a join;
//   - locks the contracts ($6) against tariff, cost-share and status changes until commit, in id
//     order and after the keys (the gate on claimed), and reads their revisions;
//   - reads the encounters that corrections name ($7).
//
// Its rows are tagged. All its parts read one snapshot: an external id posted while the claim
// waited for a key is not seen, and the unique index refuses it at insert (write starts again).
const lookupQuery = `
WITH ` + claims.KeyClaimCTEs + `, locked AS (
	SELECT id, updated_at FROM contracts WHERE id = ANY($6::bigint[]) AND (SELECT count(*) FROM claimed) >= 0
	ORDER BY id FOR KEY SHARE
)
` + claims.KeyClaimRows + `
UNION ALL SELECT 'posted', e.id::text, e.provider_code, e.external_id, e.content_hash, NULL, NULL, NULL
	FROM unnest($4::text[], $5::text[]) AS t(prov, ext)
	CROSS JOIN LATERAL (SELECT e.id, e.provider_code, e.external_id, e.content_hash FROM encounters e
		WHERE e.provider_code = t.prov AND e.external_id = t.ext AND e.status = 'posted' LIMIT 1) e
UNION ALL SELECT 'contract', id::text, NULL, NULL, NULL, NULL, NULL, updated_at FROM locked
UNION ALL SELECT 'corrected', id::text, provider_code, status::text, NULL, NULL, NULL, NULL FROM encounters WHERE id = ANY($7::uuid[])`

// lookup runs lookupQuery for the claim and the encounters.
func lookup(ctx context.Context, tx *sqlx.Tx, claim *claims.KeyClaim[*writeJob], encs []*Encounter) (*lookups, error) {
	lk := &lookups{posted: map[string]postedEncounter{}, current: map[int64]time.Time{}, corrected: map[string]correctedEncounter{}}
	provs, exts := make([]string, len(encs)), make([]string, len(encs))
	seen := map[int64]bool{}
	var contractIDs []int64
	var corrects []string
	for i, e := range encs {
		provs[i], exts[i] = e.ProviderCode, e.ExternalID
		if !seen[e.contractID] {
			seen[e.contractID] = true
			contractIDs = append(contractIDs, e.contractID)
		}
		if e.Corrects != nil {
			corrects = append(corrects, *e.Corrects)
		}
	}
	args := append(claim.Args(), pq.Array(provs), pq.Array(exts), pq.Array(contractIDs), pq.Array(corrects))
	rows, err := tx.QueryContext(ctx, lookupQuery, args...)
	if err != nil {
		return nil, fmt.Errorf("claim keys and look up: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tag string
		var a, b, c sql.NullString
		var h, r []byte
		var f sql.NullBool
		var t sql.NullTime
		if err := rows.Scan(&tag, &a, &b, &c, &h, &r, &f, &t); err != nil {
			return nil, fmt.Errorf("claim keys and look up: %w", err)
		}
		if claim.Row(tag, a.String, b.String, h, r, f.Bool) {
			continue
		}
		switch tag {
		case "posted":
			lk.posted[externalKey(b.String, c.String)] = postedEncounter{id: a.String, hash: h}
		case "contract":
			id, err := strconv.ParseInt(a.String, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("claim keys and look up: contract id %q: %w", a.String, err)
			}
			lk.current[id] = t.Time
		case "corrected":
			lk.corrected[a.String] = correctedEncounter{ID: a.String, Provider: b.String, Status: c.String}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim keys and look up: %w", err)
	}
	return lk, nil
}

// decide looks at every live job at once (posted external ids, contract revisions,
// corrections) and sets the outcome of each that cannot be stored. It returns the jobs to store,
// their encounters' ids set, and their ledger transactions.
func decide(live []*writeJob, lk *lookups) ([]*writeJob, []*ledger.Transaction) {
	var stored []*writeJob
	var txs []*ledger.Transaction
	for _, j := range live {
		if j.findDuplicates(lk.posted) {
			continue
		}
		if j.isStale(lk.current) {
			j.outcome = outcomeStale
			continue
		}
		if err := j.checkCorrections(lk.corrected); err != nil {
			j.outcome, j.err = outcomeInvalid, err
			continue
		}
		jtxs, err := j.ledgerTransactions()
		if err != nil {
			j.outcome, j.err = outcomeInvalid, err
			continue
		}
		j.outcome = outcomeStored
		for _, e := range j.encs {
			lk.posted[externalKey(e.ProviderCode, e.ExternalID)] = postedEncounter{id: e.ID, hash: e.contentHash}
		}
		stored = append(stored, j)
		txs = append(txs, jtxs...)
	}
	return stored, txs
}

// findDuplicates sets the outcome duplicate_external_id when an encounter's external id is
// posted already (or by an earlier job of this call).
func (j *writeJob) findDuplicates(posted map[string]postedEncounter) bool {
	found := false
	j.existing = make([]postedEncounter, len(j.encs))
	for i, e := range j.encs {
		if p, ok := posted[externalKey(e.ProviderCode, e.ExternalID)]; ok {
			j.existing[i], found = p, true
		}
	}
	if !found {
		j.existing = nil
		return false
	}
	j.outcome, j.err = outcomeDuplicate, duplicateError(j.encs, j.existing, j.batch)
	return true
}

// isStale reports whether a contract of the job changed since the job was priced.
func (j *writeJob) isStale(current map[int64]time.Time) bool {
	for _, e := range j.encs {
		if !current[e.contractID].Equal(e.contractRev) {
			return true
		}
	}
	return false
}

// ledgerTransactions are the job's ledger transactions, one per encounter, its ids set.
func (j *writeJob) ledgerTransactions() ([]*ledger.Transaction, error) {
	txs := make([]*ledger.Transaction, len(j.encs))
	var f trcledger.Fields
	for i, e := range j.encs {
		e.ID = claims.NewUUID()
		txs[i] = postingTransaction(e)
		if err := ledger.Validate(txs[i]); err != nil {
			var terr *trcledger.Error
			if !errors.As(err, &terr) {
				return nil, err
			}
			f.Merge(j.field(i, "ledger_transaction"), terr.Fields)
		}
	}
	if err := f.Err(); err != nil {
		for _, e := range j.encs {
			e.ID = ""
		}
		return nil, err
	}
	return txs, nil
}

// field names a field of the job's i-th encounter in an error.
func (j *writeJob) field(i int, name string) string {
	if j.batch {
		return fmt.Sprintf("encounters[%d].%s", i, name)
	}
	return name
}

// follow answers a job whose key an earlier job of the same call holds: the same request gets
// what that one got, another request 409.
func (j *writeJob) follow(leader *writeJob) {
	switch {
	case !claims.SameRequest(j.idem.RequestHash, leader.idem.RequestHash):
		j.outcome, j.err = outcomeReplayed, claims.ErrKeyReused()
	case leader.outcome == outcomeStored:
		j.outcome, j.res = outcomeReplayed, keyed(&claims.PostResult{Body: leader.res.Body, Replayed: true})
	default:
		j.outcome, j.res, j.err, j.existing = leader.outcome, leader.res, leader.err, leader.existing
	}
}

// duplicateError is the 409 duplicate_external_id of encounters whose external ids are posted
// already (existing[i].id != ""), naming each and the first existing encounter.
func duplicateError(encs []*Encounter, existing []postedEncounter, batch bool) error {
	var f trcledger.Fields
	first := ""
	for i, p := range existing {
		if p.id == "" {
			continue
		}
		field := "external_id"
		if batch {
			field = fmt.Sprintf("encounters[%d].external_id", i)
		}
		f.Add(field, "encounter %s already has external_id %s", p.id, encs[i].ExternalID)
		if first == "" {
			first = p.id
		}
	}
	return &trcledger.Error{Code: trcledger.ECONFLICT, Reason: "duplicate_external_id",
		Message: "an encounter with this external_id is already posted; void it first to correct it",
		Fields:  f.List(), Extra: map[string]any{"existing_id": first}}
}

// correctedEncounter is an encounter a correction names.
type correctedEncounter struct {
	ID       string `db:"id"`
	Provider string `db:"provider_code"`
	Status   string `db:"status"`
}

// checkCorrections requires that an encounter named in corrects is the same provider's and
// voided: EINVALID naming each that is not.
func (j *writeJob) checkCorrections(corrected map[string]correctedEncounter) error {
	var f trcledger.Fields
	for i, e := range j.encs {
		if e.Corrects == nil {
			continue
		}
		c, ok := corrected[*e.Corrects]
		switch {
		case !ok || c.Provider != e.ProviderCode:
			f.Add(j.field(i, "corrects"), "unknown encounter %s", *e.Corrects)
		case c.Status != "voided":
			f.Add(j.field(i, "corrects"), "encounter %s is still posted; void it before posting its correction", *e.Corrects)
		}
	}
	return f.Err()
}

// writeStored writes the stored jobs: ledger transactions, then encounters with their lines,
// audit rows and the keys' answers (and the keys given back) in one statement, then the shares;
// it sets each job's answer. Without a stored job it only gives the claimed keys back.
func (s *Service) writeStored(ctx context.Context, tx *sqlx.Tx, jobs, stored []*writeJob, txs []*ledger.Transaction) error {
	if len(stored) == 0 {
		return claims.FinishKeys(ctx, tx, jobs)
	}
	now := s.now().UTC()
	for _, t := range txs {
		t.CreatedAt = trcledger.TimeOf(now)
	}
	if err := ledger.Append(ctx, tx, txs); err != nil {
		return err
	}
	var encs []*Encounter
	var audit []access.AuditRow
	for _, j := range stored {
		for _, e := range j.encs {
			e.CreatedAt = trcledger.TimeOf(now)
			encs = append(encs, e)
			audit = append(audit, access.AuditRow{Principal: j.principal, RequestID: j.requestID, Action: "post", ObjectType: "encounter", ObjectID: e.ID})
		}
	}
	for i, e := range encs {
		e.LedgerTransactionID = txs[i].ID
	}
	for _, j := range stored {
		j.res = &PostResult{Encounters: j.encs}
		if j.claimed { // the key keeps the answer; others are encoded by their caller, in parallel
			body, err := encodeResult(j.encs, j.batch)
			if err != nil {
				return err
			}
			j.res.Body = body
		}
	}
	keys, _ := claims.FinishKeysArgs(jobs)
	return insertEncounters(ctx, tx, encs, now, access.AuditRowsArgs(audit), keys)
}
