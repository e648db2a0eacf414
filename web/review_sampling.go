package web

import (
	"crypto/rand"
	"math/big"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/statements"
)

// Review sampling (docs/review-sampling.md): the reviewer draws a seeded random sample of a
// statement's unflagged lines, decides its lines here, then confirms applying the sample's
// rejected share to the rest (the bulk decision extrapolate of the API, through the same
// service). The statement page links here and marks extrapolated lines.

// reviewSamplingPages lists the sampling pages of a statement under review.
func (a *app) reviewSamplingPages() []page {
	return []page{
		{Method: "GET", Path: "/review/statements/:id/sample", Roles: reviewerOnly, Handler: a.reviewSample},
		{Method: "POST", Path: "/review/statements/:id/sample/decide", Roles: reviewerOnly, Handler: a.reviewSampleDecide},
		{Method: "GET", Path: "/review/statements/:id/sample/apply", Roles: reviewerOnly, Handler: a.reviewSampleApplyForm},
		{Method: "POST", Path: "/review/statements/:id/sample/apply", Roles: reviewerOnly, Handler: a.reviewSampleApply},
	}
}

// defaultSamplePercent is the percent the form offers first.
const defaultSamplePercent = 10

type sampleView struct {
	St            *statements.Statement
	ProviderName  string
	Names         reviewNames
	Percent, Seed string // as sent (or offered)
	Sample        *statements.Sample
	RatePercent   decimal.Decimal // the rate in percent, when the sample is decided
	NotApproved   decimal.Decimal // what extrapolating takes off the rest
	CanDecide     bool
	Decisions     []string
	Reasons       []string
	Form          reviewForm // the decision form that failed, if any
	Path          string     // /review/statements/{id}/sample
	Query         string     // percent=..&seed=..
	StatementPath string
}

// sampleRow is one sampled line with its form, for the template.
type sampleRow struct {
	V view
	L statements.StatementLine
	D *sampleView
}

// Rows pairs the sampled lines with the view.
func (sv *sampleView) Rows(v view) []sampleRow {
	if sv.Sample == nil {
		return nil
	}
	out := make([]sampleRow, len(sv.Sample.Lines))
	for i, l := range sv.Sample.Lines {
		out[i] = sampleRow{V: v, L: l, D: sv}
	}
	return out
}

// Failed, Err and Value are the line form's state, as on the statement page.
func (r sampleRow) Failed() bool { return r.D.Form.LineID == r.L.ID && len(r.V.Errors) > 0 }

func (r sampleRow) Err(field string) string {
	if !r.Failed() {
		return ""
	}
	return r.V.Errors[field]
}

func (r sampleRow) Value(field string) string {
	return lineRow{V: r.V, L: r.L, D: &statementView{Form: r.D.Form}}.Value(field)
}

// randomSeed offers a seed for a new sample: a random whole number from 1 to a billion.
func randomSeed() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
	if err != nil {
		return "1"
	}
	return n.Add(n, big.NewInt(1)).String()
}

// sampleParams reads percent and seed from q; errs gets the bad ones in the reader's language.
func sampleParams(c *fiber.Ctx, q url.Values, errs map[string]string) (percent int, seed int64, ok bool) {
	tr := tr(c)
	percent, err := strconv.Atoi(strings.TrimSpace(q.Get("percent")))
	if err != nil || percent < 1 || percent > 100 {
		errs["percent"] = tr.T("review.sampling.problem.percent")
	}
	seed, err = strconv.ParseInt(strings.TrimSpace(q.Get("seed")), 10, 64)
	if err != nil || seed < 1 || seed > statements.MaxSampleSeed {
		errs["seed"] = tr.T("review.sampling.problem.seed", statements.MaxSampleSeed)
	}
	return percent, seed, len(errs) == 0
}

// loadSample reads the statement's header and, with a good percent and seed in q, its sample.
func (a *app) loadSample(c *fiber.Ctx, id string, q url.Values, errs map[string]string) (*sampleView, error) {
	st, err := a.cfg.Statements.FindStatementPage(c.UserContext(), id, statements.LinesPage{Limit: 1})
	if err != nil {
		return nil, err
	}
	names, err := a.reviewNames(c)
	if err != nil {
		return nil, err
	}
	sv := &sampleView{St: st, ProviderName: nameOr(names.Providers, st.ProviderCode), Names: names,
		Percent: strings.TrimSpace(q.Get("percent")), Seed: strings.TrimSpace(q.Get("seed")),
		CanDecide: statements.Allowed(st.Status, statements.ActionDecide), Decisions: statements.Decisions, Reasons: statements.ReasonCodes,
		Path: "/review/statements/" + st.ID + "/sample", StatementPath: "/review/statements/" + st.ID}
	if !q.Has("percent") && !q.Has("seed") { // a new sample: offer the defaults
		sv.Percent, sv.Seed = strconv.Itoa(defaultSamplePercent), randomSeed()
		return sv, nil
	}
	percent, seed, ok := sampleParams(c, q, errs)
	if !ok {
		return sv, nil
	}
	sv.Query = url.Values{"percent": {strconv.Itoa(percent)}, "seed": {strconv.FormatInt(seed, 10)}}.Encode()
	if sv.Sample, err = a.cfg.Statements.FindSample(c.UserContext(), st.ID, &percent, &seed); err != nil {
		return nil, err
	}
	if s := sv.Sample; s.Rate != nil {
		rate, _ := decimal.NewFromString(*s.Rate)
		sv.RatePercent = rate.Shift(2)
		if s.RestApproved != nil {
			sv.NotApproved = s.RestClaimed.Sub(s.RestApproved.Decimal)
		}
	}
	return sv, nil
}

func queryOf(c *fiber.Ctx) url.Values {
	q, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		return url.Values{}
	}
	return q
}

// reviewSample is the sampling page: percent and seed (a random one offered), the sampled lines
// with a decision form each, and, once they are all decided, the rate and the way to apply it.
func (a *app) reviewSample(c *fiber.Ctx) error {
	errs := map[string]string{}
	sv, err := a.loadSample(c, c.Params("id"), queryOf(c), errs)
	if err != nil {
		return err
	}
	v := view{Title: "review.sampling.title", Data: sv, Errors: errs}
	if len(errs) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		v.Problem = tr(c).T("common.form_has_errors")
	}
	if c.Query("saved") != "" {
		v.Flash = tr(c).T("review.flash.saved")
	}
	return a.renderSample(c, "review/sample", v)
}

func (a *app) renderSample(c *fiber.Ctx, name string, v view) error {
	sv := v.Data.(*sampleView)
	v.CSRF = csrfToken(c) // the rows' forms carry it
	v.Data = map[string]any{"S": sv, "Rows": sv.Rows(v)}
	return a.renderView(c, name, v)
}

// reviewSampleDecide records one sampled line's decision (as the statement page's form does)
// and goes back to the sample, or shows it again with the messages next to the fields (422).
func (a *app) reviewSampleDecide(c *fiber.Ctx) error {
	id := c.Params("id")
	form := reviewForm{
		Decision: c.FormValue("decision"), Reason: c.FormValue("reason_code"),
		Note: strings.TrimSpace(c.FormValue("note")), Approved: strings.TrimSpace(c.FormValue("approved_amount")),
	}
	form.LineID, _ = strconv.ParseInt(c.FormValue("line_id"), 10, 64)
	q := url.Values{"percent": {c.FormValue("percent")}, "seed": {c.FormValue("seed")}}
	d := statements.Decision{LineID: form.LineID, Decision: form.Decision, Note: form.Note}
	if form.Decision != "approve" {
		d.ReasonCode = form.Reason
	}
	errs := map[string]string{}
	if form.Decision == "adjust" && form.Approved != "" {
		amount, err := decimal.NewFromString(strings.Replace(form.Approved, ",", ".", 1))
		if err != nil {
			errs["approved_amount"] = tr(c).T("review.problem.amount_format")
		} else {
			d.ApprovedAmount = &amount
		}
	}
	if len(errs) == 0 {
		if _, err := a.cfg.Statements.Decide(c.UserContext(), id, []statements.Decision{d}); err != nil {
			fe, ferr := reviewFieldErrors(c, err, "decisions[0].")
			if ferr != nil {
				return ferr
			}
			errs = fe
		}
	}
	if len(errs) > 0 {
		sv, err := a.loadSample(c, id, q, map[string]string{})
		if err != nil {
			return err
		}
		sv.Form = form
		c.Status(fiber.StatusUnprocessableEntity)
		return a.renderSample(c, "review/sample", view{Title: "review.sampling.title", Data: sv, Errors: errs, Problem: tr(c).T("common.form_has_errors")})
	}
	q.Set("saved", "1")
	return c.Redirect("/review/statements/"+id+"/sample?"+q.Encode()+"#line-"+strconv.FormatInt(form.LineID, 10), fiber.StatusSeeOther)
}

// reviewSampleApplyForm asks the reviewer to confirm applying the sample's rate to the rest,
// showing the rate, the lines and what they would approve; while the sample is not decided it
// says so and offers nothing to confirm.
func (a *app) reviewSampleApplyForm(c *fiber.Ctx) error {
	return a.renderApply(c, queryOf(c), "", fiber.StatusOK)
}

func (a *app) renderApply(c *fiber.Ctx, q url.Values, problem string, status int) error {
	errs := map[string]string{}
	sv, err := a.loadSample(c, c.Params("id"), q, errs)
	if err != nil {
		return err
	}
	if len(errs) > 0 || sv.Sample == nil {
		status = fiber.StatusUnprocessableEntity
		if problem == "" {
			problem = tr(c).T("common.form_has_errors")
		}
	}
	c.Status(status)
	return a.renderSample(c, "review/sample_apply", view{Title: "review.sampling.apply.title", Data: sv, Errors: errs, Problem: problem})
}

// reviewSampleApply applies the sample's rate to the rest of the unflagged lines (DecideBulk
// extrapolate) and goes back to the statement, or shows the confirmation with the refusal.
func (a *app) reviewSampleApply(c *fiber.Ctx) error {
	q := url.Values{"percent": {c.FormValue("percent")}, "seed": {c.FormValue("seed")}}
	errs := map[string]string{}
	percent, seed, ok := sampleParams(c, q, errs)
	if !ok {
		return a.renderApply(c, q, "", fiber.StatusUnprocessableEntity)
	}
	d, err := a.cfg.Statements.DecideBulk(c.UserContext(), c.Params("id"),
		statements.BulkDecision{Decision: statements.Extrapolate, SamplePercent: &percent, Seed: &seed})
	if err != nil {
		switch trcledger.ErrorCode(err) {
		case trcledger.ESTATE:
			return a.renderApply(c, q, tr(c).T("review.sampling.apply.refused"), fiber.StatusConflict)
		case trcledger.EINVALID:
			return a.renderApply(c, q, "", fiber.StatusUnprocessableEntity)
		}
		return err
	}
	return c.Redirect("/review/statements/"+d.ID+"?extrapolated="+strconv.Itoa(d.Decided), fiber.StatusSeeOther)
}
