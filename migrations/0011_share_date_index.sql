-- +goose Up
-- Statements no longer look shares up by provider, payer and date (they take them from
-- unclaimed_shares), so that index only cost every post an insert. The transition report's
-- months read shares by service date: the refresher computing one month, and a report
-- aggregating a month that is being written to.
DROP INDEX line_shares_claim_idx;
CREATE INDEX line_shares_service_date_idx ON line_shares (service_date);

-- +goose Down
DROP INDEX line_shares_service_date_idx;
CREATE INDEX line_shares_claim_idx ON line_shares (provider_code, payer_code, service_date);
