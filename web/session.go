package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/web/i18n"
)

// Cookies of the web application. The session cookie holds the session's secret (the server
// keeps only its digest); the pre-session cookie is the CSRF token of forms shown to a visitor
// who has not signed in (login, language); the language cookie keeps a visitor's choice.
const (
	sessionCookie = "trc_session"
	preCookie     = "trc_csrf"
	langCookie    = "trc_lang"
	csrfField     = "_csrf"
	csrfHeader    = "X-CSRF-Token"
)

// formLimit caps the body of a page's form (uploads have their own limit).
const formLimit = 1 << 20

// pageHeaders sets the headers of every page: a content security policy that allows only this
// host's own scripts, styles and images.
func pageHeaders(c *fiber.Ctx) error {
	setPageHeaders(c)
	return c.Next()
}

func setPageHeaders(c *fiber.Ctx) {
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"connect-src 'self'; worker-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	c.Set("Cache-Control", "no-store")
}

// limitForm reads a streamed form body of at most formLimit bytes (a larger one is 413); the
// server streams every body beyond the API's limit, and a page must not read one whole.
func limitForm(c *fiber.Ctx) error {
	if stream := c.Context().RequestBodyStream(); stream != nil {
		buf, err := io.ReadAll(io.LimitReader(stream, formLimit+1))
		if err != nil || len(buf) > formLimit {
			return errorPageFor(c, fiber.StatusRequestEntityTooLarge, "common.error.too_large")
		}
		c.Request().SetBody(buf)
	}
	return c.Next()
}

// secure reports whether the request came over TLS, so that cookies get the Secure flag.
func secure(c *fiber.Ctx) bool { return c.Protocol() == "https" }

func setCookie(c *fiber.Ctx, name, value string, maxAge time.Duration) {
	ck := &fiber.Cookie{Name: name, Value: value, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode, Secure: secure(c)}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge.Seconds())
	}
	if maxAge < 0 {
		ck.Expires = time.Unix(1, 0)
		ck.MaxAge = -1
	}
	c.Cookie(ck)
}

// sessionOptional loads the signed-in user, if any, into the request: the session, the
// principal in the user context (so services apply the user's role and scope) and the locale.
func (a *app) sessionOptional(c *fiber.Ctx) error {
	if secret := c.Cookies(sessionCookie); secret != "" {
		s, err := a.cfg.Users.ResumeSession(c.UserContext(), strings.Clone(secret))
		switch {
		case err == nil:
			c.Locals("session", s)
			c.Locals("locale", s.User.Locale)
			c.SetUserContext(access.WithPrincipal(c.UserContext(), s.User.Principal()))
			c.Locals("principal", s.User.Principal()) // for the request log
			return nil
		case trcledger.ErrorCode(err) == trcledger.EUNAUTHORIZED:
			c.Locals("session_ended", true)
			setCookie(c, sessionCookie, "", -1)
		default:
			return err
		}
	}
	loc := c.Cookies(langCookie)
	if !i18n.Supported(loc) {
		loc = i18n.Negotiate(c.Get(fiber.HeaderAcceptLanguage))
	}
	c.Locals("locale", loc)
	return nil
}

// session is sessionOptional as a middleware.
func (a *app) session(c *fiber.Ctx) error {
	if err := a.sessionOptional(c); err != nil {
		return a.failPage(c, err)
	}
	return c.Next()
}

// sess returns the signed-in user's session, or nil.
func sess(c *fiber.Ctx) *access.Session {
	s, _ := c.Locals("session").(*access.Session)
	return s
}

// user returns the signed-in user (the zero User when nobody is signed in).
func user(c *fiber.Ctx) access.User {
	if s := sess(c); s != nil {
		return s.User
	}
	return access.User{}
}

// requireRole sends a visitor who has not signed in to the login page (and back here after),
// and answers 403 to a user whose role may not open the page.
func requireRole(roles []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		s := sess(c)
		if s == nil {
			if c.Method() != fiber.MethodGet {
				return c.Redirect("/login?expired=1", fiber.StatusSeeOther)
			}
			q := url.Values{"next": {c.OriginalURL()}}
			if ended, _ := c.Locals("session_ended").(bool); ended {
				q.Set("expired", "1")
			}
			return c.Redirect("/login?"+q.Encode(), fiber.StatusSeeOther)
		}
		if !slices.Contains(roles, s.User.Role) {
			return errorPageFor(c, fiber.StatusForbidden, "common.error.forbidden")
		}
		return c.Next()
	}
}

// csrfToken is the token this request's forms carry: the session's, or the visitor's
// pre-session cookie (made here when missing).
func csrfToken(c *fiber.Ctx) string {
	if s := sess(c); s != nil {
		return s.CSRF
	}
	if t, ok := c.Locals("pre_csrf").(string); ok {
		return t
	}
	t := c.Cookies(preCookie)
	if len(t) != 32 {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		t = base64.RawURLEncoding.EncodeToString(b)
		setCookie(c, preCookie, t, 0)
	} else {
		t = strings.Clone(t)
	}
	c.Locals("pre_csrf", t)
	return t
}

// checkCSRF refuses a form whose token is not the session's (or, before sign-in, the
// pre-session cookie's). The token comes in the _csrf field, or in the X-CSRF-Token header from
// the application's JavaScript.
func checkCSRF(c *fiber.Ctx) error {
	want := ""
	if s := sess(c); s != nil {
		want = s.CSRF
	} else {
		want = c.Cookies(preCookie)
	}
	got := c.Get(csrfHeader)
	if got == "" && !strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEMultipartForm) {
		got = c.FormValue(csrfField)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return errorPageFor(c, fiber.StatusForbidden, "common.error.csrf")
	}
	return c.Next()
}

// safeNext returns next when it is a path on this site, else "/". Anything that could leave the
// site or the Location header is refused: a scheme or host, "//" or "/\\", any control
// character (CR/LF would add headers; a tab is dropped by browsers, turning "/\t/evil" into
// "//evil"), or a backslash.
func safeNext(next string) string {
	if len(next) > 2000 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return u.RequestURI()
}

type loginView struct {
	Username, Next, Message string
	Wrong                   bool
	WaitMinutes             int
}

func (a *app) loginForm(c *fiber.Ctx) error {
	if sess(c) != nil {
		return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
	}
	v := loginView{Next: safeNext(c.Query("next"))}
	switch {
	case c.Query("expired") != "":
		v.Message = "login.expired"
	case c.Query("out") != "":
		v.Message = "login.signed_out"
	}
	return a.render(c, "login", "login.title", v)
}

func (a *app) login(c *fiber.Ctx) error {
	v := loginView{Username: strings.TrimSpace(c.FormValue("username")), Next: safeNext(c.FormValue("next"))}
	s, err := a.cfg.Users.Login(c.UserContext(), v.Username, c.FormValue("password"), c.IP())
	if err != nil {
		var e *trcledger.Error
		if !errors.As(err, &e) || (e.Code != trcledger.EUNAUTHORIZED && e.Code != trcledger.ERATELIMIT) {
			return err
		}
		v.Wrong = true
		c.Status(fiber.StatusUnauthorized)
		if e.Code == trcledger.ERATELIMIT {
			c.Status(fiber.StatusTooManyRequests)
			v.Message = "login.throttled"
			v.WaitMinutes, _ = e.Extra["retry_after_minutes"].(int)
		}
		return a.render(c, "login", "login.title", v)
	}
	setCookie(c, sessionCookie, s.Secret, 0)
	return c.Redirect(v.Next, fiber.StatusSeeOther)
}

func (a *app) logout(c *fiber.Ctx) error {
	s := sess(c)
	if err := a.cfg.Users.Logout(c.UserContext(), s.Secret, c.FormValue("everywhere") != ""); err != nil {
		return err
	}
	setCookie(c, sessionCookie, "", -1)
	return c.Redirect("/login?out=1", fiber.StatusSeeOther)
}

// setLanguage switches the language: a signed-in user's own locale is changed; a visitor's
// choice is kept in a cookie for a year. It returns to the page it was sent from.
func (a *app) setLanguage(c *fiber.Ctx) error {
	loc := c.FormValue("locale")
	if !i18n.Supported(loc) {
		return errorPageFor(c, fiber.StatusUnprocessableEntity, "common.error.invalid")
	}
	if s := sess(c); s != nil {
		if err := a.cfg.Users.SetLocale(c.UserContext(), s.User.ID, loc); err != nil {
			return err
		}
	}
	setCookie(c, langCookie, loc, 365*24*time.Hour)
	return c.Redirect(safeNext(c.FormValue("next")), fiber.StatusSeeOther)
}
