-- +goose Up
-- API tokens (stored only as a SHA-256 digest) and the append-only audit log.

CREATE TABLE api_tokens (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    name         text        NOT NULL,
    role         text        NOT NULL,
    org_code     text,
    digest       bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT api_tokens_digest_key UNIQUE (digest),
    CONSTRAINT api_tokens_org_code_fkey FOREIGN KEY (org_code) REFERENCES organizations (code),
    CONSTRAINT api_tokens_role_check CHECK (role IN ('admin', 'clinic', 'reviewer', 'finance')),
    CONSTRAINT api_tokens_binding_check CHECK ((role IN ('clinic', 'reviewer')) = (org_code IS NOT NULL))
);

CREATE TABLE audit_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    role        text        NOT NULL,
    action      text        NOT NULL,
    object_type text        NOT NULL,
    object_id   text        NOT NULL,
    request_id  text        NOT NULL DEFAULT '',
    detail      jsonb,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id)
);
CREATE INDEX audit_log_object_idx ON audit_log (object_id);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- +goose Down
DROP TABLE audit_log;
DROP TABLE api_tokens;
