package web

import "github.com/gofiber/fiber/v2"

// clinicPages lists the clinic pages.
func (a *app) clinicPages() []page {
	return []page{
		{Method: "GET", Path: "/clinic", Roles: clinicOnly, Nav: "clinic.nav.home", Handler: a.clinicHome},
	}
}

func (a *app) clinicHome(c *fiber.Ctx) error {
	return a.render(c, "clinic/home", "clinic.home.title", nil)
}
