-- +goose Up
-- Contracts, their tariff versions (never overlapping) and the cost-share rules of the transition.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE contracts (
    id            bigint      GENERATED ALWAYS AS IDENTITY,
    code          text        NOT NULL,
    provider_code text        NOT NULL,
    payer_code    text,
    currency      text        NOT NULL DEFAULT 'BAM',
    valid_from    date        NOT NULL,
    valid_to      date,
    status        text        NOT NULL DEFAULT 'draft',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contracts_pkey PRIMARY KEY (id),
    CONSTRAINT contracts_code_key UNIQUE (code),
    CONSTRAINT contracts_provider_code_fkey FOREIGN KEY (provider_code) REFERENCES organizations (code),
    CONSTRAINT contracts_payer_code_fkey FOREIGN KEY (payer_code) REFERENCES organizations (code),
    CONSTRAINT contracts_status_check CHECK (status IN ('draft', 'active', 'terminated')),
    CONSTRAINT contracts_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT contracts_validity_check CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX contracts_provider_code_idx ON contracts (provider_code);

-- A tariff version is in force over [effective_from, effective_to); effective_to NULL = open.
CREATE TABLE tariff_versions (
    id             bigint        GENERATED ALWAYS AS IDENTITY,
    contract_id    bigint        NOT NULL,
    version        integer       NOT NULL,
    effective_from date          NOT NULL,
    effective_to   date,
    point_value    numeric(18,4),
    created_at     timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT tariff_versions_pkey PRIMARY KEY (id),
    CONSTRAINT tariff_versions_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts (id),
    CONSTRAINT tariff_versions_contract_version_key UNIQUE (contract_id, version),
    CONSTRAINT tariff_versions_range_check CHECK (effective_to IS NULL OR effective_to > effective_from),
    CONSTRAINT tariff_versions_point_value_check CHECK (point_value IS NULL OR point_value > 0),
    CONSTRAINT tariff_versions_no_overlap EXCLUDE USING gist (
        contract_id WITH =, daterange(effective_from, effective_to, '[)') WITH &&)
);

CREATE TABLE tariff_items (
    tariff_version_id bigint        NOT NULL,
    service_code      text          NOT NULL,
    method            text          NOT NULL,
    price             numeric(18,4),
    points            numeric(18,4),
    max_quantity      numeric(18,4),
    vat_rate          numeric(7,4)  NOT NULL DEFAULT 0,
    CONSTRAINT tariff_items_pkey PRIMARY KEY (tariff_version_id, service_code),
    CONSTRAINT tariff_items_tariff_version_id_fkey FOREIGN KEY (tariff_version_id) REFERENCES tariff_versions (id),
    CONSTRAINT tariff_items_service_code_fkey FOREIGN KEY (service_code) REFERENCES services (code),
    CONSTRAINT tariff_items_method_check CHECK (
        (method = 'fixed' AND price IS NOT NULL AND price >= 0 AND points IS NULL)
        OR (method = 'points' AND points IS NOT NULL AND points >= 0 AND price IS NULL)),
    CONSTRAINT tariff_items_max_quantity_check CHECK (max_quantity IS NULL OR max_quantity > 0),
    CONSTRAINT tariff_items_vat_rate_check CHECK (vat_rate >= 0 AND vat_rate <= 100)
);

-- Tariff items are written once, with their version; an amendment is a new version.
-- +goose StatementBegin
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'rows of % are append-only', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation', CONSTRAINT = TG_TABLE_NAME || '_append_only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER tariff_items_append_only BEFORE UPDATE OR DELETE ON tariff_items
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The transition schedule: who pays which share of a line, over [effective_from, effective_to).
CREATE TABLE cost_share_rules (
    id                   bigint      GENERATED ALWAYS AS IDENTITY,
    contract_id          bigint      NOT NULL,
    effective_from       date        NOT NULL,
    effective_to         date,
    service_category     text,
    beneficiary_category text,
    site_code            text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cost_share_rules_pkey PRIMARY KEY (id),
    CONSTRAINT cost_share_rules_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts (id),
    CONSTRAINT cost_share_rules_site_code_fkey FOREIGN KEY (site_code) REFERENCES sites (code),
    CONSTRAINT cost_share_rules_range_check CHECK (effective_to IS NULL OR effective_to > effective_from),
    CONSTRAINT cost_share_rules_service_category_check CHECK (service_category IS NULL OR service_category IN (
        'primary_care', 'emergency', 'specialist', 'diagnostics', 'dental', 'mental_health',
        'vaccination', 'transport', 'hospital', 'team_day')),
    CONSTRAINT cost_share_rules_beneficiary_category_check CHECK (beneficiary_category IS NULL OR
        beneficiary_category IN ('asylum_seeker', 'irregular_migrant', 'refugee', 'subsidiary_protection', 'unknown'))
);
CREATE INDEX cost_share_rules_contract_id_idx ON cost_share_rules (contract_id, effective_from);

CREATE TABLE cost_share_rule_shares (
    rule_id      bigint   NOT NULL,
    position     smallint NOT NULL,
    payer_code   text     NOT NULL,
    basis_points integer  NOT NULL,
    CONSTRAINT cost_share_rule_shares_pkey PRIMARY KEY (rule_id, position),
    CONSTRAINT cost_share_rule_shares_rule_id_fkey FOREIGN KEY (rule_id) REFERENCES cost_share_rules (id),
    CONSTRAINT cost_share_rule_shares_payer_code_fkey FOREIGN KEY (payer_code) REFERENCES organizations (code),
    CONSTRAINT cost_share_rule_shares_payer_key UNIQUE (rule_id, payer_code),
    CONSTRAINT cost_share_rule_shares_basis_points_check CHECK (basis_points BETWEEN 0 AND 10000)
);
CREATE TRIGGER cost_share_rule_shares_append_only BEFORE UPDATE OR DELETE ON cost_share_rule_shares
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Shares of a rule sum to exactly 10000 basis points, checked at commit.
-- +goose StatementBegin
CREATE FUNCTION check_cost_share_sum() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    SELECT coalesce(sum(basis_points), 0) INTO total FROM cost_share_rule_shares WHERE rule_id = NEW.id;
    IF total <> 10000 THEN
        RAISE EXCEPTION 'shares of cost-share rule % sum to % basis points, not 10000', NEW.id, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'cost_share_rules_shares_sum';
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE CONSTRAINT TRIGGER cost_share_rules_shares_sum AFTER INSERT ON cost_share_rules
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_cost_share_sum();

-- +goose Down
DROP TABLE cost_share_rule_shares;
DROP TABLE cost_share_rules;
DROP FUNCTION check_cost_share_sum();
DROP TABLE tariff_items;
DROP FUNCTION refuse_change();
DROP TABLE tariff_versions;
DROP TABLE contracts;
