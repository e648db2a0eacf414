package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
)

// authenticate resolves the bearer token to a principal (401 when missing or not live) and
// puts it in the request's context. Two Authorization headers are refused (400) rather than
// letting one of them win. An address that keeps presenting bad credentials is throttled (429),
// except for tokens known to be live without a query: a 256-bit token cannot be guessed, so the
// throttle only has to stop the guessing, and the clients sharing a guesser's address (a clinic
// behind one NAT, everyone behind a proxy) keep working.
func (s *Server) authenticate(c *fiber.Ctx) error {
	if n := len(c.Request().Header.PeekAll(fiber.HeaderAuthorization)); n > 1 {
		return trcledger.Errorf(trcledger.EMALFORMED, "send one Authorization header, not %d", n).WithReason(reasonDuplicateHeader)
	}
	addr := throttleKey(c.IP())
	h := c.Get(fiber.HeaderAuthorization)
	scheme, secret, ok := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	bearer := ok && strings.EqualFold(scheme, "Bearer") && secret != ""
	if wait := s.authFailures.blocked(addr); wait > 0 && (!bearer || !s.cfg.Tokens.KnownLive(secret)) {
		return s.authFailures.refuse(c, wait)
	}
	if h == "" {
		// No credentials at all is not a guess: it is answered 401 but not counted.
		return trcledger.Errorf(trcledger.EUNAUTHORIZED, "send Authorization: Bearer <token>")
	}
	if !bearer {
		s.authFailures.fail(addr)
		return trcledger.Errorf(trcledger.EUNAUTHORIZED, "send Authorization: Bearer <token>")
	}
	p, err := s.cfg.Tokens.Authenticate(c.UserContext(), secret)
	if err != nil {
		if trcledger.ErrorCode(err) == trcledger.EUNAUTHORIZED {
			s.authFailures.fail(addr)
		}
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
		if access.InRoles(p, roles) {
			return c.Next()
		}
		return trcledger.Errorf(trcledger.EFORBIDDEN, "role %s may not do this", p.Role)
	}
}
