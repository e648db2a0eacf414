package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

type health struct {
	Status string `json:"status"`
}

func healthz(c *fiber.Ctx) error { return c.JSON(health{Status: "ok"}) }

func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(ctx); err != nil {
			s.log.Warn("not ready", "error", err.Error())
			return c.Status(fiber.StatusServiceUnavailable).JSON(health{Status: "database unavailable"})
		}
	}
	return c.JSON(health{Status: "ready"})
}
