-- +goose Up
-- Review sampling (issue 13 item 5, docs/review-sampling.md): a reviewer decides a seeded random
-- sample of a statement's unflagged lines, and the sample's rejected share (by amount) is applied
-- to the rest of them. Each application is recorded here, append-only, with the seed, the percent,
-- the sample's line ids and amounts, and the rate; each line it decided names it.
CREATE TABLE statement_extrapolations (
    id               bigint        GENERATED ALWAYS AS IDENTITY,
    statement_id     uuid          NOT NULL,
    seed             bigint        NOT NULL,
    sample_percent   integer       NOT NULL,
    population       integer       NOT NULL,
    sample_line_ids  bigint[]      NOT NULL,
    sampled_amount   numeric(18,2) NOT NULL,
    sampled_rejected numeric(18,2) NOT NULL,
    rate             numeric(7,6)  NOT NULL,
    lines            integer       NOT NULL,
    claimed          numeric(18,2) NOT NULL,
    approved         numeric(18,2) NOT NULL,
    decided_by       text          NOT NULL,
    decided_role     text          NOT NULL,
    decided_at       timestamptz   NOT NULL,
    request_id       text          NOT NULL DEFAULT '',
    CONSTRAINT statement_extrapolations_pkey PRIMARY KEY (id),
    CONSTRAINT statement_extrapolations_statement_id_fkey FOREIGN KEY (statement_id) REFERENCES statements (id),
    CONSTRAINT statement_extrapolations_seed_check CHECK (seed >= 1),
    CONSTRAINT statement_extrapolations_percent_check CHECK (sample_percent BETWEEN 1 AND 100),
    CONSTRAINT statement_extrapolations_rate_check CHECK (rate >= 0 AND rate <= 1),
    CONSTRAINT statement_extrapolations_amounts_check CHECK (sampled_rejected >= 0 AND sampled_rejected <= sampled_amount
        AND approved >= 0 AND approved <= claimed)
);
CREATE INDEX statement_extrapolations_statement_idx ON statement_extrapolations (statement_id, id);
CREATE TRIGGER statement_extrapolations_append_only BEFORE UPDATE OR DELETE ON statement_extrapolations
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER statement_extrapolations_no_truncate BEFORE TRUNCATE ON statement_extrapolations
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- The extrapolation that decided a line, while that is its current decision (a decision taken by
-- hand clears it). No foreign key, as for the other keys of statement lines (0008): the service
-- writes it in the transaction that adds the extrapolation.
ALTER TABLE statement_lines
    ADD COLUMN extrapolation_id bigint,
    ADD CONSTRAINT statement_lines_extrapolation_check CHECK (extrapolation_id IS NULL OR decision IS NOT NULL);

-- Like decisions, it moves only while the statement is under review. A trigger of its own, so
-- that statement_line_guard (0007), which other changes replace, stays theirs.
-- +goose StatementBegin
CREATE FUNCTION statement_line_extrapolation_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    st text;
BEGIN
    SELECT status INTO st FROM statements WHERE id = OLD.statement_id;
    IF st NOT IN ('submitted', 'under_review') THEN
        RAISE EXCEPTION 'the lines of a % statement are frozen', st
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'statement_lines_frozen';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER statement_lines_extrapolation_guard BEFORE UPDATE OF extrapolation_id ON statement_lines
    FOR EACH ROW WHEN (OLD.extrapolation_id IS DISTINCT FROM NEW.extrapolation_id)
    EXECUTE FUNCTION statement_line_extrapolation_guard();

-- +goose Down
DROP TRIGGER statement_lines_extrapolation_guard ON statement_lines;
DROP FUNCTION statement_line_extrapolation_guard();
ALTER TABLE statement_lines DROP CONSTRAINT statement_lines_extrapolation_check, DROP COLUMN extrapolation_id;
DROP TABLE statement_extrapolations;
