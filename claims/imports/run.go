package imports

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/internal/access"
)

// Run runs queued jobs, and jobs left running by a server that stopped, one at a time, until
// ctx ends; it looks for work when Create stores a job and every poll. A job interrupted by
// ctx stays running and is resumed by the next Run (this server's after a restart, or
// another's).
func (s *Service) Run(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = 2 * time.Second
	}
	for ctx.Err() == nil {
		ran, err := s.RunNext(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("import job", "err", err)
		}
		if ran && err == nil {
			continue
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunNext runs the oldest job no other server is running, if there is one, and reports
// whether it found one. A job it cannot finish for a reason other than its file (the database
// went away, ctx ended) stays running, to be resumed.
func (s *Service) RunNext(ctx context.Context) (bool, error) {
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	var ids []string
	if err := conn.SelectContext(ctx, &ids, `SELECT id FROM import_jobs WHERE state IN ('queued', 'running') ORDER BY created_at, id LIMIT 50`); err != nil {
		_ = conn.Close()
		return false, fmt.Errorf("find import jobs: %w", err)
	}
	for _, id := range ids {
		var locked bool
		if err := conn.GetContext(ctx, &locked, `SELECT pg_try_advisory_lock(hashtext('import_job'), hashtext($1))`, id); err != nil {
			_ = conn.Close()
			return false, fmt.Errorf("lock import job: %w", err)
		}
		if !locked {
			continue // another server runs it
		}
		err := s.run(ctx, id)
		release(conn, id)
		return true, err
	}
	_ = conn.Close()
	return false, nil
}

// release unlocks job id and gives conn back; a connection that cannot unlock is discarded,
// which ends its session and so its locks.
func release(conn *sqlx.Conn, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(hashtext('import_job'), hashtext($1))`, id); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = conn.Close()
}

// run imports job id, which this server has locked.
func (s *Service) run(ctx context.Context, id string) error {
	var j struct {
		Provider  string `db:"provider_code"`
		Charset   string `db:"charset"`
		By        string `db:"created_by"`
		ByName    string `db:"created_by_name"`
		Role      string `db:"created_role"`
		RequestID string `db:"request_id"`
		Attempts  int    `db:"attempts"`
		Through   int    `db:"through_row"`
	}
	now := s.now()
	err := s.db.GetContext(ctx, &j, `
		UPDATE import_jobs SET state = 'running', started_at = coalesce(started_at, $2), attempts = attempts + 1, updated_at = $2
		WHERE id = $1 AND state IN ('queued', 'running')
		RETURNING provider_code, charset, created_by, created_by_name, created_role, request_id, attempts, through_row`, id, now)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // finished by another server meanwhile
	}
	if err != nil {
		return fmt.Errorf("start import job: %w", err)
	}
	maxAttempts := s.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	if j.Attempts > maxAttempts {
		return s.finish(ctx, id, StateFailed, "interrupted", fmt.Sprintf(
			"the import was interrupted %d times (the server stopped while it ran); what it stored before is kept: "+
				"upload the file again and rows already imported are skipped", j.Attempts-1), -1)
	}
	if j.Attempts > 1 {
		s.log.Info("import job resumed", "job", id, "attempt", j.Attempts, "through_row", j.Through)
	}
	ctx = access.WithPrincipal(ctx, access.Principal{TokenID: j.By, Name: j.ByName, Role: j.Role, OrgCode: j.Provider})
	ctx = access.WithRequestID(ctx, j.RequestID)
	var stored int
	if err := s.db.GetContext(ctx, &stored, `SELECT count(*) FROM import_job_errors WHERE job_id = $1`, id); err != nil {
		return fmt.Errorf("count import errors: %w", err)
	}
	started, rows := time.Now(), 0
	rate := func() int64 {
		secs := time.Since(started).Seconds()
		if secs <= 0 {
			return 0
		}
		return int64(float64(rows) / secs)
	}
	progress := func(p encounters.ImportProgress) error {
		if p.LastRow <= j.Through {
			return nil // counted by an earlier run, which committed this chunk
		}
		rows += p.Accepted + p.Skipped + p.Rejected
		if err := s.record(ctx, id, p, &stored, rate()); err != nil {
			return err
		}
		j.Through = p.LastRow
		if f := s.onRows.Load(); f != nil {
			(*f)(p.Accepted, p.Skipped, p.Rejected)
		}
		return nil
	}
	body := &storedFile{ctx: ctx, db: s.db, id: id}
	_, err = s.enc.ImportFile(ctx, body, encounters.ImportOptions{Charset: j.Charset, KeepRejectedRows: true, Progress: progress})
	if ctx.Err() != nil {
		return ctx.Err() // stopped: the job stays running and is resumed
	}
	if body.err != nil {
		return fmt.Errorf("import job %s: %w", id, body.err) // the database, not the file: stays running
	}
	var te *trcledger.Error
	switch {
	case err == nil:
		return s.finish(ctx, id, StateSucceeded, "", "", rate())
	case errors.As(err, &te) && te.Code != trcledger.EINTERNAL:
		return s.finish(ctx, id, StateFailed, te.Code, te.Message, rate())
	}
	return fmt.Errorf("import job %s: %w", id, err) // stays running: tried again, up to MaxAttempts
}

// record adds one committed chunk's outcome to the job, with its rejected rows, in one
// transaction.
func (s *Service) record(ctx context.Context, id string, p encounters.ImportProgress, stored *int, rate int64) error {
	errs := p.Errors
	truncated := p.ErrorsTruncated
	if left := MaxJobErrors - *stored; len(errs) > left {
		errs, truncated = errs[:max(left, 0)], true
	}
	rowNos := make([]int64, len(errs))
	codes, msgs, cells := make([]string, len(errs)), make([]string, len(errs)), make([]string, len(errs))
	for i, e := range errs {
		rowNos[i], codes[i], msgs[i] = int64(e.Row), e.Code, e.Message
		b, err := json.Marshal(e.Cells)
		if err != nil {
			return fmt.Errorf("encode import error cells: %w", err)
		}
		cells[i] = string(b)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `
		INSERT INTO import_job_errors (job_id, row_no, code, message, cells)
		SELECT $1, r, c, m, NULLIF(x, 'null')::jsonb FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[]) AS e(r, c, m, x)
		ON CONFLICT (job_id, row_no) DO NOTHING`, id, pq.Array(rowNos), pq.Array(codes), pq.Array(msgs), pq.Array(cells))
	if err != nil {
		return fmt.Errorf("store import errors: %w", err)
	}
	n, _ := res.RowsAffected()
	var header any
	if len(p.Header) > 0 {
		header = pq.Array(p.Header)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE import_jobs SET accepted = accepted + $2, skipped = skipped + $3, rejected = rejected + $4, through_row = $5,
			rows_per_second = $6, errors_truncated = errors_truncated OR $7, header = coalesce($8::text[], header), updated_at = $9
		WHERE id = $1`, id, p.Accepted, p.Skipped, p.Rejected, p.LastRow, rate, truncated, header, s.now()); err != nil {
		return fmt.Errorf("record import progress: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit import progress: %w", err)
	}
	*stored += int(n)
	return nil
}

// finish ends job id in state (succeeded or failed, with why) and deletes its stored file;
// rate < 0 keeps the recorded rate.
func (s *Service) finish(ctx context.Context, id, state, code, msg string, rate int64) error {
	ctx = context.WithoutCancel(ctx)
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	now := s.now()
	if _, err := tx.ExecContext(ctx, `
		UPDATE import_jobs SET state = $2, error_code = $3, error_message = $4, finished_at = $5, updated_at = $5,
			rows_per_second = CASE WHEN $6::bigint < 0 THEN rows_per_second ELSE $6::bigint END
		WHERE id = $1`, id, state, code, msg, now, rate); err != nil {
		return fmt.Errorf("finish import job: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM import_job_chunks WHERE job_id = $1`, id); err != nil {
		return fmt.Errorf("delete import file: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit import job: %w", err)
	}
	if f := s.onFinish.Load(); f != nil {
		(*f)(state)
	}
	s.log.Info("import job finished", "job", id, "state", state, "code", code)
	return nil
}

// storedFile reads a job's stored file, one piece at a time.
type storedFile struct {
	ctx  context.Context
	db   *sqlx.DB
	id   string
	seq  int
	buf  []byte
	done bool
	err  error // why reading the stored file failed
}

func (f *storedFile) Read(p []byte) (int, error) {
	for len(f.buf) == 0 {
		if f.done {
			return 0, io.EOF
		}
		err := f.db.GetContext(f.ctx, &f.buf, `SELECT data FROM import_job_chunks WHERE job_id = $1 AND seq = $2`, f.id, f.seq)
		if errors.Is(err, sql.ErrNoRows) {
			f.done = true
			continue
		}
		if err != nil {
			f.err = fmt.Errorf("read stored import file: %w", err)
			return 0, f.err
		}
		f.seq++
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}
