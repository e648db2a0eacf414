package web

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
)

// clinicRecordPages lists the clinic's records: encounters, void and correct, CSV upload,
// statements and decisions. docs/web-clinic-records.md says what they do where the issue is
// silent.
func (a *app) clinicRecordPages() []page {
	return []page{
		{Method: "GET", Path: "/clinic/encounters", Roles: clinicOnly, Nav: "clinic.nav.encounters", Handler: a.clinicEncounters},
		{Method: "GET", Path: "/clinic/encounters/:id", Roles: clinicOnly, Handler: a.clinicEncounter},
		{Method: "GET", Path: "/clinic/encounters/:id/void", Roles: clinicOnly, Handler: a.clinicVoidForm},
		{Method: "POST", Path: "/clinic/encounters/:id/void", Roles: clinicOnly, Handler: a.clinicVoid},
		{Method: "GET", Path: "/clinic/encounters/:id/correct", Roles: clinicOnly, Handler: a.clinicCorrectForm},
		{Method: "POST", Path: "/clinic/encounters/:id/correct", Roles: clinicOnly, Handler: a.clinicCorrect},
		{Method: "GET", Path: "/clinic/upload", Roles: clinicOnly, Nav: "clinic.nav.upload", Handler: a.clinicUploadForm},
		{Method: "POST", Path: "/clinic/upload", Roles: clinicOnly, Handler: a.clinicUpload, Upload: true},
		{Method: "GET", Path: "/clinic/upload/:id", Roles: clinicOnly, Handler: a.clinicUploadResult},
		{Method: "GET", Path: "/clinic/upload/:id/rejected.csv", Roles: clinicOnly, Handler: a.clinicUploadReport},
		{Method: "GET", Path: "/clinic/statements", Roles: clinicOnly, Nav: "clinic.nav.statements", Handler: a.clinicStatements},
		{Method: "GET", Path: "/clinic/statements/:id", Roles: clinicOnly, Handler: a.clinicStatement},
		{Method: "GET", Path: "/clinic/statements/:id/export.csv", Roles: clinicOnly, Handler: a.clinicStatementCSV},
		{Method: "GET", Path: "/clinic/statements/:id/export.pdf", Roles: clinicOnly, Handler: a.clinicStatementPDF},
	}
}

// recID returns the path's id parameter as a string of its own (Fiber reuses its buffers).
func recID(c *fiber.Ctx) string { return strings.Clone(c.Params("id")) }

// recQuery returns a trimmed query parameter as a string of its own.
func recQuery(c *fiber.Ctx, name string) string {
	return strings.TrimSpace(strings.Clone(c.Query(name)))
}

// recForm returns a trimmed form field as a string of its own.
func recForm(c *fiber.Ctx, name string) string {
	return strings.TrimSpace(strings.Clone(c.FormValue(name)))
}

// recWithQuery is path with the non-empty values of q (for pagination links that keep filters).
func recWithQuery(path string, q url.Values) string {
	for k, v := range q {
		if len(v) == 0 || v[0] == "" {
			delete(q, k)
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// recNotFound is the error a page answers for an object that does not exist or is not the
// reader's (the same page as an unknown path).
func recNotFound() error { return trcledger.Errorf(trcledger.ENOTFOUND, "not found") }
