-- +goose Up
-- A voided encounter has at most one live (posted) correction. Without this, a clinic could post
-- any number of new encounters into a closed month by naming one voided encounter of that month
-- as corrected, again and again. The writer refuses a second correction first (with a message
-- naming the encounter); this index is the last line, also across concurrent writers, and makes
-- the writer's lookup of an existing correction an index probe.
CREATE UNIQUE INDEX encounters_corrects_live_key ON encounters (corrects) WHERE corrects IS NOT NULL AND status = 'posted';

-- +goose Down
DROP INDEX encounters_corrects_live_key;
