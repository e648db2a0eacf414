-- +goose Up
-- What must never change once written, enforced by the database as well as by the code.

-- Encounters move only from posted to voided, recording when, why and the reversing
-- transaction; nothing else of an encounter ever changes.
-- +goose StatementBegin
CREATE FUNCTION encounter_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER encounters_guard BEFORE UPDATE OR DELETE ON encounters
    FOR EACH ROW EXECUTE FUNCTION encounter_guard();

-- A cost-share rule that may have split a line is never edited; a new rule is added instead.
CREATE TRIGGER cost_share_rules_append_only BEFORE UPDATE OR DELETE ON cost_share_rules
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- A statement's parties, period and (once submitted) content are fixed; once reviewed its
-- totals are fixed and only what has been paid moves.
-- +goose StatementBegin
CREATE FUNCTION statement_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.number <> OLD.number OR NEW.provider_code <> OLD.provider_code
       OR NEW.payer_code <> OLD.payer_code OR NEW.period <> OLD.period OR NEW.currency <> OLD.currency
       OR (OLD.status <> 'draft' AND (NEW.claimed <> OLD.claimed OR NEW.content_hash IS DISTINCT FROM OLD.content_hash))
       OR (OLD.approved IS NOT NULL AND (NEW.approved IS DISTINCT FROM OLD.approved OR NEW.rejected IS DISTINCT FROM OLD.rejected))
       OR OLD.status IN ('paid', 'cancelled') THEN
        RAISE EXCEPTION 'statement % cannot change this way', OLD.number
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'statements_frozen';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER statements_guard BEFORE UPDATE OR DELETE ON statements
    FOR EACH ROW EXECUTE FUNCTION statement_guard();

-- Decisions move only while the statement is under review.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION statement_line_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    st text;
BEGIN
    SELECT status INTO st FROM statements WHERE id = OLD.statement_id;
    IF st = 'draft' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' OR NEW.statement_id <> OLD.statement_id OR NEW.share_id <> OLD.share_id
       OR NEW.amount <> OLD.amount OR NEW.flags <> OLD.flags OR (NEW.live <> OLD.live AND st <> 'cancelled')
       OR (st NOT IN ('submitted', 'under_review') AND (NEW.decision IS DISTINCT FROM OLD.decision
           OR NEW.approved_amount IS DISTINCT FROM OLD.approved_amount OR NEW.reason_code IS DISTINCT FROM OLD.reason_code
           OR NEW.note IS DISTINCT FROM OLD.note)) THEN
        RAISE EXCEPTION 'the lines of a % statement are frozen', st
            USING ERRCODE = 'restrict_violation', CONSTRAINT = 'statement_lines_frozen';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- No TRUNCATE of anything append-only.
-- +goose StatementBegin
CREATE FUNCTION refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only; it is never truncated', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation', CONSTRAINT = TG_TABLE_NAME || '_append_only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER encounters_no_truncate BEFORE TRUNCATE ON encounters FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER encounter_lines_no_truncate BEFORE TRUNCATE ON encounter_lines FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER line_shares_no_truncate BEFORE TRUNCATE ON line_shares FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER statement_decisions_no_truncate BEFORE TRUNCATE ON statement_decisions FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER payments_no_truncate BEFORE TRUNCATE ON payments FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER tariff_items_no_truncate BEFORE TRUNCATE ON tariff_items FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER cost_share_rules_no_truncate BEFORE TRUNCATE ON cost_share_rules FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();
CREATE TRIGGER cost_share_rule_shares_no_truncate BEFORE TRUNCATE ON cost_share_rule_shares FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate();

-- +goose Down
DROP TRIGGER cost_share_rule_shares_no_truncate ON cost_share_rule_shares;
DROP TRIGGER cost_share_rules_no_truncate ON cost_share_rules;
DROP TRIGGER tariff_items_no_truncate ON tariff_items;
DROP TRIGGER payments_no_truncate ON payments;
DROP TRIGGER statement_decisions_no_truncate ON statement_decisions;
DROP TRIGGER line_shares_no_truncate ON line_shares;
DROP TRIGGER encounter_lines_no_truncate ON encounter_lines;
DROP TRIGGER encounters_no_truncate ON encounters;
DROP TRIGGER audit_log_no_truncate ON audit_log;
DROP FUNCTION refuse_truncate();
DROP TRIGGER statements_guard ON statements;
DROP FUNCTION statement_guard();
DROP TRIGGER cost_share_rules_append_only ON cost_share_rules;
DROP TRIGGER encounters_guard ON encounters;
DROP FUNCTION encounter_guard();
