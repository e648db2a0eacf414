-- +goose Up
-- The kept report months (0010) are updated by what changed instead of recomputed whole: a month
-- recomputed after a 100,000-line import held a core for about 10 s, growing with the month.
--
-- A post or a void now records, in its own transaction, the encounters it posted (sign 1) or
-- voided (sign -1) in report_changes, one row per month and writer call (insert-only, so writers
-- never wait on each other). The refresher (claims/reports/report_months.go) takes a month's
-- rows and folds what those encounters add or take away into report_months, in one transaction
-- that also deletes the rows it took: its cost follows what was written, not the month's size.
-- A report aggregates live the months with rows in report_changes, as it does those marked in
-- report_dirty.
--
-- report_dirty keeps its meaning: a month marked there is recomputed whole (the repair path; the
-- migrations that change how a month is counted mark it so). Servers of an earlier version must be
-- stopped before this runs: their refresher would recompute a month whole and leave its
-- report_changes rows behind, to be counted a second time. A changed patient's
-- other encounters of the month are found through encounters_patient_day_idx (0006), one probe per
-- provider: writers pay for no new index.
CREATE TABLE report_changes (
    period        text        NOT NULL,
    sign          smallint    NOT NULL,
    encounter_ids uuid[]      NOT NULL,
    marked_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT report_changes_sign_check CHECK (abs(sign) = 1) -- 1 posted, -1 voided
);
CREATE INDEX report_changes_period_idx ON report_changes (period);
CREATE TRIGGER report_changes_no_truncate BEFORE TRUNCATE ON report_changes FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- +goose Down
DROP TABLE report_changes;
