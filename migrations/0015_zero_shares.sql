-- +goose Up
-- A payer listed at 0 basis points, or whose part of a line rounds to 0.00, no longer counts as
-- a party to the line (claims.sharesCost): its reviewers neither see the encounter nor count it
-- in their reports. The kept report rows of every month holding such a share were computed
-- when it still counted; mark those months so that the next refresh computes them again (until
-- then they are aggregated live, already without it).
INSERT INTO report_dirty (period)
SELECT DISTINCT to_char(service_date, 'YYYY-MM') FROM line_shares WHERE basis_points = 0 OR amount = 0;

-- +goose Down
-- Nothing to undo: the marks only make reports recompute months.
SELECT 1;
