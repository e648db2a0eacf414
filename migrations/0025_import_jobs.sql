-- +goose Up
-- Imports as jobs (issue 14 item 3, docs/import-jobs.md): a CSV file is stored here whole before
-- the client is answered 202, and a worker of claims/background runs it through the same import
-- as POST /v1/encounters/import, recording its progress as each chunk of encounters commits.
-- The file's bytes are kept in import_job_chunks until the job has finished; the rejected rows,
-- with their cells (never the patient id), stay in import_job_errors for errors.csv.
CREATE TABLE import_jobs (
    id               uuid          NOT NULL,
    provider_code    text          NOT NULL,
    state            text          NOT NULL DEFAULT 'queued',
    file_name        text          NOT NULL DEFAULT '',
    charset          text          NOT NULL DEFAULT '',
    size             bigint        NOT NULL DEFAULT 0,
    -- who created the job: the import runs as them (token id, name, role), in their request's name
    created_by       text          NOT NULL,
    created_by_name  text          NOT NULL DEFAULT '',
    created_role     text          NOT NULL,
    request_id       text          NOT NULL DEFAULT '',
    created_at       timestamptz   NOT NULL,
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz   NOT NULL,
    attempts         integer       NOT NULL DEFAULT 0,
    -- progress: counted as each chunk commits; through_row is the last row of the file those
    -- chunks covered, where a run after a restart starts counting again
    accepted         bigint        NOT NULL DEFAULT 0,
    skipped          bigint        NOT NULL DEFAULT 0,
    rejected         bigint        NOT NULL DEFAULT 0,
    through_row      bigint        NOT NULL DEFAULT 0,
    rows_per_second  bigint        NOT NULL DEFAULT 0,
    errors_truncated boolean       NOT NULL DEFAULT false,
    header           text[]        NOT NULL DEFAULT '{}',
    error_code       text          NOT NULL DEFAULT '',
    error_message    text          NOT NULL DEFAULT '',
    CONSTRAINT import_jobs_pkey PRIMARY KEY (id),
    CONSTRAINT import_jobs_state_check CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    CONSTRAINT import_jobs_counts_check CHECK (accepted >= 0 AND skipped >= 0 AND rejected >= 0 AND through_row >= 0 AND size >= 0),
    CONSTRAINT import_jobs_finished_check CHECK ((state IN ('succeeded', 'failed')) = (finished_at IS NOT NULL))
);
CREATE INDEX import_jobs_provider_idx ON import_jobs (provider_code, created_at DESC);
CREATE INDEX import_jobs_pending_idx ON import_jobs (created_at) WHERE state IN ('queued', 'running');

-- The stored file, in pieces of at most 1 MiB, in order.
CREATE TABLE import_job_chunks (
    job_id uuid    NOT NULL,
    seq    integer NOT NULL,
    data   bytea   NOT NULL,
    CONSTRAINT import_job_chunks_pkey PRIMARY KEY (job_id, seq),
    CONSTRAINT import_job_chunks_job_id_fkey FOREIGN KEY (job_id) REFERENCES import_jobs (id) ON DELETE CASCADE
);

-- The rejected rows: number, code, reason, and the row's cells in the file's column order
-- (the patient_id cell empty), when the import kept them.
CREATE TABLE import_job_errors (
    job_id  uuid    NOT NULL,
    row_no  bigint  NOT NULL,
    code    text    NOT NULL,
    message text    NOT NULL,
    cells   jsonb,
    CONSTRAINT import_job_errors_pkey PRIMARY KEY (job_id, row_no),
    CONSTRAINT import_job_errors_job_id_fkey FOREIGN KEY (job_id) REFERENCES import_jobs (id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE import_job_errors;
DROP TABLE import_job_chunks;
DROP TABLE import_jobs;
