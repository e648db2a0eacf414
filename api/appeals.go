package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/statements"
)

type appealRequest struct {
	LineID *int64  `json:"line_id" validate:"required"`
	Reason string  `json:"reason" validate:"required,vocab=appeal_reason"`
	Note   *string `json:"note" validate:"omitempty,max=1000"`
}

type appealDecisionRequest struct {
	Outcome        string  `json:"outcome" validate:"required,vocab=appeal_outcome"`
	ApprovedAmount Num     `json:"approved_amount"`
	Note           *string `json:"note" validate:"omitempty,max=1000"`
}

// fileAppeal answers 201 with the appeal (under an Idempotency-Key, the first answer again).
func fileAppeal(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req appealRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		in := statements.AppealInput{Reason: req.Reason}
		if req.LineID != nil {
			in.LineID = *req.LineID
		}
		if req.Note != nil {
			in.Note = *req.Note
		}
		idem := optionalIdempotency(c, f)
		if err := f.Err(); err != nil {
			return err
		}
		a, res, err := svc.FileAppeal(c.UserContext(), pathParam(c, "id"), in, idem)
		if err != nil {
			return err
		}
		if res != nil {
			return sendAnswer(c, fiber.StatusCreated, res)
		}
		return created(c, a)
	}
}

func decideAppeal(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req appealDecisionRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		d := statements.AppealDecision{Outcome: req.Outcome}
		if a, ok := req.ApprovedAmount.Decimal(f, "approved_amount", false); ok {
			d.ApprovedAmount = &a
		}
		if req.Note != nil {
			d.Note = *req.Note
		}
		idem := optionalIdempotency(c, f)
		if err := f.Err(); err != nil {
			return err
		}
		a, res, err := svc.DecideAppeal(c.UserContext(), pathParam(c, "id"), d, idem)
		if err != nil {
			return err
		}
		if res != nil {
			return sendAnswer(c, fiber.StatusOK, res)
		}
		return c.JSON(a)
	}
}

func listAppeals(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		filter := statements.AppealFilter{Status: query(c, "status"), StatementID: query(c, "statement_id"),
			ProviderCode: query(c, "provider_code"), PayerCode: query(c, "payer_code")}
		for _, name := range []string{"statement_id", "provider_code", "payer_code"} {
			checkQuery(&f, name, c.Query(name))
		}
		checkVocab(&f, "status", "appeal_status", filter.Status)
		if err := f.Err(); err != nil {
			return err
		}
		items, err := svc.FindAppeals(c.UserContext(), filter)
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func getAppeal(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := svc.FindAppealByID(c.UserContext(), pathParam(c, "id"))
		if err != nil {
			return err
		}
		return c.JSON(a)
	}
}
