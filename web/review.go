package web

import "github.com/gofiber/fiber/v2"

// reviewPages lists the review pages.
func (a *app) reviewPages() []page {
	return []page{
		{Method: "GET", Path: "/review", Roles: reviewerOnly, Nav: "review.nav.home", Handler: a.reviewHome},
	}
}

func (a *app) reviewHome(c *fiber.Ctx) error {
	return a.render(c, "review/home", "review.home.title", nil)
}
