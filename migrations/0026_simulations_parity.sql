-- +goose Up
-- Issue 15, items 1 and 2 (docs/simulations-and-parity.md): the kept month aggregates that
-- what-if schedules re-split, and the tariffs state funds publish for insured citizens.

-- A state fund's own tariff for insured citizens, versioned like a contract's tariff over
-- [effective_from, effective_to); versions of one payer never overlap, items are written once.
CREATE TABLE reference_tariff_versions (
    id             bigint        GENERATED ALWAYS AS IDENTITY,
    payer_code     text          NOT NULL,
    version        integer       NOT NULL,
    effective_from date          NOT NULL,
    effective_to   date,
    point_value    numeric(18,4),
    created_at     timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT reference_tariff_versions_pkey PRIMARY KEY (id),
    CONSTRAINT reference_tariff_versions_payer_code_fkey FOREIGN KEY (payer_code) REFERENCES organizations (code),
    CONSTRAINT reference_tariff_versions_payer_version_key UNIQUE (payer_code, version),
    CONSTRAINT reference_tariff_versions_range_check CHECK (effective_to IS NULL OR effective_to > effective_from),
    CONSTRAINT reference_tariff_versions_point_value_check CHECK (point_value IS NULL OR point_value > 0),
    CONSTRAINT reference_tariff_versions_no_overlap EXCLUDE USING gist (
        payer_code WITH =, daterange(effective_from, effective_to, '[)') WITH &&)
);
CREATE TABLE reference_tariff_items (
    version_id   bigint        NOT NULL,
    service_code text          NOT NULL,
    method       text          NOT NULL,
    price        numeric(18,4),
    points       numeric(18,4),
    CONSTRAINT reference_tariff_items_pkey PRIMARY KEY (version_id, service_code),
    CONSTRAINT reference_tariff_items_version_id_fkey FOREIGN KEY (version_id) REFERENCES reference_tariff_versions (id),
    CONSTRAINT reference_tariff_items_service_code_fkey FOREIGN KEY (service_code) REFERENCES services (code),
    CONSTRAINT reference_tariff_items_method_check CHECK (
        (method = 'fixed' AND price IS NOT NULL AND price > 0 AND points IS NULL)
        OR (method = 'points' AND points IS NOT NULL AND points > 0 AND price IS NULL))
);
CREATE TRIGGER reference_tariff_items_append_only BEFORE UPDATE OR DELETE ON reference_tariff_items
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER reference_tariff_items_no_truncate BEFORE TRUNCATE ON reference_tariff_items
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
-- A version is only ever closed (effective_to set once, or earlier), never otherwise changed.
-- +goose StatementBegin
CREATE FUNCTION reference_tariff_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'effective_to') = (to_jsonb(OLD) - 'effective_to')
       AND NEW.effective_to IS NOT NULL AND (OLD.effective_to IS NULL OR NEW.effective_to < OLD.effective_to) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a reference tariff version is never edited, only closed'
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'reference_tariff_versions_immutable';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER reference_tariff_versions_guard BEFORE UPDATE OR DELETE ON reference_tariff_versions
    FOR EACH ROW EXECUTE FUNCTION reference_tariff_version_guard();
CREATE TRIGGER reference_tariff_versions_no_truncate BEFORE TRUNCATE ON reference_tariff_versions
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- What-if schedules re-split a month from its kept aggregates: the posted lines of the current
-- revisions counted per contract, scope (service category, beneficiary category, site), the
-- rule that split them and their price inputs (simulation_cells), and the posted shares summed
-- per contract and payer (simulation_actuals). A month is kept when simulation_months has it
-- and simulation_changes has no row for it. These tables are a cache: nothing else reads them,
-- and deleting them all only makes the next simulation slower.
CREATE TABLE simulation_months (
    period      text        NOT NULL,
    computed_at timestamptz NOT NULL,
    CONSTRAINT simulation_months_pkey PRIMARY KEY (period)
);
CREATE TABLE simulation_cells (
    period               text          NOT NULL,
    contract_id          bigint        NOT NULL,
    currency             text          NOT NULL,
    service_category     text          NOT NULL,
    beneficiary_category text          NOT NULL,
    site_code            text          NOT NULL,
    cost_share_rule_id   bigint        NOT NULL,
    unit_price           numeric(30,8) NOT NULL,
    quantity             numeric(18,4) NOT NULL,
    vat_rate             numeric(7,4)  NOT NULL,
    amount               numeric(18,2) NOT NULL,
    lines                bigint        NOT NULL
);
CREATE INDEX simulation_cells_period_idx ON simulation_cells (period);
CREATE TABLE simulation_actuals (
    period      text          NOT NULL,
    contract_id bigint        NOT NULL,
    currency    text          NOT NULL,
    payer_code  text          NOT NULL,
    amount      numeric(18,2) NOT NULL
);
CREATE INDEX simulation_actuals_period_idx ON simulation_actuals (period);

-- Every writer that changes a month's encounters already records it in report_changes (posts,
-- voids) or report_dirty (repricings, reopened months); these triggers copy the months into
-- simulation_changes, once per statement, insert-only, so writers never wait on each other.
CREATE TABLE simulation_changes (
    period    text        NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX simulation_changes_period_idx ON simulation_changes (period);
-- +goose StatementBegin
CREATE FUNCTION simulation_mark_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO simulation_changes (period) SELECT DISTINCT period FROM changed;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER report_changes_simulation AFTER INSERT ON report_changes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION simulation_mark_changes();
CREATE TRIGGER report_dirty_simulation AFTER INSERT ON report_dirty
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION simulation_mark_changes();

-- +goose Down
DROP TRIGGER report_dirty_simulation ON report_dirty;
DROP TRIGGER report_changes_simulation ON report_changes;
DROP FUNCTION simulation_mark_changes();
DROP TABLE simulation_changes;
DROP TABLE simulation_actuals;
DROP TABLE simulation_cells;
DROP TABLE simulation_months;
DROP TABLE reference_tariff_items;
DROP TABLE reference_tariff_versions;
DROP FUNCTION reference_tariff_version_guard();
