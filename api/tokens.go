package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/internal/access"
)

type tokenRequest struct {
	Name      string  `json:"name" validate:"required,max=200"`
	Role      string  `json:"role" validate:"required,vocab=role"`
	OrgCode   string  `json:"org_code" validate:"max=40"`
	ExpiresAt *string `json:"expires_at"`
}

// tokenResponse carries the secret, shown this once.
type tokenResponse struct {
	access.Token
	Secret string `json:"token"`
}

func listTokens(t *access.Tokens) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := t.ListTokens(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func createToken(t *access.Tokens) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req tokenRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		in := access.NewToken{Name: req.Name, Role: req.Role, OrgCode: req.OrgCode}
		if req.ExpiresAt != nil {
			at, err := time.Parse(time.RFC3339, *req.ExpiresAt)
			if err != nil || at.After(time.Now().AddDate(100, 0, 0)) {
				f.Add("expires_at", "must be a time such as 2026-12-31T23:59:59Z, within a hundred years")
			}
			in.ExpiresAt = &at
		}
		if f.Len() > 0 && !f.Full() { // one answer names a wrong binding with the other errors
			msg, err := t.BindingProblem(c.UserContext(), req.Role, req.OrgCode)
			if err != nil {
				return err
			}
			if msg != "" && !f.Has("org_code") {
				f.Add("org_code", "%s", msg)
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		tok, secret, err := t.CreateToken(c.UserContext(), in)
		if err != nil {
			return err
		}
		return created(c, tokenResponse{Token: *tok, Secret: secret})
	}
}

func revokeToken(t *access.Tokens) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := t.RevokeToken(c.UserContext(), pathParam(c, "id")); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}
