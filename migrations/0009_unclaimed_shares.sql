-- +goose Up
-- The shares waiting for a statement. Building a month's statement used to scan every share of
-- the provider and payer up to the month's end and skip those already on a live statement, so
-- each month cost more than the one before. This work queue holds exactly the claimable shares
-- (positive, of posted BAM encounters, on no live statement line):
--   posting adds its shares, building a statement takes them, refreshing or cancelling a draft
--   puts them back, voiding an encounter takes its shares out.
-- It is derived state, rebuilt from line_shares and statement_lines by this migration; the tests
-- compare it with that definition after every kind of change.

-- Servers of an earlier version must be stopped before this runs: they would post, void, build
-- and cancel without keeping the queue. The lock keeps any writer out while it is filled.
LOCK TABLE encounters, line_shares, statement_lines IN SHARE MODE;

CREATE TABLE unclaimed_shares (
    share_id      bigint        NOT NULL,
    encounter_id  uuid          NOT NULL,
    provider_code text          NOT NULL,
    payer_code    text          NOT NULL,
    service_date  date          NOT NULL,
    amount        numeric(18,2) NOT NULL,
    CONSTRAINT unclaimed_shares_amount_check CHECK (amount > 0)
);
CREATE UNIQUE INDEX unclaimed_shares_claim_key ON unclaimed_shares (provider_code, payer_code, service_date, share_id);

INSERT INTO unclaimed_shares (share_id, encounter_id, provider_code, payer_code, service_date, amount)
SELECT sh.id, sh.encounter_id, sh.provider_code, sh.payer_code, sh.service_date, sh.amount
FROM line_shares sh JOIN encounters e ON e.id = sh.encounter_id
WHERE e.status = 'posted' AND e.currency = 'BAM' AND sh.amount > 0
  AND NOT EXISTS (SELECT 1 FROM statement_lines l WHERE l.share_id = sh.id AND l.live);

CREATE TRIGGER unclaimed_shares_no_truncate BEFORE TRUNCATE ON unclaimed_shares FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- +goose Down
DROP TABLE unclaimed_shares;
