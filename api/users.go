package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/internal/access"
)

// userRequest creates an account for a person (the web application); without a password one
// is generated and returned once.
type userRequest struct {
	Username    string `json:"username" validate:"required,max=64"`
	DisplayName string `json:"display_name" validate:"required,max=200"`
	Role        string `json:"role" validate:"required,vocab=role"`
	OrgCode     string `json:"org_code" validate:"max=40"`
	Locale      string `json:"locale" validate:"required,vocab=locale"`
	Password    string `json:"password" validate:"max=256"`
}

// userResponse carries the password, shown this once.
type userResponse struct {
	access.User
	Password string `json:"password"`
}

// passwordRequest sets a user's password; without one a password is generated.
type passwordRequest struct {
	Password string `json:"password" validate:"max=256"`
}

// passwordResponse carries the new password, shown this once.
type passwordResponse struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func listUsers(u *access.Users) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := u.ListUsers(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func createUser(u *access.Users) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req userRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		user, password, err := u.CreateUser(c.UserContext(), access.NewUser{Username: req.Username, DisplayName: req.DisplayName,
			Role: req.Role, OrgCode: req.OrgCode, Locale: req.Locale, Password: req.Password})
		if err != nil {
			return err
		}
		return created(c, userResponse{User: *user, Password: password})
	}
}

func setPassword(u *access.Users) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req passwordRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		name := pathParam(c, "username")
		password, err := u.SetPassword(c.UserContext(), name, req.Password)
		if err != nil {
			return err
		}
		return c.JSON(passwordResponse{Username: name, Password: password})
	}
}
