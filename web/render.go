package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/web/i18n"
)

//go:embed templates
var templateFiles embed.FS

// view is what every page template gets: the layout's part (user, language, navigation, CSRF
// token) and the page's own Data. Errors maps a form field to its message in the reader's
// language; Problem is a message for the whole form.
type view struct {
	Title   string
	User    access.User
	Locale  string
	Locales []string
	CSRF    string
	Path    string
	Nav     []navItem
	Data    any
	Errors  map[string]string
	Problem string
	Flash   string
}

// placeholder functions: render binds t, date, money... to the reader's locale per request.
var baseFuncs = template.FuncMap{
	"t":          func(key string, args ...any) string { return key },
	"date":       func(d trcledger.Date) string { return "" },
	"datetime":   func(t time.Time) string { return "" },
	"month":      func(p string) string { return p },
	"money":      func(d decimal.Decimal) string { return "" },
	"number":     func(d decimal.Decimal, places int32) string { return "" },
	"langname":   i18n.Name,
	"lower":      strings.ToLower,
	"add":        func(a, b int) int { return a + b },
	"dict":       dict,
	"derefs":     func(s *string) string { return deref(s) },
	"hasprefix":  strings.HasPrefix,
	"moneyc":     func(d decimal.Decimal, currency string) string { return "" },
	"fielderror": func(v view, field string) string { return v.Errors[field] },
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// dict builds a map for passing several values to a sub-template: dict "k1" v1 "k2" v2.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict needs pairs")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, errors.New("dict keys are strings")
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

var (
	templatesOnce sync.Once
	templates     map[string]*template.Template
	templatesErr  error
)

// parseTemplates parses each page template (templates/<area>/<name>.html, or templates/<name>.html)
// with the layout and the shared partials (templates/partials/*.html) into its own set.
func parseTemplates() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	base, err := template.New("layout.html").Funcs(baseFuncs).ParseFS(templateFiles, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	err = fs.WalkDir(templateFiles, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") || p == "templates/layout.html" || strings.HasPrefix(p, "templates/partials/") {
			return err
		}
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(templateFiles, p); err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")] = t
		return nil
	})
	return out, err
}

func pageTemplate(name string) (*template.Template, error) {
	templatesOnce.Do(func() { templates, templatesErr = parseTemplates() })
	if templatesErr != nil {
		return nil, templatesErr
	}
	t, ok := templates[name]
	if !ok {
		return nil, fmt.Errorf("no template %q", name)
	}
	return t, nil
}

// locale returns the reader's locale (the user's, or the visitor's choice).
func locale(c *fiber.Ctx) string {
	if l, ok := c.Locals("locale").(string); ok && i18n.Supported(l) {
		return l
	}
	return i18n.Default
}

// tr returns the reader's translator.
func tr(c *fiber.Ctx) i18n.Translator { return i18n.For(locale(c)) }

// funcsFor binds the locale-dependent template functions to tr.
func funcsFor(tr i18n.Translator) template.FuncMap {
	return template.FuncMap{
		"t":        tr.T,
		"date":     tr.Date,
		"datetime": tr.Time,
		"month":    tr.Month,
		"money":    func(d decimal.Decimal) string { return tr.Money(d, "BAM") },
		"moneyc":   tr.Money,
		"number":   tr.Number,
	}
}

// render writes the page template name inside the layout, titled by the catalogue key title.
func (a *app) render(c *fiber.Ctx, name, title string, data any) error {
	return a.renderView(c, name, view{Title: title, Data: data})
}

// renderView writes the page with v (whose layout fields it fills in).
func (a *app) renderView(c *fiber.Ctx, name string, v view) error {
	t, err := pageTemplate(name)
	if err != nil {
		return err
	}
	t, err = t.Clone()
	if err != nil {
		return err
	}
	tr := tr(c)
	t.Funcs(funcsFor(tr))
	v.User = user(c)
	v.Locale = tr.Locale
	v.Locales = i18n.Locales
	v.CSRF = csrfToken(c)
	v.Path = c.OriginalURL()
	if v.User.Role != "" {
		v.Nav = a.nav(v.User.Role)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}

// fieldErrors turns an EINVALID error into messages per field in the reader's language; any
// other error is returned for the caller to handle.
func fieldErrors(c *fiber.Ctx, err error) (map[string]string, error) {
	var e *trcledger.Error
	if !errors.As(err, &e) || e.Code != trcledger.EINVALID {
		return nil, err
	}
	tr := tr(c)
	out := map[string]string{}
	for _, f := range e.Fields {
		out[f.Field] = tr.Problem(f.Format, f.Args, f.Message)
	}
	if len(out) == 0 {
		out[""] = tr.T("common.error.invalid")
	}
	return out, nil
}

// problemKey is the catalogue key of the message shown for an error of this code.
func problemKey(code string) (int, string) {
	switch code {
	case trcledger.ENOTFOUND:
		return fiber.StatusNotFound, "common.error.not_found"
	case trcledger.EFORBIDDEN:
		return fiber.StatusForbidden, "common.error.forbidden"
	case trcledger.ECONFLICT:
		return fiber.StatusConflict, "common.error.conflict"
	case trcledger.ESTATE:
		return fiber.StatusConflict, "common.error.invalid_state"
	case trcledger.EINVALID, trcledger.EMALFORMED:
		return fiber.StatusUnprocessableEntity, "common.error.invalid"
	case trcledger.ETOOLARGE:
		return fiber.StatusRequestEntityTooLarge, "common.error.too_large"
	case trcledger.ERATELIMIT:
		return fiber.StatusTooManyRequests, "common.error.rate_limited"
	case trcledger.EUNAVAILABLE:
		return fiber.StatusServiceUnavailable, "common.error.unavailable"
	}
	return fiber.StatusInternalServerError, "common.error.internal"
}

type errorData struct {
	Message   string
	RequestID string
}

// errorPageFor writes an error page with the catalogue message key and status, without needing
// the app (for middleware).
func errorPageFor(c *fiber.Ctx, status int, key string) error {
	return (&app{}).errorPage(c, status, key)
}

func (a *app) errorPage(c *fiber.Ctx, status int, key string) error {
	c.Status(status)
	id := access.RequestID(c.UserContext())
	msg := tr(c).T(key)
	if key == "common.error.internal" {
		msg = tr(c).T(key, id)
	}
	v := view{Title: "common.error.title", Data: errorData{Message: msg, RequestID: id}}
	if a.cfg.Users == nil { // from middleware: no navigation
		v.Nav = nil
	}
	if err := a.renderView(c, "error", v); err != nil {
		return c.Status(status).SendString(msg)
	}
	return nil
}

// failPage answers err as a page: a signed-out user goes to the login page; a known error
// code gets its translated message; anything else is logged and shown as an internal error with
// the request id, nothing more.
func (a *app) failPage(c *fiber.Ctx, err error) error {
	code := trcledger.ErrorCode(err)
	if code == trcledger.EUNAUTHORIZED {
		return c.Redirect("/login?expired=1", fiber.StatusSeeOther)
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		switch fe.Code {
		case fiber.StatusRequestEntityTooLarge:
			code = trcledger.ETOOLARGE
		case fiber.StatusNotFound:
			code = trcledger.ENOTFOUND
		case fiber.StatusRequestTimeout, fiber.StatusBadRequest:
			code = trcledger.EMALFORMED
		}
	}
	status, key := problemKey(code)
	if status == fiber.StatusInternalServerError && a.log != nil {
		a.log.Error("page failed", "request_id", access.RequestID(c.UserContext()), "route", routeOf(c), "error", err)
	}
	return a.errorPage(c, status, key)
}

// recoverPage runs h and answers any error it returns as a page (never a problem document).
func (a *app) recoverPage(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := h(c); err != nil {
			return a.failPage(c, err)
		}
		return nil
	}
}

//go:embed static
var staticFiles embed.FS

// staticAssets serves the embedded CSS, JavaScript, fonts and icons under /static, cached by
// the browser for an hour (the service worker keeps its own copy for offline use).
func staticAssets() fiber.Handler {
	return func(c *fiber.Ctx) error {
		name := path.Clean("static/" + c.Params("*"))
		if !strings.HasPrefix(name, "static/") {
			return fiber.ErrNotFound
		}
		b, err := staticFiles.ReadFile(name)
		if err != nil {
			return fiber.ErrNotFound
		}
		c.Type(strings.TrimPrefix(path.Ext(name), "."), "utf-8")
		c.Set("Cache-Control", "public, max-age=3600")
		c.Set("X-Content-Type-Options", "nosniff")
		return c.Send(b)
	}
}

// serviceWorker serves static/sw.js at /sw.js, so that its scope is the whole application.
func serviceWorker() fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, err := staticFiles.ReadFile("static/sw.js")
		if err != nil {
			return fiber.ErrNotFound
		}
		c.Type("js", "utf-8")
		c.Set("Cache-Control", "no-cache")
		c.Set("Service-Worker-Allowed", "/")
		// A worker's own policy is its script's: it fetches and caches this host's pages.
		c.Set("Content-Security-Policy", "default-src 'self'")
		return c.Send(b)
	}
}

// routeOf is the route pattern of the request (/clinic/encounters/:id), for logs: a path holds
// ids and usernames, which a log line must not.
func routeOf(c *fiber.Ctx) string {
	if r := c.Route(); r != nil {
		return r.Path
	}
	return ""
}
