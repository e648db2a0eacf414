package web

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/imports"
)

// importJobPages lists the pages of imports as jobs: a large CSV's progress and its rejected rows.
func (a *app) importJobPages() []page {
	return []page{
		{Method: "GET", Path: "/clinic/imports", Roles: clinicOnly, Nav: "clinic.nav.imports", Handler: a.clinicImports},
		{Method: "POST", Path: "/clinic/imports", Roles: clinicOnly, Handler: a.clinicImportStart, Upload: true},
		{Method: "GET", Path: "/clinic/imports/:id/errors.csv", Roles: clinicOnly, Handler: a.clinicImportErrors},
	}
}

// importJobRow is one job as the page shows it.
type importJobRow struct {
	*imports.Job
	Active                                           bool // queued or running: the page polls
	Read, Accepted, Skipped, Rejected, RowsPerSecond decimal.Decimal
}

type importJobsView struct {
	Jobs   []importJobRow
	Active bool // some job is queued or running
}

// clinicImports lists the clinic's import jobs with their progress, and the form that starts
// one. While a job is queued or running, the page's script fetches it again every few seconds
// and replaces the list (without the script, reloading the page shows the progress).
func (a *app) clinicImports(c *fiber.Ctx) error {
	return a.renderImports(c, fiber.StatusOK, nil)
}

func (a *app) renderImports(c *fiber.Ctx, status int, errs map[string]string) error {
	jobs, err := a.cfg.Imports.List(c.UserContext(), 50)
	if err != nil {
		return err
	}
	v := importJobsView{}
	for _, j := range jobs {
		r := importJobRow{Job: j, Active: j.State == imports.StateQueued || j.State == imports.StateRunning,
			Read: decimal.NewFromInt(j.RowsRead), Accepted: decimal.NewFromInt(j.Accepted), Skipped: decimal.NewFromInt(j.Skipped),
			Rejected: decimal.NewFromInt(j.Rejected), RowsPerSecond: decimal.NewFromInt(j.RowsPerSecond)}
		v.Active = v.Active || r.Active
		v.Jobs = append(v.Jobs, r)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	vw := view{Title: "clinic.imports.title", Data: v, Errors: errs}
	if errs != nil {
		c.Status(status)
		vw.Problem = tr(c).T("common.form_has_errors")
	}
	if c.Query("started") != "" && errs == nil {
		vw.Flash = tr(c).T("clinic.imports.started")
	}
	return a.renderView(c, "clinic/imports", vw)
}

// clinicImportStart streams the uploaded file (one file part of multipart/form-data, the CSRF
// token before it or in the X-CSRF-Token header, as the upload page) into a new import job,
// then shows the list of jobs, where the new one moves.
func (a *app) clinicImportStart(c *fiber.Ctx) error {
	tr := tr(c)
	failed := func(status int, msg string) error {
		return a.renderImports(c, status, map[string]string{"file": msg})
	}
	u, fail := openUpload(c)
	defer u.close(c)
	if fail != nil {
		if fail.csrf {
			return errorPageFor(c, fiber.StatusForbidden, "common.error.csrf")
		}
		return failed(fail.status, tr.T(fail.key))
	}
	part := u.Part
	_, err := a.cfg.Imports.Create(c.UserContext(), part, imports.CreateOptions{FileName: strings.Clone(part.FileName()), Charset: u.Charset, Limit: uploadLimit})
	var e *trcledger.Error
	switch {
	case err == nil:
		return c.Redirect("/clinic/imports?started=1", fiber.StatusSeeOther)
	case !errors.As(err, &e):
		if strings.HasPrefix(err.Error(), "multipart:") || errors.Is(err, io.ErrUnexpectedEOF) {
			return failed(fiber.StatusBadRequest, tr.T("clinic.upload.cut_off"))
		}
		return err
	}
	detail := uploadDetail(tr, e)
	switch e.Code {
	case trcledger.EINVALID:
		return failed(fiber.StatusUnprocessableEntity, tr.T("clinic.upload.bad_file", detail))
	case trcledger.EUNSUPPORTED:
		return failed(fiber.StatusUnsupportedMediaType, tr.T("clinic.upload.bad_file", detail))
	case trcledger.ETOOLARGE:
		c.Context().SetConnectionClose()
		return failed(fiber.StatusRequestEntityTooLarge, tr.T("clinic.imports.too_large", detail))
	}
	return err
}

// clinicImportErrors is the job's rejected rows as CSV, as the upload page's report: the row
// number and the reason in the reader's language, then the file's own columns (the patient_id
// cell empty). UTF-8 with a BOM, separated by ";" outside English, as Excel reads them.
func (a *app) clinicImportErrors(c *fiber.Ctx) error {
	tr := tr(c)
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	if tr.Local() {
		w.Comma = ';'
	}
	job, err := a.cfg.Imports.Find(c.UserContext(), recID(c))
	if err != nil {
		return err
	}
	_ = w.Write(append([]string{"row", "reason"}, job.Header...))
	job, err = a.cfg.Imports.EachError(c.UserContext(), job.ID, func(e encounters.ImportError) error {
		rec := []string{strconv.Itoa(e.Row), recCSVCell(rejectReason(tr.T, e))}
		for _, cell := range e.Cells {
			rec = append(rec, recCSVCell(cell))
		}
		return w.Write(rec)
	})
	if err != nil {
		return err
	}
	if job.ErrorsTruncated {
		_ = w.Write([]string{"", tr.T("clinic.imports.truncated", job.Rejected)})
	}
	w.Flush()
	name := strings.TrimSuffix(job.FileName, ".csv")
	if name == "" {
		name = "import"
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s"`, recDownloadName(name+"-rejected.csv")))
	return c.Send(buf.Bytes())
}
