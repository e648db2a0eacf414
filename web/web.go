package web

import (
	"log/slog"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/claims/imports"
	"github.com/trcledger/trcledger/claims/reports"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/icd10"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/ledger"
)

// Config is what the pages are built from: the services the API uses too.
type Config struct {
	Contracts  *contracts.Store
	Encounters *encounters.Service
	Statements *statements.Service
	Reports    *reports.Service
	Imports    *imports.Service // import jobs (import_jobs.go)
	Journal    *ledger.Journal
	Tokens     *access.Tokens
	Users      *access.Users
	ICD10      *icd10.Store // the ICD-10 codes of the capture page's look-up
	Logger     *slog.Logger
}

// app holds what the page handlers need.
type app struct {
	cfg Config
	log *slog.Logger
}

// page is one route of the web application. Roles nil means anyone, signed in or not; Nav, when
// set, is the catalogue key of its entry in the navigation of those roles.
type page struct {
	Method  string
	Path    string
	Roles   []string
	Nav     string
	Handler fiber.Handler
	// Upload marks a page that reads its (large) body as a stream itself, and checks its CSRF
	// token itself before it reads the file (the header, or a form field before the file); any
	// other page's body is read whole, up to formLimit. StreamedRoutes lists these pages.
	Upload bool
}

var (
	clinicOnly   = []string{access.RoleClinic}
	reviewerOnly = []string{access.RoleReviewer}
	financeOnly  = []string{access.RoleFinance}
	adminOnly    = []string{access.RoleAdmin}
	signedIn     = []string{access.RoleAdmin, access.RoleClinic, access.RoleReviewer, access.RoleFinance}
)

// pages lists every route of the web application: sign-in, then each role's pages.
func (a *app) pages() []page {
	out := []page{
		{Method: "GET", Path: "/", Roles: signedIn, Handler: a.home},
		{Method: "GET", Path: "/login", Handler: a.loginForm},
		{Method: "POST", Path: "/login", Handler: a.login},
		{Method: "POST", Path: "/logout", Roles: signedIn, Handler: a.logout},
		{Method: "POST", Path: "/language", Handler: a.setLanguage},
	}
	out = append(out, a.clinicPages()...)
	out = append(out, a.reviewPages()...)
	out = append(out, a.financePages()...)
	out = append(out, a.adminPages()...)
	out = append(out, a.correctionPages()...) // repricing, closed months (corrections.go)
	out = append(out, a.appealPages()...)     // appeals, re-routed shares (appeals.go)
	out = append(out, a.importJobPages()...)  // imports as jobs (import_jobs.go)
	out = append(out, a.simulationPages()...) // what-if schedules, parity (evidence_simulation.go)
	out = append(out, a.bulletinPages()...)   // bulletins, how each fund keeps up (evidence_bulletins.go)
	out = append(out, a.capPages()...)        // budget ceilings (caps.go)
	return out
}

// Register adds the web application's routes to app (the API's routes stay at /v1): the pages,
// the embedded assets under /static, and an HTML 404 for any other path outside /v1.
func Register(fa *fiber.App, cfg Config) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &app{cfg: cfg, log: cfg.Logger}
	fa.Get("/static/*", staticAssets())
	fa.Get("/sw.js", serviceWorker())
	for _, p := range a.pages() {
		handlers := []fiber.Handler{pageHeaders, a.session}
		if !p.Upload {
			handlers = append(handlers, limitForm)
		}
		if p.Roles != nil {
			handlers = append(handlers, requireRole(p.Roles))
		}
		if p.Method != fiber.MethodGet && !p.Upload { // an upload checks its token as it streams
			handlers = append(handlers, checkCSRF)
		}
		fa.Add(p.Method, p.Path, append(handlers, a.recoverPage(p.Handler))...)
	}
	fa.Use(func(c *fiber.Ctx) error {
		if strings.HasPrefix(c.Path(), "/v1") || !slices.Contains([]string{"GET", "HEAD"}, c.Method()) {
			return c.Next()
		}
		setPageHeaders(c)
		if err := a.sessionOptional(c); err != nil {
			return a.failPage(c, err)
		}
		return a.errorPage(c, fiber.StatusNotFound, "common.error.not_found")
	})
}

// nav is the navigation of role: the pages with a Nav key the role may open, in list order.
func (a *app) nav(role string) []navItem {
	var out []navItem
	for _, p := range a.pages() {
		if p.Nav != "" && p.Method == fiber.MethodGet && slices.Contains(p.Roles, role) {
			out = append(out, navItem{Key: p.Nav, Path: p.Path})
		}
	}
	return out
}

type navItem struct{ Key, Path string }

// homeOf is the first page of each role.
var homeOf = map[string]string{
	access.RoleClinic:   "/clinic",
	access.RoleReviewer: "/review",
	access.RoleFinance:  "/finance",
	access.RoleAdmin:    "/admin",
}

func (a *app) home(c *fiber.Ctx) error {
	return c.Redirect(homeOf[user(c).Role], fiber.StatusSeeOther)
}
