-- +goose Up
-- The transition report over a million lines cannot be aggregated on every read in 300 ms
-- (distinct patients over hundreds of thousands of encounters). Each month's rows are kept
-- computed, for every grouping and for every payer's reviewers, in report_months.
--
-- Writers never touch report_months: a post or a void only adds a row to report_dirty for the
-- month it changes, in its own transaction (insert-only, so writers never wait on each other).
-- A refresher (claims.Service.RefreshReports, run by the server in the background) takes a
-- month's dirty marks and recomputes its rows in one transaction. A report reads, in one
-- snapshot, the kept rows of the months without marks and aggregates the marked months live,
-- so it is always as fresh as the ledger: a mark commits with the change it announces, and a
-- month's marks disappear only together with the rows recomputed after them.

-- Servers of an earlier version must be stopped before this runs (they would not mark the
-- months they change); the lock keeps any writer out while the months are marked.
LOCK TABLE encounters IN SHARE MODE;

CREATE TABLE report_dirty (
    period    text        NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_dirty_period_idx ON report_dirty (period);
CREATE TRIGGER report_dirty_no_truncate BEFORE TRUNCATE ON report_dirty FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

CREATE TABLE report_months (
    period        text          NOT NULL,
    grouping      text          NOT NULL,
    payer_code    text          NOT NULL,
    currency      text          NOT NULL,
    grp           text          NOT NULL,
    total         numeric(18,2) NOT NULL,
    international numeric(18,2) NOT NULL,
    donor         numeric(18,2) NOT NULL,
    state_fund    numeric(18,2) NOT NULL,
    government    numeric(18,2) NOT NULL,
    encounters    integer       NOT NULL,
    patients      integer       NOT NULL,
    CONSTRAINT report_months_pkey PRIMARY KEY (grouping, payer_code, period, currency, grp)
);

-- The rows are kept per grouping of the site's canton, the service's category and the payer's
-- type; those never change once written (reference data is only ever added).
-- +goose StatementBegin
CREATE FUNCTION refuse_regrouping() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% of % cannot change: reports are grouped by it', TG_ARGV[0], TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation', CONSTRAINT = TG_TABLE_NAME || '_grouping_immutable';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER sites_grouping_immutable BEFORE UPDATE OF jurisdiction_code ON sites
    FOR EACH ROW WHEN (NEW.jurisdiction_code IS DISTINCT FROM OLD.jurisdiction_code) EXECUTE FUNCTION refuse_regrouping('jurisdiction_code');
CREATE TRIGGER services_grouping_immutable BEFORE UPDATE OF category ON services
    FOR EACH ROW WHEN (NEW.category IS DISTINCT FROM OLD.category) EXECUTE FUNCTION refuse_regrouping('category');
CREATE TRIGGER organizations_grouping_immutable BEFORE UPDATE OF payer_type ON organizations
    FOR EACH ROW WHEN (NEW.payer_type IS DISTINCT FROM OLD.payer_type) EXECUTE FUNCTION refuse_regrouping('payer_type');

-- Every month that already has encounters is computed by the first refresh.
INSERT INTO report_dirty (period) SELECT DISTINCT to_char(service_date, 'YYYY-MM') FROM encounters;

-- +goose Down
DROP TRIGGER organizations_grouping_immutable ON organizations;
DROP TRIGGER services_grouping_immutable ON services;
DROP TRIGGER sites_grouping_immutable ON sites;
DROP FUNCTION refuse_regrouping();
DROP TABLE report_months;
DROP TABLE report_dirty;
