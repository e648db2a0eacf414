package web

import "github.com/gofiber/fiber/v2"

// clinicPages lists the clinic pages: capture (clinic_capture.go) and records (clinic_records.go).
func (a *app) clinicPages() []page {
	out := []page{
		{Method: "GET", Path: "/clinic", Roles: clinicOnly, Nav: "clinic.nav.home", Handler: a.clinicHome},
	}
	out = append(out, a.clinicCapturePages()...)
	return append(out, a.clinicRecordPages()...)
}

func (a *app) clinicHome(c *fiber.Ctx) error {
	return a.render(c, "clinic/home", "clinic.home.title", nil)
}
