package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/claims/encounters"
)

// capRequest is a budget ceiling of a contract's payer (issue 13 item 3, docs/caps.md).
type capRequest struct {
	PayerCode         string  `json:"payer_code" validate:"required,max=40"`
	Period            string  `json:"period" validate:"required,vocab=cap_period"`
	Amount            Num     `json:"amount"`
	EffectiveFrom     *string `json:"effective_from" validate:"required"`
	EffectiveTo       *string `json:"effective_to"`
	OverflowPayerCode *string `json:"overflow_payer_code" validate:"omitempty,max=40"`
	Mode              string  `json:"mode" validate:"required,vocab=cap_mode"`
}

func listCaps(en *encounters.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := en.Caps(c.UserContext(), pathParam(c, "code"))
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func addCap(en *encounters.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req capRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		in := encounters.CapInput{PayerCode: req.PayerCode, Period: req.Period, Mode: req.Mode, OverflowPayerCode: req.OverflowPayerCode}
		if d, ok := req.Amount.Decimal(f, "amount", true); ok {
			in.Amount = d
		}
		if from := dateField(f, "effective_from", req.EffectiveFrom, true); from != nil {
			in.EffectiveFrom = *from
		}
		in.EffectiveTo = dateField(f, "effective_to", req.EffectiveTo, false)
		if f.Len() > 0 {
			// Report what the shape check found together with what the meaning check finds.
			if verr := in.Validate(); verr != nil {
				_ = f.MergeErr(verr)
			}
			return f.Err()
		}
		out, err := en.AddCap(c.UserContext(), pathParam(c, "code"), in)
		if err != nil {
			return err
		}
		return created(c, out)
	}
}
