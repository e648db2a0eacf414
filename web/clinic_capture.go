package web

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/icd10"
	"github.com/trcledger/trcledger/web/i18n"
)

// clinicCapturePages lists the capture pages: the form (which works without JavaScript and
// shows the receipt), and the JSON the page's script uses: the live quote, the reference data
// it keeps for offline capture, and the endpoint its offline queue sends encounters to
// (docs/web-clinic-capture.md).
func (a *app) clinicCapturePages() []page {
	return []page{
		{Method: "GET", Path: "/clinic/capture", Roles: clinicOnly, Nav: "clinic.nav.capture", Handler: a.captureForm},
		{Method: "POST", Path: "/clinic/capture", Roles: clinicOnly, Handler: a.capturePost},
		{Method: "GET", Path: "/clinic/capture/receipts/:id", Roles: clinicOnly, Handler: a.captureReceipt},
		{Method: "GET", Path: "/clinic/capture/reference", Roles: clinicOnly, Handler: a.captureReference},
		{Method: "POST", Path: "/clinic/capture/quote", Roles: clinicOnly, Handler: a.captureQuote},
		{Method: "POST", Path: "/clinic/capture/encounters", Roles: clinicOnly, Handler: a.captureSend},
	}
}

// captureRows is how many service lines and diagnoses the form shows without JavaScript (the
// script adds more).
const (
	captureLineRows = 3
	captureDiagRows = 3
)

// captureLine is one service line as typed.
type captureLine struct {
	Service  string `json:"service_code"`
	Quantity string `json:"quantity"`
}

// captureForm is the encounter as the form (or the script's JSON) holds it: text as typed.
type captureForm struct {
	ContractCode        string        `json:"contract_code"`
	SiteCode            string        `json:"site_code"`
	ExternalID          string        `json:"external_id"`
	PatientID           string        `json:"patient_id"`
	BeneficiaryCategory string        `json:"beneficiary_category"`
	Sex                 string        `json:"sex"`
	BirthYear           string        `json:"birth_year"`
	ServiceDate         string        `json:"service_date"`
	Kind                string        `json:"kind"`
	Diagnoses           []string      `json:"diagnoses"`
	Lines               []captureLine `json:"lines"`
	ReferralNumber      string        `json:"referral_number"`
	ReferralLevel       string        `json:"referral_to_level"`
	ReferralProvider    string        `json:"referral_to_provider"`
	PractitionerRef     string        `json:"practitioner_ref"`
	CapturedAt          string        `json:"captured_at"`
	// ConfirmUnknown says the nurse has seen that a diagnosis is not in the loaded list.
	ConfirmUnknown bool `json:"confirm_unknown_diagnoses"`
	// IdempotencyKey is the form's key (made when the form is shown), so that sending it twice
	// posts once and shows the same receipt.
	IdempotencyKey string `json:"-"`
}

// input converts the form into the service's input; problems of conversion go to f.
func (cf *captureForm) input(f *trcledger.Fields) encounters.EncounterInput {
	opt := func(s string) *string {
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
		return &s
	}
	in := encounters.EncounterInput{
		ContractCode: strings.TrimSpace(cf.ContractCode), SiteCode: strings.TrimSpace(cf.SiteCode),
		ExternalID: strings.TrimSpace(cf.ExternalID), PatientID: cf.PatientID,
		BeneficiaryCategory: cf.BeneficiaryCategory, Sex: opt(cf.Sex), Kind: cf.Kind,
		PractitionerRef: opt(cf.PractitionerRef), Diagnoses: []string{},
	}
	if y := strings.TrimSpace(cf.BirthYear); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil {
			f.Add("birth_year", "must be between 1900 and %d", time.Now().Year())
		} else {
			in.BirthYear = &n
		}
	}
	if d := strings.TrimSpace(cf.ServiceDate); d != "" {
		if v, err := trcledger.ParseDate(d); err != nil {
			f.Add("service_date", "must be a real date written YYYY-MM-DD")
		} else {
			in.ServiceDate = v
		}
	}
	for _, d := range cf.Diagnoses {
		if d = icd10.Normalize(d); d != "" {
			in.Diagnoses = append(in.Diagnoses, d)
		}
	}
	for i, l := range cf.Lines {
		q, err := decimal.NewFromString(strings.Replace(strings.TrimSpace(l.Quantity), ",", ".", 1))
		if err != nil {
			f.Add(fmt.Sprintf("lines[%d].quantity", i), "must be a positive number with at most 4 decimals")
		}
		in.Lines = append(in.Lines, encounters.LineInput{ServiceCode: strings.ToUpper(strings.TrimSpace(l.Service)), Quantity: q})
	}
	if n := opt(cf.ReferralNumber); n != nil || cf.ReferralLevel != "" {
		in.Referral = &encounters.Referral{Number: deref(n), ToLevel: cf.ReferralLevel, ToProviderCode: opt(cf.ReferralProvider)}
	}
	if s := strings.TrimSpace(cf.CapturedAt); s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err != nil {
			f.Add("captured_at", "must be a time in RFC 3339 such as 2026-12-01T09:30:00+01:00")
		} else {
			in.CapturedAt = &t
		}
	}
	return in
}

// readCaptureForm reads the posted form; empty line and diagnosis rows are dropped, so that the
// rows shown again line up with the service's lines[i] and diagnoses[i].
func readCaptureForm(c *fiber.Ctx) captureForm {
	v := func(k string) string { return strings.Clone(c.FormValue(k)) }
	cf := captureForm{
		ContractCode: v("contract_code"), SiteCode: v("site_code"), ExternalID: v("external_id"), PatientID: v("patient_id"),
		BeneficiaryCategory: v("beneficiary_category"), Sex: v("sex"), BirthYear: v("birth_year"), ServiceDate: v("service_date"),
		Kind: v("kind"), ReferralNumber: v("referral_number"), ReferralLevel: v("referral_to_level"),
		ReferralProvider: v("referral_to_provider"), PractitionerRef: v("practitioner_ref"),
		ConfirmUnknown: c.FormValue("confirm_unknown_diagnoses") != "", IdempotencyKey: v("idempotency_key"),
	}
	args := c.Request().PostArgs()
	services, quantities := args.PeekMulti("line_service"), args.PeekMulti("line_quantity")
	for i := range services {
		l := captureLine{Service: strings.TrimSpace(string(services[i]))}
		if i < len(quantities) {
			l.Quantity = strings.TrimSpace(string(quantities[i]))
		}
		if l.Service != "" || (l.Quantity != "" && l.Quantity != "1") {
			cf.Lines = append(cf.Lines, l)
		}
	}
	for _, d := range args.PeekMulti("diagnosis") {
		if s := strings.TrimSpace(string(d)); s != "" {
			cf.Diagnoses = append(cf.Diagnoses, s)
		}
	}
	return cf
}

// option is a choice of a select: its value and its label.
type option struct {
	Value string `json:"code"`
	Label string `json:"name"`
}

// captureView is what the capture template shows.
type captureView struct {
	Form       captureForm
	LineRows   []captureLine
	DiagRows   []string
	Contracts  []contracts.Contract
	Sites      []contracts.Site
	Services   []contracts.Service
	Kinds      []option
	Categories []option
	Sexes      []option
	Levels     []option
	ICD        []option // the look-up list without JavaScript: the shipped codes
	ICDLoaded  bool
	Unknown    []string // diagnoses not in the loaded list
	Today      string
	Username   string
}

func (a *app) captureView(c *fiber.Ctx, cf captureForm) (*captureView, error) {
	ctx := c.UserContext()
	tr := tr(c)
	cs, err := a.cfg.Contracts.ListContracts(ctx, contracts.ContractFilter{Status: "active"})
	if err != nil {
		return nil, err
	}
	sites, err := a.cfg.Contracts.ListSites(ctx)
	if err != nil {
		return nil, err
	}
	services, err := a.cfg.Contracts.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	v := &captureView{Form: cf, Contracts: cs, Sites: sites, Services: services, Today: trcledger.Today(time.Now()).String(), Username: user(c).Username}
	for _, k := range encounters.EncounterKinds {
		v.Kinds = append(v.Kinds, option{k, tr.T("clinic.capture.kind." + k)})
	}
	for _, k := range contracts.BeneficiaryCategories {
		v.Categories = append(v.Categories, option{k, tr.T("clinic.capture.category." + k)})
	}
	for _, k := range encounters.Sexes {
		v.Sexes = append(v.Sexes, option{k, tr.T("clinic.capture.sex." + k)})
	}
	for _, k := range encounters.ReferralLevels {
		v.Levels = append(v.Levels, option{k, tr.T("clinic.capture.level." + k)})
	}
	if list, err := a.icdList(c); err != nil {
		return nil, err
	} else if list != nil {
		v.ICDLoaded = list.Loaded
		for _, code := range list.Codes {
			if len(v.ICD) >= 300 { // the datalist of a national list: the script searches the rest
				break
			}
			v.ICD = append(v.ICD, option{code.Code, icdTitle(code, tr.Locale)})
		}
	}
	v.LineRows = append(v.LineRows, cf.Lines...)
	for len(v.LineRows) < captureLineRows {
		v.LineRows = append(v.LineRows, captureLine{Quantity: "1"})
	}
	v.DiagRows = append(v.DiagRows, cf.Diagnoses...)
	for len(v.DiagRows) < captureDiagRows {
		v.DiagRows = append(v.DiagRows, "")
	}
	return v, nil
}

func (a *app) icdList(c *fiber.Ctx) (*icd10.List, error) {
	if a.cfg.ICD10 == nil {
		return nil, nil
	}
	return a.cfg.ICD10.List(c.UserContext())
}

// icdTitle is the code's title in locale: its own, else (sr-Cyrl) the Serbian Latin one in
// Cyrillic, else a neighbouring language's, else English, else any.
func icdTitle(code icd10.Code, locale string) string {
	if t, ok := code.Titles[locale]; ok {
		return t
	}
	if t, ok := code.Titles["sr-Latn"]; ok && locale == "sr-Cyrl" {
		return i18n.ToCyrillic(t)
	}
	order := map[string][]string{
		"bs": {"hr", "sr-Latn"}, "hr": {"bs", "sr-Latn"}, "sr-Latn": {"bs", "hr"}, "sr-Cyrl": {}, "en": {},
	}[locale]
	for _, l := range append(order, "en", "bs", "hr", "sr-Latn", "sr-Cyrl") {
		if t, ok := code.Titles[l]; ok {
			if locale == "sr-Cyrl" && l != "en" {
				return i18n.ToCyrillic(t)
			}
			return t
		}
	}
	return ""
}

func (a *app) captureForm(c *fiber.Ctx) error {
	cf := captureForm{ServiceDate: trcledger.Today(time.Now()).String(), Kind: "consultation", IdempotencyKey: claims.NewUUID()}
	v, err := a.captureView(c, cf)
	if err != nil {
		return err
	}
	if len(v.Contracts) == 1 {
		v.Form.ContractCode = v.Contracts[0].Code
	}
	return a.render(c, "clinic/capture", "clinic.capture.title", v)
}

// capturePost posts the form without JavaScript: a receipt, or the form again with the
// problems next to their fields. The form's idempotency key makes a second send of the same
// form show the same receipt.
func (a *app) capturePost(c *fiber.Ctx) error {
	cf := readCaptureForm(c)
	if !claims.UUIDPattern.MatchString(cf.IdempotencyKey) {
		cf.IdempotencyKey = claims.NewUUID()
	}
	var f trcledger.Fields
	in := cf.input(&f)
	again := func(errs map[string]string, unknown []string) error {
		if cf.ConfirmUnknown && len(unknown) == 0 {
			cf.ConfirmUnknown = false
		}
		v, err := a.captureView(c, cf)
		if err != nil {
			return err
		}
		v.Unknown = unknown
		c.Status(fiber.StatusUnprocessableEntity)
		return a.renderView(c, "clinic/capture", view{Title: "clinic.capture.title", Data: v, Errors: errs, Problem: tr(c).T("common.form_has_errors")})
	}
	unknown, err := a.unknownDiagnoses(c, in.Diagnoses)
	if err != nil {
		return err
	}
	if f.Len() > 0 || (len(unknown) > 0 && !cf.ConfirmUnknown) {
		if err := f.MergeErr(a.cfg.Encounters.Check(c.UserContext(), []encounters.EncounterInput{in}, false)); err != nil {
			return err
		}
		errs := a.problems(c, f.List())
		a.flagUnknown(c, errs, in.Diagnoses, unknown)
		return again(errs, unknown)
	}
	res, err := a.cfg.Encounters.PostEncounter(c.UserContext(), in, a.formIdempotency(cf))
	if err != nil {
		errs, ok := a.problemsOf(c, err)
		if !ok {
			return err
		}
		return again(errs, unknown)
	}
	r, err := receiptOf(res.Body)
	if err != nil {
		return err
	}
	return c.Redirect("/clinic/capture/receipts/"+r.ID, fiber.StatusSeeOther)
}

// formIdempotency is the key of a form sent without JavaScript. Its request digest covers
// what is posted (not the form's own spelling of it), so a second send of the same form replays.
func (a *app) formIdempotency(cf captureForm) claims.Idempotency {
	key := "web-form:" + cf.IdempotencyKey
	cf.IdempotencyKey, cf.ConfirmUnknown = "", false
	b, _ := json.Marshal(cf)
	sum := sha256.Sum256(b)
	return claims.Idempotency{Key: key, RequestHash: sum[:]}
}

// unknownDiagnoses returns the diagnoses that are not in the loaded national list (none when
// no list is loaded).
func (a *app) unknownDiagnoses(c *fiber.Ctx, codes []string) ([]string, error) {
	list, err := a.icdList(c)
	if err != nil || list == nil {
		return nil, err
	}
	return list.Unknown(codes), nil
}

// flagUnknown puts the unknown-code message next to each unknown diagnosis without one.
func (a *app) flagUnknown(c *fiber.Ctx, errs map[string]string, diagnoses, unknown []string) {
	for i, d := range diagnoses {
		field := fmt.Sprintf("diagnoses[%d]", i)
		if slices.Contains(unknown, d) && errs[field] == "" {
			errs[field] = tr(c).T("clinic.capture.icd_unknown", d)
		}
	}
}

// untranslated are English messages made without a format (the pricing's own errors): they are
// shown in the reader's language by their shape.
var untranslated = []struct {
	re  *regexp.Regexp
	key string
}{
	{regexp.MustCompile(`^no cost-share rule covers`), "clinic.capture.problem.no_rule"},
	{regexp.MustCompile(`^quantity \S+ exceeds the tariff's maximum of (\S+)`), "clinic.capture.problem.max_quantity"},
	{regexp.MustCompile(`^two cost-share rules apply equally`), "clinic.capture.problem.ambiguous_rule"},
}

// problems translates field errors into messages by field in the reader's language.
func (a *app) problems(c *fiber.Ctx, fields []trcledger.FieldError) map[string]string {
	tr := tr(c)
	out := map[string]string{}
	for _, fe := range fields {
		msg := tr.Problem(fe.Format, fe.Args, fe.Message)
		if fe.Format == "" {
			for _, u := range untranslated {
				if m := u.re.FindStringSubmatch(fe.Message); m != nil {
					args := make([]any, len(m)-1)
					for i := range args {
						args[i] = m[i+1]
					}
					msg = tr.T(u.key, args...)
					break
				}
			}
		}
		if prev, ok := out[fe.Field]; ok {
			msg = prev + " " + msg
		}
		out[fe.Field] = msg
	}
	return out
}

// problemsOf returns the messages by field of an error a person can fix in the form (a 422, a
// duplicate record number); false for any other error.
func (a *app) problemsOf(c *fiber.Ctx, err error) (map[string]string, bool) {
	var e *trcledger.Error
	if !errors.As(err, &e) || (e.Code != trcledger.EINVALID && e.Code != trcledger.ECONFLICT) {
		return nil, false
	}
	out := a.problems(c, e.Fields)
	switch {
	case e.Reason == "duplicate_external_id":
		out["external_id"] = tr(c).T("clinic.capture.problem.duplicate", e.Extra["existing_id"])
	case e.Reason == "idempotency_key_reused":
		out[""] = tr(c).T("clinic.capture.problem.key_reused")
	case len(out) == 0:
		_, key := problemKey(e.Code)
		out[""] = tr(c).T(key)
	}
	return out, true
}

// receipt is what the clinic is shown of a posted encounter: its id, total and each payer's
// share of it.
type receipt struct {
	ID           string         `json:"id"`
	ExternalID   string         `json:"external_id"`
	ContractCode string         `json:"contract_code"`
	ServiceDate  string         `json:"service_date"`
	Currency     string         `json:"currency"`
	Total        string         `json:"total"`
	TotalText    string         `json:"total_text"`
	Shares       []receiptShare `json:"shares"`
	Lines        []receiptLine  `json:"lines"`
	CapturedAt   string         `json:"captured_at,omitempty"`
	Replayed     bool           `json:"replayed"`
}

type receiptShare struct {
	PayerCode  string `json:"payer_code"`
	PayerName  string `json:"payer_name"`
	Amount     string `json:"amount"`
	AmountText string `json:"amount_text"`
}

type receiptLine struct {
	ServiceCode string `json:"service_code"`
	ServiceName string `json:"service_name"`
	Quantity    string `json:"quantity"`
	AmountText  string `json:"amount_text"`
}

// postedEncounter is the part of an encounter's JSON answer a receipt is made of.
type postedEncounter struct {
	ID           string                 `json:"id"`
	ExternalID   string                 `json:"external_id"`
	ContractCode string                 `json:"contract_code"`
	ServiceDate  string                 `json:"service_date"`
	Currency     string                 `json:"currency"`
	Total        decimal.Decimal        `json:"total"`
	CapturedAt   *string                `json:"captured_at"`
	Lines        []contracts.PricedLine `json:"lines"`
}

func receiptOf(body []byte) (*postedEncounter, error) {
	var e postedEncounter
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("read posted encounter: %w", err)
	}
	return &e, nil
}

// receipt formats a posted encounter for the reader: amounts in the reader's way, payers and
// services by name.
func (a *app) receipt(c *fiber.Ctx, e *postedEncounter) (*receipt, error) {
	tr := tr(c)
	payers, services, err := a.names(c)
	if err != nil {
		return nil, err
	}
	r := &receipt{ID: e.ID, ExternalID: e.ExternalID, ContractCode: e.ContractCode, ServiceDate: e.ServiceDate, Currency: e.Currency,
		Total: e.Total.StringFixed(2), TotalText: tr.Money(e.Total, e.Currency), Shares: []receiptShare{}, Lines: []receiptLine{}}
	if d, err := trcledger.ParseDate(e.ServiceDate); err == nil {
		r.ServiceDate = tr.Date(d)
	}
	if e.CapturedAt != nil {
		if t, err := time.Parse(time.RFC3339Nano, *e.CapturedAt); err == nil {
			r.CapturedAt = tr.Time(t)
		}
	}
	sums := map[string]decimal.Decimal{}
	var order []string
	for _, l := range e.Lines {
		r.Lines = append(r.Lines, receiptLine{ServiceCode: l.ServiceCode, ServiceName: services[l.ServiceCode],
			Quantity: tr.Number(l.Quantity, decimalsOf(l.Quantity)), AmountText: tr.Money(l.Amount.Decimal, e.Currency)})
		for _, sh := range l.Shares {
			if _, ok := sums[sh.PayerCode]; !ok {
				order = append(order, sh.PayerCode)
			}
			sums[sh.PayerCode] = sums[sh.PayerCode].Add(sh.Amount.Decimal)
		}
	}
	for _, p := range order {
		r.Shares = append(r.Shares, receiptShare{PayerCode: p, PayerName: payers[p], Amount: sums[p].StringFixed(2), AmountText: tr.Money(sums[p], e.Currency)})
	}
	return r, nil
}

// names are the payers' and the services' names by code.
func (a *app) names(c *fiber.Ctx) (payers, services map[string]string, err error) {
	orgs, err := a.cfg.Contracts.ListOrganizations(c.UserContext(), contracts.OrganizationFilter{Kind: "payer"})
	if err != nil {
		return nil, nil, err
	}
	svcs, err := a.cfg.Contracts.ListServices(c.UserContext())
	if err != nil {
		return nil, nil, err
	}
	payers, services = map[string]string{}, map[string]string{}
	for _, o := range orgs {
		payers[o.Code] = o.Name
	}
	for _, s := range svcs {
		services[s.Code] = s.Name
	}
	return payers, services, nil
}

func (a *app) captureReceipt(c *fiber.Ctx) error {
	id := c.Params("id")
	if !claims.UUIDPattern.MatchString(id) {
		return a.errorPage(c, fiber.StatusNotFound, "common.error.not_found")
	}
	e, err := a.cfg.Encounters.FindEncounterByID(c.UserContext(), strings.Clone(id))
	if err != nil {
		return err
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	pe, err := receiptOf(body)
	if err != nil {
		return err
	}
	r, err := a.receipt(c, pe)
	if err != nil {
		return err
	}
	return a.render(c, "clinic/capture_receipt", "clinic.capture.receipt_title", r)
}

// jsonProblem answers the page's script: status, a message for the whole request and messages
// by field, in the reader's language.
func jsonProblem(c *fiber.Ctx, status int, message string, fields map[string]string) error {
	if fields == nil {
		fields = map[string]string{}
	}
	return c.Status(status).JSON(fiber.Map{"message": message, "problems": fields})
}

// jsonFail answers err to the page's script: a problem a person can fix as 422 or 409 with
// messages by field; any other error as its status with its message (an internal one logged).
func (a *app) jsonFail(c *fiber.Ctx, err error) error {
	if errs, ok := a.problemsOf(c, err); ok {
		status := fiber.StatusUnprocessableEntity
		if trcledger.ErrorCode(err) == trcledger.ECONFLICT {
			status = fiber.StatusConflict
		}
		return jsonProblem(c, status, tr(c).T("common.form_has_errors"), errs)
	}
	status, key := problemKey(trcledger.ErrorCode(err))
	if status == fiber.StatusInternalServerError {
		a.log.Error("page failed", "route", routeOf(c), "error", err)
		return jsonProblem(c, status, tr(c).T(key, ""), nil)
	}
	return jsonProblem(c, status, tr(c).T(key), nil)
}

// readCaptureJSON reads the script's JSON body; false (answered) when it is not one.
func readCaptureJSON(c *fiber.Ctx, cf *captureForm) bool {
	if err := json.Unmarshal(c.Body(), cf); err != nil {
		_ = jsonProblem(c, fiber.StatusBadRequest, tr(c).T("clinic.capture.problem.malformed"), nil)
		return false
	}
	return true
}

// quoteAnswer is the live price of the encounter being captured, formatted for the reader.
type quoteAnswer struct {
	Lines    []quoteLine       `json:"lines"`
	Total    string            `json:"total"`
	Payers   []receiptShare    `json:"payers"`
	Problems map[string]string `json:"problems"`
	Unknown  []string          `json:"unknown_diagnoses"`
}

type quoteLine struct {
	Index      int            `json:"index"` // the line's place in the request, from 0
	AmountText string         `json:"amount_text"`
	UnitText   string         `json:"unit_price_text"`
	Shares     []receiptShare `json:"shares"`
}

// captureQuote prices the encounter being captured as a post would (through the encounters
// service) and writes nothing.
func (a *app) captureQuote(c *fiber.Ctx) error {
	var cf captureForm
	if !readCaptureJSON(c, &cf) {
		return nil
	}
	var f trcledger.Fields
	in := cf.input(&f)
	q, err := a.cfg.Encounters.QuoteEncounter(c.UserContext(), in)
	if err != nil {
		return a.jsonFail(c, err)
	}
	tr := tr(c)
	payers, _, err := a.names(c)
	if err != nil {
		return a.jsonFail(c, err)
	}
	problems := f.List()
	for _, p := range q.Problems {
		if !f.Has(p.Field) {
			problems = append(problems, p)
		}
	}
	ans := quoteAnswer{Lines: []quoteLine{}, Payers: []receiptShare{}, Problems: a.problems(c, problems), Total: tr.Money(q.Total.Decimal, q.Currency)}
	if ans.Unknown, err = a.unknownDiagnoses(c, in.Diagnoses); err != nil {
		return a.jsonFail(c, err)
	}
	a.flagUnknown(c, ans.Problems, in.Diagnoses, ans.Unknown)
	for _, l := range q.Lines {
		ql := quoteLine{Index: l.LineNo - 1, AmountText: tr.Money(l.Amount.Decimal, q.Currency), UnitText: tr.Money(l.UnitPrice.Decimal, q.Currency), Shares: []receiptShare{}}
		for _, sh := range l.Shares {
			ql.Shares = append(ql.Shares, receiptShare{PayerCode: sh.PayerCode, PayerName: payers[sh.PayerCode], Amount: sh.Amount.String(), AmountText: tr.Money(sh.Amount.Decimal, q.Currency)})
		}
		ans.Lines = append(ans.Lines, ql)
	}
	for _, p := range q.Payers {
		ans.Payers = append(ans.Payers, receiptShare{PayerCode: p.PayerCode, PayerName: payers[p.PayerCode], Amount: p.Amount.String(), AmountText: tr.Money(p.Amount.Decimal, q.Currency)})
	}
	return c.JSON(ans)
}

// captureSend posts one encounter from the page's offline queue, exactly as POST
// /v1/encounters does: the Idempotency-Key header is required, and the same key with the same
// body answers the same receipt (a key with another body is 409). It answers 201 with the
// receipt, 422 or 409 with messages by field, which the queue shows next to that encounter.
func (a *app) captureSend(c *fiber.Ctx) error {
	key := strings.Clone(c.Get("Idempotency-Key"))
	if key == "" || len(key) > 200 {
		return jsonProblem(c, fiber.StatusBadRequest, tr(c).T("clinic.capture.problem.no_key"), nil)
	}
	var cf captureForm
	if !readCaptureJSON(c, &cf) {
		return nil
	}
	var f trcledger.Fields
	in := cf.input(&f)
	unknown, err := a.unknownDiagnoses(c, in.Diagnoses)
	if err != nil {
		return a.jsonFail(c, err)
	}
	if f.Len() > 0 || (len(unknown) > 0 && !cf.ConfirmUnknown) {
		if err := f.MergeErr(a.cfg.Encounters.Check(c.UserContext(), []encounters.EncounterInput{in}, false)); err != nil {
			return a.jsonFail(c, err)
		}
		errs := a.problems(c, f.List())
		a.flagUnknown(c, errs, in.Diagnoses, unknown)
		return jsonProblem(c, fiber.StatusUnprocessableEntity, tr(c).T("common.form_has_errors"), errs)
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(string(c.Body()))))
	res, err := a.cfg.Encounters.PostEncounter(c.UserContext(), in, claims.Idempotency{Key: key, RequestHash: sum[:]})
	if err != nil {
		return a.jsonFail(c, err)
	}
	pe, err := receiptOf(res.Body)
	if err != nil {
		return a.jsonFail(c, err)
	}
	r, err := a.receipt(c, pe)
	if err != nil {
		return a.jsonFail(c, err)
	}
	r.Replayed = res.Replayed
	return c.Status(fiber.StatusCreated).JSON(r)
}

// reference is what the capture page keeps for offline capture: the user's contracts with the
// services of their tariffs, the sites, the service catalogue and the ICD-10 codes with their
// titles in the user's language.
type reference struct {
	Username  string            `json:"username"`
	Locale    string            `json:"locale"`
	Generated string            `json:"generated_at"`
	Contracts []refContract     `json:"contracts"`
	Sites     []option          `json:"sites"`
	Services  []refService      `json:"services"`
	ICD10     refICD            `json:"icd10"`
	Labels    map[string]string `json:"labels"`
}

type refContract struct {
	Code      string   `json:"code"`
	Currency  string   `json:"currency"`
	ValidFrom string   `json:"valid_from"`
	ValidTo   *string  `json:"valid_to"`
	Services  []string `json:"services"` // in any of its tariff versions
}

type refService struct {
	Code             string `json:"code"`
	Name             string `json:"name"`
	Category         string `json:"category"`
	RequiresReferral bool   `json:"requires_referral"`
}

type refICD struct {
	Loaded bool        `json:"loaded"`
	Codes  [][2]string `json:"codes"` // [code, title]
}

func (a *app) captureReference(c *fiber.Ctx) error {
	ctx := c.UserContext()
	tr := tr(c)
	cs, err := a.cfg.Contracts.ListContracts(ctx, contracts.ContractFilter{Status: "active"})
	if err != nil {
		return a.jsonFail(c, err)
	}
	ref := reference{Username: user(c).Username, Locale: tr.Locale, Generated: time.Now().UTC().Format(time.RFC3339),
		Contracts: []refContract{}, Sites: []option{}, Services: []refService{}, ICD10: refICD{Codes: [][2]string{}}, Labels: map[string]string{}}
	for _, k := range encounters.EncounterKinds {
		ref.Labels["kind."+k] = tr.T("clinic.capture.kind." + k)
	}
	for _, ct := range cs {
		rc := refContract{Code: ct.Code, Currency: ct.Currency, ValidFrom: ct.ValidFrom.String(), Services: []string{}}
		if ct.ValidTo != nil {
			s := ct.ValidTo.String()
			rc.ValidTo = &s
		}
		versions, err := a.cfg.Contracts.ListTariffVersions(ctx, ct.Code)
		if err != nil {
			return a.jsonFail(c, err)
		}
		for _, v := range versions {
			for _, it := range v.Items {
				if !slices.Contains(rc.Services, it.ServiceCode) {
					rc.Services = append(rc.Services, it.ServiceCode)
				}
			}
		}
		slices.Sort(rc.Services)
		ref.Contracts = append(ref.Contracts, rc)
	}
	sites, err := a.cfg.Contracts.ListSites(ctx)
	if err != nil {
		return a.jsonFail(c, err)
	}
	for _, s := range sites {
		ref.Sites = append(ref.Sites, option{s.Code, s.Name})
	}
	services, err := a.cfg.Contracts.ListServices(ctx)
	if err != nil {
		return a.jsonFail(c, err)
	}
	for _, s := range services {
		ref.Services = append(ref.Services, refService{Code: s.Code, Name: s.Name, Category: s.Category, RequiresReferral: s.RequiresReferral})
	}
	list, err := a.icdList(c)
	if err != nil {
		return a.jsonFail(c, err)
	}
	if list != nil {
		ref.ICD10.Loaded = list.Loaded
		for _, code := range list.Codes {
			ref.ICD10.Codes = append(ref.ICD10.Codes, [2]string{code.Code, icdTitle(code, tr.Locale)})
		}
	}
	return c.JSON(ref)
}

// decimalsOf is how many decimals d needs (1 for 1.5000, 0 for 2).
func decimalsOf(d decimal.Decimal) int32 {
	_, frac, _ := strings.Cut(d.String(), ".")
	return int32(len(frac)) //nolint:gosec // at most a few digits
}
