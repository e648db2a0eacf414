package api

import (
	"bufio"
	"bytes"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/fhir"
)

// FHIR content types (FHIR R4, http.html#mime).
const (
	mimeFHIRJSON   = "application/fhir+json"
	mimeFHIRNDJSON = "application/fhir+ndjson"
)

// statementFHIR answers a statement as a FHIR R4 Bundle of type collection (docs/fhir.md).
func statementFHIR(x *fhir.Exporter) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var buf bytes.Buffer
		if err := x.WriteBundle(c.UserContext(), pathParam(c, "id"), &buf); err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, mimeFHIRJSON+"; fhirVersion=4.0")
		return c.Send(buf.Bytes())
	}
}

// exportFHIR streams a month's statements as FHIR R4 NDJSON, one resource a line, a page of
// statement lines at a time. A failure after the first byte cannot change the status: the
// stream then ends with an OperationOutcome line, and the failure is logged.
func exportFHIR(x *fhir.Exporter, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		period, payer, provider := query(c, "period"), query(c, "payer_code"), query(c, "provider_code")
		for name, v := range map[string]string{"period": period, "payer_code": payer, "provider_code": provider} {
			checkQuery(&f, name, v)
		}
		if period == "" {
			f.Add("period", "is required, a month written YYYY-MM")
		}
		if err := f.Err(); err != nil {
			return err
		}
		ctx := c.UserContext()
		month, err := x.PrepareMonth(ctx, period, payer, provider)
		if err != nil {
			return err
		}
		id := requestID(c)
		c.Set(fiber.HeaderContentType, mimeFHIRNDJSON+"; fhirVersion=4.0")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="fhir-`+period+`.ndjson"`)
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			if err := month.WriteNDJSON(ctx, w); err != nil {
				log.Error("fhir export failed", "request_id", id, "error", err)
				_, _ = w.Write(fhir.OperationOutcome("the export failed before its end; request " + id))
				_ = w.Flush()
			}
		})
		return nil
	}
}
