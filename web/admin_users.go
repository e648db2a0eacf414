package web

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/contracts"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/web/i18n"
)

// adminUserPages lists the pages of people's accounts and API tokens.
func (a *app) adminUserPages() []page {
	return []page{
		{Method: "GET", Path: "/admin/users", Roles: adminOnly, Nav: "admin.nav.users", Handler: a.adminUsers},
		{Method: "POST", Path: "/admin/users", Roles: adminOnly, Handler: a.adminCreateUser},
		{Method: "GET", Path: "/admin/users/:username/password", Roles: adminOnly, Handler: a.adminPasswordForm},
		{Method: "POST", Path: "/admin/users/:username/password", Roles: adminOnly, Handler: a.adminSetPassword},
		{Method: "GET", Path: "/admin/tokens", Roles: adminOnly, Nav: "admin.nav.tokens", Handler: a.adminTokens},
		{Method: "POST", Path: "/admin/tokens", Roles: adminOnly, Handler: a.adminCreateToken},
		{Method: "GET", Path: "/admin/tokens/:id/revoke", Roles: adminOnly, Handler: a.adminRevokeForm},
		{Method: "POST", Path: "/admin/tokens/:id/revoke", Roles: adminOnly, Handler: a.adminRevokeToken},
	}
}

// adminBinding is what a form that binds an account or a token to an organization offers: the
// roles, the providers (for clinic staff) and the payers (for reviewers).
type adminBinding struct {
	Roles     []string
	Locales   []string
	Providers []contracts.Organization
	Payers    []contracts.Organization
}

func (a *app) adminBindingChoices(c *fiber.Ctx) (adminBinding, error) {
	orgs, err := a.cfg.Contracts.ListOrganizations(c.UserContext(), contracts.OrganizationFilter{})
	if err != nil {
		return adminBinding{}, err
	}
	b := adminBinding{Roles: access.Roles, Locales: i18n.Locales}
	for _, o := range orgs {
		if o.Kind == "provider" {
			b.Providers = append(b.Providers, o)
		} else {
			b.Payers = append(b.Payers, o)
		}
	}
	return b, nil
}

type adminUsersData struct {
	Users []access.User
	Pager adminListPage
	Form  map[string]string
	adminBinding
}

var adminUserFields = []string{"username", "display_name", "role", "org_code", "locale", "password_mode"}

func (a *app) adminUsersData(c *fiber.Ctx, form map[string]string) (adminUsersData, error) {
	users, err := a.cfg.Users.ListUsers(c.UserContext())
	if err != nil {
		return adminUsersData{}, err
	}
	b, err := a.adminBindingChoices(c)
	if err != nil {
		return adminUsersData{}, err
	}
	if form == nil {
		form = map[string]string{"role": access.RoleClinic, "locale": locale(c), "password_mode": "generate"}
	}
	d := adminUsersData{Form: form, adminBinding: b}
	d.Users, d.Pager = adminPaginate(c, users, "/admin/users?")
	return d, nil
}

func (a *app) adminUsers(c *fiber.Ctx) error {
	d, err := a.adminUsersData(c, nil)
	if err != nil {
		return err
	}
	return a.render(c, "admin/users", "admin.users.title", d)
}

// adminPassword reads the password fieldset: "generate" gives "" (the service generates one);
// "type" needs a typed password.
func adminPassword(c *fiber.Ctx, f *trcledger.Fields) string {
	if c.FormValue("password_mode") != "type" {
		return ""
	}
	p := strings.Clone(c.FormValue("password"))
	if p == "" {
		f.Add("password", adminPasswordTyped)
	}
	return p
}

type adminSecretData struct {
	Username, Secret, Name string
	Created                bool
}

func (a *app) adminCreateUser(c *fiber.Ctx) error {
	form := adminFormValues(c, adminUserFields...)
	var f trcledger.Fields
	password := adminPassword(c, &f)
	in := access.NewUser{Username: form["username"], DisplayName: form["display_name"], Role: form["role"],
		OrgCode: form["org_code"], Locale: form["locale"], Password: password}
	err := f.Err()
	var u *access.User
	if err == nil {
		u, password, err = a.cfg.Users.CreateUser(c.UserContext(), in)
	}
	if err != nil {
		d, derr := a.adminUsersData(c, form)
		if derr != nil {
			return derr
		}
		return a.adminProblem(c, "admin/users", "admin.users.title", d, err)
	}
	return a.render(c, "admin/secret", "admin.users.created_title", adminSecretData{Username: u.Username, Secret: password, Created: true})
}

type adminPasswordData struct {
	User access.User
	Form map[string]string
}

func (a *app) adminPasswordForm(c *fiber.Ctx) error {
	u, err := a.cfg.Users.FindUser(c.UserContext(), strings.Clone(c.Params("username")))
	if err != nil {
		return err
	}
	return a.render(c, "admin/password", "admin.password.title", adminPasswordData{User: *u, Form: map[string]string{"password_mode": "generate"}})
}

func (a *app) adminSetPassword(c *fiber.Ctx) error {
	u, err := a.cfg.Users.FindUser(c.UserContext(), strings.Clone(c.Params("username")))
	if err != nil {
		return err
	}
	var f trcledger.Fields
	password := adminPassword(c, &f)
	err = f.Err()
	if err == nil {
		password, err = a.cfg.Users.SetPassword(c.UserContext(), u.Username, password)
	}
	if err != nil {
		d := adminPasswordData{User: *u, Form: adminFormValues(c, "password_mode")}
		return a.adminProblem(c, "admin/password", "admin.password.title", d, err)
	}
	return a.render(c, "admin/secret", "admin.password.done_title", adminSecretData{Username: u.Username, Secret: password})
}

// adminToken is a token as the list shows it.
type adminToken struct {
	access.Token
	State string // active, revoked, expired
}

type adminTokensData struct {
	Tokens []adminToken
	Pager  adminListPage
	Form   map[string]string
	adminBinding
}

var adminTokenFields = []string{"name", "role", "org_code", "expires_on"}

func (a *app) adminTokensData(c *fiber.Ctx, form map[string]string) (adminTokensData, error) {
	list, err := a.cfg.Tokens.ListTokens(c.UserContext())
	if err != nil {
		return adminTokensData{}, err
	}
	b, err := a.adminBindingChoices(c)
	if err != nil {
		return adminTokensData{}, err
	}
	if form == nil {
		form = map[string]string{"role": access.RoleClinic}
	}
	now := time.Now()
	tokens := make([]adminToken, len(list))
	for i, t := range list {
		tokens[i] = adminToken{Token: t, State: "active"}
		switch {
		case t.RevokedAt != nil:
			tokens[i].State = "revoked"
		case t.ExpiresAt != nil && !t.ExpiresAt.After(now):
			tokens[i].State = "expired"
		}
	}
	d := adminTokensData{Form: form, adminBinding: b}
	d.Tokens, d.Pager = adminPaginate(c, tokens, "/admin/tokens?")
	return d, nil
}

func (a *app) adminTokens(c *fiber.Ctx) error {
	d, err := a.adminTokensData(c, nil)
	if err != nil {
		return err
	}
	v := view{Title: "admin.tokens.title", Data: d}
	if c.Query("revoked") != "" {
		v.Flash = tr(c).T("admin.tokens.revoked")
	}
	return a.renderView(c, "admin/tokens", v)
}

// adminZone is where a date typed by the administrator is read (an expiry ends with that day).
var adminZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Sarajevo")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

// adminDayStart is the first instant of d in Sarajevo.
func adminDayStart(d trcledger.Date) time.Time {
	y, m, day := d.Time().Date()
	return time.Date(y, m, day, 0, 0, 0, 0, adminZone)
}

func (a *app) adminCreateToken(c *fiber.Ctx) error {
	form := adminFormValues(c, adminTokenFields...)
	var f trcledger.Fields
	in := access.NewToken{Name: form["name"], Role: form["role"], OrgCode: form["org_code"]}
	if d := adminDate(&f, "expires_on", form["expires_on"], false); d != nil {
		at := adminDayStart(d.AddDays(1)) // valid through the day chosen
		in.ExpiresAt = &at
		if !at.After(time.Now()) {
			f.Add("expires_on", "must be in the future")
		}
	}
	err := f.Err()
	var tok *access.Token
	var secret string
	if err == nil {
		tok, secret, err = a.cfg.Tokens.CreateToken(c.UserContext(), in)
	}
	if err != nil {
		d, derr := a.adminTokensData(c, form)
		if derr != nil {
			return derr
		}
		return a.adminProblem(c, "admin/tokens", "admin.tokens.title", d, err)
	}
	return a.render(c, "admin/secret", "admin.tokens.created_title", adminSecretData{Name: tok.Name, Secret: secret})
}

func (a *app) adminFindToken(c *fiber.Ctx) (*access.Token, error) {
	list, err := a.cfg.Tokens.ListTokens(c.UserContext())
	if err != nil {
		return nil, err
	}
	id := c.Params("id")
	for i := range list {
		if list[i].ID == id && list[i].RevokedAt == nil {
			return &list[i], nil
		}
	}
	return nil, trcledger.Errorf(trcledger.ENOTFOUND, "no active token %s", id)
}

func (a *app) adminRevokeForm(c *fiber.Ctx) error {
	t, err := a.adminFindToken(c)
	if err != nil {
		return err
	}
	return a.render(c, "admin/revoke", "admin.revoke.title", t)
}

func (a *app) adminRevokeToken(c *fiber.Ctx) error {
	t, err := a.adminFindToken(c)
	if err != nil {
		return err
	}
	if err := a.cfg.Tokens.RevokeToken(c.UserContext(), t.ID); err != nil {
		return err
	}
	return c.Redirect("/admin/tokens?revoked=1", fiber.StatusSeeOther)
}
