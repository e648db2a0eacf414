package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/internal/locale"
)

type statementRequest struct {
	ProviderCode string `json:"provider_code" validate:"required,max=40"`
	PayerCode    string `json:"payer_code" validate:"required,max=40"`
	Period       string `json:"period" validate:"required,max=7"`
}

type decisionRequest struct {
	LineID         *int64  `json:"line_id" validate:"required"`
	Decision       string  `json:"decision" validate:"required,vocab=decision"`
	ApprovedAmount Num     `json:"approved_amount"`
	ReasonCode     *string `json:"reason_code" validate:"omitempty,vocab=reason_code"`
	Note           *string `json:"note" validate:"omitempty,max=1000"`
}

// decisionsRequest holds either decisions, line by line, or one bulk decision.
type decisionsRequest struct {
	Decisions []decisionRequest `json:"decisions" validate:"omitempty,min=1,max=5000,dive"`
	Bulk      *bulkRequest      `json:"bulk"`
}

// bulkRequest is one decision on every undecided line that where selects:
// {"decision": "approve", "where": "unflagged"}, or the rate of a reviewed sample applied to
// the rest of the unflagged lines: {"decision": "extrapolate", "sample_percent": 10, "seed": 42}
// (where is then optional; docs/review-sampling.md).
type bulkRequest struct {
	Decision      string `json:"decision" validate:"required,vocab=bulk_decision"`
	Where         string `json:"where" validate:"omitempty,vocab=bulk_where"`
	SamplePercent *int   `json:"sample_percent"`
	Seed          *int64 `json:"seed"`
}

type paymentRequest struct {
	Amount    Num     `json:"amount"`
	PaidOn    *string `json:"paid_on" validate:"required"`
	Reference string  `json:"reference" validate:"required,max=200"`
}

func createStatement(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req statementRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		idem := optionalIdempotency(c, f)
		if err := f.Err(); err != nil {
			return err
		}
		if idem.Key != "" {
			res, err := svc.CreateStatementKeyed(c.UserContext(), req.ProviderCode, req.PayerCode, req.Period, idem)
			if err != nil {
				return err
			}
			return sendAnswer(c, fiber.StatusCreated, res)
		}
		st, err := svc.CreateStatement(c.UserContext(), req.ProviderCode, req.PayerCode, req.Period)
		if err != nil {
			return err
		}
		return created(c, st)
	}
}

func listStatements(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		filter := statements.StatementFilter{ProviderCode: query(c, "provider_code"), PayerCode: query(c, "payer_code"), Period: query(c, "period"), Status: query(c, "status")}
		for _, name := range []string{"provider_code", "payer_code", "period", "status"} {
			checkQuery(&f, name, c.Query(name))
		}
		if err := f.Err(); err != nil {
			return err
		}
		items, err := svc.FindStatements(c.UserContext(), filter)
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

// getStatement answers a statement with a page of its lines (lines_limit, at most and by
// default 1000; lines_cursor from lines_next_cursor), so that a month of 20,000 lines is read
// in pages rather than one answer of 10 MB.
func getStatement(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		page := statements.LinesPage{Cursor: query(c, "lines_cursor")}
		checkQuery(&f, "lines_cursor", page.Cursor)
		if v := c.Query("lines_limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > statements.MaxStatementLinesPage {
				f.Add("lines_limit", "must be a whole number from 1 to %d", statements.MaxStatementLinesPage)
			}
			page.Limit = n
		}
		if err := f.Err(); err != nil {
			return err
		}
		st, err := svc.FindStatementPage(c.UserContext(), pathParam(c, "id"), page)
		if err != nil {
			return err
		}
		return c.JSON(st)
	}
}

// statementAction answers a state change (submit, cancel, complete review) with the statement
// as it now is; act is a method expression such as (*statements.Service).SubmitStatement, keyed its
// variant under an optional Idempotency-Key (SubmitStatementKeyed).
func statementAction(svc *statements.Service, act func(*statements.Service, context.Context, string) (*statements.Statement, error),
	keyed func(*statements.Service, context.Context, string, claims.Idempotency) (*claims.PostResult, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		idem := optionalIdempotency(c, &f)
		if err := f.Err(); err != nil {
			return err
		}
		if idem.Key != "" {
			res, err := keyed(svc, c.UserContext(), pathParam(c, "id"), idem)
			if err != nil {
				return err
			}
			return sendAnswer(c, fiber.StatusOK, res)
		}
		st, err := act(svc, c.UserContext(), pathParam(c, "id"))
		if err != nil {
			return err
		}
		return c.JSON(st)
	}
}

// decideLines records decisions line by line, or one bulk decision ({"bulk": {"decision":
// "approve", "where": "unflagged"}}: every undecided line without a flag); either answers the
// statement with how many lines the request decided.
func decideLines(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req decisionsRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		switch {
		case req.Bulk != nil && req.Decisions != nil:
			f.Add("bulk", "send either decisions or bulk, not both")
		case req.Bulk == nil && req.Decisions == nil && !f.Has("decisions") && !f.Has("bulk"):
			f.Add("decisions", "is required (or bulk)")
		}
		if req.Bulk != nil {
			if req.Bulk.Where == "" && req.Bulk.Decision != statements.Extrapolate && !f.Has("bulk.where") {
				f.Add("bulk.where", "is required")
			}
			return decideBulk(c, svc, f, statements.BulkDecision{Decision: req.Bulk.Decision, Where: req.Bulk.Where,
				SamplePercent: req.Bulk.SamplePercent, Seed: req.Bulk.Seed})
		}
		ds := make([]statements.Decision, len(req.Decisions))
		for i, d := range req.Decisions {
			ds[i] = statements.Decision{Decision: d.Decision}
			if d.LineID != nil {
				ds[i].LineID = *d.LineID
			}
			if d.ReasonCode != nil {
				ds[i].ReasonCode = *d.ReasonCode
			}
			if d.Note != nil {
				ds[i].Note = *d.Note
			}
			if a, ok := d.ApprovedAmount.Decimal(f, fmt.Sprintf("decisions[%d].approved_amount", i), false); ok {
				ds[i].ApprovedAmount = &a
			}
		}
		idem := optionalIdempotency(c, f)
		if err := f.Err(); err != nil {
			return err
		}
		if idem.Key != "" {
			res, err := svc.DecideKeyed(c.UserContext(), pathParam(c, "id"), ds, idem)
			if err != nil {
				return err
			}
			return sendAnswer(c, fiber.StatusOK, res)
		}
		st, err := svc.Decide(c.UserContext(), pathParam(c, "id"), ds)
		if err != nil {
			return err
		}
		return c.JSON(statements.Decided{Statement: *st, Decided: len(ds)})
	}
}

// decideBulk is decideLines for a bulk decision.
func decideBulk(c *fiber.Ctx, svc *statements.Service, f *trcledger.Fields, b statements.BulkDecision) error {
	idem := optionalIdempotency(c, f)
	if err := f.Err(); err != nil {
		return err
	}
	if idem.Key != "" {
		res, err := svc.DecideBulkKeyed(c.UserContext(), pathParam(c, "id"), b, idem)
		if err != nil {
			return err
		}
		return sendAnswer(c, fiber.StatusOK, res)
	}
	d, err := svc.DecideBulk(c.UserContext(), pathParam(c, "id"), b)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func recordPayment(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req paymentRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		idem := idempotency(c, f, "payment")
		// The key covers the statement as well as the body.
		sum := sha256.Sum256(append([]byte(c.Params("id")+"\n"), bytes.TrimSpace(c.Body())...))
		idem.RequestHash = sum[:]
		in := statements.PaymentInput{Reference: req.Reference}
		in.Amount, _ = req.Amount.Decimal(f, "amount", true)
		if d := dateField(f, "paid_on", req.PaidOn, true); d != nil {
			in.PaidOn = *d
		}
		if err := f.Err(); err != nil {
			return err
		}
		res, err := svc.RecordPayment(c.UserContext(), pathParam(c, "id"), in, idem)
		if err != nil {
			return err
		}
		return sendPost(c, res)
	}
}

func exportCSV(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var buf bytes.Buffer
		id := pathParam(c, "id")
		if err := svc.ExportCSV(c.UserContext(), id, &buf); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="statement-`+id+`.csv"`)
		return c.Send(buf.Bytes())
	}
}

// exportPDF prints the statement in the language the lang query parameter names, else the
// best one Accept-Language names, else bs (docs/pdf-statement.md).
func exportPDF(svc *statements.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		lang := query(c, "lang")
		checkVocab(&f, "lang", "locale", lang)
		if err := f.Err(); err != nil {
			return err
		}
		if lang == "" {
			lang = locale.Negotiate(c.Get(fiber.HeaderAcceptLanguage))
			c.Vary(fiber.HeaderAcceptLanguage)
		}
		var buf bytes.Buffer
		id := pathParam(c, "id")
		if err := svc.ExportPDFIn(c.UserContext(), id, lang, &buf); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentLanguage, lang)
		c.Set(fiber.HeaderContentType, "application/pdf")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="statement-`+id+`.pdf"`)
		return c.Send(buf.Bytes())
	}
}
