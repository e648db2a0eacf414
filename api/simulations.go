package api

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/contracts"
)

// simulationRuleRequest is a proposed cost-share rule, in the shape of the cost-share API.
type simulationRuleRequest struct {
	EffectiveFrom       *string                  `json:"effective_from" validate:"required"`
	EffectiveTo         *string                  `json:"effective_to"`
	ServiceCategory     *string                  `json:"service_category" validate:"omitempty,vocab=category"`
	BeneficiaryCategory *string                  `json:"beneficiary_category" validate:"omitempty,vocab=beneficiary_category"`
	SiteCode            *string                  `json:"site_code" validate:"omitempty,max=40"`
	Shares              []simulationShareRequest `json:"shares" validate:"required,min=1,max=20,dive"`
}

// simulationShareRequest is a payer's share of a proposed rule.
type simulationShareRequest struct {
	PayerCode   string `json:"payer_code" validate:"required,max=40"`
	BasisPoints *int   `json:"basis_points" validate:"required"`
}

// tariffChangeRequest changes the unit prices of a service category by a percentage.
type tariffChangeRequest struct {
	ServiceCategory string `json:"service_category" validate:"required,vocab=category"`
	Percent         Num    `json:"percent"`
}

// simulationRequest is the body of POST /v1/reports/simulations.
type simulationRequest struct {
	From          string                  `json:"from" validate:"required,max=7"`
	To            string                  `json:"to" validate:"required,max=7"`
	ContractCodes []string                `json:"contract_codes" validate:"max=100,dive,max=40"`
	Rules         []simulationRuleRequest `json:"rules" validate:"max=100,dive"`
	TariffChanges []tariffChangeRequest   `json:"tariff_changes" validate:"max=10,dive"`
}

// simulate answers POST /v1/reports/simulations with reports.Simulation; it writes nothing.
func simulate(svc *reports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req simulationRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		in := reports.SimulationRequest{From: req.From, To: req.To, ContractCodes: append([]string{}, req.ContractCodes...)}
		for i, r := range req.Rules {
			p := fmt.Sprintf("rules[%d].", i)
			rule := contracts.CostShareRule{ServiceCategory: r.ServiceCategory, BeneficiaryCategory: r.BeneficiaryCategory, SiteCode: r.SiteCode}
			if from := dateField(f, p+"effective_from", r.EffectiveFrom, true); from != nil {
				rule.EffectiveFrom = *from
			}
			rule.EffectiveTo = dateField(f, p+"effective_to", r.EffectiveTo, false)
			for j, s := range r.Shares {
				sh := contracts.Share{PayerCode: s.PayerCode, BasisPoints: -1}
				if s.BasisPoints != nil && !f.Has(fmt.Sprintf("%sshares[%d].basis_points", p, j)) {
					sh.BasisPoints = *s.BasisPoints
				}
				rule.Shares = append(rule.Shares, sh)
			}
			in.Rules = append(in.Rules, rule)
		}
		for i, tc := range req.TariffChanges {
			pct, _ := tc.Percent.Decimal(f, fmt.Sprintf("tariff_changes[%d].percent", i), true)
			in.TariffChanges = append(in.TariffChanges, reports.TariffChange{ServiceCategory: tc.ServiceCategory, Percent: pct})
		}
		if err := f.Err(); err != nil {
			return err
		}
		out, err := svc.Simulate(c.UserContext(), in)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

// parityReport answers GET /v1/reports/parity?from=&to=&payer_code= with reports.ParityReport.
func parityReport(svc *reports.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		filter := reports.ParityFilter{From: query(c, "from"), To: query(c, "to"), PayerCode: query(c, "payer_code")}
		for _, name := range []string{"from", "to", "payer_code"} {
			checkQuery(&f, name, c.Query(name))
		}
		if err := f.Err(); err != nil {
			return err
		}
		out, err := svc.ParityReport(c.UserContext(), filter)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

// referenceTariffRequest is the body of POST /v1/organizations/{code}/reference-tariffs.
type referenceTariffRequest struct {
	EffectiveFrom *string                      `json:"effective_from" validate:"required"`
	EffectiveTo   *string                      `json:"effective_to"`
	PointValue    Num                          `json:"point_value"`
	Items         []referenceTariffItemRequest `json:"items" validate:"required,min=1,max=500,dive"`
}

// referenceTariffItemRequest prices one service in a fund's tariff.
type referenceTariffItemRequest struct {
	ServiceCode string `json:"service_code" validate:"required,max=40"`
	Method      string `json:"method" validate:"required,vocab=method"`
	Price       Num    `json:"price"`
	Points      Num    `json:"points"`
}

func listReferenceTariffs(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := st.ListReferenceTariffs(c.UserContext(), pathParam(c, "code"))
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func addReferenceTariff(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req referenceTariffRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		r := contracts.ReferenceTariff{PointValue: optionalDecimal(f, "point_value", req.PointValue)}
		if from := dateField(f, "effective_from", req.EffectiveFrom, true); from != nil {
			r.EffectiveFrom = *from
		}
		r.EffectiveTo = dateField(f, "effective_to", req.EffectiveTo, false)
		refs := make([]contracts.Ref, len(req.Items))
		for i, it := range req.Items {
			p := fmt.Sprintf("items[%d]", i)
			r.Items = append(r.Items, contracts.ReferenceTariffItem{ServiceCode: it.ServiceCode, Method: it.Method,
				Price: optionalDecimal(f, p+".price", it.Price), Points: optionalDecimal(f, p+".points", it.Points)})
			refs[i] = contracts.Ref{Field: p + ".service_code", Kind: "service", Code: it.ServiceCode}
		}
		if err := f.MergeErr(r.Validate()); err != nil {
			return err
		}
		if err := checkRefs(c, st, f, refs...); err != nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		out, err := st.AddReferenceTariff(c.UserContext(), pathParam(c, "code"), r)
		if err != nil {
			return err
		}
		return created(c, out)
	}
}
