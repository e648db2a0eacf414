-- +goose Up
-- Issue 15 item 3: monthly bulletins (docs/bulletins-and-payer-report.md). A bulletin freezes
-- the transition report rows of one month as they were answered at publication, with the head
-- of the ledger's hash chain at that moment (position, transaction and hash). One per month;
-- never changed or removed: later changes of the month are shown beside it as a restatement,
-- computed when it is read.
CREATE TABLE bulletins (
    period               text        NOT NULL,
    published_at         timestamptz NOT NULL,
    published_by         text        NOT NULL,
    chain_position       bigint      NOT NULL,
    chain_transaction_id bigint,
    chain_head           bytea       NOT NULL,
    items                jsonb       NOT NULL,
    -- SHA-256 of the items exactly as they were published (their JSON), so a bulletin whose
    -- rows were altered under the append-only trigger is detected by its verify.
    items_hash           bytea       NOT NULL,
    CONSTRAINT bulletins_pkey PRIMARY KEY (period),
    CONSTRAINT bulletins_period_check CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    CONSTRAINT bulletins_chain_check CHECK (chain_position >= 0 AND octet_length(chain_head) = 32
        AND (chain_position = 0) = (chain_transaction_id IS NULL)),
    CONSTRAINT bulletins_items_hash_check CHECK (octet_length(items_hash) = 32)
);
CREATE TRIGGER bulletins_append_only BEFORE UPDATE OR DELETE ON bulletins
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER bulletins_no_truncate BEFORE TRUNCATE ON bulletins
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- +goose Down
DROP TABLE bulletins;
