package api

import (
	"bytes"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/internal/locale"
)

// bulletinRequest publishes a month (POST /v1/bulletins).
type bulletinRequest struct {
	Period string `json:"period" validate:"required,max=7"`
}

func publishBulletin(bl *reports.Bulletins) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req bulletinRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		b, err := bl.Publish(c.UserContext(), req.Period)
		if err != nil {
			return err
		}
		return created(c, b)
	}
}

func listBulletins(bl *reports.Bulletins) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := bl.List(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func getBulletin(bl *reports.Bulletins) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := bl.Get(c.UserContext(), pathParam(c, "period"))
		if err != nil {
			return err
		}
		return c.JSON(b)
	}
}

func verifyBulletin(bl *reports.Bulletins) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, err := bl.Verify(c.UserContext(), pathParam(c, "period"))
		if err != nil {
			return err
		}
		return c.JSON(v)
	}
}

// bulletinPDF answers GET /v1/bulletins/:period/export.pdf?lang= like the statement PDF: lang,
// else the best of Accept-Language.
func bulletinPDF(bl *reports.Bulletins) fiber.Handler {
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
		period := pathParam(c, "period")
		var buf bytes.Buffer
		if err := bl.ExportPDF(c.UserContext(), period, lang, &buf); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentLanguage, lang)
		c.Set(fiber.HeaderContentType, "application/pdf")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="bulletin-`+period+`.pdf"`)
		return c.Send(buf.Bytes())
	}
}

// payerReport answers GET /v1/reports/payers?from=&to=&as_of= with reports.PayerReport.
func payerReport(rp *reports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		filter := reports.PayerFilter{From: query(c, "from"), To: query(c, "to")}
		for _, name := range []string{"from", "to", "as_of"} {
			checkQuery(&f, name, c.Query(name))
		}
		if v := query(c, "as_of"); v != "" {
			filter.AsOf = dateField(&f, "as_of", &v, false)
		}
		if err := f.Err(); err != nil {
			return err
		}
		rep, err := rp.PayerReport(c.UserContext(), filter)
		if err != nil {
			return err
		}
		return c.JSON(rep)
	}
}
