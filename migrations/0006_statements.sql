-- +goose Up
-- Monthly claims statements: one provider, one payer, one month; their lines (payer shares),
-- the reviewers' decisions and the payments.

CREATE TABLE statements (
    id                    uuid          NOT NULL,
    number                text          NOT NULL,
    provider_code         text          NOT NULL,
    payer_code            text          NOT NULL,
    period                text          NOT NULL,
    currency              text          NOT NULL,
    status                text          NOT NULL DEFAULT 'draft',
    claimed               numeric(18,2) NOT NULL DEFAULT 0,
    approved              numeric(18,2),
    rejected              numeric(18,2),
    paid                  numeric(18,2) NOT NULL DEFAULT 0,
    content_hash          bytea,
    created_at            timestamptz   NOT NULL,
    updated_at            timestamptz   NOT NULL,
    submitted_at          timestamptz,
    reviewed_at           timestamptz,
    cancelled_at          timestamptz,
    review_transaction_id bigint,
    CONSTRAINT statements_pkey PRIMARY KEY (id),
    CONSTRAINT statements_number_key UNIQUE (number),
    CONSTRAINT statements_provider_code_fkey FOREIGN KEY (provider_code) REFERENCES organizations (code),
    CONSTRAINT statements_payer_code_fkey FOREIGN KEY (payer_code) REFERENCES organizations (code),
    CONSTRAINT statements_review_transaction_id_fkey FOREIGN KEY (review_transaction_id) REFERENCES ledger_transactions (id),
    CONSTRAINT statements_period_check CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    CONSTRAINT statements_status_check CHECK (status IN ('draft', 'submitted', 'under_review', 'reviewed', 'partially_paid', 'paid', 'cancelled')),
    CONSTRAINT statements_totals_check CHECK (claimed >= 0 AND paid >= 0 AND (approved IS NULL OR (approved >= 0 AND approved + rejected = claimed AND paid <= approved)))
);
-- One live statement per provider, payer and month.
CREATE UNIQUE INDEX statements_live_key ON statements (provider_code, payer_code, period) WHERE status <> 'cancelled';
CREATE INDEX statements_payer_idx ON statements (payer_code, period);

CREATE TABLE statement_lines (
    id              bigint        GENERATED ALWAYS AS IDENTITY,
    statement_id    uuid          NOT NULL,
    share_id        bigint        NOT NULL,
    live            boolean       NOT NULL DEFAULT true,
    amount          numeric(18,2) NOT NULL,
    flags           text[]        NOT NULL DEFAULT '{}',
    decision        text,
    approved_amount numeric(18,2),
    reason_code     text,
    note            text,
    decided_by      text,
    decided_at      timestamptz,
    CONSTRAINT statement_lines_pkey PRIMARY KEY (id),
    CONSTRAINT statement_lines_statement_id_fkey FOREIGN KEY (statement_id) REFERENCES statements (id),
    CONSTRAINT statement_lines_share_id_fkey FOREIGN KEY (share_id) REFERENCES line_shares (id),
    CONSTRAINT statement_lines_decision_check CHECK (decision IS NULL OR decision IN ('approve', 'reject', 'adjust')),
    CONSTRAINT statement_lines_approved_check CHECK ((decision IS NULL) = (approved_amount IS NULL)
        AND (approved_amount IS NULL OR (approved_amount >= 0 AND approved_amount <= amount))),
    CONSTRAINT statement_lines_reason_check CHECK (reason_code IS NULL OR reason_code IN ('duplicate', 'not_covered',
        'missing_referral', 'not_eligible', 'tariff_error', 'quantity_exceeded', 'documentation_missing', 'other'))
);
-- A share sits on at most one live statement.
CREATE UNIQUE INDEX statement_lines_share_live_key ON statement_lines (share_id) WHERE live;
CREATE INDEX statement_lines_statement_idx ON statement_lines (statement_id, id);

-- Lines are frozen once their statement leaves draft: only the reviewer's decision moves, and
-- only cancelling releases them (live = false).
-- +goose StatementBegin
CREATE FUNCTION statement_line_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    st text;
BEGIN
    SELECT status INTO st FROM statements WHERE id = OLD.statement_id;
    IF st = 'draft' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' OR NEW.statement_id <> OLD.statement_id OR NEW.share_id <> OLD.share_id
       OR NEW.amount <> OLD.amount OR NEW.flags <> OLD.flags OR (NEW.live <> OLD.live AND st <> 'cancelled') THEN
        RAISE EXCEPTION 'the lines of a % statement are frozen', st
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'statement_lines_frozen';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER statement_lines_guard BEFORE UPDATE OR DELETE ON statement_lines
    FOR EACH ROW EXECUTE FUNCTION statement_line_guard();

-- The duplicate check looks for the same patient, provider, date and service.
CREATE INDEX encounters_patient_day_idx ON encounters (provider_code, patient_key, service_date);

-- Every decision ever taken, who took it, when and why; the line holds the current one.
CREATE TABLE statement_decisions (
    id              bigint        GENERATED ALWAYS AS IDENTITY,
    statement_id    uuid          NOT NULL,
    line_id         bigint        NOT NULL,
    decision        text          NOT NULL,
    approved_amount numeric(18,2) NOT NULL,
    reason_code     text,
    note            text,
    decided_by      text          NOT NULL,
    decided_role    text          NOT NULL,
    decided_at      timestamptz   NOT NULL,
    request_id      text          NOT NULL DEFAULT '',
    CONSTRAINT statement_decisions_pkey PRIMARY KEY (id),
    CONSTRAINT statement_decisions_line_id_fkey FOREIGN KEY (line_id) REFERENCES statement_lines (id)
);
CREATE INDEX statement_decisions_line_idx ON statement_decisions (line_id, id);
CREATE TRIGGER statement_decisions_append_only BEFORE UPDATE OR DELETE ON statement_decisions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE payments (
    id                    uuid          NOT NULL,
    statement_id          uuid          NOT NULL,
    amount                numeric(18,2) NOT NULL,
    paid_on               date          NOT NULL,
    reference             text          NOT NULL,
    ledger_transaction_id bigint        NOT NULL,
    recorded_by           text          NOT NULL,
    created_at            timestamptz   NOT NULL,
    CONSTRAINT payments_pkey PRIMARY KEY (id),
    CONSTRAINT payments_statement_id_fkey FOREIGN KEY (statement_id) REFERENCES statements (id),
    CONSTRAINT payments_ledger_transaction_id_fkey FOREIGN KEY (ledger_transaction_id) REFERENCES ledger_transactions (id),
    CONSTRAINT payments_amount_check CHECK (amount > 0)
);
CREATE INDEX payments_statement_idx ON payments (statement_id);
CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- +goose Down
DROP INDEX encounters_patient_day_idx;
DROP TABLE payments;
DROP TABLE statement_decisions;
DROP TABLE statement_lines;
DROP FUNCTION statement_line_guard();
DROP TABLE statements;
