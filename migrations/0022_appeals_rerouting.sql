-- +goose Up
-- Issue 13, items 2 and 4: the fallback payer of a rejected share, and appeals
-- (docs/appeals-and-rerouting.md).

-- A contract says which reason codes move a rejected share to the share's fallback payer, and
-- for how many days after a review its provider may appeal a rejected or adjusted line.
ALTER TABLE contracts
    ADD COLUMN reroutable_reasons text[] NOT NULL DEFAULT ARRAY['not_eligible', 'not_covered']::text[],
    ADD COLUMN appeal_window_days integer NOT NULL DEFAULT 60,
    ADD CONSTRAINT contracts_reroutable_reasons_check CHECK (reroutable_reasons <@ ARRAY['duplicate', 'not_covered',
        'missing_referral', 'not_eligible', 'tariff_error', 'quantity_exceeded', 'documentation_missing', 'other']::text[]),
    ADD CONSTRAINT contracts_appeal_window_check CHECK (appeal_window_days BETWEEN 0 AND 3650);

-- A share of a cost-share rule may name the payer that takes over what its payer rejects.
ALTER TABLE cost_share_rule_shares
    ADD COLUMN fallback_payer_code text,
    ADD CONSTRAINT cost_share_rule_shares_fallback_payer_code_fkey FOREIGN KEY (fallback_payer_code) REFERENCES organizations (code),
    ADD CONSTRAINT cost_share_rule_shares_fallback_check CHECK (fallback_payer_code IS NULL OR fallback_payer_code <> payer_code);

-- What a completed review moved from a share's payer to its fallback payer: one row per
-- rejected (or adjusted-down) statement line, linked to the decision. It is the fallback
-- payer's claim: it waits in unclaimed_shares (reroute_id) and becomes a line of the fallback
-- payer's next statement (statement_lines.reroute_id, flagged rerouted).
CREATE TABLE rerouted_shares (
    id                    bigint        GENERATED ALWAYS AS IDENTITY,
    statement_id          uuid          NOT NULL,
    line_id               bigint        NOT NULL,
    decision_id           bigint        NOT NULL,
    share_id              bigint        NOT NULL,
    encounter_id          uuid          NOT NULL,
    provider_code         text          NOT NULL,
    payer_code            text          NOT NULL,
    fallback_payer_code   text          NOT NULL,
    service_date          date          NOT NULL,
    reason_code           text          NOT NULL,
    currency              text          NOT NULL,
    amount                numeric(18,2) NOT NULL,
    ledger_transaction_id bigint        NOT NULL,
    created_at            timestamptz   NOT NULL,
    CONSTRAINT rerouted_shares_pkey PRIMARY KEY (id),
    CONSTRAINT rerouted_shares_line_key UNIQUE (line_id),
    CONSTRAINT rerouted_shares_statement_id_fkey FOREIGN KEY (statement_id) REFERENCES statements (id),
    CONSTRAINT rerouted_shares_line_id_fkey FOREIGN KEY (line_id) REFERENCES statement_lines (id),
    CONSTRAINT rerouted_shares_decision_id_fkey FOREIGN KEY (decision_id) REFERENCES statement_decisions (id),
    CONSTRAINT rerouted_shares_fallback_payer_code_fkey FOREIGN KEY (fallback_payer_code) REFERENCES organizations (code),
    CONSTRAINT rerouted_shares_ledger_transaction_id_fkey FOREIGN KEY (ledger_transaction_id) REFERENCES ledger_transactions (id),
    CONSTRAINT rerouted_shares_amount_check CHECK (amount > 0),
    CONSTRAINT rerouted_shares_payers_check CHECK (fallback_payer_code <> payer_code)
);
CREATE INDEX rerouted_shares_date_idx ON rerouted_shares (service_date);
CREATE TRIGGER rerouted_shares_append_only BEFORE UPDATE OR DELETE ON rerouted_shares
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER rerouted_shares_no_truncate BEFORE TRUNCATE ON rerouted_shares FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- A re-routed claim keeps share_id (the rejected share: its encounter, line and date) and names
-- its rerouted_shares row; a share is on at most one live statement as itself, and a re-routed
-- claim on at most one as re-routed.
ALTER TABLE unclaimed_shares ADD COLUMN reroute_id bigint;
ALTER TABLE statement_lines
    ADD COLUMN reroute_id bigint,
    ADD CONSTRAINT statement_lines_reroute_id_fkey FOREIGN KEY (reroute_id) REFERENCES rerouted_shares (id);
DROP INDEX statement_lines_share_live_key;
CREATE UNIQUE INDEX statement_lines_share_live_key ON statement_lines (share_id) WHERE live AND reroute_id IS NULL;
CREATE UNIQUE INDEX statement_lines_reroute_live_key ON statement_lines (reroute_id) WHERE live AND reroute_id IS NOT NULL;

-- Appeals of rejected or adjusted lines. A row is written when the clinic files it and moves
-- once, from open to its outcome; nothing else of it ever changes.
CREATE TABLE appeals (
    id                    uuid          NOT NULL,
    statement_id          uuid          NOT NULL,
    line_id               bigint        NOT NULL,
    provider_code         text          NOT NULL,
    payer_code            text          NOT NULL,
    status                text          NOT NULL DEFAULT 'open',
    reason                text          NOT NULL,
    note                  text,
    claimed_amount        numeric(18,2) NOT NULL,
    approved_before       numeric(18,2) NOT NULL,
    filed_by              text          NOT NULL,
    filed_at              timestamptz   NOT NULL,
    filed_request_id      text          NOT NULL DEFAULT '',
    approved_amount       numeric(18,2),
    difference            numeric(18,2),
    decision_note         text,
    decided_by            text,
    decided_at            timestamptz,
    ledger_transaction_id bigint,
    CONSTRAINT appeals_pkey PRIMARY KEY (id),
    CONSTRAINT appeals_statement_id_fkey FOREIGN KEY (statement_id) REFERENCES statements (id),
    CONSTRAINT appeals_line_id_fkey FOREIGN KEY (line_id) REFERENCES statement_lines (id),
    CONSTRAINT appeals_ledger_transaction_id_fkey FOREIGN KEY (ledger_transaction_id) REFERENCES ledger_transactions (id),
    CONSTRAINT appeals_status_check CHECK (status IN ('open', 'upheld', 'overturned', 'partial')),
    CONSTRAINT appeals_reason_check CHECK (reason IN ('documentation_added', 'eligibility_confirmed', 'referral_provided',
        'service_covered', 'not_duplicate', 'tariff_correct', 'quantity_justified', 'other')),
    CONSTRAINT appeals_decided_check CHECK ((status = 'open') = (decided_at IS NULL)
        AND (status = 'open' OR (approved_amount IS NOT NULL AND difference IS NOT NULL AND decided_by IS NOT NULL))),
    CONSTRAINT appeals_amounts_check CHECK (approved_before >= 0 AND approved_before < claimed_amount
        AND (approved_amount IS NULL OR (approved_amount >= approved_before AND approved_amount <= claimed_amount
             AND difference = approved_amount - approved_before)))
);
-- One open appeal per line.
CREATE UNIQUE INDEX appeals_open_line_key ON appeals (line_id) WHERE status = 'open';
CREATE INDEX appeals_provider_idx ON appeals (provider_code, status, filed_at);
CREATE INDEX appeals_payer_idx ON appeals (payer_code, status, filed_at);
CREATE INDEX appeals_statement_idx ON appeals (statement_id);

-- +goose StatementBegin
CREATE FUNCTION appeal_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'open' OR NEW.status = 'open'
       OR (to_jsonb(NEW) - ARRAY['status', 'approved_amount', 'difference', 'decision_note', 'decided_by', 'decided_at', 'ledger_transaction_id'])
          IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['status', 'approved_amount', 'difference', 'decision_note', 'decided_by', 'decided_at', 'ledger_transaction_id']) THEN
        RAISE EXCEPTION 'an appeal is decided once and never edited'
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'appeals_immutable';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER appeals_guard BEFORE UPDATE OR DELETE ON appeals FOR EACH ROW EXECUTE FUNCTION appeal_guard();
CREATE TRIGGER appeals_no_truncate BEFORE TRUNCATE ON appeals FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- A reviewed statement's totals are fixed, except that a decided appeal moves an amount from
-- rejected to approved (claimed stays); a paid statement may then owe again (partially_paid, or
-- reviewed when nothing was paid yet).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION statement_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    appeal boolean;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'statement % cannot change this way', OLD.number
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'statements_frozen';
    END IF;
    appeal := coalesce(OLD.approved IS NOT NULL AND OLD.status IN ('reviewed', 'partially_paid', 'paid')
        AND NEW.approved > OLD.approved AND NEW.rejected = OLD.rejected - (NEW.approved - OLD.approved)
        AND NEW.paid = OLD.paid AND NEW.claimed = OLD.claimed
        AND NEW.content_hash IS NOT DISTINCT FROM OLD.content_hash
        AND NEW.reviewed_at IS NOT DISTINCT FROM OLD.reviewed_at
        AND NEW.review_transaction_id IS NOT DISTINCT FROM OLD.review_transaction_id
        AND (NEW.status = OLD.status OR (OLD.status = 'paid' AND NEW.status IN ('partially_paid', 'reviewed'))), false);
    IF NEW.id <> OLD.id OR NEW.number <> OLD.number OR NEW.provider_code <> OLD.provider_code
       OR NEW.payer_code <> OLD.payer_code OR NEW.period <> OLD.period OR NEW.currency <> OLD.currency
       OR (OLD.status <> 'draft' AND (NEW.claimed <> OLD.claimed OR NEW.content_hash IS DISTINCT FROM OLD.content_hash))
       OR (NOT appeal AND OLD.approved IS NOT NULL AND (NEW.approved IS DISTINCT FROM OLD.approved OR NEW.rejected IS DISTINCT FROM OLD.rejected))
       OR (NOT appeal AND OLD.status IN ('paid', 'cancelled')) THEN
        RAISE EXCEPTION 'statement % cannot change this way', OLD.number
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'statements_frozen';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION statement_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.number <> OLD.number OR NEW.provider_code <> OLD.provider_code
       OR NEW.payer_code <> OLD.payer_code OR NEW.period <> OLD.period OR NEW.currency <> OLD.currency
       OR (OLD.status <> 'draft' AND (NEW.claimed <> OLD.claimed OR NEW.content_hash IS DISTINCT FROM OLD.content_hash))
       OR (OLD.approved IS NOT NULL AND (NEW.approved IS DISTINCT FROM OLD.approved OR NEW.rejected IS DISTINCT FROM OLD.rejected))
       OR OLD.status IN ('paid', 'cancelled') THEN
        RAISE EXCEPTION 'statement % cannot change this way', OLD.number
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'statements_frozen';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
DROP TABLE appeals;
DROP FUNCTION appeal_guard();
DROP INDEX statement_lines_reroute_live_key;
DROP INDEX statement_lines_share_live_key;
CREATE UNIQUE INDEX statement_lines_share_live_key ON statement_lines (share_id) WHERE live;
ALTER TABLE statement_lines DROP COLUMN reroute_id;
ALTER TABLE unclaimed_shares DROP COLUMN reroute_id;
DROP TABLE rerouted_shares;
ALTER TABLE cost_share_rule_shares DROP COLUMN fallback_payer_code;
ALTER TABLE contracts DROP COLUMN appeal_window_days, DROP COLUMN reroutable_reasons;
