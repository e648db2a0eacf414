package encounters

import (
	"context"
	"errors"
	"fmt"
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
		e.uncap()
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

// writeTx is write's transaction: claim the keys, decide every job, write the stored ones.
func (s *Service) writeTx(ctx context.Context, tx *sqlx.Tx, jobs []*writeJob) error {
	for _, j := range jobs {
		j.reset()
	}
	followers, err := claims.ClaimKeys(ctx, tx, jobs)
	if err != nil {
		return err
	}
	var live []*writeJob
	var encs []*Encounter
	for _, j := range jobs {
		if j.outcome == "" && followers[j] == nil {
			live = append(live, j)
			encs = append(encs, j.encs...)
		}
	}
	stored, txs, err := decide(ctx, tx, live, encs)
	if err != nil {
		return err
	}
	if err := s.writeStored(ctx, tx, stored, txs); err != nil {
		return err
	}
	for j, leader := range followers {
		j.follow(leader)
	}
	return claims.FinishKeys(ctx, tx, jobs)
}

// decide looks at every live job at once (posted external ids, contract revisions,
// corrections) and sets the outcome of each that cannot be stored. It returns the jobs to store,
// their encounters' ids set, and their ledger transactions.
func decide(ctx context.Context, tx *sqlx.Tx, live []*writeJob, encs []*Encounter) ([]*writeJob, []*ledger.Transaction, error) {
	if len(live) == 0 {
		return nil, nil, nil
	}
	posted, err := postedByExternalID(ctx, tx, encs)
	if err != nil {
		return nil, nil, err
	}
	current, err := lockContracts(ctx, tx, encs)
	if err != nil {
		return nil, nil, err
	}
	corrected, err := correctedEncounters(ctx, tx, encs)
	if err != nil {
		return nil, nil, err
	}
	closed, err := closedMonths(ctx, tx, encs)
	if err != nil {
		return nil, nil, err
	}
	caps, err := lockCaps(ctx, tx, encs) // budget ceilings, in posting order (caps.go)
	if err != nil {
		return nil, nil, err
	}
	var stored []*writeJob
	var txs []*ledger.Transaction
	for _, j := range live {
		if j.findDuplicates(posted) {
			continue
		}
		if j.isStale(current) {
			j.outcome = outcomeStale
			continue
		}
		if err := j.checkCorrections(corrected); err != nil {
			j.outcome, j.err = outcomeInvalid, err
			continue
		}
		if err := j.checkPeriods(ctx, tx, closed, corrected); err != nil {
			var terr *trcledger.Error
			if !errors.As(err, &terr) {
				return nil, nil, err
			}
			j.outcome, j.err = outcomeInvalid, err
			continue
		}
		undoCaps := caps.consume(j.encs)
		jtxs, err := j.ledgerTransactions()
		if err != nil {
			undoCaps()
			j.outcome, j.err = outcomeInvalid, err
			continue
		}
		j.outcome = outcomeStored
		j.markCorrections(corrected)
		for _, e := range j.encs {
			posted[externalKey(e.ProviderCode, e.ExternalID)] = postedEncounter{id: e.ID, hash: e.contentHash}
		}
		stored = append(stored, j)
		txs = append(txs, jtxs...)
	}
	return stored, txs, caps.save(ctx, tx)
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

// lockContracts locks the contracts the encounters were priced on against tariff, cost-share
// and status changes until commit, and returns their current revisions.
func lockContracts(ctx context.Context, tx *sqlx.Tx, encs []*Encounter) (map[int64]time.Time, error) {
	seen := map[int64]bool{}
	var ids []int64
	for _, e := range encs {
		if !seen[e.contractID] {
			seen[e.contractID] = true
			ids = append(ids, e.contractID)
		}
	}
	var rows []struct {
		ID        int64     `db:"id"`
		UpdatedAt time.Time `db:"updated_at"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT id, updated_at FROM contracts WHERE id = ANY($1) ORDER BY id FOR KEY SHARE`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("lock contracts: %w", err)
	}
	current := make(map[int64]time.Time, len(rows))
	for _, r := range rows {
		current[r.ID] = r.UpdatedAt
	}
	return current, nil
}

// correctedEncounter is an encounter a correction names.
type correctedEncounter struct {
	ID          string         `db:"id"`
	Provider    string         `db:"provider_code"`
	Status      string         `db:"status"`
	ServiceDate trcledger.Date `db:"service_date"`
	// CorrectedBy is the posted encounter that corrects it already, if any: a voided encounter
	// has at most one live correction (so a closed month cannot be posted into by correcting
	// one voided encounter again and again).
	CorrectedBy *string `db:"corrected_by"`
}

// correctedEncounters reads the encounters that the corrections among encs name.
func correctedEncounters(ctx context.Context, tx *sqlx.Tx, encs []*Encounter) (map[string]correctedEncounter, error) {
	var ids []string
	for _, e := range encs {
		if e.Corrects != nil {
			ids = append(ids, *e.Corrects)
		}
	}
	out := map[string]correctedEncounter{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []correctedEncounter
	if err := tx.SelectContext(ctx, &rows, `SELECT e.id, e.provider_code, e.status, e.service_date,
		(SELECT c.id FROM encounters c WHERE c.corrects = e.id AND c.status = 'posted' LIMIT 1) AS corrected_by
		FROM encounters e WHERE e.id = ANY($1::uuid[])`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("find corrected encounters: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// checkCorrections requires that an encounter named in corrects is the same provider's, voided,
// and not corrected already by a posted encounter (of before, or of this call): EINVALID naming
// each that is not. Once the job is stored, markCorrections records its corrections in
// corrected, for the jobs after it.
func (j *writeJob) checkCorrections(corrected map[string]correctedEncounter) error {
	var f trcledger.Fields
	seen := map[string]bool{}
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
		case c.CorrectedBy != nil || seen[*e.Corrects]:
			f.Add(j.field(i, "corrects"), "encounter %s is corrected already; void that correction to correct it again", *e.Corrects)
		}
		seen[*e.Corrects] = true
	}
	return f.Err()
}

// markCorrections records in corrected that the stored job's encounters correct theirs.
func (j *writeJob) markCorrections(corrected map[string]correctedEncounter) {
	for _, e := range j.encs {
		if e.Corrects != nil {
			c := corrected[*e.Corrects]
			c.CorrectedBy = &e.ID
			corrected[*e.Corrects] = c
		}
	}
}

// closedMonths locks the months of the encounters' service dates shared (claims.ClosedPeriods)
// and returns those that are closed.
func closedMonths(ctx context.Context, tx *sqlx.Tx, encs []*Encounter) (map[string]bool, error) {
	months := make([]string, 0, 4)
	seen := map[string]bool{}
	for _, e := range encs {
		e.effectiveDate = e.ServiceDate
		if m := claims.PeriodOf(e.ServiceDate); !seen[m] {
			seen[m] = true
			months = append(months, m)
		}
	}
	return claims.ClosedPeriods(ctx, tx, months)
}

// checkPeriods refuses (409 period_closed) an encounter dated in a closed month, unless it
// corrects a voided encounter of the same closed month: that correction is booked on the first
// day of the first open month after it (docs/corrections.md). It returns the refusal, or a
// database failure without a code.
func (j *writeJob) checkPeriods(ctx context.Context, tx *sqlx.Tx, closed map[string]bool, corrected map[string]correctedEncounter) error {
	if len(closed) == 0 {
		return nil
	}
	for i, e := range j.encs {
		m := claims.PeriodOf(e.ServiceDate)
		if !closed[m] {
			continue
		}
		if e.Corrects != nil {
			if c, ok := corrected[*e.Corrects]; ok && c.Status == "voided" && claims.PeriodOf(c.ServiceDate) == m {
				day, err := claims.FirstOpenDay(ctx, tx, m)
				if err != nil {
					return err
				}
				e.effectiveDate = day
				continue
			}
		}
		return claims.ErrPeriodClosed(m, j.field(i, "service_date"))
	}
	return nil
}

// writeStored writes the stored jobs: ledger transactions, then encounters with everything
// that hangs on them in one statement, then the audit rows; it sets each job's answer.
func (s *Service) writeStored(ctx context.Context, tx *sqlx.Tx, stored []*writeJob, txs []*ledger.Transaction) error {
	if len(stored) == 0 {
		return nil
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
	if err := insertEncounters(ctx, tx, encs, now); err != nil {
		return err
	}
	if err := access.RecordRows(ctx, tx, audit); err != nil {
		return err
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
	return nil
}
