package web

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
)

// adminReferencePages lists the reference data pages: each lists its entries and adds one.
func (a *app) adminReferencePages() []page {
	return []page{
		{Method: "GET", Path: "/admin/organizations", Roles: adminOnly, Nav: "admin.nav.reference", Handler: a.adminReference("organizations")},
		{Method: "POST", Path: "/admin/organizations", Roles: adminOnly, Handler: a.adminCreateReference("organizations")},
		{Method: "GET", Path: "/admin/sites", Roles: adminOnly, Handler: a.adminReference("sites")},
		{Method: "POST", Path: "/admin/sites", Roles: adminOnly, Handler: a.adminCreateReference("sites")},
		{Method: "GET", Path: "/admin/services", Roles: adminOnly, Handler: a.adminReference("services")},
		{Method: "POST", Path: "/admin/services", Roles: adminOnly, Handler: a.adminCreateReference("services")},
		{Method: "GET", Path: "/admin/jurisdictions", Roles: adminOnly, Handler: a.adminReference("jurisdictions")},
		{Method: "POST", Path: "/admin/jurisdictions", Roles: adminOnly, Handler: a.adminCreateReference("jurisdictions")},
	}
}

// adminRefData is what a reference data page shows: its entries (one of the four lists), the
// choices its form offers, and the form as sent.
type adminRefData struct {
	Kind          string
	Jurisdictions []contracts.Jurisdiction
	Organizations []contracts.Organization
	Sites         []contracts.Site
	Services      []contracts.Service
	Pager         adminListPage
	Form          map[string]string
	Vocab         adminVocab
}

// adminVocab holds the enumerations the forms offer (each declared once, in contracts).
type adminVocab struct {
	OrganizationKinds, PayerTypes, Levels, SiteKinds, Categories, Units, Statuses,
	Beneficiaries, Methods, Currencies []string
}

var adminVocabulary = adminVocab{
	OrganizationKinds: contracts.OrganizationKinds, PayerTypes: contracts.PayerTypes, Levels: contracts.ProviderLevels,
	SiteKinds: contracts.SiteKinds, Categories: contracts.ServiceCategories, Units: contracts.ServiceUnits,
	Statuses: contracts.ContractStatuses, Beneficiaries: contracts.BeneficiaryCategories, Methods: contracts.TariffMethods,
	Currencies: contracts.Currencies,
}

var adminRefFields = map[string][]string{
	"jurisdictions": {"code", "name", "parent_code"},
	"organizations": {"code", "name", "kind", "jurisdiction_code", "payer_type", "level"},
	"sites":         {"code", "name", "kind", "jurisdiction_code"},
	"services":      {"code", "name", "category", "unit", "requires_referral"},
}

func (a *app) adminRefData(c *fiber.Ctx, kind string, form map[string]string) (adminRefData, error) {
	ctx := c.UserContext()
	st := a.cfg.Contracts
	d := adminRefData{Kind: kind, Form: form, Vocab: adminVocabulary}
	if d.Form == nil {
		d.Form = map[string]string{}
	}
	var err error
	// Every form but the services' offers the jurisdictions.
	if d.Jurisdictions, err = st.ListJurisdictions(ctx); err != nil {
		return d, err
	}
	path := "/admin/" + kind + "?"
	switch kind {
	case "jurisdictions":
		d.Jurisdictions, d.Pager = adminPaginate(c, d.Jurisdictions, path)
	case "organizations":
		list, err := st.ListOrganizations(ctx, contracts.OrganizationFilter{})
		if err != nil {
			return d, err
		}
		d.Organizations, d.Pager = adminPaginate(c, list, path)
	case "sites":
		list, err := st.ListSites(ctx)
		if err != nil {
			return d, err
		}
		d.Sites, d.Pager = adminPaginate(c, list, path)
	case "services":
		list, err := st.ListServices(ctx)
		if err != nil {
			return d, err
		}
		d.Services, d.Pager = adminPaginate(c, list, path)
	}
	return d, nil
}

func (a *app) adminReference(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		d, err := a.adminRefData(c, kind, nil)
		if err != nil {
			return err
		}
		v := view{Title: "admin." + kind + ".title", Data: d}
		if added := c.Query("added"); added != "" {
			v.Flash = tr(c).T("admin.reference.added", added)
		}
		return a.renderView(c, "admin/reference", v)
	}
}

// adminCreateReference adds an entry as the API does: the entry's own checks and the codes it
// refers to are named together in one answer.
func (a *app) adminCreateReference(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		form := adminFormValues(c, adminRefFields[kind]...)
		ctx := c.UserContext()
		st := a.cfg.Contracts
		var f trcledger.Fields
		var refs []contracts.Ref
		var create func() error
		switch kind {
		case "jurisdictions":
			j := contracts.Jurisdiction{Code: form["code"], Name: form["name"], ParentCode: adminOptional(form["parent_code"])}
			_ = f.MergeErr(j.Validate())
			refs = []contracts.Ref{{Field: "parent_code", Kind: "jurisdiction", Code: form["parent_code"]}}
			create = func() error { _, err := st.CreateJurisdiction(ctx, j); return err }
		case "organizations":
			o := contracts.Organization{Code: form["code"], Name: form["name"], Kind: form["kind"], JurisdictionCode: form["jurisdiction_code"]}
			// The form offers both; only the one of the kind chosen is kept.
			switch o.Kind {
			case "payer":
				o.PayerType = adminOptional(form["payer_type"])
			case "provider":
				o.Level = adminOptional(form["level"])
			}
			_ = f.MergeErr(o.Validate())
			refs = []contracts.Ref{{Field: "jurisdiction_code", Kind: "jurisdiction", Code: o.JurisdictionCode}}
			create = func() error { _, err := st.CreateOrganization(ctx, o); return err }
		case "sites":
			s := contracts.Site{Code: form["code"], Name: form["name"], Kind: form["kind"], JurisdictionCode: form["jurisdiction_code"]}
			_ = f.MergeErr(s.Validate())
			refs = []contracts.Ref{{Field: "jurisdiction_code", Kind: "jurisdiction", Code: s.JurisdictionCode}}
			create = func() error { _, err := st.CreateSite(ctx, s); return err }
		case "services":
			s := contracts.Service{Code: form["code"], Name: form["name"], Category: form["category"], Unit: form["unit"], RequiresReferral: form["requires_referral"] != ""}
			_ = f.MergeErr(s.Validate())
			create = func() error { _, err := st.CreateService(ctx, s); return err }
		}
		if err := f.MergeErr(st.CheckRefs(ctx, refs)); err != nil {
			return err
		}
		err := f.Err()
		if err == nil {
			err = create()
		}
		if err != nil {
			d, derr := a.adminRefData(c, kind, form)
			if derr != nil {
				return derr
			}
			return a.adminProblem(c, "admin/reference", "admin."+kind+".title", d, err)
		}
		return c.Redirect("/admin/"+kind+"?added="+url.QueryEscape(form["code"]), fiber.StatusSeeOther)
	}
}
