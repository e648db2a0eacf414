-- +goose Up
-- The generic append-only double-entry journal: transactions, their signed postings (debit
-- positive, credit negative), the hash chain that seals them, and daily totals per account that
-- the sealer rolls up so balances never have to sum millions of postings.
--
-- Writers only INSERT transactions and postings; nothing here serialises them. One sealer at a
-- time (an advisory lock, see ledger/journal.go) appends chain links and rolls up the totals.

CREATE TABLE ledger_transactions (
    id             bigint      GENERATED ALWAYS AS IDENTITY,
    kind           text        NOT NULL,
    reference      text        NOT NULL,
    effective_date date        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- The top-level transaction id of the writer: lets the sealer find what it has not sealed
    -- yet by looking only at writers that were running or not yet started at its last seal.
    -- Not business data, not part of the hash.
    xact_id        xid8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT ledger_transactions_pkey PRIMARY KEY (id),
    CONSTRAINT ledger_transactions_kind_check CHECK (kind <> ''),
    CONSTRAINT ledger_transactions_reference_check CHECK (reference <> '')
);
CREATE INDEX ledger_transactions_reference_idx ON ledger_transactions (reference, id);
CREATE INDEX ledger_transactions_xact_id_idx ON ledger_transactions (xact_id);

-- Postings of one transaction are always inserted by one statement (ledger.Append).
-- transaction_id references ledger_transactions (id): checked once per INSERT statement by the
-- trigger below (constraint name ledger_postings_transaction_id_fkey) rather than by a
-- FOREIGN KEY, whose per-row trigger cost as much as the insert itself; transactions can
-- never be deleted, so checking the inserted side is all a foreign key would do.
CREATE TABLE ledger_postings (
    transaction_id bigint        NOT NULL,
    line           integer       NOT NULL,
    account        text          COLLATE "C" NOT NULL,
    currency       text          NOT NULL,
    amount         numeric(18,2) NOT NULL,
    -- Copied from the transaction (checked by the trigger below), for queries by date.
    effective_date date          NOT NULL,
    CONSTRAINT ledger_postings_pkey PRIMARY KEY (transaction_id, line),
    CONSTRAINT ledger_postings_account_check CHECK (account <> ''),
    CONSTRAINT ledger_postings_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT ledger_postings_amount_check CHECK (amount <> 0)
);
CREATE INDEX ledger_postings_account_idx ON ledger_postings (account, transaction_id);

-- Every transaction of an INSERT of postings exists, balances per currency, and its postings
-- carry its date: one query per statement over its transition table, rather than a trigger (or
-- a foreign key) per row. The planner settings make it probe ledger_transactions by primary
-- key whatever the session's cached plan assumed about table sizes (a plan made while the
-- journal was small would otherwise scan all of it on every insert); no JIT for so small a job.
-- +goose StatementBegin
CREATE FUNCTION ledger_check_postings() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.transaction_id, n.currency, n.total, t.id IS NULL AS missing,
           t.effective_date IS DISTINCT FROM n.effective_date AS other_date INTO bad
    FROM (SELECT r.transaction_id, r.effective_date, r.currency, sum(r.amount) AS total
          FROM new_rows r GROUP BY r.transaction_id, r.effective_date, r.currency) n
    LEFT JOIN ledger_transactions t ON t.id = n.transaction_id
    WHERE n.total <> 0 OR t.id IS NULL OR t.effective_date <> n.effective_date
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    ELSIF bad.missing THEN
        RAISE EXCEPTION 'ledger transaction % does not exist', bad.transaction_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_postings_transaction_id_fkey';
    ELSIF bad.other_date THEN
        RAISE EXCEPTION 'postings of ledger transaction % must carry its effective date', bad.transaction_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_postings_effective_date';
    END IF;
    RAISE EXCEPTION 'ledger transaction % does not balance: its % postings sum to %',
        bad.transaction_id, bad.currency, bad.total
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_postings_balanced';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_check_postings();

-- The hash chain: hash = SHA-256(previous hash || canonical bytes of the transaction), in
-- position order (1, 2, ...), written only by the sealer.
CREATE TABLE ledger_chain (
    position       bigint NOT NULL,
    transaction_id bigint NOT NULL,
    hash           bytea  NOT NULL,
    CONSTRAINT ledger_chain_pkey PRIMARY KEY (position),
    CONSTRAINT ledger_chain_transaction_id_key UNIQUE (transaction_id),
    CONSTRAINT ledger_chain_transaction_id_fkey FOREIGN KEY (transaction_id) REFERENCES ledger_transactions (id),
    CONSTRAINT ledger_chain_position_check CHECK (position > 0),
    CONSTRAINT ledger_chain_hash_check CHECK (octet_length(hash) = 32)
);

-- Ledger rows can never be changed or removed.
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_chain_append_only BEFORE UPDATE OR DELETE ON ledger_chain
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_chain_no_truncate BEFORE TRUNCATE ON ledger_chain
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- The sealer's bookmark, one row: every transaction committed as of sealed_snapshot is in the
-- chain. Bookkeeping, not ledger data; Verify does not trust it.
CREATE TABLE ledger_seal_state (
    singleton       boolean     NOT NULL DEFAULT true,
    sealed_snapshot pg_snapshot NOT NULL,
    CONSTRAINT ledger_seal_state_pkey PRIMARY KEY (singleton),
    CONSTRAINT ledger_seal_state_singleton_check CHECK (singleton)
);
INSERT INTO ledger_seal_state (sealed_snapshot) VALUES ('1:1:'); -- nothing sealed yet
CREATE TRIGGER ledger_seal_state_no_delete BEFORE DELETE ON ledger_seal_state
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_seal_state_no_truncate BEFORE TRUNCATE ON ledger_seal_state
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Debits and credits (both positive) per account, currency and effective date, of the sealed
-- transactions only; added to by the sealer in the same transaction as the chain links.
-- Derived data: ledger.Verify recomputes it from the postings.
CREATE TABLE ledger_daily_totals (
    account        text    COLLATE "C" NOT NULL,
    currency       text    NOT NULL,
    effective_date date    NOT NULL,
    debits         numeric NOT NULL,
    credits        numeric NOT NULL,
    CONSTRAINT ledger_daily_totals_pkey PRIMARY KEY (account, currency, effective_date)
);
CREATE TRIGGER ledger_daily_totals_no_delete BEFORE DELETE ON ledger_daily_totals
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_daily_totals_no_truncate BEFORE TRUNCATE ON ledger_daily_totals
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Ids above after of the committed transactions (as the calling statement sees them) that are
-- not in the chain yet. Everything committed as of the sealer's bookmark is sealed, so only
-- writers that were running then (its xip list, if they have committed since) or started after
-- it (xact_id at or above its xmax) can have left any: a few probes of the xact_id index and of
-- the chain, not a scan of the journal. The planner settings keep it so whatever the
-- statistics say (xid8 has no histogram the planner can use, and a merge anti-join against the
-- whole chain looks cheap to it); jit = off because those settings price the one-row bookmark
-- scan so high that every call would otherwise pay for compiling it.
-- +goose StatementBegin
CREATE FUNCTION ledger_unsealed_transactions(after bigint DEFAULT 0) RETURNS TABLE (id bigint)
LANGUAGE plpgsql STABLE ROWS 100
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off AS $$
DECLARE
    sealed pg_snapshot;
    since  xid8;
    late   xid8[];
BEGIN
    SELECT s.sealed_snapshot INTO STRICT sealed FROM ledger_seal_state s;
    since := pg_snapshot_xmax(sealed);
    late := ARRAY(SELECT x FROM pg_snapshot_xip(sealed) AS x
                  WHERE pg_visible_in_snapshot(x, pg_current_snapshot()));
    RETURN QUERY
        SELECT t.id FROM ledger_transactions t
        WHERE (t.xact_id >= since OR t.xact_id = ANY (late))
          AND t.id + 0 > after -- a filter: the xact_id index is the way in
          AND NOT EXISTS (SELECT 1 FROM ledger_chain c WHERE c.transaction_id = t.id);
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION ledger_unsealed_transactions(bigint);
DROP TABLE ledger_daily_totals;
DROP TABLE ledger_seal_state;
DROP TABLE ledger_chain;
DROP TABLE ledger_postings;
DROP FUNCTION ledger_check_postings();
DROP TABLE ledger_transactions;
