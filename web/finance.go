package web

import "github.com/gofiber/fiber/v2"

// financePages lists the finance pages.
func (a *app) financePages() []page {
	return []page{
		{Method: "GET", Path: "/finance", Roles: financeOnly, Nav: "finance.nav.home", Handler: a.financeHome},
	}
}

func (a *app) financeHome(c *fiber.Ctx) error {
	return a.render(c, "finance/home", "finance.home.title", nil)
}
