package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
)

// route is one endpoint: how it is called, who may call it, and what it takes and returns
// (for the OpenAPI document, which is generated from this list).
type route struct {
	Method  string
	Path    string
	Roles   []string // nil: public, no token
	Summary string
	Scope   string // how the object is scoped beyond the role
	Query   []param
	Body    any // request body type, or nil
	Status  int // success status
	Result  any // response body type, or nil
	Handler fiber.Handler
}

// param is a query parameter.
type param struct {
	Name, Description string
	Required          bool
}

var (
	allRoles     = []string{access.RoleAdmin, access.RoleClinic, access.RoleReviewer, access.RoleFinance}
	adminOnly    = []string{access.RoleAdmin}
	contractRead = []string{access.RoleAdmin, access.RoleFinance, access.RoleClinic}
)

// list is the shape of every list response.
type list[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func listOf[T any](items []T) list[T] { return list[T]{Items: items} }

// routes lists every endpoint of the API.
func (s *Server) routes() []route {
	st := s.cfg.Contracts
	return []route{
		{Method: "GET", Path: "/healthz", Summary: "Liveness", Status: 200, Result: health{}, Handler: healthz},
		{Method: "GET", Path: "/readyz", Summary: "Readiness: the database answers", Status: 200, Result: health{}, Handler: s.readyz},
		{Method: "GET", Path: "/v1/openapi.json", Summary: "This API as an OpenAPI 3 document", Status: 200, Handler: s.openapi},

		{Method: "GET", Path: "/v1/jurisdictions", Roles: allRoles, Summary: "The jurisdiction tree, parents first", Status: 200, Result: list[contracts.Jurisdiction]{}, Handler: listJurisdictions(st)},
		{Method: "POST", Path: "/v1/jurisdictions", Roles: adminOnly, Summary: "Add a jurisdiction", Body: jurisdictionRequest{}, Status: 201, Result: contracts.Jurisdiction{}, Handler: createJurisdiction(st)},
		{Method: "GET", Path: "/v1/organizations", Roles: allRoles, Summary: "Providers and payers", Query: []param{{Name: "kind", Description: "provider or payer"}}, Status: 200, Result: list[contracts.Organization]{}, Handler: listOrganizations(st)},
		{Method: "POST", Path: "/v1/organizations", Roles: adminOnly, Summary: "Add a provider or payer", Body: organizationRequest{}, Status: 201, Result: contracts.Organization{}, Handler: createOrganization(st)},
		{Method: "GET", Path: "/v1/organizations/:code", Roles: allRoles, Summary: "One organization", Status: 200, Result: contracts.Organization{}, Handler: getOrganization(st)},
		{Method: "GET", Path: "/v1/sites", Roles: allRoles, Summary: "Sites of care", Status: 200, Result: list[contracts.Site]{}, Handler: listSites(st)},
		{Method: "POST", Path: "/v1/sites", Roles: adminOnly, Summary: "Add a site", Body: siteRequest{}, Status: 201, Result: contracts.Site{}, Handler: createSite(st)},
		{Method: "GET", Path: "/v1/services", Roles: allRoles, Summary: "The service catalogue", Status: 200, Result: list[contracts.Service]{}, Handler: listServices(st)},
		{Method: "POST", Path: "/v1/services", Roles: adminOnly, Summary: "Add a service", Body: serviceRequest{}, Status: 201, Result: contracts.Service{}, Handler: createService(st)},

		{Method: "GET", Path: "/v1/contracts", Roles: contractRead, Scope: "clinic: own provider", Summary: "Contracts", Query: []param{{Name: "provider_code"}, {Name: "status"}}, Status: 200, Result: list[contracts.Contract]{}, Handler: listContracts(st)},
		{Method: "POST", Path: "/v1/contracts", Roles: adminOnly, Summary: "Add a contract", Body: contractRequest{}, Status: 201, Result: contracts.Contract{}, Handler: createContract(st)},
		{Method: "GET", Path: "/v1/contracts/:code", Roles: contractRead, Scope: "clinic: own provider", Summary: "One contract", Status: 200, Result: contracts.Contract{}, Handler: getContract(st)},
		{Method: "PATCH", Path: "/v1/contracts/:code", Roles: adminOnly, Summary: "Activate or terminate a contract, or set its end date", Body: contractPatchRequest{}, Status: 200, Result: contracts.Contract{}, Handler: updateContract(st)},
		{Method: "GET", Path: "/v1/contracts/:code/tariffs", Roles: contractRead, Scope: "clinic: own provider", Summary: "The contract's tariff versions", Status: 200, Result: list[contracts.TariffVersion]{}, Handler: listTariffs(st)},
		{Method: "POST", Path: "/v1/contracts/:code/tariffs", Roles: adminOnly, Summary: "Add a tariff version (closes the open one)", Body: tariffRequest{}, Status: 201, Result: contracts.TariffVersion{}, Handler: addTariff(st)},
		{Method: "GET", Path: "/v1/contracts/:code/cost-shares", Roles: contractRead, Scope: "clinic: own provider", Summary: "The contract's cost-share rules", Status: 200, Result: list[contracts.CostShareRule]{}, Handler: listCostShares(st)},
		{Method: "POST", Path: "/v1/contracts/:code/cost-shares", Roles: adminOnly, Summary: "Add a cost-share rule", Body: costShareRequest{}, Status: 201, Result: contracts.CostShareRule{}, Handler: addCostShare(st)},
		{Method: "GET", Path: "/v1/contracts/:code/quote", Roles: contractRead, Scope: "clinic: own provider", Summary: "Price and split one line; writes nothing",
			Query: []param{{Name: "service_code", Required: true}, {Name: "quantity", Description: "decimal, default 1"}, {Name: "on", Description: "service date YYYY-MM-DD, default today"},
				{Name: "beneficiary_category", Description: "default unknown"}, {Name: "site_code"}},
			Status: 200, Result: contracts.PricedLine{}, Handler: quote(st)},

		{Method: "GET", Path: "/v1/tokens", Roles: adminOnly, Summary: "Tokens (never their secrets)", Status: 200, Result: list[access.Token]{}, Handler: listTokens(s.cfg.Tokens)},
		{Method: "POST", Path: "/v1/tokens", Roles: adminOnly, Summary: "Issue a token; the secret is shown once", Body: tokenRequest{}, Status: 201, Result: tokenResponse{}, Handler: createToken(s.cfg.Tokens)},
		{Method: "DELETE", Path: "/v1/tokens/:id", Roles: adminOnly, Summary: "Revoke a token", Status: 204, Handler: revokeToken(s.cfg.Tokens)},
	}
}
