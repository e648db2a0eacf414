package web

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/web/i18n"
)

// adminPages lists the admin pages: users and tokens (admin_users.go), reference data
// (admin_reference.go), contracts with their tariffs and schedule (admin_contracts.go) and the
// audit log (admin_audit.go).
func (a *app) adminPages() []page {
	out := []page{
		{Method: "GET", Path: "/admin", Roles: adminOnly, Nav: "admin.nav.home", Handler: a.adminHome},
	}
	out = append(out, a.adminUserPages()...)
	out = append(out, a.adminReferencePages()...)
	out = append(out, a.adminContractPages()...)
	return append(out, a.adminAuditPages()...)
}

func (a *app) adminHome(c *fiber.Ctx) error {
	return a.render(c, "admin/home", "admin.home.title", nil)
}

// adminFormValues copies the named fields of the posted form (Fiber reuses its buffers).
func adminFormValues(c *fiber.Ctx, names ...string) map[string]string {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = strings.TrimSpace(strings.Clone(c.FormValue(n)))
	}
	return out
}

// optional returns nil for an empty value, else a pointer to it.
func adminOptional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// adminDate reads a date input (YYYY-MM-DD, what <input type="date"> sends; 15.03.2025.
// as typed in the local format is accepted too) into f's errors.
func adminDate(f *trcledger.Fields, field, v string, required bool) *trcledger.Date {
	if v == "" {
		if required {
			f.Add(field, "is required")
		}
		return nil
	}
	if t, err := time.Parse("02.01.2006.", v); err == nil {
		v = t.Format(trcledger.DateLayout)
	} else if t, err := time.Parse("2.1.2006", strings.TrimSuffix(v, ".")); err == nil {
		v = t.Format(trcledger.DateLayout)
	}
	d, err := trcledger.ParseDate(v)
	if err != nil {
		f.Add(field, adminDateProblem)
		return nil
	}
	return &d
}

const (
	adminDateProblem    = "must be a date such as 2025-03-15"
	adminNumberProblem  = `must be a decimal number such as "12.50"`
	adminPercentProblem = "must be a percentage with at most 2 decimals"
	adminPasswordTyped  = "type a password, or choose to generate one"
)

var adminDecimalInput = regexp.MustCompile(`^-?[0-9]{1,12}([.,][0-9]{1,8})?$`)

// adminDecimal reads a decimal as a person types it: 12.50 or 12,50 (no thousands
// separators), into f's errors; nil when empty or bad.
func adminDecimal(f *trcledger.Fields, field, v string) *decimal.Decimal {
	if v == "" {
		return nil
	}
	v = strings.ReplaceAll(v, " ", "")
	if !adminDecimalInput.MatchString(v) {
		f.Add(field, adminNumberProblem)
		return nil
	}
	d, err := decimal.NewFromString(strings.Replace(v, ",", ".", 1))
	if err != nil {
		f.Add(field, adminNumberProblem)
		return nil
	}
	return &d
}

// adminDecimalText writes d for an input field in the reader's locale (a decimal comma outside
// English), with no more decimals than it has.
func adminDecimalText(tr i18n.Translator, d *decimal.Decimal) string {
	if d == nil {
		return ""
	}
	s := d.String()
	if tr.Local() {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// adminPercent writes basis points as a percentage: 30 % (30% in English), 12,5 %.
func adminPercent(tr i18n.Translator, bp int) string {
	places := int32(0)
	if bp%100 != 0 {
		places = 2
		if bp%10 == 0 {
			places = 1
		}
	}
	n := tr.Number(decimal.New(int64(bp), -2), places)
	if tr.Local() {
		return n + "\u00a0%"
	}
	return n + "%"
}

// adminProblem renders a refused submission: 422 for invalid fields (each message next to its
// field), 409 for a conflict (a duplicate code names its field; others are a message for the
// whole form). Any other error is returned for failPage.
func (a *app) adminProblem(c *fiber.Ctx, name, title string, data any, err error) error {
	errs, problem, status, err := adminErrors(c, err)
	if err != nil {
		return err
	}
	c.Status(status)
	return a.renderView(c, name, view{Title: title, Data: data, Errors: errs, Problem: problem})
}

// adminErrors turns an EINVALID or ECONFLICT error into messages per field and one for the
// whole form, in the reader's language, with the status to answer; any other error is returned.
func adminErrors(c *fiber.Ctx, err error) (map[string]string, string, int, error) {
	var e *trcledger.Error
	if !errors.As(err, &e) || (e.Code != trcledger.EINVALID && e.Code != trcledger.ECONFLICT) {
		return nil, "", 0, err
	}
	tr := tr(c)
	out := map[string]string{}
	for _, f := range e.Fields {
		out[f.Field] = adminTranslate(tr, f)
	}
	status := fiber.StatusUnprocessableEntity
	problem := tr.T("common.form_has_errors")
	if e.Code == trcledger.ECONFLICT {
		status = fiber.StatusConflict
		switch e.Reason {
		case "tariff_overlap":
			problem = tr.T("admin.problem.tariff_overlap", e.Extra["conflicting_version"])
		case "ambiguous_cost_share_rule":
			problem = tr.T("admin.problem.ambiguous_rule", e.Extra["conflicting_rule_id"])
		case "tariff_version_in_use":
			problem = tr.T("admin.problem.tariff_in_use")
		default:
			if len(e.Fields) == 0 {
				problem = tr.T("common.error.conflict")
			}
		}
	}
	if msg, ok := out[""]; ok {
		problem = msg
	}
	return out, problem, status, nil
}

// adminTranslate says a field message in the reader's language: from the admin catalogue
// (admin.problem.*, worded for the admin's forms: "choose an organization" rather than "is
// required for role clinic") when it has the message, else from the shared problems catalogue,
// else in English.
func adminTranslate(tr i18n.Translator, f trcledger.FieldError) string {
	format := f.Format
	if format == "" {
		format = f.Message
	}
	if fn, ok := adminProblems[format]; ok {
		return fn(tr, f.Args)
	}
	return tr.Problem(f.Format, f.Args, f.Message)
}

type adminProblemFunc func(tr i18n.Translator, args []any) string

func adminKey(k string) adminProblemFunc {
	return func(tr i18n.Translator, _ []any) string { return tr.T(k) }
}

func adminKeyArgs(k string) adminProblemFunc {
	return func(tr i18n.Translator, args []any) string { return tr.T(k, args...) }
}

// adminRefName is the name of a kind of code (provider, payer, site, ...) in the reader's language.
func adminRefName(tr i18n.Translator, kind any) string {
	k := fmt.Sprint(kind)
	if tr.Has("admin.ref." + k) {
		return tr.T("admin.ref." + k)
	}
	return k
}

var adminBindingMessage = regexp.MustCompile(`^role (\w+) must be bound to a (\w+), (\S+) is a (\w+)$`)

// adminProblems are the messages of the account and contract services, by their English
// format, with their catalogue keys.
var adminProblems = map[string]adminProblemFunc{
	"must be 2 to 64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit": adminKey("admin.problem.username"),
	"must be 1 to 40 upper-case letters, digits, '.', '_' or '-', starting with a letter or digit":             adminKey("admin.problem.code"),
	"must look like BA, BA-FBIH or BA-FBIH-USK":                                                                adminKey("admin.problem.jurisdiction_code"),
	"a jurisdiction cannot be its own parent":                                                                  adminKey("admin.problem.own_parent"),
	"is required":                                                        adminKey("admin.problem.required"),
	"is required for a payer":                                            adminKey("admin.problem.required"),
	"is required for a provider":                                         adminKey("admin.problem.required"),
	"is required for method fixed":                                       adminKey("admin.problem.required"),
	"is required for method points":                                      adminKey("admin.problem.required"),
	"must be at most 200 characters":                                     adminKey("admin.problem.too_long"),
	"must be at most 100 characters":                                     adminKey("admin.problem.too_long"),
	"must be one of admin, clinic, reviewer, finance":                    adminKey("admin.problem.choose"),
	"must be one of %s":                                                  adminKey("admin.problem.choose"),
	"must be at least %d characters":                                     adminKeyArgs("admin.problem.password_short"),
	"must be at most 256 bytes":                                          adminKey("admin.problem.too_long"),
	"must be in the future":                                              adminKey("admin.problem.future"),
	"must not be before valid_from":                                      adminKey("admin.problem.to_before_from"),
	"must be after effective_from":                                       adminKey("admin.problem.to_after_from"),
	"a tariff version needs at least one item":                           adminKey("admin.problem.items_required"),
	"is required when an item is priced in points":                       adminKey("admin.problem.point_value_required"),
	"must be a percentage between 0 and 100 with at most 4 decimals":     adminKey("admin.problem.vat"),
	"must not be negative":                                               adminKey("admin.problem.positive"),
	"must be greater than zero":                                          adminKey("admin.problem.positive"),
	"must have at most 4 decimals":                                       adminKey("admin.problem.decimals"),
	"is too large":                                                       adminKey("admin.problem.too_large"),
	"at least one share is required":                                     adminKey("admin.problem.shares_required"),
	"must be between 1 and 10000; leave out a payer that bears no share": adminKey("admin.problem.percent_range"),
	"must be between 1 and 10000":                                        adminKey("admin.problem.percent_range"),
	"a user with this username already exists":                           adminKey("admin.problem.username_taken"),
	"a jurisdiction with this code already exists":                       adminKey("admin.problem.code_taken"),
	"an organization with this code already exists":                      adminKey("admin.problem.code_taken"),
	"a site with this code already exists":                               adminKey("admin.problem.code_taken"),
	"a service with this code already exists":                            adminKey("admin.problem.code_taken"),
	"a contract with this code already exists":                           adminKey("admin.problem.code_taken"),
	"unknown organization":                                               adminKey("admin.problem.unknown_org"),
	"unknown jurisdiction":                                               adminKey("admin.problem.unknown_code"),
	"unknown provider":                                                   adminKey("admin.problem.unknown_code"),
	"unknown payer":                                                      adminKey("admin.problem.unknown_code"),
	"unknown site":                                                       adminKey("admin.problem.unknown_code"),
	"unknown service code":                                               adminKey("admin.problem.unknown_code"),
	"a payer is listed twice":                                            adminKey("admin.problem.share_duplicate"),
	"a service is listed twice":                                          adminKey("admin.problem.item_duplicate"),
	"the period overlaps another tariff version of this contract":        adminKey("admin.problem.overlap"),
	"clinic and reviewer users need an organization; admin and finance users have none": adminKey("admin.problem.binding_check"),
	adminDateProblem:    adminKey("admin.problem.date"),
	adminNumberProblem:  adminKey("admin.problem.number"),
	adminPercentProblem: adminKey("admin.problem.percent"),
	adminPasswordTyped:  adminKey("admin.problem.password_typed"),
	"is required for role %s": func(tr i18n.Translator, args []any) string {
		return tr.T("admin.problem.org_required", tr.T(fmt.Sprint("common.role.", args[0])))
	},
	"must be empty for role %s": func(tr i18n.Translator, args []any) string {
		return tr.T("admin.problem.org_empty", tr.T(fmt.Sprint("common.role.", args[0])))
	},
	"unknown %s %s": func(tr i18n.Translator, args []any) string {
		return tr.T("admin.problem.unknown", adminRefName(tr, args[0]), args[1])
	},
	"unknown site %s": func(tr i18n.Translator, args []any) string {
		return tr.T("admin.problem.unknown", adminRefName(tr, "site"), args[0])
	},
	"unknown service %s": func(tr i18n.Translator, args []any) string {
		return tr.T("admin.problem.unknown", adminRefName(tr, "service"), args[0])
	},
	"%s is a %s, not a %s": func(tr i18n.Translator, args []any) string {
		return tr.T("admin.problem.wrong_kind", args[0], adminRefName(tr, args[2]))
	},
	"%s is already priced by items[%d]": func(tr i18n.Translator, args []any) string {
		return tr.T("admin.problem.item_duplicate")
	},
	"%s already has shares[%d]": func(tr i18n.Translator, args []any) string {
		return tr.T("admin.problem.share_duplicate")
	},
	"basis points sum to %d; they must sum to exactly 10000": func(tr i18n.Translator, args []any) string {
		bp, _ := args[0].(int)
		return tr.T("admin.problem.shares_sum", adminPercent(tr, bp))
	},
	"%s": func(tr i18n.Translator, args []any) string { // a binding problem of the account services
		msg := fmt.Sprint(args...)
		if msg == "unknown organization" {
			return tr.T("admin.problem.unknown_org")
		}
		if m := adminBindingMessage.FindStringSubmatch(msg); m != nil {
			return tr.T("admin.problem.binding", tr.T("common.role."+m[1]), adminRefName(tr, m[2]))
		}
		return msg
	},
}

// adminListPage is one page of a list kept whole in memory (reference data, users, tokens): the
// services return these lists whole, and they are short; a page shows 50.
type adminListPage struct {
	Page, Pages int
	Prev, Next  string
}

const adminListPageSize = 50

// paginate returns the items of the page asked for in ?page= and the links around it; path is
// the page's path (with any query that must be kept, ending in ? or &).
func adminPaginate[T any](c *fiber.Ctx, items []T, path string) ([]T, adminListPage) {
	n, _ := strconv.Atoi(c.Query("page"))
	pages := max(1, (len(items)+adminListPageSize-1)/adminListPageSize)
	n = min(max(n, 1), pages)
	p := adminListPage{Page: n, Pages: pages}
	if n > 1 {
		p.Prev = path + "page=" + strconv.Itoa(n-1)
	}
	if n < pages {
		p.Next = path + "page=" + strconv.Itoa(n+1)
	}
	lo := (n - 1) * adminListPageSize
	return items[lo:min(lo+adminListPageSize, len(items))], p
}
