package claims

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// Group commit: single posts that arrive together share one database transaction (and so one
// commit, one fsync, one statement per table), as DESIGN.md section 9 asks. Each post is checked
// on its own inside the shared transaction; one that fails (a duplicate external_id, a stale
// price) is answered on its own and leaves the others to commit.

// maxGroup is the most posts one shared transaction takes.
const maxGroup = 128

type postJob struct {
	encs      []*Encounter
	idem      Idempotency
	scope     string
	principal access.Principal
	requestID string
	done      chan postOutcome

	claimed bool  // its idempotency key was recorded in the shared transaction
	err     error // why it is not in the shared commit
	body    []byte
}

type postOutcome struct {
	res *PostResult
	err error
}

// committer runs the shared transactions, one at a time: while one commits, the next group
// gathers. (Three at once were measured: no faster, the two CPUs are the limit, not waiting.)
type committer struct {
	svc  *Service
	jobs chan *postJob
}

func (s *Service) startCommitter() {
	s.group = &committer{svc: s, jobs: make(chan *postJob, 4*maxGroup)}
	go s.group.run()
}

func (c *committer) run() {
	for first := range c.jobs {
		jobs := []*postJob{first}
	gather:
		for len(jobs) < maxGroup {
			select {
			case j := <-c.jobs:
				jobs = append(jobs, j)
			default:
				break gather
			}
		}
		c.svc.commitGroup(jobs)
	}
}

// postGrouped hands validated encounters to the committer and waits for their answer.
func (s *Service) postGrouped(ctx context.Context, encs []*Encounter, idem Idempotency, scope string) (*PostResult, error) {
	job := &postJob{encs: encs, idem: idem, scope: scope, principal: access.PrincipalFrom(ctx),
		requestID: access.RequestID(ctx), done: make(chan postOutcome, 1)}
	select {
	case s.group.jobs <- job:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := <-job.done // once handed over, the post is answered whatever the client does
	return out.res, out.err
}

// commitGroup posts the jobs in one transaction, answers each, and falls back to one
// transaction per job if the shared one fails as a whole.
func (s *Service) commitGroup(jobs []*postJob) {
	ctx := context.Background()
	err := pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		for _, j := range jobs {
			j.claimed, j.err, j.body = false, nil, nil
		}
		return s.writeGroup(ctx, tx, jobs)
	})
	if err != nil {
		for _, j := range jobs {
			res, err := s.postAlone(j)
			j.done <- postOutcome{res, err}
		}
		return
	}
	if s.sealer != nil {
		s.sealer.Kick()
	}
	for _, j := range jobs {
		switch {
		case errors.Is(j.err, errAlone):
			res, err := s.postAlone(j)
			j.done <- postOutcome{res, err}
		case j.err != nil:
			j.done <- postOutcome{nil, j.err}
		case j.body != nil:
			j.done <- postOutcome{&PostResult{Encounters: j.encs, Body: j.body}, nil}
		default: // its key was taken by a post that committed first: answer what that one got
			res, err := replay(ctx, s.db, j.scope, j.idem)
			if res == nil && err == nil { // the key's first post failed in this group: try alone
				res, err = s.postAlone(j)
			}
			j.done <- postOutcome{res, err}
		}
	}
}

// postAlone posts one job in its own transaction, as a post without group commit does.
func (s *Service) postAlone(j *postJob) (*PostResult, error) {
	ctx := access.WithRequestID(access.WithPrincipal(context.Background(), j.principal), j.requestID)
	return s.postInTx(ctx, j.encs, j.idem, j.scope, false)
}

// writeGroup is the shared transaction: claim keys, check every job, write the good ones.
func (s *Service) writeGroup(ctx context.Context, tx *sqlx.Tx, jobs []*postJob) error {
	if err := claimKeys(ctx, tx, jobs); err != nil {
		return err
	}
	var live []*postJob
	for _, j := range jobs {
		if j.claimed || j.idem.Key == "" {
			live = append(live, j)
		}
	}
	// Each check looks at every job at once and fails only the jobs it concerns.
	var encs []*Encounter
	for _, j := range live {
		encs = append(encs, j.encs...)
	}
	stale, err := stalePricing(ctx, tx, encs)
	if err != nil {
		return err
	}
	taken := map[string]string{}
	if err := existingIDs(ctx, tx, encs, taken); err != nil {
		return err
	}
	var good []*postJob
	encs = encs[:0]
	for _, j := range live {
		e := j.encs[0]
		key := externalKey(e.ProviderCode, e.ExternalID)
		switch {
		case stale[e.contractID]:
			j.err = errStalePricing
		case taken[key] != "":
			j.err = duplicateError(taken[key], e.ExternalID)
		case e.Corrects != nil:
			j.err = errAlone // corrections are rare: they take the single path with its checks
		default:
			e.ID = newUUID()
			taken[key] = e.ID
			good = append(good, j)
			encs = append(encs, e)
		}
	}
	now := s.now().UTC()
	var audit []access.AuditRow
	if len(encs) > 0 {
		if _, err := writeEncounters(ctx, tx, encs, now); err != nil {
			return err
		}
	}
	var scopes, keys []string
	var bodies [][]byte
	for _, j := range good {
		body, err := encodeResult(j.encs, false)
		if err != nil {
			return err
		}
		j.body = body
		audit = append(audit, access.AuditRow{Principal: j.principal, RequestID: j.requestID, Action: "post", ObjectType: "encounter", ObjectID: j.encs[0].ID})
		if j.claimed {
			scopes, keys, bodies = append(scopes, j.scope), append(keys, j.idem.Key), append(bodies, body)
		}
	}
	if err := access.RecordRows(ctx, tx, audit); err != nil {
		return err
	}
	if len(keys) > 0 {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys k SET status = 201, response = r.body
			FROM unnest($1::text[], $2::text[], $3::bytea[]) AS r(scope, key, body) WHERE k.scope = r.scope AND k.key = r.key`,
			pq.Array(scopes), pq.Array(keys), pq.ByteaArray(bodies))
		if err != nil {
			return fmt.Errorf("store idempotent responses: %w", err)
		}
	}
	// Keys of jobs that failed are given back, so that a fixed retry can use them.
	var freeScopes, freeKeys []string
	for _, j := range live {
		if j.err != nil && j.claimed {
			freeScopes, freeKeys = append(freeScopes, j.scope), append(freeKeys, j.idem.Key)
		}
	}
	if len(freeKeys) > 0 {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys k USING unnest($1::text[], $2::text[]) AS r(scope, key)
			WHERE k.scope = r.scope AND k.key = r.key`, pq.Array(freeScopes), pq.Array(freeKeys))
		if err != nil {
			return fmt.Errorf("free idempotency keys: %w", err)
		}
	}
	return nil
}

// errAlone marks a job that is posted in its own transaction after the shared one.
var errAlone = errors.New("post alone")

// claimKeys records the idempotency keys of the jobs; a job whose key is already recorded (by
// an earlier post, or by another job of this group) is answered with the stored response.
func claimKeys(ctx context.Context, tx *sqlx.Tx, jobs []*postJob) error {
	var scopes, keys []string
	var hashes [][]byte
	for _, j := range jobs {
		if j.idem.Key != "" {
			scopes, keys, hashes = append(scopes, j.scope), append(keys, j.idem.Key), append(hashes, j.idem.RequestHash)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	rows, err := tx.QueryxContext(ctx, `
		INSERT INTO idempotency_keys (scope, key, request_hash, keyed)
		SELECT *, true FROM unnest($1::text[], $2::text[], $3::bytea[]) ORDER BY 1, 2 ON CONFLICT DO NOTHING
		RETURNING scope, key`, pq.Array(scopes), pq.Array(keys), pq.ByteaArray(hashes))
	if err != nil {
		return fmt.Errorf("claim idempotency keys: %w", err)
	}
	defer rows.Close()
	won := map[string]bool{}
	for rows.Next() {
		var scope, key string
		if err := rows.Scan(&scope, &key); err != nil {
			return fmt.Errorf("scan claimed key: %w", err)
		}
		won[scope+"\x00"+key] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, j := range jobs {
		k := j.scope + "\x00" + j.idem.Key
		if j.idem.Key != "" && won[k] {
			j.claimed = true
			delete(won, k) // a second job with the same key replays the first
		}
	}
	return nil
}

// stalePricing locks the contracts of the encounters (see checkPricing) and returns those that
// changed since their pricing was read.
func stalePricing(ctx context.Context, tx *sqlx.Tx, encs []*Encounter) (map[int64]bool, error) {
	stale := map[int64]bool{}
	if len(encs) == 0 {
		return stale, nil
	}
	err := checkPricing(ctx, tx, encs)
	if !errors.Is(err, errStalePricing) {
		return stale, err
	}
	// Find which: compare each encounter's revision.
	var rows []struct {
		ID        int64     `db:"id"`
		UpdatedAt time.Time `db:"updated_at"`
	}
	ids := make([]int64, 0, len(encs))
	for _, e := range encs {
		ids = append(ids, e.contractID)
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT id, updated_at FROM contracts WHERE id = ANY($1)`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("read contract revisions: %w", err)
	}
	current := map[int64]time.Time{}
	for _, r := range rows {
		current[r.ID] = r.UpdatedAt
	}
	for _, e := range encs {
		if !current[e.contractID].Equal(e.contractRev) {
			stale[e.contractID] = true
		}
	}
	return stale, nil
}

// existingIDs fills taken with the posted encounters that already hold the external ids.
func existingIDs(ctx context.Context, tx *sqlx.Tx, encs []*Encounter, taken map[string]string) error {
	existing, err := postedByExternalID(ctx, tx, encs)
	for k, p := range existing {
		taken[k] = p.id
	}
	return err
}

func duplicateError(existing, ext string) error {
	return &trcledger.Error{Code: trcledger.ECONFLICT, Reason: "duplicate_external_id",
		Message: "an encounter with this external_id is already posted; void it first to correct it",
		Fields:  []trcledger.FieldError{{Field: "external_id", Message: fmt.Sprintf("encounter %s already has external_id %s", existing, ext)}},
		Extra:   map[string]any{"existing_id": existing}}
}
