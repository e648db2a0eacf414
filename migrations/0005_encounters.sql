-- +goose Up
-- Encounters (visits) with their priced lines and payer shares, and the idempotency keys of posts.

CREATE TABLE encounters (
    id                    uuid        NOT NULL,
    seq                   bigint      GENERATED ALWAYS AS IDENTITY,
    provider_code         text        NOT NULL,
    contract_id           bigint      NOT NULL,
    site_code             text        NOT NULL,
    external_id           text        NOT NULL,
    patient_key           text        NOT NULL,
    beneficiary_category  text        NOT NULL,
    sex                   text,
    birth_year            integer,
    service_date          date        NOT NULL,
    kind                  text        NOT NULL,
    diagnoses             text[]      NOT NULL DEFAULT '{}',
    referral_number       text,
    referral_to_level     text,
    referral_to_provider  text,
    practitioner_ref      text,
    corrects              uuid,
    currency              text        NOT NULL,
    total                 numeric(18,2) NOT NULL,
    content_hash          bytea       NOT NULL,
    status                text        NOT NULL DEFAULT 'posted',
    ledger_transaction_id bigint      NOT NULL,
    created_at            timestamptz NOT NULL,
    voided_at             timestamptz,
    void_reason           text,
    void_transaction_id   bigint,
    CONSTRAINT encounters_pkey PRIMARY KEY (id),
    CONSTRAINT encounters_seq_key UNIQUE (seq),
    CONSTRAINT encounters_provider_code_fkey FOREIGN KEY (provider_code) REFERENCES organizations (code),
    CONSTRAINT encounters_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts (id),
    CONSTRAINT encounters_site_code_fkey FOREIGN KEY (site_code) REFERENCES sites (code),
    CONSTRAINT encounters_corrects_fkey FOREIGN KEY (corrects) REFERENCES encounters (id),
    CONSTRAINT encounters_ledger_transaction_id_fkey FOREIGN KEY (ledger_transaction_id) REFERENCES ledger_transactions (id),
    CONSTRAINT encounters_void_transaction_id_fkey FOREIGN KEY (void_transaction_id) REFERENCES ledger_transactions (id),
    CONSTRAINT encounters_status_check CHECK (status IN ('posted', 'voided')),
    CONSTRAINT encounters_void_check CHECK ((status = 'voided') = (voided_at IS NOT NULL AND void_transaction_id IS NOT NULL)),
    CONSTRAINT encounters_kind_check CHECK (kind IN ('consultation', 'referral', 'emergency', 'follow_up', 'transport', 'other')),
    CONSTRAINT encounters_sex_check CHECK (sex IS NULL OR sex IN ('F', 'M', 'X')),
    CONSTRAINT encounters_total_check CHECK (total >= 0)
);
-- A clinic's record number names one live encounter; a voided one frees it for the correction.
CREATE UNIQUE INDEX encounters_provider_external_id_key ON encounters (provider_code, external_id) WHERE status = 'posted';
CREATE INDEX encounters_provider_seq_idx ON encounters (provider_code, seq);
CREATE INDEX encounters_contract_date_idx ON encounters (contract_id, service_date);

CREATE TABLE encounter_lines (
    encounter_id       uuid          NOT NULL,
    line_no            integer       NOT NULL,
    service_code       text          NOT NULL,
    quantity           numeric(18,4) NOT NULL,
    unit_price         numeric(30,8) NOT NULL,
    net                numeric(18,2) NOT NULL,
    vat_rate           numeric(7,4)  NOT NULL,
    vat                numeric(18,2) NOT NULL,
    amount             numeric(18,2) NOT NULL,
    tariff_version_id  bigint        NOT NULL,
    cost_share_rule_id bigint        NOT NULL,
    CONSTRAINT encounter_lines_pkey PRIMARY KEY (encounter_id, line_no),
    CONSTRAINT encounter_lines_encounter_id_fkey FOREIGN KEY (encounter_id) REFERENCES encounters (id),
    CONSTRAINT encounter_lines_service_code_fkey FOREIGN KEY (service_code) REFERENCES services (code),
    CONSTRAINT encounter_lines_tariff_version_id_fkey FOREIGN KEY (tariff_version_id) REFERENCES tariff_versions (id),
    CONSTRAINT encounter_lines_cost_share_rule_id_fkey FOREIGN KEY (cost_share_rule_id) REFERENCES cost_share_rules (id),
    CONSTRAINT encounter_lines_amount_check CHECK (quantity > 0 AND net >= 0 AND vat >= 0 AND amount = net + vat)
);
CREATE INDEX encounter_lines_tariff_version_idx ON encounter_lines (tariff_version_id);
CREATE TRIGGER encounter_lines_append_only BEFORE UPDATE OR DELETE ON encounter_lines
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- One payer's share of one line: what claims statements are made of.
CREATE TABLE line_shares (
    id            bigint        GENERATED ALWAYS AS IDENTITY,
    encounter_id  uuid          NOT NULL,
    line_no       integer       NOT NULL,
    position      smallint      NOT NULL,
    payer_code    text          NOT NULL,
    provider_code text          NOT NULL,
    service_date  date          NOT NULL,
    basis_points  integer       NOT NULL,
    amount        numeric(18,2) NOT NULL,
    CONSTRAINT line_shares_pkey PRIMARY KEY (id),
    CONSTRAINT line_shares_line_key UNIQUE (encounter_id, line_no, position),
    CONSTRAINT line_shares_line_fkey FOREIGN KEY (encounter_id, line_no) REFERENCES encounter_lines (encounter_id, line_no),
    CONSTRAINT line_shares_payer_code_fkey FOREIGN KEY (payer_code) REFERENCES organizations (code),
    CONSTRAINT line_shares_amount_check CHECK (amount >= 0)
);
CREATE INDEX line_shares_claim_idx ON line_shares (provider_code, payer_code, service_date);
CREATE TRIGGER line_shares_append_only BEFORE UPDATE OR DELETE ON line_shares
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- A tariff version that has priced an encounter keeps its prices; it may only be closed.
-- +goose StatementBegin
CREATE FUNCTION tariff_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.contract_id <> OLD.contract_id OR NEW.version <> OLD.version
       OR NEW.effective_from <> OLD.effective_from OR NEW.point_value IS DISTINCT FROM OLD.point_value
       OR (OLD.effective_to IS NOT NULL AND NEW.effective_to IS DISTINCT FROM OLD.effective_to) THEN
        RAISE EXCEPTION 'a tariff version is never edited, only closed'
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'tariff_versions_immutable';
    END IF;
    IF EXISTS (SELECT 1 FROM encounter_lines l JOIN encounters e ON e.id = l.encounter_id
               WHERE l.tariff_version_id = OLD.id AND e.status = 'posted' AND e.service_date >= NEW.effective_to) THEN
        RAISE EXCEPTION 'tariff version % has priced encounters on or after %', OLD.version, NEW.effective_to
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'tariff_versions_in_use';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER tariff_versions_guard BEFORE UPDATE ON tariff_versions
    FOR EACH ROW EXECUTE FUNCTION tariff_version_guard();
CREATE TRIGGER tariff_versions_no_delete BEFORE DELETE ON tariff_versions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Idempotency keys of posts: the first response is kept and replayed.
CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TRIGGER tariff_versions_no_delete ON tariff_versions;
DROP TRIGGER tariff_versions_guard ON tariff_versions;
DROP FUNCTION tariff_version_guard();
DROP TABLE line_shares;
DROP TABLE encounter_lines;
DROP TABLE encounters;
