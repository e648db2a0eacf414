package web

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
)

// Bounds of the upload results kept for their result page and rejected-rows report: each is
// kept for uploadKeep, a session keeps its last uploadsPerSession, and all of them together take
// at most uploadBytes (the oldest go first).
const (
	uploadKeep        = 2 * time.Hour
	uploadsPerSession = 5
	uploadBytes       = 64 << 20
)

// uploadRecord is one upload's outcome, kept in memory for its session.
type uploadRecord struct {
	ID, owner, FileName string
	Created             time.Time
	Result              *encounters.ImportResult
	size                int
}

// Read is how many data rows the file held (blank rows are not counted).
func (u *uploadRecord) Read() int { return u.Result.Accepted + u.Result.Skipped + u.Result.Rejected }

// uploadStore keeps upload results per session, bounded in time, number and bytes. It is in the
// memory of one server process: a result page is lost on restart, and behind a load balancer
// needs sticky sessions (docs/web-clinic-records.md).
type uploadStore struct {
	mu    sync.Mutex
	items []*uploadRecord // oldest first
	bytes int
}

var uploads = &uploadStore{}

// uploadOwner is the session an upload belongs to: a digest of the session's secret.
func uploadOwner(c *fiber.Ctx) string {
	s := sess(c)
	if s == nil {
		return ""
	}
	d := sha256.Sum256([]byte("upload\x00" + s.Secret))
	return string(d[:])
}

func (s *uploadStore) add(u *uploadRecord, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	mine := 0
	for i := len(s.items) - 1; i >= 0; i-- {
		if s.items[i].owner == u.owner {
			if mine++; mine >= uploadsPerSession {
				s.drop(i)
			}
		}
	}
	s.items = append(s.items, u)
	s.bytes += u.size
	for s.bytes > uploadBytes && len(s.items) > 1 {
		s.drop(0)
	}
}

func (s *uploadStore) drop(i int) {
	s.bytes -= s.items[i].size
	s.items = slices.Delete(s.items, i, i+1)
}

func (s *uploadStore) expire(now time.Time) {
	for len(s.items) > 0 && now.Sub(s.items[0].Created) > uploadKeep {
		s.drop(0)
	}
}

// get returns the owner's upload id, or nil.
func (s *uploadStore) get(owner, id string, now time.Time) *uploadRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	for _, u := range s.items {
		if u.ID == id && owner != "" && subtle.ConstantTimeCompare([]byte(u.owner), []byte(owner)) == 1 {
			return u
		}
	}
	return nil
}

// recordSize estimates the memory an upload's outcome takes.
func recordSize(r *encounters.ImportResult) int {
	n := 512
	for _, h := range r.Header {
		n += len(h) + 16
	}
	for _, e := range r.Errors {
		n += 64 + len(e.Message) + len(e.Code)
		for _, c := range e.Cells {
			n += len(c) + 16
		}
	}
	return n
}

type uploadView struct{}

// clinicUploadForm is the page of the monthly CSV upload.
func (a *app) clinicUploadForm(c *fiber.Ctx) error {
	return a.renderView(c, "clinic/upload", view{Title: "clinic.upload.title", Data: uploadView{}})
}

// clinicUploadFailed shows the upload form again with msg next to the file field (status).
func (a *app) clinicUploadFailed(c *fiber.Ctx, status int, msg string) error {
	c.Status(status)
	return a.renderView(c, "clinic/upload", view{Title: "clinic.upload.title", Data: uploadView{},
		Errors: map[string]string{"file": msg}, Problem: tr(c).T("common.form_has_errors")})
}

// clinicUpload streams the uploaded file (one file part of multipart/form-data, see openUpload)
// to the encounters import and keeps its outcome for the result page, where it redirects.
func (a *app) clinicUpload(c *fiber.Ctx) error {
	up, fail := openUpload(c)
	defer up.close(c)
	if fail != nil {
		if fail.csrf {
			return errorPageFor(c, fiber.StatusForbidden, "common.error.csrf")
		}
		return a.clinicUploadFailed(c, fail.status, tr(c).T(fail.key))
	}
	part := up.Part
	res, err := a.cfg.Encounters.ImportFile(c.UserContext(), part, encounters.ImportOptions{Charset: up.Charset, KeepRejectedRows: true})
	if err != nil {
		return a.clinicUploadError(c, err)
	}
	now := time.Now()
	u := &uploadRecord{ID: newUploadID(), owner: uploadOwner(c), FileName: strings.Clone(part.FileName()), Created: now, Result: res}
	u.size = recordSize(res)
	uploads.add(u, now)
	return c.Redirect("/clinic/upload/"+u.ID, fiber.StatusSeeOther)
}

// clinicUploadError shows why a file was not imported: a file that is not a CSV the import reads
// next to the file field, with the service's explanation (which says what to do).
func (a *app) clinicUploadError(c *fiber.Ctx, err error) error {
	tr := tr(c)
	var e *trcledger.Error
	if !errors.As(err, &e) {
		return err
	}
	detail := uploadDetail(tr, e)
	switch e.Code {
	case trcledger.EINVALID:
		return a.clinicUploadFailed(c, fiber.StatusUnprocessableEntity, tr.T("clinic.upload.bad_file", detail))
	case trcledger.EUNSUPPORTED:
		return a.clinicUploadFailed(c, fiber.StatusUnsupportedMediaType, tr.T("clinic.upload.bad_file", detail))
	case trcledger.ETOOLARGE:
		c.Context().SetConnectionClose()
		return a.clinicUploadFailed(c, fiber.StatusRequestEntityTooLarge, tr.T("clinic.upload.too_large", detail))
	case trcledger.EMALFORMED, trcledger.EUNAVAILABLE:
		return a.clinicUploadFailed(c, fiber.StatusUnprocessableEntity, tr.T("clinic.upload.partly", detail))
	}
	return err
}

func newUploadID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// uploadBody records whether its reader has reached the end.
type uploadBody struct {
	r   io.Reader
	eof bool
}

func (e *uploadBody) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.eof = true
	}
	return n, err
}

// uploadShownErrors is how many rejected rows the result page lists (the report has them all).
const uploadShownErrors = 100

type uploadResultView struct {
	U      *uploadRecord
	Errors []encounters.ImportError
	More   int // rejected rows listed in the report but not on the page
}

// clinicUploadResult shows what an upload of this session made of its file.
func (a *app) clinicUploadResult(c *fiber.Ctx) error {
	u := uploads.get(uploadOwner(c), recID(c), time.Now())
	if u == nil {
		return recNotFound()
	}
	v := uploadResultView{U: u, Errors: u.Result.Errors}
	if len(v.Errors) > uploadShownErrors {
		v.Errors, v.More = v.Errors[:uploadShownErrors], len(u.Result.Errors)-uploadShownErrors
	}
	return a.renderView(c, "clinic/upload_result", view{Title: "clinic.upload.result_title", Data: v})
}

// clinicUploadReport is the rejected rows of an upload as CSV: the row number and the reason
// (in the reader's language, with the import's own explanation), then the file's own columns
// as it wrote them (the patient_id cell empty: a raw patient id is never given back). UTF-8
// with a BOM, separated by ";" outside English, as Excel reads them.
func (a *app) clinicUploadReport(c *fiber.Ctx) error {
	u := uploads.get(uploadOwner(c), recID(c), time.Now())
	if u == nil {
		return recNotFound()
	}
	tr := tr(c)
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	if tr.Local() {
		w.Comma = ';'
	}
	header := append([]string{"row", "reason"}, u.Result.Header...)
	_ = w.Write(header)
	for _, e := range u.Result.Errors {
		rec := []string{strconv.Itoa(e.Row), recCSVCell(rejectReason(tr.T, e))}
		for _, cell := range e.Cells {
			rec = append(rec, recCSVCell(cell))
		}
		_ = w.Write(rec)
	}
	if u.Result.ErrorsTruncated {
		_ = w.Write([]string{"", tr.T("clinic.upload.report_truncated", len(u.Result.Errors), u.Result.Rejected)})
	}
	w.Flush()
	name := strings.TrimSuffix(u.FileName, ".csv")
	if name == "" {
		name = "upload"
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"`, recDownloadName(name+"-rejected.csv")))
	return c.Send(buf.Bytes())
}

// rejectReason is why a row was rejected, in the reader's language: the kind of problem, then
// the import's explanation (which names the columns and values, in English).
func rejectReason(t func(string, ...any) string, e encounters.ImportError) string {
	key := "clinic.upload.code.other"
	switch e.Code {
	case "malformed_row", "invalid", "duplicate_external_id":
		key = "clinic.upload.code." + e.Code
	}
	return t(key) + ": " + e.Message
}

// recCSVCell keeps a spreadsheet from reading a cell as a formula (a number such as -1 stays).
func recCSVCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := decimal.NewFromString(strings.Replace(s, ",", ".", 1)); err == nil {
		return s
	}
	return "'" + s
}

// recDownloadName keeps a file name to characters safe in a Content-Disposition header.
func recDownloadName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	return b.String()
}
