-- +goose Up
-- Accounts for people (the web application), separate from API tokens, and their server-side
-- sessions. A password is stored only as an argon2id hash (PHC string); a session only as the
-- SHA-256 digest of its cookie value.

CREATE TABLE users (
    id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
    username            text        NOT NULL,
    display_name        text        NOT NULL,
    role                text        NOT NULL,
    org_code            text,
    locale              text        NOT NULL,
    password_hash       text        NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    disabled_at         timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_org_code_fkey FOREIGN KEY (org_code) REFERENCES organizations (code),
    CONSTRAINT users_role_check CHECK (role IN ('admin', 'clinic', 'reviewer', 'finance')),
    CONSTRAINT users_binding_check CHECK ((role IN ('clinic', 'reviewer')) = (org_code IS NOT NULL)),
    CONSTRAINT users_locale_check CHECK (locale IN ('bs', 'hr', 'sr-Latn', 'sr-Cyrl', 'en')),
    CONSTRAINT users_username_check CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$')
);
CREATE UNIQUE INDEX users_username_key ON users (username);

CREATE TABLE user_sessions (
    digest       bytea       NOT NULL,
    user_id      uuid        NOT NULL,
    csrf         text        NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ended_at     timestamptz,
    CONSTRAINT user_sessions_pkey PRIMARY KEY (digest),
    CONSTRAINT user_sessions_user_fkey FOREIGN KEY (user_id) REFERENCES users (id)
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id) WHERE ended_at IS NULL;

-- +goose Down
DROP TABLE user_sessions;
DROP TABLE users;
