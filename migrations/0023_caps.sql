-- +goose Up
-- Budget ceilings (issue 13 item 3, docs/caps.md): per contract × payer × period (month,
-- quarter, year) an amount beyond which the payer's shares go to the overflow payer (route) or
-- are flagged over_cap for the reviewer (warn). The writer consumes them inside its transaction,
-- in posting order, under a row lock on the cap-period (cap_periods); voids give the room back.
CREATE TABLE contract_caps (
    id                  bigint        GENERATED ALWAYS AS IDENTITY,
    contract_id         bigint        NOT NULL,
    payer_code          text          NOT NULL,
    period              text          NOT NULL,
    amount              numeric(18,2) NOT NULL,
    effective_from      date          NOT NULL,
    effective_to        date,
    overflow_payer_code text,
    mode                text          NOT NULL,
    created_at          timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT contract_caps_pkey PRIMARY KEY (id),
    CONSTRAINT contract_caps_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts (id),
    CONSTRAINT contract_caps_payer_code_fkey FOREIGN KEY (payer_code) REFERENCES organizations (code),
    CONSTRAINT contract_caps_overflow_payer_code_fkey FOREIGN KEY (overflow_payer_code) REFERENCES organizations (code),
    CONSTRAINT contract_caps_period_check CHECK (period IN ('month', 'quarter', 'year')),
    CONSTRAINT contract_caps_mode_check CHECK (mode IN ('route', 'warn')),
    CONSTRAINT contract_caps_amount_check CHECK (amount > 0),
    CONSTRAINT contract_caps_dates_check CHECK (effective_to IS NULL OR effective_to > effective_from),
    CONSTRAINT contract_caps_overflow_check CHECK (overflow_payer_code IS NOT NULL OR mode = 'warn'),
    CONSTRAINT contract_caps_overflow_other_check CHECK (overflow_payer_code <> payer_code),
    CONSTRAINT contract_caps_no_overlap EXCLUDE USING gist (
        contract_id WITH =, payer_code WITH =, daterange(effective_from, effective_to) WITH &&)
);
CREATE TRIGGER contract_caps_append_only BEFORE UPDATE OR DELETE ON contract_caps
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- What one period of a cap has used: the row writers lock (FOR UPDATE) to consume it.
CREATE TABLE cap_periods (
    cap_id       bigint        NOT NULL,
    period_start date          NOT NULL,
    used         numeric(18,2) NOT NULL DEFAULT 0,
    CONSTRAINT cap_periods_pkey PRIMARY KEY (cap_id, period_start),
    CONSTRAINT cap_periods_cap_id_fkey FOREIGN KEY (cap_id) REFERENCES contract_caps (id),
    CONSTRAINT cap_periods_used_check CHECK (used >= 0)
);

-- One share's use of a cap: what it charged to it (consumed), what went to the overflow payer
-- (routed, mode route) and what lies beyond the ceiling (over, mode warn). A void or repricing
-- sets released_at and gives consumed back to the period.
CREATE TABLE cap_uses (
    id           bigint        GENERATED ALWAYS AS IDENTITY,
    cap_id       bigint        NOT NULL,
    period_start date          NOT NULL,
    encounter_id uuid          NOT NULL,
    line_no      integer       NOT NULL,
    payer_code   text          NOT NULL,
    consumed     numeric(18,2) NOT NULL,
    routed       numeric(18,2) NOT NULL,
    over         numeric(18,2) NOT NULL,
    created_at   timestamptz   NOT NULL,
    released_at  timestamptz,
    CONSTRAINT cap_uses_pkey PRIMARY KEY (id),
    CONSTRAINT cap_uses_period_fkey FOREIGN KEY (cap_id, period_start) REFERENCES cap_periods (cap_id, period_start),
    CONSTRAINT cap_uses_amounts_check CHECK (consumed >= 0 AND routed >= 0 AND over >= 0)
);
CREATE INDEX cap_uses_encounter_idx ON cap_uses (encounter_id);

-- +goose Down
DROP TABLE cap_uses;
DROP TABLE cap_periods;
DROP TABLE contract_caps;
