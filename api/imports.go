package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/imports"
)

// createImportJob stores the CSV file (the same body as POST /v1/encounters/import: the body
// itself, or the first file part of multipart/form-data) as an import job and answers 202 with
// it; the import runs in the background (docs/import-jobs.md). The whole file is stored before
// the answer: a 202 means the job survives a restart.
func createImportJob(svc *imports.Service, limit int64) fiber.Handler {
	return func(c *fiber.Ctx) error {
		stream := c.Context().RequestBodyStream()
		if stream == nil {
			stream = bytes.NewReader(c.Body())
		}
		br := &bodyReader{r: stream}
		body := &eofReader{r: br}
		defer func() {
			// As importEncounters: what is left of a streamed body would be read as the next
			// request on the connection.
			if body.eof {
				return
			}
			if _, err := io.CopyN(io.Discard, body, 64<<10); !body.eof || (err != nil && !errors.Is(err, io.EOF)) {
				c.Context().SetConnectionClose()
			}
		}()
		// The form around the file may add a little to it; the file itself is capped by Create.
		var r io.Reader = &capReader{r: body, left: limit + 1<<20, limit: limit}
		mediaType, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
		if c.Get(fiber.HeaderContentType) == "" {
			mediaType, err = "text/csv", nil
		}
		if err != nil {
			return unsupportedImport()
		}
		charset, name := params["charset"], ""
		switch {
		case csvMediaTypes[mediaType]:
		case mediaType == "multipart/form-data":
			if params["boundary"] == "" {
				return trcledger.Errorf(trcledger.EMALFORMED, "the multipart/form-data Content-Type names no boundary")
			}
			part, err := fileOf(multipart.NewReader(r, params["boundary"]))
			if err != nil {
				var fe *fiber.Error
				if errors.As(err, &fe) || br.timedOut {
					return bodyFailure(br, err)
				}
				return err
			}
			r, charset, name = part, "", strings.Clone(part.FileName())
			if ct := part.Header.Get(fiber.HeaderContentType); ct != "" {
				pt, pp, err := mime.ParseMediaType(ct)
				if err != nil || !csvMediaTypes[pt] {
					return unsupportedImport()
				}
				charset = pp["charset"]
			}
		default:
			return unsupportedImport()
		}
		job, err := svc.Create(c.UserContext(), r, imports.CreateOptions{FileName: name, Charset: strings.Clone(charset), Limit: limit})
		if err != nil {
			return bodyFailure(br, err)
		}
		if job.State == imports.StateQueued || job.State == imports.StateRunning {
			c.Set(fiber.HeaderRetryAfter, "2")
		}
		c.Set(fiber.HeaderLocation, job.Links.Self)
		return c.Status(fiber.StatusAccepted).JSON(job)
	}
}

// bodyFailure is err, or 408 when the body stopped arriving in time.
func bodyFailure(br *bodyReader, err error) error {
	if br.timedOut {
		return fiber.NewError(fiber.StatusRequestTimeout, bodyTimedOut+"; nothing was stored")
	}
	var te *trcledger.Error
	var fe *fiber.Error
	if errors.As(err, &te) || errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.HasPrefix(err.Error(), "multipart:") {
		return trcledger.Errorf(trcledger.EMALFORMED, "the multipart/form-data body could not be read to its end; nothing was stored")
	}
	return err
}

// capReader is ETOOLARGE once more than left bytes were read.
type capReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, trcledger.Errorf(trcledger.ETOOLARGE, "the upload is larger than %s, the most one upload may hold; nothing was stored", strconv.FormatInt(c.limit, 10)+" bytes")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// getImportJob answers a job with its progress: rows read, accepted, skipped, rejected, rows
// per second and its state.
func getImportJob(svc *imports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		job, err := svc.Find(c.UserContext(), pathParam(c, "id"))
		if err != nil {
			return err
		}
		if job.State == imports.StateQueued || job.State == imports.StateRunning {
			c.Set(fiber.HeaderRetryAfter, "2")
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(job)
	}
}

// listImportJobs answers the clinic's jobs, newest first.
func listImportJobs(svc *imports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		limit, _ := strconv.Atoi(query(c, "limit"))
		jobs, err := svc.List(c.UserContext(), limit)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(listOf(jobs))
	}
}

// importJobErrors answers the job's rejected rows as CSV: row, code, reason, then the file's
// own columns (the patient_id cell empty), for the clinic to fix them and upload the file again.
func importJobErrors(svc *imports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var buf bytes.Buffer
		id := pathParam(c, "id")
		if err := svc.WriteErrorsCSV(c.UserContext(), id, &buf); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="import-`+id+`-errors.csv"`)
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Send(buf.Bytes())
	}
}
