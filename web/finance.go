package web

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/contracts"
)

// financePages lists the finance pages: statements, building a month and payments
// (finance_statements.go), the reconciliation and the transition dashboard
// (finance_reports.go). docs/web-finance.md says what they decide where the issue is silent.
func (a *app) financePages() []page {
	return []page{
		{Method: "GET", Path: "/finance", Roles: financeOnly, Nav: "finance.nav.statements", Handler: a.financeStatements},
		{Method: "GET", Path: "/finance/build", Roles: financeOnly, Nav: "finance.nav.build", Handler: a.financeBuildForm},
		{Method: "POST", Path: "/finance/build", Roles: financeOnly, Handler: a.financeBuild},
		{Method: "GET", Path: "/finance/reconciliation", Roles: financeOnly, Nav: "finance.nav.reconciliation", Handler: a.financeReconciliation},
		{Method: "GET", Path: "/finance/transition", Roles: financeOnly, Nav: "finance.nav.transition", Handler: a.financeTransition},
		{Method: "GET", Path: "/finance/statements/:id", Roles: financeOnly, Handler: a.financeStatement},
		{Method: "POST", Path: "/finance/statements/:id/payments", Roles: financeOnly, Handler: a.financePayment},
		{Method: "POST", Path: "/finance/statements/:id/submit", Roles: financeOnly, Handler: a.financeSubmit},
		{Method: "POST", Path: "/finance/statements/:id/cancel", Roles: financeOnly, Handler: a.financeCancel},
	}
}

// financePageSize is how many rows a finance list shows at once.
const financePageSize = 25

// finOption is one choice of a select: its value and what the reader sees.
type finOption struct{ Value, Label string }

// financeRefs are the names the finance pages show for codes: organizations, sites,
// jurisdictions and services, and the providers and payers to filter by.
type financeRefs struct {
	Names     map[string]string // organization code -> name
	Sites     map[string]string
	Cantons   map[string]string
	Services  map[string]string
	Providers []finOption
	Payers    []finOption
}

func (a *app) financeRefs(c *fiber.Ctx) (*financeRefs, error) {
	ctx := c.UserContext()
	orgs, err := a.cfg.Contracts.ListOrganizations(ctx, contracts.OrganizationFilter{})
	if err != nil {
		return nil, err
	}
	r := &financeRefs{Names: map[string]string{}, Sites: map[string]string{}, Cantons: map[string]string{}, Services: map[string]string{}}
	for _, o := range orgs {
		r.Names[o.Code] = o.Name
		opt := finOption{Value: o.Code, Label: o.Code + " · " + o.Name}
		if o.Kind == "provider" {
			r.Providers = append(r.Providers, opt)
		} else {
			r.Payers = append(r.Payers, opt)
		}
	}
	sites, err := a.cfg.Contracts.ListSites(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range sites {
		r.Sites[s.Code] = s.Name
	}
	js, err := a.cfg.Contracts.ListJurisdictions(ctx)
	if err != nil {
		return nil, err
	}
	for _, j := range js {
		r.Cantons[j.Code] = j.Name
	}
	svcs, err := a.cfg.Contracts.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range svcs {
		r.Services[s.Code] = s.Name
	}
	return r, nil
}

// finPager is one page of a list cut in pages of financePageSize: the page's bounds and the links
// to the pages before and after it (with the list's filters kept).
type finPager struct {
	Page, Pages, Total int
	From, To           int // 1-based, for "21–40 of 95"
	Prev, Next         string
}

// finPaginate cuts n rows into pages; page is the ?page= value (1 when missing or bad). It
// returns the bounds of the page's rows.
func finPaginate(path string, q url.Values, n int, pageParam string) (finPager, int, int) {
	p := finPager{Total: n, Pages: max(1, (n+financePageSize-1)/financePageSize)}
	p.Page, _ = strconv.Atoi(pageParam)
	p.Page = min(max(p.Page, 1), p.Pages)
	lo := (p.Page - 1) * financePageSize
	hi := min(lo+financePageSize, n)
	p.From, p.To = lo+1, hi
	if n == 0 {
		p.From = 0
	}
	link := func(page int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "page" && len(vs) > 0 && vs[0] != "" {
				v.Set(k, vs[0])
			}
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return path
		}
		return path + "?" + v.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	return p, lo, hi
}

// finQuery is the request's query string as url.Values (the first value of each name).
func finQuery(c *fiber.Ctx) url.Values {
	v := url.Values{}
	c.Context().QueryArgs().VisitAll(func(k, val []byte) {
		if !v.Has(string(k)) {
			v.Set(string(k), string(val))
		}
	})
	return v
}
