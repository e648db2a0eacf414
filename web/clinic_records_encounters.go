package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims"
	"github.com/trcledger/trcledger/claims/encounters"
	"github.com/trcledger/trcledger/contracts"
)

// clinicEncountersPage is how many encounters one page of the list shows.
const clinicEncountersPage = 50

// clinicEncounterFilter is the list's filter form as the reader filled it in.
type clinicEncounterFilter struct {
	From, To, Site, Status, ExternalID, Contract string
}

type clinicEncountersView struct {
	Filter    clinicEncounterFilter
	Sites     []contracts.Site
	Contracts []contracts.Contract
	Statuses  []string
	Items     []*encounters.Encounter
	Next      string // the next page's link, "" on the last page
	First     string // the first page's link, "" on the first page
}

// clinicEncounters lists the clinic's encounters, filtered, a page at a time (the service's
// cursor). A bad filter value is shown next to its field.
func (a *app) clinicEncounters(c *fiber.Ctx) error {
	ctx := c.UserContext()
	v := clinicEncountersView{Statuses: encounters.EncounterStatuses, Filter: clinicEncounterFilter{
		From: recQuery(c, "from"), To: recQuery(c, "to"), Site: recQuery(c, "site_code"), Status: recQuery(c, "status"),
		ExternalID: recQuery(c, "external_id"), Contract: recQuery(c, "contract_code"),
	}}
	errs := map[string]string{}
	f := encounters.EncounterFilter{SiteCode: v.Filter.Site, ExternalID: v.Filter.ExternalID, ContractCode: v.Filter.Contract,
		Limit: clinicEncountersPage, Cursor: recQuery(c, "cursor")}
	for _, d := range []struct {
		name, value string
		dst         **trcledger.Date
	}{{"from", v.Filter.From, &f.From}, {"to", v.Filter.To, &f.To}} {
		if d.value == "" {
			continue
		}
		day, err := trcledger.ParseDate(d.value)
		if err != nil {
			errs[d.name] = tr(c).T("clinic.encounters.bad_date")
			continue
		}
		*d.dst = &day
	}
	if v.Filter.Status != "" && !slices.Contains(encounters.EncounterStatuses, v.Filter.Status) {
		errs["status"] = tr(c).T("common.error.invalid")
	} else {
		f.Status = v.Filter.Status
	}
	var err error
	if v.Sites, err = a.cfg.Contracts.ListSites(ctx); err != nil {
		return err
	}
	if v.Contracts, err = a.cfg.Contracts.ListContracts(ctx, contracts.ContractFilter{}); err != nil {
		return err
	}
	if len(errs) == 0 {
		var next string
		v.Items, next, err = a.cfg.Encounters.FindEncounters(ctx, f)
		if fe, ferr := fieldErrors(c, err); ferr != nil {
			return ferr
		} else if fe != nil {
			errs = fe
		}
		q := url.Values{"from": {v.Filter.From}, "to": {v.Filter.To}, "site_code": {v.Filter.Site}, "status": {v.Filter.Status},
			"external_id": {v.Filter.ExternalID}, "contract_code": {v.Filter.Contract}}
		if next != "" {
			nq := url.Values{}
			for k, vs := range q {
				nq[k] = vs
			}
			nq.Set("cursor", next)
			v.Next = recWithQuery("/clinic/encounters", nq)
		}
		if f.Cursor != "" {
			v.First = recWithQuery("/clinic/encounters", q)
		}
	}
	view := view{Title: "clinic.encounters.title", Data: v, Errors: errs}
	if len(errs) > 0 {
		c.Status(fiber.StatusUnprocessableEntity)
		view.Problem = tr(c).T("common.form_has_errors")
	}
	return a.renderView(c, "clinic/encounters", view)
}

type clinicEncounterView struct {
	E        *encounters.Encounter
	Lines    []clinicLineView
	Services map[string]string  // code -> name
	Payers   []clinicPayerTotal // the encounter's total by payer
}

// clinicLineView is a priced line with its shares' percentages.
type clinicLineView struct {
	contracts.PricedLine
	Shares []clinicShareView
}

type clinicShareView struct {
	Payer           string
	Amount, Percent decimal.Decimal
}

func clinicLinesOf(e *encounters.Encounter) []clinicLineView {
	out := make([]clinicLineView, len(e.Lines))
	for i, l := range e.Lines {
		out[i].PricedLine = l
		for _, s := range l.Shares {
			out[i].Shares = append(out[i].Shares, clinicShareView{Payer: s.PayerCode, Amount: s.Amount.Decimal, Percent: decimal.New(int64(s.BasisPoints), -2)})
		}
	}
	return out
}

type clinicPayerTotal struct {
	Payer  string
	Amount decimal.Decimal
}

// clinicEncounter shows one encounter: its lines, prices, each line's shares by payer, the
// totals by payer, diagnoses (where access.CanSeeDiagnoses lets the reader see them: the
// service leaves them out otherwise) and its status. Another provider's encounter is 404.
func (a *app) clinicEncounter(c *fiber.Ctx) error {
	e, err := a.cfg.Encounters.FindEncounterByID(c.UserContext(), recID(c))
	if err != nil {
		return err
	}
	v := clinicEncounterView{E: e, Lines: clinicLinesOf(e), Services: a.clinicServiceNames(c), Payers: clinicPayerTotals(e)}
	vw := view{Title: "clinic.encounter.title", Data: v}
	switch c.Query("done") {
	case "voided":
		vw.Flash = tr(c).T("clinic.void.done")
	case "corrected":
		vw.Flash = tr(c).T("clinic.correct.done")
	}
	return a.renderView(c, "clinic/encounter", vw)
}

// clinicServiceNames maps service codes to their names for display; an error leaves codes alone.
func (a *app) clinicServiceNames(c *fiber.Ctx) map[string]string {
	out := map[string]string{}
	list, err := a.cfg.Contracts.ListServices(c.UserContext())
	if err != nil {
		return out
	}
	for _, s := range list {
		out[s.Code] = s.Name
	}
	return out
}

func clinicPayerTotals(e *encounters.Encounter) []clinicPayerTotal {
	var out []clinicPayerTotal
	at := map[string]int{}
	for _, l := range e.Lines {
		for _, s := range l.Shares {
			i, ok := at[s.PayerCode]
			if !ok {
				i = len(out)
				at[s.PayerCode] = i
				out = append(out, clinicPayerTotal{Payer: s.PayerCode})
			}
			out[i].Amount = out[i].Amount.Add(s.Amount.Decimal)
		}
	}
	return out
}

type clinicVoidView struct {
	E      *encounters.Encounter
	Reason string
}

// clinicVoidForm is the confirmation page of a void: what is voided, and the reason.
func (a *app) clinicVoidForm(c *fiber.Ctx) error {
	e, err := a.cfg.Encounters.FindEncounterByID(c.UserContext(), recID(c))
	if err != nil {
		return err
	}
	v := view{Title: "clinic.void.title", Data: clinicVoidView{E: e}}
	if e.Status != "posted" {
		v.Problem = tr(c).T("clinic.void.already")
	}
	return a.renderView(c, "clinic/void", v)
}

// clinicVoid voids the encounter with the reason given; a missing or too long reason is shown
// next to its field, a void the service refuses (on a submitted statement, already voided) above
// the form.
func (a *app) clinicVoid(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := recID(c)
	reason := recForm(c, "reason")
	// The service checks the reason too; asked here first, the message is in the reader's language.
	var err error
	switch {
	case reason == "":
		err = (&trcledger.Fields{}).AddErr("reason", "is required")
	case len(reason) > 500:
		err = (&trcledger.Fields{}).AddErr("reason", "must be at most 500 characters")
	default:
		_, err = a.cfg.Encounters.VoidEncounter(ctx, id, reason)
	}
	if err == nil {
		return c.Redirect("/clinic/encounters/"+id+"?done=voided", fiber.StatusSeeOther)
	}
	e, ferr := a.cfg.Encounters.FindEncounterByID(ctx, id)
	if ferr != nil {
		return ferr // another provider's, or unknown: 404
	}
	v := view{Title: "clinic.void.title", Data: clinicVoidView{E: e, Reason: reason}}
	fe, err := fieldErrors(c, err)
	switch {
	case fe != nil:
		v.Errors, v.Problem = fe, tr(c).T("common.form_has_errors")
		if reason == "" {
			v.Errors["reason"] = tr(c).T("clinic.void.reason_required")
		} else if len(reason) > 500 {
			v.Errors["reason"] = tr(c).T("clinic.void.reason_too_long")
		}
		c.Status(fiber.StatusUnprocessableEntity)
	case trcledger.ErrorCode(err) == trcledger.ECONFLICT && clinicReasonOf(err) == "on_submitted_statement":
		v.Problem = tr(c).T("clinic.void.on_submitted_statement")
		c.Status(fiber.StatusConflict)
	case trcledger.ErrorCode(err) == trcledger.ESTATE:
		v.Problem = tr(c).T("clinic.void.already")
		c.Status(fiber.StatusConflict)
	default:
		return err
	}
	return a.renderView(c, "clinic/void", v)
}

func clinicReasonOf(err error) string {
	var e *trcledger.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// correctionLines is how many line rows the correction form offers beyond the encounter's own.
const correctionLines = 2

// correctionForm is the correction form's fields as the reader filled them in.
type correctionForm struct {
	Contract, Site, ExternalID, PatientID, Beneficiary, Sex, BirthYear, ServiceDate, Kind string
	Diagnoses, ReferralNumber, ReferralLevel, ReferralProvider, Practitioner, Reason, Key string
	Confirm                                                                               bool
	Lines                                                                                 []correctionLine
}

type correctionLine struct{ Service, Quantity string }

type clinicCorrectView struct {
	E             *encounters.Encounter
	F             correctionForm
	Sites         []contracts.Site
	Contracts     []contracts.Contract
	Services      []contracts.Service
	Kinds         []string
	Beneficiaries []string
	Sexes         []string
	Levels        []string
}

// clinicCorrectForm shows the correction form filled in from the encounter. The patient's id
// is never stored, only its pseudonym, so the form asks for it again.
func (a *app) clinicCorrectForm(c *fiber.Ctx) error {
	e, err := a.cfg.Encounters.FindEncounterByID(c.UserContext(), recID(c))
	if err != nil {
		return err
	}
	f := correctionForm{
		Contract: e.ContractCode, Site: e.SiteCode, ExternalID: e.ExternalID, Beneficiary: e.BeneficiaryCategory,
		ServiceDate: e.ServiceDate.String(), Kind: e.Kind, Diagnoses: strings.Join(e.Diagnoses, ", "), Key: newFormKey(),
	}
	if e.Sex != nil {
		f.Sex = *e.Sex
	}
	if e.BirthYear != nil {
		f.BirthYear = strconv.Itoa(*e.BirthYear)
	}
	if e.PractitionerRef != nil {
		f.Practitioner = *e.PractitionerRef
	}
	if r := e.Referral; r != nil {
		f.ReferralNumber, f.ReferralLevel = r.Number, r.ToLevel
		if r.ToProviderCode != nil {
			f.ReferralProvider = *r.ToProviderCode
		}
	}
	for _, l := range e.Lines {
		f.Lines = append(f.Lines, correctionLine{Service: l.ServiceCode, Quantity: l.Quantity.String()})
	}
	for range correctionLines {
		f.Lines = append(f.Lines, correctionLine{})
	}
	v := view{Title: "clinic.correct.title"}
	if e.Status != "posted" {
		v.Problem = tr(c).T("clinic.correct.not_posted")
	}
	return a.clinicRenderCorrect(c, e, f, v)
}

func (a *app) clinicRenderCorrect(c *fiber.Ctx, e *encounters.Encounter, f correctionForm, v view) error {
	ctx := c.UserContext()
	cv := clinicCorrectView{E: e, F: f, Kinds: encounters.EncounterKinds, Beneficiaries: contracts.BeneficiaryCategories,
		Sexes: encounters.Sexes, Levels: encounters.ReferralLevels}
	var err error
	if cv.Sites, err = a.cfg.Contracts.ListSites(ctx); err != nil {
		return err
	}
	if cv.Contracts, err = a.cfg.Contracts.ListContracts(ctx, contracts.ContractFilter{}); err != nil {
		return err
	}
	if cv.Services, err = a.cfg.Contracts.ListServices(ctx); err != nil {
		return err
	}
	v.Data = cv
	return a.renderView(c, "clinic/correct", v)
}

// newFormKey is the idempotency key a correction form carries, so that sending it twice posts
// one correction.
func newFormKey() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return "web-correct-" + base64.RawURLEncoding.EncodeToString(b)
}

// readCorrection reads the posted form into the form and the encounter it describes; values
// that cannot be read are named in errs (in the reader's language).
func readCorrection(c *fiber.Ctx, id string) (correctionForm, encounters.EncounterInput, map[string]string) {
	tr := tr(c)
	f := correctionForm{
		Contract: recForm(c, "contract_code"), Site: recForm(c, "site_code"), ExternalID: recForm(c, "external_id"),
		PatientID: recForm(c, "patient_id"), Beneficiary: recForm(c, "beneficiary_category"), Sex: recForm(c, "sex"),
		BirthYear: recForm(c, "birth_year"), ServiceDate: recForm(c, "service_date"), Kind: recForm(c, "kind"),
		Diagnoses: recForm(c, "diagnoses"), ReferralNumber: recForm(c, "referral_number"), ReferralLevel: recForm(c, "referral_to_level"),
		ReferralProvider: recForm(c, "referral_to_provider_code"), Practitioner: recForm(c, "practitioner_ref"),
		Reason: recForm(c, "reason"), Key: recForm(c, "key"), Confirm: c.FormValue("confirm") != "",
	}
	errs := map[string]string{}
	in := encounters.EncounterInput{
		ContractCode: f.Contract, SiteCode: f.Site, ExternalID: f.ExternalID, PatientID: f.PatientID,
		BeneficiaryCategory: f.Beneficiary, Kind: f.Kind, Diagnoses: []string{}, Corrects: &id,
	}
	if f.Sex != "" {
		in.Sex = &f.Sex
	}
	if f.Practitioner != "" {
		in.PractitionerRef = &f.Practitioner
	}
	if f.BirthYear != "" {
		y, err := strconv.Atoi(f.BirthYear)
		if err != nil {
			errs["birth_year"] = tr.T("clinic.correct.bad_year")
		}
		in.BirthYear = &y
	}
	if d, err := trcledger.ParseDate(f.ServiceDate); err == nil {
		in.ServiceDate = d
	} else if f.ServiceDate != "" {
		errs["service_date"] = tr.T("clinic.encounters.bad_date")
	}
	for _, d := range strings.FieldsFunc(f.Diagnoses, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		in.Diagnoses = append(in.Diagnoses, strings.ToUpper(d))
	}
	if f.ReferralNumber != "" || f.ReferralLevel != "" {
		in.Referral = &encounters.Referral{Number: f.ReferralNumber, ToLevel: f.ReferralLevel}
		if f.ReferralProvider != "" {
			in.Referral.ToProviderCode = &f.ReferralProvider
		}
	}
	services, quantities := c.Request().PostArgs().PeekMulti("service_code"), c.Request().PostArgs().PeekMulti("quantity")
	for i := range services {
		l := correctionLine{Service: strings.TrimSpace(string(services[i]))}
		if i < len(quantities) {
			l.Quantity = strings.TrimSpace(string(quantities[i]))
		}
		f.Lines = append(f.Lines, l)
		if l.Service == "" && l.Quantity == "" {
			continue
		}
		n := len(in.Lines)
		q, err := decimal.NewFromString(strings.Replace(l.Quantity, ",", ".", 1))
		if err != nil {
			errs[fmt.Sprintf("lines[%d].quantity", n)] = tr.T("clinic.correct.bad_quantity")
		}
		in.Lines = append(in.Lines, encounters.LineInput{ServiceCode: l.Service, Quantity: q})
	}
	// Errors name lines by their place among the lines filled in; the form's rows follow that
	// order once the empty ones are dropped.
	var kept []correctionLine
	for _, l := range f.Lines {
		if l.Service != "" || l.Quantity != "" {
			kept = append(kept, l)
		}
	}
	for range correctionLines {
		kept = append(kept, correctionLine{})
	}
	f.Lines = kept
	if len(f.Key) > 100 {
		f.Key = newFormKey()
	}
	return f, in, errs
}

// clinicCorrect corrects an encounter as the service does it: the original is voided (with the
// reason) and a new encounter that names it in corrects is posted, after the reader confirmed.
// The new encounter is checked first, so that nothing is voided for a correction that cannot
// be posted; every problem is shown next to its field.
func (a *app) clinicCorrect(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := recID(c)
	e, err := a.cfg.Encounters.FindEncounterByID(ctx, id)
	if err != nil {
		return err
	}
	f, in, errs := readCorrection(c, id)
	if f.Reason == "" {
		errs["reason"] = tr(c).T("clinic.void.reason_required")
	} else if len(f.Reason) > 500 {
		errs["reason"] = tr(c).T("clinic.void.reason_too_long")
	}
	if !f.Confirm {
		errs["confirm"] = tr(c).T("clinic.correct.confirm_required")
	}
	if fe, err := fieldErrors(c, a.cfg.Encounters.Check(ctx, []encounters.EncounterInput{in}, false)); err != nil {
		return err
	} else {
		for k, m := range fe {
			if _, ok := errs[k]; !ok {
				errs[k] = m
			}
		}
	}
	v := view{Title: "clinic.correct.title"}
	if len(errs) > 0 {
		v.Errors, v.Problem = errs, tr(c).T("common.form_has_errors")
		c.Status(fiber.StatusUnprocessableEntity)
		return a.clinicRenderCorrect(c, e, f, v)
	}
	if e.Status == "posted" {
		_, err := a.cfg.Encounters.VoidEncounter(ctx, id, f.Reason)
		switch {
		case err == nil, trcledger.ErrorCode(err) == trcledger.ESTATE: // voided already (this form sent twice)
		case clinicReasonOf(err) == "on_submitted_statement":
			v.Problem = tr(c).T("clinic.void.on_submitted_statement")
			c.Status(fiber.StatusConflict)
			return a.clinicRenderCorrect(c, e, f, v)
		default:
			if fe, ferr := fieldErrors(c, err); ferr != nil {
				return ferr
			} else {
				v.Errors, v.Problem = fe, tr(c).T("common.form_has_errors")
				c.Status(fiber.StatusUnprocessableEntity)
				return a.clinicRenderCorrect(c, e, f, v)
			}
		}
	}
	body, _ := json.Marshal(in)
	sum := sha256.Sum256(body)
	res, err := a.cfg.Encounters.PostEncounter(ctx, in, claims.Idempotency{Key: f.Key, RequestHash: sum[:]})
	if err != nil {
		e, _ = a.cfg.Encounters.FindEncounterByID(ctx, id)
		fe, ferr := fieldErrors(c, err)
		switch {
		case e == nil:
			return err
		case ferr == nil:
			v.Errors = fe
		case trcledger.ErrorCode(err) == trcledger.ECONFLICT:
			v.Errors = map[string]string{"external_id": tr(c).T("clinic.correct.duplicate")}
		default:
			return err
		}
		v.Problem = tr(c).T("clinic.correct.voided_not_posted")
		c.Status(fiber.StatusUnprocessableEntity)
		return a.clinicRenderCorrect(c, e, f, v)
	}
	var posted struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(res.Body, &posted); err != nil {
		return fmt.Errorf("read the correction's answer: %w", err)
	}
	if posted.ID == "" {
		return errors.New("read the correction's answer: no id")
	}
	return c.Redirect("/clinic/encounters/"+posted.ID+"?done=corrected", fiber.StatusSeeOther)
}
