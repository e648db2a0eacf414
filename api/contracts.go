package api

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
)

type contractRequest struct {
	Code         string  `json:"code" validate:"required,max=40"`
	ProviderCode string  `json:"provider_code" validate:"required,max=40"`
	PayerCode    *string `json:"payer_code" validate:"omitempty,max=40"`
	Currency     string  `json:"currency" validate:"omitempty,max=3"`
	ValidFrom    *string `json:"valid_from" validate:"required"`
	ValidTo      *string `json:"valid_to"`
	Status       string  `json:"status" validate:"omitempty,vocab=contract_status"`
	// ReroutableReasons default to not_eligible and not_covered; AppealWindowDays to 60.
	ReroutableReasons *[]string `json:"reroutable_reasons" validate:"omitempty,max=8,dive,vocab=reason_code"`
	AppealWindowDays  *int      `json:"appeal_window_days" validate:"omitempty,min=1,max=3650"`
}

type contractPatchRequest struct {
	Status            *string   `json:"status" validate:"omitempty,vocab=contract_status"`
	ValidTo           *string   `json:"valid_to"`
	ReroutableReasons *[]string `json:"reroutable_reasons" validate:"omitempty,max=8,dive,vocab=reason_code"`
	AppealWindowDays  *int      `json:"appeal_window_days" validate:"omitempty,min=0,max=3650"`
}

type tariffItemRequest struct {
	ServiceCode string `json:"service_code" validate:"required,max=40"`
	Method      string `json:"method" validate:"required,vocab=method"`
	Price       Num    `json:"price"`
	Points      Num    `json:"points"`
	MaxQuantity Num    `json:"max_quantity"`
	VATRate     Num    `json:"vat_rate"`
}

type tariffRequest struct {
	EffectiveFrom *string             `json:"effective_from" validate:"required"`
	EffectiveTo   *string             `json:"effective_to"`
	PointValue    Num                 `json:"point_value"`
	Items         []tariffItemRequest `json:"items" validate:"required,min=1,max=500,dive"`
}

type shareRequest struct {
	PayerCode   string `json:"payer_code" validate:"required,max=40"`
	BasisPoints *int   `json:"basis_points" validate:"required"`
	// FallbackPayerCode takes over what the payer rejects with a re-routable reason.
	FallbackPayerCode *string `json:"fallback_payer_code" validate:"omitempty,max=40"`
}

type costShareRequest struct {
	EffectiveFrom       *string        `json:"effective_from" validate:"required"`
	EffectiveTo         *string        `json:"effective_to"`
	ServiceCategory     *string        `json:"service_category" validate:"omitempty,vocab=category"`
	BeneficiaryCategory *string        `json:"beneficiary_category" validate:"omitempty,vocab=beneficiary_category"`
	SiteCode            *string        `json:"site_code" validate:"omitempty,max=40"`
	Shares              []shareRequest `json:"shares" validate:"required,min=1,max=20,dive"`
}

func listContracts(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		f := contracts.ContractFilter{ProviderCode: query(c, "provider_code"), Status: query(c, "status")}
		var bad trcledger.Fields
		checkQuery(&bad, "provider_code", f.ProviderCode)
		checkVocab(&bad, "status", "contract_status", f.Status)
		if err := bad.Err(); err != nil {
			return err
		}
		items, err := st.ListContracts(c.UserContext(), f)
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func getContract(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ct, err := st.FindContractByCode(c.UserContext(), pathParam(c, "code"))
		if err != nil {
			return err
		}
		return c.JSON(ct)
	}
}

func createContract(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req contractRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		ct := contracts.Contract{
			Code: req.Code, ProviderCode: req.ProviderCode, PayerCode: req.PayerCode, Currency: req.Currency,
			ValidTo: dateField(f, "valid_to", req.ValidTo, false), Status: req.Status,
		}
		if from := dateField(f, "valid_from", req.ValidFrom, true); from != nil {
			ct.ValidFrom = *from
		}
		if req.ReroutableReasons != nil {
			ct.ReroutableReasons = append([]string{}, *req.ReroutableReasons...)
		}
		if req.AppealWindowDays != nil {
			ct.AppealWindowDays = *req.AppealWindowDays
		}
		if f.Len() > 0 { // name the content errors too, not only the shape errors
			ct.Defaults()
			_ = f.MergeErr(ct.Validate())
			if err := checkRefs(c, st, f, contracts.Ref{Field: "provider_code", Kind: "provider", Code: ct.ProviderCode},
				contracts.Ref{Field: "payer_code", Kind: "payer", Code: deref(ct.PayerCode)}); err != nil {
				return err
			}
			return f.Err()
		}
		out, err := st.CreateContract(c.UserContext(), ct)
		if err != nil {
			return err
		}
		return created(c, out)
	}
}

func updateContract(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req contractPatchRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		to := dateField(f, "valid_to", req.ValidTo, false)
		if req.Status == nil && to == nil && !f.Has("valid_to") && req.ReroutableReasons == nil && req.AppealWindowDays == nil {
			f.Add("status", "send status, valid_to, reroutable_reasons or appeal_window_days")
		}
		if err := f.Err(); err != nil {
			return err
		}
		ct, err := st.UpdateContract(c.UserContext(), pathParam(c, "code"), contracts.ContractChange{Status: req.Status, ValidTo: to,
			ReroutableReasons: req.ReroutableReasons, AppealWindowDays: req.AppealWindowDays})
		if err != nil {
			return err
		}
		return c.JSON(ct)
	}
}

// fieldsOf returns the field errors of a decode error so that the handler can add its own,
// a fresh collector when err is nil, and nil when err is final (return it): not a validation
// error, a list already truncated, or an array beyond its maximum.
func fieldsOf(err error) *trcledger.Fields {
	var f trcledger.Fields
	if err == nil {
		return &f
	}
	var e *trcledger.Error
	if errors.As(err, &e) && e.Code == trcledger.EINVALID && !e.Truncated() && e.Reason != "too_many_items" {
		f.Merge("", e.Fields)
		return &f
	}
	return nil
}

// checkRefs adds to f the codes among refs that name nothing, when f already holds other errors,
// so that one answer names them all (alone, they are the write's to name); a failed check is
// returned.
func checkRefs(c *fiber.Ctx, st *contracts.Store, f *trcledger.Fields, refs ...contracts.Ref) error {
	if f.Len() == 0 || f.Full() {
		return nil
	}
	return f.MergeErr(st.CheckRefs(c.UserContext(), refs))
}

// decodeWithRefs is decodeJSON that, when the body has errors, adds the unknown codes among
// refs() (read from what could be decoded) to them.
func decodeWithRefs(c *fiber.Ctx, st *contracts.Store, dst any, refs func() []contracts.Ref) error {
	err := decodeJSON(c, dst)
	f := fieldsOf(err)
	if f == nil || err == nil {
		return err
	}
	if err := checkRefs(c, st, f, refs()...); err != nil {
		return err
	}
	return f.Err()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func listTariffs(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := st.ListTariffVersions(c.UserContext(), pathParam(c, "code"))
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func optionalDecimal(f *trcledger.Fields, field string, n Num) *decimal.Decimal {
	if d, ok := n.Decimal(f, field, false); ok {
		return &d
	}
	return nil
}

func addTariff(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req tariffRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		v := contracts.TariffVersion{PointValue: optionalDecimal(f, "point_value", req.PointValue)}
		if from := dateField(f, "effective_from", req.EffectiveFrom, true); from != nil {
			v.EffectiveFrom = *from
		}
		v.EffectiveTo = dateField(f, "effective_to", req.EffectiveTo, false)
		for i, it := range req.Items {
			p := fmt.Sprintf("items[%d]", i)
			item := contracts.TariffItem{
				ServiceCode: it.ServiceCode, Method: it.Method,
				Price:       optionalDecimal(f, p+".price", it.Price),
				Points:      optionalDecimal(f, p+".points", it.Points),
				MaxQuantity: optionalDecimal(f, p+".max_quantity", it.MaxQuantity),
			}
			if vat := optionalDecimal(f, p+".vat_rate", it.VATRate); vat != nil {
				item.VATRate = *vat
			}
			v.Items = append(v.Items, item)
		}
		if err := f.MergeErr(v.Validate()); err != nil {
			return err
		}
		refs := make([]contracts.Ref, len(v.Items))
		for i, it := range v.Items {
			refs[i] = contracts.Ref{Field: fmt.Sprintf("items[%d].service_code", i), Kind: "service", Code: it.ServiceCode}
		}
		if err := checkRefs(c, st, f, refs...); err != nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		out, err := st.AddTariffVersion(c.UserContext(), pathParam(c, "code"), v)
		if err != nil {
			return err
		}
		return created(c, out)
	}
}

func listCostShares(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := st.ListCostShareRules(c.UserContext(), pathParam(c, "code"))
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func addCostShare(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req costShareRequest
		err := decodeJSON(c, &req)
		f := fieldsOf(err)
		if f == nil {
			return err
		}
		r := contracts.CostShareRule{
			ServiceCategory: req.ServiceCategory, BeneficiaryCategory: req.BeneficiaryCategory, SiteCode: req.SiteCode,
		}
		if from := dateField(f, "effective_from", req.EffectiveFrom, true); from != nil {
			r.EffectiveFrom = *from
		}
		r.EffectiveTo = dateField(f, "effective_to", req.EffectiveTo, false)
		for i, s := range req.Shares {
			// A share whose basis points were missing or not an integer stays invalid (-1) so that
			// validation does not also complain about the sum.
			sh := contracts.Share{PayerCode: s.PayerCode, BasisPoints: -1, FallbackPayerCode: s.FallbackPayerCode}
			if s.BasisPoints != nil && !f.Has(fmt.Sprintf("shares[%d].basis_points", i)) {
				sh.BasisPoints = *s.BasisPoints
			}
			r.Shares = append(r.Shares, sh)
		}
		if err := f.MergeErr(r.Validate()); err != nil {
			return err
		}
		refs := []contracts.Ref{{Field: "site_code", Kind: "site", Code: deref(r.SiteCode)}}
		for i, sh := range r.Shares {
			refs = append(refs, contracts.Ref{Field: fmt.Sprintf("shares[%d].payer_code", i), Kind: "payer", Code: sh.PayerCode})
			if sh.FallbackPayerCode != nil {
				refs = append(refs, contracts.Ref{Field: fmt.Sprintf("shares[%d].fallback_payer_code", i), Kind: "payer", Code: *sh.FallbackPayerCode})
			}
		}
		if err := checkRefs(c, st, f, refs...); err != nil {
			return err
		}
		if err := f.Err(); err != nil {
			return err
		}
		out, err := st.AddCostShareRule(c.UserContext(), pathParam(c, "code"), r)
		if err != nil {
			return err
		}
		return created(c, out)
	}
}

func quote(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		in := contracts.QuoteInput{
			ServiceCode:         query(c, "service_code"),
			BeneficiaryCategory: query(c, "beneficiary_category"),
			SiteCode:            query(c, "site_code"),
		}
		for _, name := range []string{"service_code", "beneficiary_category", "site_code"} {
			checkQuery(&f, name, c.Query(name))
		}
		if in.ServiceCode == "" {
			f.Add("service_code", "is required")
		}
		if in.BeneficiaryCategory == "" {
			in.BeneficiaryCategory = "unknown"
		} else if !slices.Contains(contracts.BeneficiaryCategories, in.BeneficiaryCategory) {
			f.Add("beneficiary_category", "must be one of asylum_seeker, irregular_migrant, refugee, subsidiary_protection, unknown")
		}
		in.Quantity = decimal.NewFromInt(1)
		if q := query(c, "quantity"); q != "" {
			if d, ok := (Num{Text: q, Set: true}).Decimal(&f, "quantity", true); ok {
				in.Quantity = d
				if !d.IsPositive() || trcledger.DecimalPlaces(d) > 4 {
					f.Add("quantity", "must be positive with at most 4 decimals")
				}
			}
		}
		in.On = trcledger.Today(time.Now())
		if on := query(c, "on"); on != "" {
			if d := dateField(&f, "on", &on, false); d != nil {
				in.On = *d
			}
		}
		if err := f.Err(); err != nil {
			return err
		}
		line, err := st.Quote(c.UserContext(), pathParam(c, "code"), in)
		if err != nil {
			return err
		}
		return c.JSON(line)
	}
}
