-- +goose Up
-- Issue 13, items 1 and 6: repricing an encounter under amended tariffs and schedules, and
-- closed months (docs/corrections.md).

-- Repricing replaces an encounter's lines and shares by new rows of its next revision; the old
-- rows stay (append-only) and the encounter names its live revision.
ALTER TABLE encounters ADD COLUMN revision smallint NOT NULL DEFAULT 1;

-- One repricing request, and per encounter it changed: which revision replaced which, and the
-- ledger transaction (kind reprice) that reversed the old shares and posted the new ones.
CREATE TABLE repricings (
    id          uuid        NOT NULL,
    contract_id bigint      NOT NULL,
    date_from   date        NOT NULL,
    date_to     date        NOT NULL,
    encounters  integer     NOT NULL,
    lines       integer     NOT NULL,
    actor       text        NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT repricings_pkey PRIMARY KEY (id),
    CONSTRAINT repricings_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts (id),
    CONSTRAINT repricings_range_check CHECK (date_to >= date_from)
);
CREATE TABLE encounter_repricings (
    id                    bigint   GENERATED ALWAYS AS IDENTITY,
    repricing_id          uuid     NOT NULL,
    encounter_id          uuid     NOT NULL,
    from_revision         smallint NOT NULL,
    to_revision           smallint NOT NULL,
    ledger_transaction_id bigint   NOT NULL,
    CONSTRAINT encounter_repricings_pkey PRIMARY KEY (id),
    CONSTRAINT encounter_repricings_repricing_id_fkey FOREIGN KEY (repricing_id) REFERENCES repricings (id),
    CONSTRAINT encounter_repricings_encounter_id_fkey FOREIGN KEY (encounter_id) REFERENCES encounters (id),
    CONSTRAINT encounter_repricings_ledger_transaction_id_fkey FOREIGN KEY (ledger_transaction_id) REFERENCES ledger_transactions (id),
    CONSTRAINT encounter_repricings_revision_key UNIQUE (encounter_id, to_revision),
    CONSTRAINT encounter_repricings_revision_check CHECK (to_revision = from_revision + 1)
);
CREATE TRIGGER repricings_append_only BEFORE UPDATE OR DELETE ON repricings FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER repricings_no_truncate BEFORE TRUNCATE ON repricings FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER encounter_repricings_append_only BEFORE UPDATE OR DELETE ON encounter_repricings FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER encounter_repricings_no_truncate BEFORE TRUNCATE ON encounter_repricings FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- Lines and shares carry their encounter's revision; those of a later revision name the
-- encounter repricing that wrote them (repriced_by), which names the revision they replace.
-- (No foreign keys on these bulk-written rows, as migration 0008 decided.)
ALTER TABLE encounter_lines
    ADD COLUMN revision smallint NOT NULL DEFAULT 1,
    ADD COLUMN repriced_by bigint,
    DROP CONSTRAINT encounter_lines_pkey,
    ADD CONSTRAINT encounter_lines_pkey PRIMARY KEY (encounter_id, revision, line_no),
    ADD CONSTRAINT encounter_lines_repriced_check CHECK ((revision = 1) = (repriced_by IS NULL));
ALTER TABLE line_shares
    ADD COLUMN revision smallint NOT NULL DEFAULT 1,
    ADD COLUMN repriced_by bigint,
    DROP CONSTRAINT line_shares_line_key,
    ADD CONSTRAINT line_shares_line_key UNIQUE (encounter_id, revision, line_no, position),
    ADD CONSTRAINT line_shares_repriced_check CHECK ((revision = 1) = (repriced_by IS NULL));

-- An encounter moves from posted to voided, or (repricing) to its next revision with a new
-- total; nothing else of it ever changes.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION encounter_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'an encounter is never deleted'
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'encounters_immutable';
    END IF;
    IF OLD.status = 'posted' AND NEW.status = 'voided'
       AND (to_jsonb(NEW) - ARRAY['status', 'voided_at', 'void_reason', 'void_transaction_id'])
           IS NOT DISTINCT FROM (to_jsonb(OLD) - ARRAY['status', 'voided_at', 'void_reason', 'void_transaction_id']) THEN
        RETURN NEW;
    END IF;
    IF OLD.status = 'posted' AND NEW.status = 'posted' AND NEW.revision = OLD.revision + 1
       AND (to_jsonb(NEW) - ARRAY['revision', 'total']) IS NOT DISTINCT FROM (to_jsonb(OLD) - ARRAY['revision', 'total']) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'an encounter is never edited; it is voided and corrected, or repriced'
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'encounters_immutable';
END;
$$;
-- +goose StatementEnd

-- A tariff version that priced a live line of a posted encounter is not closed before it,
-- unless the transaction says it adds a retroactive amendment (SET LOCAL trcledger.retroactive).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION tariff_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.contract_id <> OLD.contract_id OR NEW.version <> OLD.version
       OR NEW.effective_from <> OLD.effective_from OR NEW.point_value IS DISTINCT FROM OLD.point_value
       OR (OLD.effective_to IS NOT NULL AND NEW.effective_to IS DISTINCT FROM OLD.effective_to
           AND coalesce(current_setting('trcledger.retroactive', true), '') <> 'on') THEN
        RAISE EXCEPTION 'a tariff version is never edited, only closed'
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'tariff_versions_immutable';
    END IF;
    IF NEW.effective_to IS NOT NULL AND OLD.effective_to IS NOT NULL AND NEW.effective_to > OLD.effective_to THEN
        RAISE EXCEPTION 'a tariff version is only ever closed earlier'
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'tariff_versions_immutable';
    END IF;
    IF coalesce(current_setting('trcledger.retroactive', true), '') <> 'on' AND EXISTS (
               SELECT 1 FROM encounter_lines l JOIN encounters e ON e.id = l.encounter_id AND e.revision = l.revision
               WHERE l.tariff_version_id = OLD.id AND e.status = 'posted' AND e.service_date >= NEW.effective_to) THEN
        RAISE EXCEPTION 'tariff version % has priced encounters on or after %', OLD.version, NEW.effective_to
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'tariff_versions_in_use';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- A cost-share rule is never edited; a retroactive amendment may close it earlier.
-- +goose StatementBegin
CREATE FUNCTION cost_share_rule_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND coalesce(current_setting('trcledger.retroactive', true), '') = 'on'
       AND NEW.effective_to IS NOT NULL AND (OLD.effective_to IS NULL OR NEW.effective_to < OLD.effective_to)
       AND (to_jsonb(NEW) - 'effective_to') = (to_jsonb(OLD) - 'effective_to') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a cost-share rule is never edited; only a retroactive amendment closes it earlier'
        USING ERRCODE = 'restrict_violation', CONSTRAINT = 'cost_share_rules_append_only';
END;
$$;
-- +goose StatementEnd
DROP TRIGGER cost_share_rules_append_only ON cost_share_rules;
CREATE TRIGGER cost_share_rules_append_only BEFORE UPDATE OR DELETE ON cost_share_rules
    FOR EACH ROW EXECUTE FUNCTION cost_share_rule_guard();

-- Closed months: the state of each month finance has closed (a month without a row is open),
-- and every close and reopen.
CREATE TABLE periods (
    period     text        NOT NULL,
    status     text        NOT NULL,
    changed_by text        NOT NULL,
    changed_at timestamptz NOT NULL,
    reason     text,
    CONSTRAINT periods_pkey PRIMARY KEY (period),
    CONSTRAINT periods_period_check CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    CONSTRAINT periods_status_check CHECK (status IN ('open', 'closed'))
);
CREATE TABLE period_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY,
    period     text        NOT NULL,
    action     text        NOT NULL,
    actor      text        NOT NULL,
    role       text        NOT NULL,
    at         timestamptz NOT NULL,
    reason     text,
    CONSTRAINT period_events_pkey PRIMARY KEY (id),
    CONSTRAINT period_events_period_fkey FOREIGN KEY (period) REFERENCES periods (period),
    CONSTRAINT period_events_action_check CHECK (action IN ('close', 'reopen')),
    CONSTRAINT period_events_reason_check CHECK (action = 'close' OR reason IS NOT NULL)
);
CREATE TRIGGER periods_no_delete BEFORE DELETE ON periods FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER periods_no_truncate BEFORE TRUNCATE ON periods FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER period_events_append_only BEFORE UPDATE OR DELETE ON period_events FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER period_events_no_truncate BEFORE TRUNCATE ON period_events FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- +goose Down
DROP TABLE period_events;
DROP TABLE periods;
DROP TRIGGER cost_share_rules_append_only ON cost_share_rules;
CREATE TRIGGER cost_share_rules_append_only BEFORE UPDATE OR DELETE ON cost_share_rules
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
DROP FUNCTION cost_share_rule_guard();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION tariff_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION encounter_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.status <> 'posted' OR NEW.status <> 'voided'
       OR (to_jsonb(NEW) - ARRAY['status', 'voided_at', 'void_reason', 'void_transaction_id'])
          IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['status', 'voided_at', 'void_reason', 'void_transaction_id']) THEN
        RAISE EXCEPTION 'an encounter is never edited; it is voided and corrected'
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'encounters_immutable';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
-- Going down keeps only the first revision's rows: a database with repricings cannot go down.
ALTER TABLE line_shares DROP CONSTRAINT line_shares_line_key, DROP CONSTRAINT line_shares_repriced_check;
ALTER TABLE encounter_lines DROP CONSTRAINT encounter_lines_pkey, DROP CONSTRAINT encounter_lines_repriced_check;
ALTER TABLE encounter_lines ADD CONSTRAINT encounter_lines_pkey PRIMARY KEY (encounter_id, line_no), DROP COLUMN revision, DROP COLUMN repriced_by;
ALTER TABLE line_shares ADD CONSTRAINT line_shares_line_key UNIQUE (encounter_id, line_no, position), DROP COLUMN revision, DROP COLUMN repriced_by;
DROP TABLE encounter_repricings;
DROP TABLE repricings;
ALTER TABLE encounters DROP COLUMN revision;
