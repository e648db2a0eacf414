package claims

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/internal/pg"
)

// Idempotency keys (docs/idempotency.md). A request's digest is never stored as it came: a
// post's body holds the raw patient_id, and a plain SHA-256 of it can be found again by hashing a
// dictionary of case numbers. What is stored is
//
//	request_hash = HMAC-SHA256(requestHashKey(PSEUDONYM_KEY), scope || 0x00 || digest)
//
// where digest is the SHA-256 of the request as the API received it. Keying the digest (and not
// the body) lets rows written before migration 0013, which hold the plain digest, be rekeyed in
// Go without their bodies (RekeyLegacyIdempotencyKeys).

// Idempotency ties a request to the client's key and a digest of what it sent. RequestHash is
// the SHA-256 of the request as received; the services store only a keyed hash of it (Seal),
// never the digest itself.
type Idempotency struct {
	Key         string
	RequestHash []byte

	plain []byte // the digest as received, once RequestHash is keyed (Seal)
}

// PostResult is the answer to a keyed request: Body, the exact JSON of the answer, which a
// retry with the same key receives again (Replayed).
type PostResult struct {
	Body     []byte
	Replayed bool
}

// Keys holds the secret that stored request hashes are keyed with, and runs keyed actions
// (Once) on the database. The services of encounters and statements share one.
type Keys struct {
	db         *sqlx.DB
	requestKey []byte
}

// NewKeys returns the idempotency keys of db, whose request hashes are keyed with a key derived
// from pseudonymKey (the PSEUDONYM_KEY).
func NewKeys(db *sqlx.DB, pseudonymKey []byte) *Keys {
	return &Keys{db: db, requestKey: requestHashKey(pseudonymKey)}
}

// requestHashKey derives the key of stored request hashes from the pseudonym key: one secret to
// keep, and a request hash can never equal a patient key.
func requestHashKey(pseudonymKey []byte) []byte {
	m := hmac.New(sha256.New, pseudonymKey)
	m.Write([]byte("trcledger idempotency request hash v1"))
	return m.Sum(nil)
}

// keyedHash is the stored form of a request digest under scope.
func keyedHash(key []byte, scope string, digest []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write(digest)
	return m.Sum(nil)
}

// Seal replaces the digest of idem by its keyed hash under scope, and keeps the plain digest
// (unexported, never stored) to recognise a row written before migration 0013.
func (k *Keys) Seal(scope string, idem Idempotency) Idempotency {
	if idem.Key == "" || idem.plain != nil {
		return idem
	}
	return Idempotency{Key: idem.Key, RequestHash: keyedHash(k.requestKey, scope, idem.RequestHash), plain: idem.RequestHash}
}

// CallerScope names who a key belongs to: the caller's organisation, or its token when it has
// none (admin, finance).
func CallerScope(ctx context.Context) string {
	p := access.PrincipalFrom(ctx)
	if p.OrgCode != "" {
		return p.OrgCode
	}
	return "token:" + p.TokenID
}

// ActionIdempotency scopes the key of a void or a statement action to the caller and binds it to
// the action and its object: the same key on another action or object is another request (409).
func (k *Keys) ActionIdempotency(ctx context.Context, action, object string, idem Idempotency) (string, Idempotency) {
	scope := "actions:" + CallerScope(ctx)
	if idem.Key == "" {
		return scope, idem
	}
	d := sha256.New()
	fmt.Fprintf(d, "%s\x00%s\x00", action, object)
	d.Write(idem.RequestHash)
	return scope, k.Seal(scope, Idempotency{Key: idem.Key, RequestHash: d.Sum(nil)})
}

// ActionKeyLifetime is how long the answer to a void or a statement action is kept and replayed
// under its Idempotency-Key. After it the answer is dropped (on the caller's next keyed action: a
// statement's answer can be megabytes) but the key, its scope and its request hash are kept, and
// a retry under the key answers ECONFLICT idempotency_key_expired, whatever its body, without
// acting: a late retry of decisions must not re-apply old verdicts over later ones, a late build
// must not refresh the draft. Answers of posts and payments are kept for good: a payment retried
// late must still not pay twice.
const ActionKeyLifetime = 7 * 24 * time.Hour

// keyExpired answers a retry under an action key older than ActionKeyLifetime.
func keyExpired() error {
	return trcledger.Errorf(trcledger.ECONFLICT,
		"this key was used more than %d days ago; its answer is no longer kept — read the object to see its state",
		int(ActionKeyLifetime/(24*time.Hour))).WithReason("idempotency_key_expired")
}

// replayAction is replay for the key of a void or a statement action: a key older than
// ActionKeyLifetime answers keyExpired whatever the request (its answer is gone or about to
// go), and never acts again. Its age is read only when the key exists, so that the first request
// under a key costs no extra query.
func replayAction(ctx context.Context, q sqlx.QueryerContext, scope string, idem Idempotency) (*PostResult, error) {
	res, err := Replay(ctx, q, scope, idem)
	var known *trcledger.Error
	if res == nil && (err == nil || !errors.As(err, &known)) {
		return res, err // no such key, or a failure
	}
	var expired bool
	if err := sqlx.GetContext(ctx, q, &expired, `SELECT created_at < now() - make_interval(secs => $3) FROM idempotency_keys WHERE scope = $1 AND key = $2`,
		scope, idem.Key, ActionKeyLifetime.Seconds()); err != nil {
		return nil, fmt.Errorf("read idempotency key age: %w", err)
	}
	if expired {
		return nil, keyExpired()
	}
	return res, err
}

// Once runs act in one transaction. Under an idempotency key it first claims the key in that
// same transaction and keeps the JSON of answer() with it, so that a crash leaves both or
// neither; the same key with the same request again answers that JSON (Replayed) and does not
// act, with another request ECONFLICT idempotency_key_reused; past ActionKeyLifetime any request
// under the key is ECONFLICT idempotency_key_expired (replayAction). Concurrent requests with
// one key wait for the first to commit and then replay it. A failed action keeps no key.
// Without a key it returns a nil result. Errors: ECONFLICT idempotency_key_reused,
// idempotency_key_in_progress or idempotency_key_expired, and whatever act returns.
func (k *Keys) Once(ctx context.Context, scope string, idem Idempotency, status int, act func(tx *sqlx.Tx) error, answer func() any) (*PostResult, error) {
	if idem.Key == "" {
		return nil, pg.WithTx(ctx, k.db, act)
	}
	// The answers of the caller's expired keys go first (a statement's answer can be megabytes);
	// the keys stay, so that a late retry is refused rather than acted again. Not part of the
	// action: a purge is never undone. Rows another request holds are left for the next time.
	if _, err := k.db.ExecContext(ctx, `UPDATE idempotency_keys SET response = NULL WHERE (scope, key) IN (
			SELECT scope, key FROM idempotency_keys WHERE scope = $1 AND scope LIKE 'actions:%' AND response IS NOT NULL
				AND created_at < now() - make_interval(secs => $2)
			ORDER BY key FOR UPDATE SKIP LOCKED)`,
		scope, ActionKeyLifetime.Seconds()); err != nil {
		return nil, fmt.Errorf("drop expired idempotent answers: %w", err)
	}
	if res, err := replayAction(ctx, k.db, scope, idem); res != nil || err != nil {
		return res, err
	}
	var res *PostResult
	err := pg.WithTx(ctx, k.db, func(tx *sqlx.Tx) error {
		res = nil
		claimed, err := ClaimKey(ctx, tx, scope, idem)
		if err != nil {
			return err
		}
		if !claimed { // a request with this key committed first: answer what it got
			res, err = replayAction(ctx, tx, scope, idem)
			if res == nil && err == nil {
				err = ErrKeyInProgress()
			}
			return err
		}
		if err := act(tx); err != nil {
			return err
		}
		body, err := EncodeAnswer(answer())
		if err != nil {
			return fmt.Errorf("encode answer: %w", err)
		}
		if err := StoreAnswer(ctx, tx, scope, idem.Key, status, body); err != nil {
			return err
		}
		res = &PostResult{Body: body}
		return nil
	})
	return res, err
}

// EncodeAnswer is the JSON of a stored (and replayed) answer, encoded as the API encodes a live
// one (api/json.go encodeJSON): without HTML escaping, so that a note "a<b" is not "a\u003cb",
// and without the newline json.Encoder ends with. A replay is then the bytes the live answer is.
// It fails (without a code) only when v cannot be encoded.
func EncodeAnswer(v any) ([]byte, error) { return trcledger.MarshalJSON(v) }

// Answered is the result of a keyed action: res under a key, else v as JSON. It fails (without
// a code) only when v cannot be encoded.
func Answered(res *PostResult, v any) (*PostResult, error) {
	if res != nil {
		return res, nil
	}
	body, err := EncodeAnswer(v)
	if err != nil {
		return nil, fmt.Errorf("encode answer: %w", err)
	}
	return &PostResult{Body: body}, nil
}

// rekeyBatch is how many legacy keys one transaction of RekeyLegacyIdempotencyKeys rekeys.
const rekeyBatch = 1000

// RekeyLegacyIdempotencyKeys replaces the plain SHA-256 digests that idempotency keys recorded
// before migration 0013 hold by their keyed hash (see Seal), so that no stored hash can be
// matched against a dictionary of case numbers; replays of those keys go on working. It returns
// how many keys it rekeyed; serve runs it before it answers requests. Several processes may run
// it at once. It returns only database failures (no code).
func (k *Keys) RekeyLegacyIdempotencyKeys(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := pg.WithTx(ctx, k.db, func(tx *sqlx.Tx) error {
			var rows []struct {
				Scope string `db:"scope"`
				Key   string `db:"key"`
				Hash  []byte `db:"request_hash"`
			}
			err := tx.SelectContext(ctx, &rows, `SELECT scope, key, request_hash FROM idempotency_keys WHERE NOT keyed
				ORDER BY scope, key LIMIT $1 FOR UPDATE SKIP LOCKED`, rekeyBatch)
			if err != nil {
				return fmt.Errorf("find legacy idempotency keys: %w", err)
			}
			n = len(rows)
			if n == 0 {
				return nil
			}
			scopes, keys, hashes := make([]string, n), make([]string, n), make([][]byte, n)
			for i, r := range rows {
				scopes[i], keys[i], hashes[i] = r.Scope, r.Key, keyedHash(k.requestKey, r.Scope, r.Hash)
			}
			_, err = tx.ExecContext(ctx, `UPDATE idempotency_keys k SET request_hash = r.hash, keyed = true
				FROM unnest($1::text[], $2::text[], $3::bytea[]) AS r(scope, key, hash)
				WHERE k.scope = r.scope AND k.key = r.key AND NOT k.keyed`, pq.Array(scopes), pq.Array(keys), pq.ByteaArray(hashes))
			if err != nil {
				return fmt.Errorf("rekey idempotency keys: %w", err)
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < rekeyBatch {
			return total, nil
		}
	}
}

// The writer's keys (claims/encounters/writer.go). Every post, batch, payment and action claims
// its key here, in the transaction that acts, and keeps its answer here before commit.

// ErrKeyReused answers a key used before with another request: ECONFLICT
// idempotency_key_reused.
func ErrKeyReused() error {
	return trcledger.Errorf(trcledger.ECONFLICT, "this Idempotency-Key was used with a different body").WithReason("idempotency_key_reused")
}

// ErrKeyInProgress answers a key whose first request has not kept its answer: ECONFLICT
// idempotency_key_in_progress.
func ErrKeyInProgress() error {
	return trcledger.Errorf(trcledger.ECONFLICT, "a request with this Idempotency-Key is still in progress; retry").WithReason("idempotency_key_in_progress")
}

// SameRequest compares two request hashes in constant time.
func SameRequest(a, b []byte) bool { return hmac.Equal(a, b) }

// keyRow is a recorded idempotency key.
type keyRow struct {
	Scope    string `db:"scope"`
	Key      string `db:"key"`
	Hash     []byte `db:"request_hash"`
	Response []byte `db:"response"`
	Keyed    bool   `db:"keyed"`
}

// answer is what a request under a recorded key gets: the stored answer (Replayed), or
// ECONFLICT when the key was used with another request. A row written before migration 0013
// (not keyed yet) holds the plain digest.
func (row *keyRow) answer(idem Idempotency) (*PostResult, error) {
	want := idem.RequestHash
	if !row.Keyed && idem.plain != nil {
		want = idem.plain
	}
	if !SameRequest(row.Hash, want) {
		return nil, ErrKeyReused()
	}
	if row.Response == nil {
		return nil, ErrKeyInProgress()
	}
	return &PostResult{Body: row.Response, Replayed: true}, nil
}

// Replay returns the stored answer for the key, nil when the key is unused, and ECONFLICT when
// it was used with another body.
func Replay(ctx context.Context, q sqlx.QueryerContext, scope string, idem Idempotency) (*PostResult, error) {
	var row keyRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT scope, key, request_hash, response, keyed FROM idempotency_keys WHERE scope = $1 AND key = $2`, scope, idem.Key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find idempotency key: %w", err)
	}
	return row.answer(idem)
}

// ClaimKey records the key in the acting transaction. A concurrent request with the same key
// waits here until the first commits (or rolls back), so 50 retries at once act once. It
// reports whether this transaction recorded the key, and returns only database failures.
func ClaimKey(ctx context.Context, tx *sqlx.Tx, scope string, idem Idempotency) (bool, error) {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO idempotency_keys (scope, key, request_hash, keyed) VALUES ($1, $2, $3, true) ON CONFLICT DO NOTHING`,
		scope, idem.Key, idem.RequestHash)
	if err != nil {
		return false, fmt.Errorf("claim idempotency key: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// StoreAnswer keeps the answer of a claimed key, in the transaction that claimed it. It returns
// only database failures.
func StoreAnswer(ctx context.Context, tx *sqlx.Tx, scope, key string, status int, body []byte) error {
	if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND key = $2`, scope, key, status, body); err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	return nil
}

// KeyedJob is one job of a set-based write (the writer of package encounters) as ClaimKeys and
// FinishKeys see it; J is a pointer type.
type KeyedJob interface {
	comparable
	// IdempotencyKey is the job's scope and sealed key; a job without a key has an empty Key.
	IdempotencyKey() (scope string, idem Idempotency)
	// Claimed reports whether ClaimKeys recorded the job's key in this call.
	Claimed() bool
	// SetClaimed notes that ClaimKeys recorded the job's key.
	SetClaimed()
	// Replay answers the job with what its key recorded before (outcome replayed).
	Replay(res *PostResult, err error)
	// StoredAnswer is the job's answer and true when the job was stored.
	StoredAnswer() ([]byte, bool)
}

// ClaimKeys records the keys of the writer's jobs with one statement. A job whose key was
// recorded before is answered here (Replay: its stored answer, ECONFLICT idempotency_key_reused
// for another request or idempotency_key_in_progress). A job whose key an earlier job of the
// same call holds is returned as that job's follower, to be answered after it.
func ClaimKeys[J KeyedJob](ctx context.Context, tx *sqlx.Tx, jobs []J) (map[J]J, error) {
	followers := map[J]J{}
	leaders := map[string]J{}
	var scopes, keys []string
	var hashes [][]byte
	for _, j := range jobs {
		scope, idem := j.IdempotencyKey()
		if idem.Key == "" {
			continue
		}
		k := scope + "\x00" + idem.Key
		if l, ok := leaders[k]; ok {
			followers[j] = l
			continue
		}
		leaders[k] = j
		scopes, keys, hashes = append(scopes, scope), append(keys, idem.Key), append(hashes, idem.RequestHash)
	}
	if len(keys) == 0 {
		return followers, nil
	}
	// In key order, so that two transactions claiming the same keys never wait on each other
	// in a circle.
	rows, err := tx.QueryxContext(ctx, `
		INSERT INTO idempotency_keys (scope, key, request_hash, keyed)
		SELECT *, true FROM unnest($1::text[], $2::text[], $3::bytea[]) ORDER BY 1, 2 ON CONFLICT DO NOTHING
		RETURNING scope, key`, pq.Array(scopes), pq.Array(keys), pq.ByteaArray(hashes))
	if err != nil {
		return nil, fmt.Errorf("claim idempotency keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var scope, key string
		if err := rows.Scan(&scope, &key); err != nil {
			return nil, fmt.Errorf("scan claimed key: %w", err)
		}
		if j, ok := leaders[scope+"\x00"+key]; ok {
			j.SetClaimed()
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim idempotency keys: %w", err)
	}
	var lost []J
	for _, j := range leaders {
		if !j.Claimed() {
			lost = append(lost, j)
		}
	}
	return followers, answerRecorded(ctx, tx, lost)
}

// answerRecorded answers the jobs whose keys were recorded before (outcome replayed).
func answerRecorded[J KeyedJob](ctx context.Context, tx *sqlx.Tx, jobs []J) error {
	if len(jobs) == 0 {
		return nil
	}
	scopes, keys := make([]string, len(jobs)), make([]string, len(jobs))
	for i, j := range jobs {
		scope, idem := j.IdempotencyKey()
		scopes[i], keys[i] = scope, idem.Key
	}
	var rows []keyRow
	err := tx.SelectContext(ctx, &rows, `SELECT k.scope, k.key, k.request_hash, k.response, k.keyed FROM idempotency_keys k
		JOIN unnest($1::text[], $2::text[]) AS r(scope, key) ON k.scope = r.scope AND k.key = r.key`, pq.Array(scopes), pq.Array(keys))
	if err != nil {
		return fmt.Errorf("find idempotency keys: %w", err)
	}
	found := make(map[string]*keyRow, len(rows))
	for i := range rows {
		found[rows[i].Scope+"\x00"+rows[i].Key] = &rows[i]
	}
	for _, j := range jobs {
		scope, idem := j.IdempotencyKey()
		if row := found[scope+"\x00"+idem.Key]; row != nil {
			j.Replay(row.answer(idem))
		} else {
			j.Replay(nil, ErrKeyInProgress())
		}
	}
	return nil
}

// FinishKeys keeps the answers of the stored jobs' keys and gives back the keys of the jobs
// that were not stored, so that a fixed retry can use them: one statement. It returns only
// database failures.
func FinishKeys[J KeyedJob](ctx context.Context, tx *sqlx.Tx, jobs []J) error {
	var scopes, keys, freeScopes, freeKeys []string
	var bodies [][]byte
	for _, j := range jobs {
		if !j.Claimed() {
			continue
		}
		scope, idem := j.IdempotencyKey()
		if body, stored := j.StoredAnswer(); stored {
			scopes, keys, bodies = append(scopes, scope), append(keys, idem.Key), append(bodies, body)
		} else {
			freeScopes, freeKeys = append(freeScopes, scope), append(freeKeys, idem.Key)
		}
	}
	if len(keys)+len(freeKeys) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		WITH answered AS (
			UPDATE idempotency_keys k SET status = 201, response = r.body
			FROM unnest($1::text[], $2::text[], $3::bytea[]) AS r(scope, key, body) WHERE k.scope = r.scope AND k.key = r.key
			RETURNING 1
		), freed AS (
			DELETE FROM idempotency_keys k USING unnest($4::text[], $5::text[]) AS r(scope, key)
			WHERE k.scope = r.scope AND k.key = r.key
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM answered), (SELECT count(*) FROM freed)`,
		pq.Array(scopes), pq.Array(keys), pq.ByteaArray(bodies), pq.Array(freeScopes), pq.Array(freeKeys))
	if err != nil {
		return fmt.Errorf("store idempotent responses: %w", err)
	}
	return nil
}
