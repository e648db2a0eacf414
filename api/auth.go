package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
)

// authenticate resolves the bearer token to a principal (401 when missing or not live) and
// puts it in the request's context.
func (s *Server) authenticate(c *fiber.Ctx) error {
	h := c.Get(fiber.HeaderAuthorization)
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return trcledger.Errorf(trcledger.EUNAUTHORIZED, "send Authorization: Bearer <token>")
	}
	p, err := s.cfg.Tokens.Authenticate(c.UserContext(), strings.TrimSpace(secret))
	if err != nil {
		return err
	}
	c.Locals("principal", p)
	c.SetUserContext(access.WithPrincipal(c.UserContext(), p))
	return c.Next()
}

// allow refuses (403) a caller whose role is not among roles.
func allow(roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, _ := c.Locals("principal").(access.Principal)
		for _, r := range roles {
			if p.Role == r {
				return c.Next()
			}
		}
		return trcledger.Errorf(trcledger.EFORBIDDEN, "role %s may not do this", p.Role)
	}
}
