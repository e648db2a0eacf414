package claims

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
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

// seal replaces the digest of idem by its keyed hash under scope, and keeps the plain digest
// (unexported, never stored) to recognise a row written before migration 0013.
func (s *Service) seal(scope string, idem Idempotency) Idempotency {
	if idem.Key == "" || idem.plain != nil {
		return idem
	}
	return Idempotency{Key: idem.Key, RequestHash: keyedHash(s.requestKey, scope, idem.RequestHash), plain: idem.RequestHash}
}

// callerScope names who a key belongs to: the caller's organisation, or its token when it has
// none (admin, finance).
func callerScope(ctx context.Context) string {
	p := access.PrincipalFrom(ctx)
	if p.OrgCode != "" {
		return p.OrgCode
	}
	return "token:" + p.TokenID
}

// actionIdempotency scopes the key of a void or a statement action to the caller and binds it to
// the action and its object: the same key on another action or object is another request (409).
func (s *Service) actionIdempotency(ctx context.Context, action, object string, idem Idempotency) (string, Idempotency) {
	scope := "actions:" + callerScope(ctx)
	if idem.Key == "" {
		return scope, idem
	}
	d := sha256.New()
	fmt.Fprintf(d, "%s\x00%s\x00", action, object)
	d.Write(idem.RequestHash)
	return scope, s.seal(scope, Idempotency{Key: idem.Key, RequestHash: d.Sum(nil)})
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
	res, err := replay(ctx, q, scope, idem)
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

// once runs act in one transaction. Under an idempotency key it first claims the key in that
// same transaction and keeps the JSON of answer() with it, so that a crash leaves both or
// neither; the same key with the same request again answers that JSON (Replayed) and does not
// act, with another request ECONFLICT idempotency_key_reused; past ActionKeyLifetime any request
// under the key is ECONFLICT idempotency_key_expired (replayAction). Concurrent requests with
// one key wait for the first to commit and then replay it. A failed action keeps no key.
// Without a key it returns a nil result.
func (s *Service) once(ctx context.Context, scope string, idem Idempotency, status int, act func(tx *sqlx.Tx) error, answer func() any) (*PostResult, error) {
	if idem.Key == "" {
		return nil, pg.WithTx(ctx, s.db, act)
	}
	// The answers of the caller's expired keys go first (a statement's answer can be megabytes);
	// the keys stay, so that a late retry is refused rather than acted again. Not part of the
	// action: a purge is never undone. Rows another request holds are left for the next time.
	if _, err := s.db.ExecContext(ctx, `UPDATE idempotency_keys SET response = NULL WHERE (scope, key) IN (
			SELECT scope, key FROM idempotency_keys WHERE scope = $1 AND scope LIKE 'actions:%' AND response IS NOT NULL
				AND created_at < now() - make_interval(secs => $2)
			ORDER BY key FOR UPDATE SKIP LOCKED)`,
		scope, ActionKeyLifetime.Seconds()); err != nil {
		return nil, fmt.Errorf("drop expired idempotent answers: %w", err)
	}
	if res, err := replayAction(ctx, s.db, scope, idem); res != nil || err != nil {
		return res, err
	}
	var res *PostResult
	err := pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		res = nil
		claimed, err := claimKey(ctx, tx, scope, idem)
		if err != nil {
			return err
		}
		if !claimed { // a request with this key committed first: answer what it got
			res, err = replayAction(ctx, tx, scope, idem)
			if res == nil && err == nil {
				err = trcledger.Errorf(trcledger.ECONFLICT, "a request with this Idempotency-Key is still in progress; retry").WithReason("idempotency_key_in_progress")
			}
			return err
		}
		if err := act(tx); err != nil {
			return err
		}
		body, err := encodeAnswer(answer())
		if err != nil {
			return fmt.Errorf("encode answer: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND key = $2`, scope, idem.Key, status, body); err != nil {
			return fmt.Errorf("store idempotent response: %w", err)
		}
		res = &PostResult{Body: body}
		return nil
	})
	return res, err
}

// encodeAnswer is the JSON of a stored (and replayed) answer, encoded as the API encodes a live
// one (api/json.go encodeJSON): without HTML escaping, so that a note "a<b" is not "a\u003cb",
// and without the newline json.Encoder ends with. A replay is then the bytes the live answer is.
func encodeAnswer(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// answered is the result of a keyed action: res under a key, else v as JSON.
func answered(res *PostResult, v any) (*PostResult, error) {
	if res != nil {
		return res, nil
	}
	body, err := encodeAnswer(v)
	if err != nil {
		return nil, fmt.Errorf("encode answer: %w", err)
	}
	return &PostResult{Body: body}, nil
}

// rekeyBatch is how many legacy keys one transaction of RekeyLegacyIdempotencyKeys rekeys.
const rekeyBatch = 1000

// RekeyLegacyIdempotencyKeys replaces the plain SHA-256 digests that idempotency keys recorded
// before migration 0013 hold by their keyed hash (see seal), so that no stored hash can be
// matched against a dictionary of case numbers; replays of those keys go on working. It returns
// how many keys it rekeyed; serve runs it before it answers requests. Several processes may run
// it at once.
func (s *Service) RekeyLegacyIdempotencyKeys(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := pg.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
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
				scopes[i], keys[i], hashes[i] = r.Scope, r.Key, keyedHash(s.requestKey, r.Scope, r.Hash)
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
