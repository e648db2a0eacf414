-- +goose Up
-- request_hash used to be a plain SHA-256 of the request body, and a post's body holds the
-- raw patient_id: hashing a dictionary of case numbers would find it. It is now
-- HMAC-SHA256(a key derived from PSEUDONYM_KEY, scope || 0x00 || SHA-256 of the request), see
-- docs/idempotency.md. SQL does not have the key, so this migration only marks the rows written
-- before it (keyed = false); `trcledger serve` rekeys them in Go before it answers a request
-- (claims.Service.RekeyLegacyIdempotencyKeys), and until then a replay accepts them by their
-- plain digest. Rows are written with keyed = true explicitly; the default stays false, so
-- that a row an older binary writes during a rolling deploy is marked legacy too.
ALTER TABLE idempotency_keys ADD COLUMN keyed boolean NOT NULL DEFAULT false;
CREATE INDEX idempotency_keys_legacy_idx ON idempotency_keys (scope, key) WHERE NOT keyed;

-- +goose Down
DROP INDEX idempotency_keys_legacy_idx;
ALTER TABLE idempotency_keys DROP COLUMN keyed;
