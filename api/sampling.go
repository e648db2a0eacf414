package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/statements"
)

// getSample answers the seeded random sample of a statement's unflagged lines for the query's
// percent and seed (docs/review-sampling.md). A missing or malformed number is left to the
// service, which names it (percent, seed).
func getSample(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		var percent *int
		var seed *int64
		if v := c.Query("percent"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				f.Add("percent", "must be a whole number from 1 to %d", 100)
			}
			percent = &n
		}
		if v := c.Query("seed"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				f.Add("seed", "must be a whole number from 1 to %d", statements.MaxSampleSeed)
			}
			seed = &n
		}
		if err := f.Err(); err != nil {
			return err
		}
		s, err := svc.FindSample(c.UserContext(), pathParam(c, "id"), percent, seed)
		if err != nil {
			return err
		}
		return c.JSON(s)
	}
}

// listExtrapolations answers every extrapolation of a statement, oldest first.
func listExtrapolations(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := svc.FindExtrapolations(c.UserContext(), pathParam(c, "id"))
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}
