-- +goose Up
-- Encounters, lines, shares and statement lines are written in bulk (a month's CSV, a month's
-- statements). A foreign key costs a lookup per inserted row; the keys that only pointed at
-- reference data are replaced by what makes them unnecessary: the service validates every code
-- against the reference data before writing, and the database refuses to delete reference data,
-- contracts, tariff versions, rules, ledger transactions or statements, so nothing a row points
-- to can go away. Lines and shares are written by the same statement batch as their encounter,
-- from the same data, and are never deleted either.

ALTER TABLE encounters
    DROP CONSTRAINT encounters_provider_code_fkey,
    DROP CONSTRAINT encounters_site_code_fkey,
    DROP CONSTRAINT encounters_contract_id_fkey,
    DROP CONSTRAINT encounters_ledger_transaction_id_fkey,
    DROP CONSTRAINT encounters_void_transaction_id_fkey;
ALTER TABLE encounter_lines
    DROP CONSTRAINT encounter_lines_encounter_id_fkey,
    DROP CONSTRAINT encounter_lines_service_code_fkey,
    DROP CONSTRAINT encounter_lines_tariff_version_id_fkey,
    DROP CONSTRAINT encounter_lines_cost_share_rule_id_fkey;
ALTER TABLE line_shares
    DROP CONSTRAINT line_shares_line_fkey,
    DROP CONSTRAINT line_shares_payer_code_fkey;
ALTER TABLE statement_lines
    DROP CONSTRAINT statement_lines_statement_id_fkey,
    DROP CONSTRAINT statement_lines_share_id_fkey;

CREATE TRIGGER jurisdictions_no_delete BEFORE DELETE ON jurisdictions FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER organizations_no_delete BEFORE DELETE ON organizations FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER sites_no_delete BEFORE DELETE ON sites FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER services_no_delete BEFORE DELETE ON services FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER contracts_no_delete BEFORE DELETE ON contracts FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER jurisdictions_no_truncate BEFORE TRUNCATE ON jurisdictions FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER organizations_no_truncate BEFORE TRUNCATE ON organizations FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER sites_no_truncate BEFORE TRUNCATE ON sites FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER services_no_truncate BEFORE TRUNCATE ON services FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER contracts_no_truncate BEFORE TRUNCATE ON contracts FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER statements_no_truncate BEFORE TRUNCATE ON statements FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER tariff_versions_no_truncate BEFORE TRUNCATE ON tariff_versions FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- +goose Down
DROP TRIGGER tariff_versions_no_truncate ON tariff_versions;
DROP TRIGGER statements_no_truncate ON statements;
DROP TRIGGER contracts_no_truncate ON contracts;
DROP TRIGGER services_no_truncate ON services;
DROP TRIGGER sites_no_truncate ON sites;
DROP TRIGGER organizations_no_truncate ON organizations;
DROP TRIGGER jurisdictions_no_truncate ON jurisdictions;
DROP TRIGGER contracts_no_delete ON contracts;
DROP TRIGGER services_no_delete ON services;
DROP TRIGGER sites_no_delete ON sites;
DROP TRIGGER organizations_no_delete ON organizations;
DROP TRIGGER jurisdictions_no_delete ON jurisdictions;
ALTER TABLE statement_lines
    ADD CONSTRAINT statement_lines_share_id_fkey FOREIGN KEY (share_id) REFERENCES line_shares (id),
    ADD CONSTRAINT statement_lines_statement_id_fkey FOREIGN KEY (statement_id) REFERENCES statements (id);
ALTER TABLE line_shares
    ADD CONSTRAINT line_shares_payer_code_fkey FOREIGN KEY (payer_code) REFERENCES organizations (code),
    ADD CONSTRAINT line_shares_line_fkey FOREIGN KEY (encounter_id, line_no) REFERENCES encounter_lines (encounter_id, line_no);
ALTER TABLE encounter_lines
    ADD CONSTRAINT encounter_lines_cost_share_rule_id_fkey FOREIGN KEY (cost_share_rule_id) REFERENCES cost_share_rules (id),
    ADD CONSTRAINT encounter_lines_tariff_version_id_fkey FOREIGN KEY (tariff_version_id) REFERENCES tariff_versions (id),
    ADD CONSTRAINT encounter_lines_service_code_fkey FOREIGN KEY (service_code) REFERENCES services (code),
    ADD CONSTRAINT encounter_lines_encounter_id_fkey FOREIGN KEY (encounter_id) REFERENCES encounters (id);
ALTER TABLE encounters
    ADD CONSTRAINT encounters_void_transaction_id_fkey FOREIGN KEY (void_transaction_id) REFERENCES ledger_transactions (id),
    ADD CONSTRAINT encounters_ledger_transaction_id_fkey FOREIGN KEY (ledger_transaction_id) REFERENCES ledger_transactions (id),
    ADD CONSTRAINT encounters_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES contracts (id),
    ADD CONSTRAINT encounters_site_code_fkey FOREIGN KEY (site_code) REFERENCES sites (code),
    ADD CONSTRAINT encounters_provider_code_fkey FOREIGN KEY (provider_code) REFERENCES organizations (code);
