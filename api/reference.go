package api

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
)

type jurisdictionRequest struct {
	Code       string  `json:"code" validate:"required,max=40"`
	Name       string  `json:"name" validate:"required,max=200"`
	ParentCode *string `json:"parent_code" validate:"omitempty,max=40"`
}

type organizationRequest struct {
	Code             string  `json:"code" validate:"required,max=40"`
	Name             string  `json:"name" validate:"required,max=200"`
	Kind             string  `json:"kind" validate:"required,vocab=organization_kind"`
	JurisdictionCode string  `json:"jurisdiction_code" validate:"required,max=40"`
	PayerType        *string `json:"payer_type" validate:"omitempty,vocab=payer_type"`
	Level            *string `json:"level" validate:"omitempty,vocab=level"`
}

type siteRequest struct {
	Code             string `json:"code" validate:"required,max=40"`
	Name             string `json:"name" validate:"required,max=200"`
	Kind             string `json:"kind" validate:"required,vocab=site_kind"`
	JurisdictionCode string `json:"jurisdiction_code" validate:"required,max=40"`
}

type serviceRequest struct {
	Code             string `json:"code" validate:"required,max=40"`
	Name             string `json:"name" validate:"required,max=200"`
	Category         string `json:"category" validate:"required,vocab=category"`
	Unit             string `json:"unit" validate:"required,vocab=unit"`
	RequiresReferral bool   `json:"requires_referral"`
}

// created answers 201 with v.
func created(c *fiber.Ctx, v any) error { return c.Status(fiber.StatusCreated).JSON(v) }

// param returns a path parameter as a string safe to keep past the handler.
func pathParam(c *fiber.Ctx, name string) string { return strings.Clone(c.Params(name)) }

// query returns a query parameter as a string safe to keep past the handler.
func query(c *fiber.Ctx, name string) string { return strings.Clone(c.Query(name)) }

// checkQuery refuses (422) a query value longer than any code or date we know.
func checkQuery(f *trcledger.Fields, name, v string) {
	if len(v) > 100 {
		f.Add(name, "must be at most 100 characters")
	}
}

func listJurisdictions(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := st.ListJurisdictions(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func createJurisdiction(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req jurisdictionRequest
		if err := decodeWithRefs(c, st, &req, func() []contracts.Ref {
			return []contracts.Ref{{Field: "parent_code", Kind: "jurisdiction", Code: deref(req.ParentCode)}}
		}); err != nil {
			return err
		}
		j, err := st.CreateJurisdiction(c.UserContext(), contracts.Jurisdiction{Code: req.Code, Name: req.Name, ParentCode: req.ParentCode})
		if err != nil {
			return err
		}
		return created(c, j)
	}
}

func listOrganizations(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		kind := query(c, "kind")
		if kind != "" && kind != "provider" && kind != "payer" {
			return (&trcledger.Fields{}).AddErr("kind", "must be provider or payer")
		}
		items, err := st.ListOrganizations(c.UserContext(), contracts.OrganizationFilter{Kind: kind})
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func getOrganization(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		o, err := st.FindOrganizationByCode(c.UserContext(), pathParam(c, "code"))
		if err != nil {
			return err
		}
		return c.JSON(o)
	}
}

func createOrganization(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req organizationRequest
		if err := decodeWithRefs(c, st, &req, func() []contracts.Ref {
			return []contracts.Ref{{Field: "jurisdiction_code", Kind: "jurisdiction", Code: req.JurisdictionCode}}
		}); err != nil {
			return err
		}
		o, err := st.CreateOrganization(c.UserContext(), contracts.Organization{
			Code: req.Code, Name: req.Name, Kind: req.Kind, JurisdictionCode: req.JurisdictionCode,
			PayerType: req.PayerType, Level: req.Level,
		})
		if err != nil {
			return err
		}
		return created(c, o)
	}
}

func listSites(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := st.ListSites(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func createSite(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req siteRequest
		if err := decodeWithRefs(c, st, &req, func() []contracts.Ref {
			return []contracts.Ref{{Field: "jurisdiction_code", Kind: "jurisdiction", Code: req.JurisdictionCode}}
		}); err != nil {
			return err
		}
		s, err := st.CreateSite(c.UserContext(), contracts.Site{Code: req.Code, Name: req.Name, Kind: req.Kind, JurisdictionCode: req.JurisdictionCode})
		if err != nil {
			return err
		}
		return created(c, s)
	}
}

func listServices(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		items, err := st.ListServices(c.UserContext())
		if err != nil {
			return err
		}
		return c.JSON(listOf(items))
	}
}

func createService(st *contracts.Store) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req serviceRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		s, err := st.CreateService(c.UserContext(), contracts.Service{
			Code: req.Code, Name: req.Name, Category: req.Category, Unit: req.Unit, RequiresReferral: req.RequiresReferral,
		})
		if err != nil {
			return err
		}
		return created(c, s)
	}
}

// limitParam reads the optional page size "limit" (1..max; 0 when absent) into f's errors.
func limitParam(c *fiber.Ctx, f *trcledger.Fields, max int) int {
	v := c.Query("limit")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		f.Add("limit", "must be a whole number from 1 to %d", max)
		return 0
	}
	return n
}
