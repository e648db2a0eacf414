package imports

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/internal/access"
)

// States of a job: queued until a worker takes it, running while it imports (and after a crash,
// until a worker takes it again), then succeeded or failed.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
)

// States lists every state of a job (the import_jobs_state_check of migration 0025).
var States = []string{StateQueued, StateRunning, StateSucceeded, StateFailed}

// chunkSize is the most one stored piece of a file holds.
const chunkSize = 1 << 20

// MaxJobErrors caps the rejected rows one job keeps for errors.csv (every rejected row is
// counted); beyond it errors_truncated is set.
const MaxJobErrors = 100_000

// DefaultMaxAttempts is how many times a job is started (the first run and the runs after a
// server stopped under it) before it is marked failed.
const DefaultMaxAttempts = 3

// Job is one import job as the API shows it.
type Job struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	ProviderCode string `json:"provider_code"`
	FileName     string `json:"file_name"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// RowsRead is the data rows done so far: accepted + skipped + rejected.
	RowsRead int64 `json:"rows_read"`
	Accepted int64 `json:"accepted"`
	Skipped  int64 `json:"skipped"`
	Rejected int64 `json:"rejected"`
	// RowsPerSecond is the rate of the current (or last) run, rows done over the time it ran.
	RowsPerSecond int64 `json:"rows_per_second"`
	// ErrorsTruncated says errors.csv lists fewer rows than were rejected.
	ErrorsTruncated bool `json:"errors_truncated"`
	// Attempts is how many times the job was started (more than 1 after a restart).
	Attempts   int             `json:"attempts"`
	CreatedAt  trcledger.Time  `json:"created_at"`
	StartedAt  *trcledger.Time `json:"started_at"`
	FinishedAt *trcledger.Time `json:"finished_at"`
	// Error says why a failed job stopped: the import's code and message.
	Error *JobError `json:"error"`
	Links Links     `json:"links"`

	Header []string `json:"-"` // the file's header row, once the first chunk committed
}

// JobError is why a job failed.
type JobError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Links are where a job's state and its rejected rows are read.
type Links struct {
	Self   string `json:"self"`
	Errors string `json:"errors"`
}

// Service creates, runs and reads import jobs. Its exported methods own their transactions.
type Service struct {
	db  *sqlx.DB
	enc *encounters.Service
	now func() time.Time
	log *slog.Logger

	// MaxAttempts is how many times a job is started before it is marked failed; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int

	wake     chan struct{}
	onRows   atomic.Pointer[func(accepted, skipped, rejected int)]
	onFinish atomic.Pointer[func(state string)]
}

// NewService returns the jobs service over enc's import; log may be nil.
func NewService(db *sqlx.DB, enc *encounters.Service, now func() time.Time, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{db: db, enc: enc, now: now, log: log, wake: make(chan struct{}, 1)}
}

// OnRows sets f to be told the rows of every committed chunk by outcome (metrics).
func (s *Service) OnRows(f func(accepted, skipped, rejected int)) { s.onRows.Store(&f) }

// OnFinish sets f to be told the state every job finishes in (metrics).
func (s *Service) OnFinish(f func(state string)) { s.onFinish.Store(&f) }

// CreateOptions describe the uploaded file.
type CreateOptions struct {
	FileName string
	// Charset is the character set the client declared, as encounters.ImportOptions.Charset.
	Charset string
	// Limit caps the file in bytes (ETOOLARGE beyond it, and nothing is stored); 0: no cap.
	Limit int64
}

// Create stores the file read from r as a queued job, for clinic staff, and returns it. The
// whole file is stored, in one transaction, before Create returns: a job that exists has its
// file. The header row is checked first, as the import would (EINVALID, EUNSUPPORTED); a file
// beyond opts.Limit is ETOOLARGE; an error reading r is returned as it is. Nothing is stored
// on any error.
func (s *Service) Create(ctx context.Context, r io.Reader, opts CreateOptions) (*Job, error) {
	p := access.PrincipalFrom(ctx)
	if p.Role != access.RoleClinic || p.OrgCode == "" {
		return nil, trcledger.Errorf(trcledger.EFORBIDDEN, "only clinic staff import encounters")
	}
	if len(opts.FileName) > 200 {
		opts.FileName = opts.FileName[:200]
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	id, now := claims.NewUUID(), s.now()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO import_jobs (id, provider_code, file_name, charset, created_by, created_by_name, created_role, request_id, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
		id, p.OrgCode, opts.FileName, opts.Charset, p.TokenID, p.Name, p.Role, access.RequestID(ctx), now); err != nil {
		return nil, fmt.Errorf("insert import job: %w", err)
	}
	buf := make([]byte, chunkSize)
	var size int64
	seq := 0
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			size += int64(n)
			if opts.Limit > 0 && size > opts.Limit {
				return nil, trcledger.Errorf(trcledger.ETOOLARGE, "the file is larger than %s, the most one upload may hold; nothing was stored: send it in parts, each under the same header row", sizeOf(opts.Limit))
			}
			if seq == 0 {
				if err := encounters.CheckImportHeader(buf[:n], opts.Charset); err != nil {
					return nil, err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO import_job_chunks (job_id, seq, data) VALUES ($1, $2, $3)`, id, seq, buf[:n]); err != nil {
				return nil, fmt.Errorf("store import file: %w", err)
			}
			seq++
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	if seq == 0 {
		if err := encounters.CheckImportHeader(nil, opts.Charset); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE import_jobs SET size = $2 WHERE id = $1`, id, size); err != nil {
		return nil, fmt.Errorf("record import size: %w", err)
	}
	if err := access.Record(ctx, tx, "create", "import_job", id, map[string]any{"size": size}); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit import job: %w", err)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return s.find(ctx, s.db, id)
}

func sizeOf(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// visible reports whether p may see a job of provider: its own clinic staff, and the command
// line (System).
func visible(p access.Principal, provider string) bool {
	return (p.Role == access.RoleClinic && p.OrgCode == provider) || p == access.System
}

const jobColumns = `id, state, provider_code, file_name, size, accepted, skipped, rejected, rows_per_second,
	errors_truncated, attempts, created_at, started_at, finished_at, error_code, error_message, header`

func scanJob(sc interface{ Scan(...any) error }) (*Job, error) {
	var j Job
	var created time.Time
	var started, finished sql.NullTime
	var code, msg string
	var header pq.StringArray
	if err := sc.Scan(&j.ID, &j.State, &j.ProviderCode, &j.FileName, &j.Size, &j.Accepted, &j.Skipped, &j.Rejected, &j.RowsPerSecond,
		&j.ErrorsTruncated, &j.Attempts, &created, &started, &finished, &code, &msg, &header); err != nil {
		return nil, err
	}
	j.RowsRead = j.Accepted + j.Skipped + j.Rejected
	j.CreatedAt = trcledger.TimeOf(created)
	if started.Valid {
		j.StartedAt = &trcledger.Time{Time: started.Time}
	}
	if finished.Valid {
		j.FinishedAt = &trcledger.Time{Time: finished.Time}
	}
	if code != "" {
		j.Error = &JobError{Code: code, Message: msg}
	}
	j.Header = header
	j.Links = Links{Self: "/v1/imports/" + j.ID, Errors: "/v1/imports/" + j.ID + "/errors.csv"}
	return &j, nil
}

func (s *Service) find(ctx context.Context, q sqlx.QueryerContext, id string) (*Job, error) {
	if !claims.UUIDPattern.MatchString(id) {
		return nil, trcledger.Errorf(trcledger.ENOTFOUND, "import job %s not found", id)
	}
	j, err := scanJob(q.QueryRowxContext(ctx, `SELECT `+jobColumns+` FROM import_jobs WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !visible(access.PrincipalFrom(ctx), j.ProviderCode)) {
		return nil, trcledger.Errorf(trcledger.ENOTFOUND, "import job %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read import job: %w", err)
	}
	return j, nil
}

// Find returns the job id; ENOTFOUND unless the caller is clinic staff of its provider.
func (s *Service) Find(ctx context.Context, id string) (*Job, error) { return s.find(ctx, s.db, id) }

// List returns the caller's provider's jobs, newest first, at most limit (1 to 200; default 50).
func (s *Service) List(ctx context.Context, limit int) ([]*Job, error) {
	p := access.PrincipalFrom(ctx)
	if p.Role != access.RoleClinic || p.OrgCode == "" {
		return []*Job{}, nil
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := s.db.QueryxContext(ctx, `SELECT `+jobColumns+` FROM import_jobs WHERE provider_code = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, p.OrgCode, limit)
	if err != nil {
		return nil, fmt.Errorf("list import jobs: %w", err)
	}
	defer rows.Close()
	out := []*Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("read import job: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// EachError calls f with each rejected row of job id kept so far, in file order (the cells in
// the file's column order, the patient_id cell empty), and returns the job. Reading them is a
// read of patient-level data (the cells may hold diagnoses): it is audited. ENOTFOUND as Find.
func (s *Service) EachError(ctx context.Context, id string, f func(encounters.ImportError) error) (*Job, error) {
	j, err := s.find(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if err := access.Record(ctx, s.db, "read", "import_job_errors", id, nil); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT row_no, code, message, cells FROM import_job_errors WHERE job_id = $1 ORDER BY row_no`, id)
	if err != nil {
		return nil, fmt.Errorf("read import errors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e encounters.ImportError
		var cells []byte
		if err := rows.Scan(&e.Row, &e.Code, &e.Message, &cells); err != nil {
			return nil, fmt.Errorf("read import error: %w", err)
		}
		if len(cells) > 0 {
			if err := json.Unmarshal(cells, &e.Cells); err != nil {
				return nil, fmt.Errorf("read import error cells: %w", err)
			}
		}
		if err := f(e); err != nil {
			return nil, err
		}
	}
	return j, rows.Err()
}
