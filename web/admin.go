package web

import "github.com/gofiber/fiber/v2"

// adminPages lists the admin pages.
func (a *app) adminPages() []page {
	return []page{
		{Method: "GET", Path: "/admin", Roles: adminOnly, Nav: "admin.nav.home", Handler: a.adminHome},
	}
}

func (a *app) adminHome(c *fiber.Ctx) error {
	return a.render(c, "admin/home", "admin.home.title", nil)
}
