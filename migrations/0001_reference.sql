-- +goose Up
-- Reference data: the jurisdiction tree, institutions, sites of care and the service catalogue.

CREATE TABLE jurisdictions (
    code        text        NOT NULL,
    name        text        NOT NULL,
    parent_code text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jurisdictions_pkey PRIMARY KEY (code),
    CONSTRAINT jurisdictions_parent_code_fkey FOREIGN KEY (parent_code) REFERENCES jurisdictions (code),
    CONSTRAINT jurisdictions_not_own_parent CHECK (parent_code IS DISTINCT FROM code)
);

CREATE TABLE organizations (
    code              text        NOT NULL,
    name              text        NOT NULL,
    kind              text        NOT NULL,
    jurisdiction_code text        NOT NULL,
    payer_type        text,
    level             text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_pkey PRIMARY KEY (code),
    CONSTRAINT organizations_jurisdiction_code_fkey FOREIGN KEY (jurisdiction_code) REFERENCES jurisdictions (code),
    CONSTRAINT organizations_kind_check CHECK (kind IN ('provider', 'payer')),
    CONSTRAINT organizations_payer_type_check CHECK (
        (kind = 'payer' AND payer_type IN ('international', 'donor', 'state_fund', 'government'))
        OR (kind = 'provider' AND payer_type IS NULL)),
    CONSTRAINT organizations_level_check CHECK (
        (kind = 'provider' AND level IN ('primary', 'secondary', 'tertiary'))
        OR (kind = 'payer' AND level IS NULL))
);

CREATE TABLE sites (
    code              text        NOT NULL,
    name              text        NOT NULL,
    kind              text        NOT NULL,
    jurisdiction_code text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sites_pkey PRIMARY KEY (code),
    CONSTRAINT sites_jurisdiction_code_fkey FOREIGN KEY (jurisdiction_code) REFERENCES jurisdictions (code),
    CONSTRAINT sites_kind_check CHECK (kind IN ('trc', 'mobile', 'health_facility'))
);

CREATE TABLE services (
    code              text        NOT NULL,
    name              text        NOT NULL,
    category          text        NOT NULL,
    unit              text        NOT NULL,
    requires_referral boolean     NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT services_pkey PRIMARY KEY (code),
    CONSTRAINT services_category_check CHECK (category IN ('primary_care', 'emergency', 'specialist',
        'diagnostics', 'dental', 'mental_health', 'vaccination', 'transport', 'hospital', 'team_day')),
    CONSTRAINT services_unit_check CHECK (unit IN ('visit', 'item', 'km', 'day', 'case'))
);

-- +goose Down
DROP TABLE services;
DROP TABLE sites;
DROP TABLE organizations;
DROP TABLE jurisdictions;
