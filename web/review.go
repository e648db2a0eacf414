package web

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
)

// reviewPages lists the review pages: the work queue (review_queue.go), a statement's review
// with its decisions, bulk approval, completion and exports (review_statement.go), and its
// sampling (review_sampling.go).
func (a *app) reviewPages() []page {
	return append([]page{
		{Method: "GET", Path: "/review", Roles: reviewerOnly, Nav: "review.nav.home", Handler: a.reviewQueue},
		{Method: "GET", Path: "/review/statements/:id", Roles: reviewerOnly, Handler: a.reviewStatement},
		{Method: "POST", Path: "/review/statements/:id/decide", Roles: reviewerOnly, Handler: a.reviewDecide},
		{Method: "POST", Path: "/review/statements/:id/approve-unflagged", Roles: reviewerOnly, Handler: a.reviewApproveUnflagged},
		{Method: "GET", Path: "/review/statements/:id/complete", Roles: reviewerOnly, Handler: a.reviewCompleteForm},
		{Method: "POST", Path: "/review/statements/:id/complete", Roles: reviewerOnly, Handler: a.reviewComplete},
		{Method: "GET", Path: "/review/statements/:id/export.csv", Roles: reviewerOnly, Handler: a.reviewExport("csv")},
		{Method: "GET", Path: "/review/statements/:id/export.pdf", Roles: reviewerOnly, Handler: a.reviewExport("pdf")},
	}, a.reviewSamplingPages()...)
}

// reviewNames are the names of providers, services and sites by code, for the review pages.
type reviewNames struct {
	Providers map[string]string
	Services  []contracts.Service
	Sites     []contracts.Site
	service   map[string]string
	site      map[string]string
}

// Service and Site name a code (the code itself when unknown).
func (n reviewNames) Service(code string) string { return nameOr(n.service, code) }
func (n reviewNames) Site(code string) string    { return nameOr(n.site, code) }

func nameOr(m map[string]string, code string) string {
	if s, ok := m[code]; ok {
		return s
	}
	return code
}

func (a *app) reviewNames(c *fiber.Ctx) (reviewNames, error) {
	ctx := c.UserContext()
	n := reviewNames{Providers: map[string]string{}, service: map[string]string{}, site: map[string]string{}}
	orgs, err := a.cfg.Contracts.ListOrganizations(ctx, contracts.OrganizationFilter{Kind: "provider"})
	if err != nil {
		return n, err
	}
	for _, o := range orgs {
		n.Providers[o.Code] = o.Name
	}
	if n.Services, err = a.cfg.Contracts.ListServices(ctx); err != nil {
		return n, err
	}
	for _, s := range n.Services {
		n.service[s.Code] = s.Name
	}
	if n.Sites, err = a.cfg.Contracts.ListSites(ctx); err != nil {
		return n, err
	}
	for _, s := range n.Sites {
		n.site[s.Code] = s.Name
	}
	return n, nil
}

// reviewProblems translates the field messages of the review services (their English format)
// into catalogue keys of review.json, so that a refused decision is explained next to its field
// in the reader's language; any other message goes through problems.json (fieldErrors).
var reviewProblems = map[string]string{
	"a rejection needs a reason code":                                         "review.problem.reject_reason",
	"an adjustment needs a reason code":                                       "review.problem.adjust_reason",
	"an adjustment needs the approved amount":                                 "review.problem.adjust_amount",
	"must be at least 0.00 and below the claimed %s, with at most 2 decimals": "review.problem.adjust_range",
	"reason other needs a note":                                               "review.problem.other_note",
	"must be at most 1000 characters":                                         "review.problem.note_long",
	"must be approve, reject or adjust":                                       "review.problem.decision",
	"line %d is not on this statement":                                        "review.problem.line",
	"must be one of %s":                                                       "review.problem.one_of",
	"must not be below min_amount":                                            "review.problem.amount_range",
	"is not a cursor this service gave out":                                   "review.problem.cursor",
	"must be a whole number from 1 to %d":                                     "review.problem.limit",
}

// reviewFieldErrors is fieldErrors for the review services: messages by field, the field's
// name without its prefix (decisions[0].reason_code -> reason_code). Any error but EINVALID is
// returned for the caller to handle.
func reviewFieldErrors(c *fiber.Ctx, err error, prefix string) (map[string]string, error) {
	byField, ferr := fieldErrors(c, err)
	if ferr != nil {
		return nil, ferr
	}
	out := make(map[string]string, len(byField))
	for field, msg := range byField {
		out[strings.TrimPrefix(field, prefix)] = msg
	}
	var e *trcledger.Error
	if errors.As(err, &e) {
		tr := tr(c)
		for _, f := range e.Fields {
			if key, ok := reviewProblems[f.Format]; ok {
				out[strings.TrimPrefix(f.Field, prefix)] = tr.T(key, f.Args...)
			}
		}
	}
	return out, nil
}

// reviewPartial renders one named template of the page template name (a table row) in the
// reader's language, for the JavaScript that replaces it in place.
func reviewPartial(c *fiber.Ctx, name, define string, data any) (string, error) {
	t, err := pageTemplate(name)
	if err != nil {
		return "", err
	}
	if t, err = t.Clone(); err != nil {
		return "", err
	}
	t.Funcs(funcsFor(tr(c)))
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, define, data); err != nil {
		return "", fmt.Errorf("render %s/%s: %w", name, define, err)
	}
	return buf.String(), nil
}
