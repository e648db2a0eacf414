package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/reports"
)

// Corrections over time (issue 13 items 1 and 6, docs/corrections.md): repricing a contract's
// encounters, and closing and reopening months.

type repricingRequest struct {
	From   *string `json:"from" validate:"required"`
	To     *string `json:"to" validate:"required"`
	DryRun bool    `json:"dry_run"`
}

type reopenRequest struct {
	Reason string `json:"reason" validate:"required,max=500"`
}

func repriceContract(svc *encounters.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req repricingRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		in := encounters.RepricingInput{DryRun: req.DryRun}
		if d := dateField(f, "from", req.From, true); d != nil {
			in.From = *d
		}
		if d := dateField(f, "to", req.To, true); d != nil {
			in.To = *d
		}
		idem := optionalIdempotency(c, f)
		if err := f.Err(); err != nil {
			return err
		}
		out, res, err := svc.Reprice(c.UserContext(), pathParam(c, "code"), in, idem)
		if err != nil {
			return err
		}
		if res != nil && res.Body != nil {
			return sendAnswer(c, fiber.StatusOK, res)
		}
		return c.JSON(out)
	}
}

func listPeriods(rp *reports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := rp.ListPeriods(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func closePeriod(rp *reports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := rp.ClosePeriod(c.UserContext(), pathParam(c, "period"))
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}

func reopenPeriod(rp *reports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req reopenRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		p, err := rp.ReopenPeriod(c.UserContext(), pathParam(c, "period"), req.Reason)
		if err != nil {
			return err
		}
		return c.JSON(p)
	}
}
