package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/reports"
)

// transitionReport answers GET /v1/reports/transition?from=&to=&by= with reports.TransitionReport.
func transitionReport(svc *reports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		filter := reports.TransitionFilter{From: query(c, "from"), To: query(c, "to"), By: query(c, "by")}
		for _, name := range []string{"from", "to", "by"} {
			checkQuery(&f, name, c.Query(name))
		}
		if err := f.Err(); err != nil {
			return err
		}
		report, err := svc.TransitionReport(c.UserContext(), filter)
		if err != nil {
			return err
		}
		return c.JSON(report)
	}
}

// reconciliationReport answers GET /v1/reports/reconciliation?period=&payer_code=&provider_code=
// with reports.Reconciliation.
func reconciliationReport(svc *reports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		filter := reports.ReconciliationFilter{Period: query(c, "period"), PayerCode: query(c, "payer_code"), ProviderCode: query(c, "provider_code")}
		for _, name := range []string{"period", "payer_code", "provider_code"} {
			checkQuery(&f, name, c.Query(name))
		}
		if err := f.Err(); err != nil {
			return err
		}
		rec, err := svc.Reconciliation(c.UserContext(), filter)
		if err != nil {
			return err
		}
		return c.JSON(rec)
	}
}
