// Package imports runs CSV imports as jobs (issue 14, docs/import-jobs.md): Create stores the
// whole file in PostgreSQL (import_job_chunks) before the client is answered, and Run, owned by
// claims/background, imports queued files one at a time through the same import as
// POST /v1/encounters/import (encounters.Service.ImportFile), recording the job's progress as each
// chunk of encounters commits, and the rejected rows with their cells for errors.csv.
//
// A job survives a restart: while a server runs a job it holds a session advisory lock on it,
// which PostgreSQL releases when that server's connection goes away (a crash, kill -9). A job
// left running whose lock is free is run again from the start of its file: each chunk of the
// import is one transaction and encounters already stored with the same content are skipped, so
// nothing is half-written and nothing is posted twice; rows counted by the earlier run (up to
// through_row) are not counted again. A job interrupted MaxAttempts times is marked failed.
//
// Errors: Create returns EFORBIDDEN for a caller who is not clinic staff, ETOOLARGE beyond the
// limit, EINVALID or EUNSUPPORTED for a file whose header or character set the import refuses
// (nothing is stored then), and the reader's own error for a body that could not be read; Find,
// List and EachError return ENOTFOUND for a job outside the caller's provider.
package imports
