package web

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
)

// adminAuditPages lists the audit log page.
func (a *app) adminAuditPages() []page {
	return []page{
		{Method: "GET", Path: "/admin/audit", Roles: adminOnly, Nav: "admin.nav.audit", Handler: a.adminAudit},
	}
}

// adminAuditPageSize is how many entries a page of the audit log shows.
const adminAuditPageSize = 50

// adminActor is someone who can appear in the audit log: a person (user:<id>) or a token.
type adminActor struct {
	ID, Name string
}

type adminAuditEntry struct {
	access.AuditEntry
	ActorName string
	// Detail is the entry's detail (JSON, cut at 300 characters); Short its first line's
	// beginning, shown until the reader opens it.
	Detail, Short string
}

type adminAuditData struct {
	Form    map[string]string
	Actors  []adminActor
	Actions []string
	Entries []adminAuditEntry
	Next    string
	First   string
	Paged   bool
}

var adminAuditFields = []string{"actor", "action", "object", "from", "to"}

// adminAuditActions are the actions the services record, offered as suggestions.
var adminAuditActions = []string{"create", "close", "revoke", "login", "login_failed", "set_password", "read", "access_denied", "void", "submit", "decide", "complete_review", "pay"}

func (a *app) adminAudit(c *fiber.Ctx) error {
	form := map[string]string{}
	for _, n := range adminAuditFields {
		form[n] = strings.TrimSpace(strings.Clone(c.Query(n)))
	}
	var f trcledger.Fields
	filter := access.AuditFilter{Actor: form["actor"], Action: form["action"], Object: form["object"],
		Cursor: strings.Clone(c.Query("cursor")), Limit: adminAuditPageSize}
	for _, n := range []string{"actor", "action", "object"} {
		if len(form[n]) > 100 {
			f.Add(n, "must be at most 100 characters")
		}
	}
	// Dates are days in Sarajevo: from its first instant, to the end of the "to" day.
	if d := adminDate(&f, "from", form["from"], false); d != nil {
		at := adminDayStart(*d)
		filter.From = &at
	}
	if d := adminDate(&f, "to", form["to"], false); d != nil {
		at := adminDayStart(d.AddDays(1))
		filter.To = &at
	}
	d := adminAuditData{Form: form, Actors: []adminActor{}, Actions: adminAuditActions}
	names := map[string]string{"system": "system", "anonymous": "—"}
	users, err := a.cfg.Users.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	for _, u := range users {
		d.Actors = append(d.Actors, adminActor{ID: "user:" + u.ID, Name: u.Username})
		names["user:"+u.ID] = u.Username
	}
	tokens, err := a.cfg.Tokens.ListTokens(c.UserContext())
	if err != nil {
		return err
	}
	for _, t := range tokens {
		d.Actors = append(d.Actors, adminActor{ID: t.ID, Name: tr(c).T("admin.audit.token_actor", t.Name)})
		names[t.ID] = tr(c).T("admin.audit.token_actor", t.Name)
	}
	var errs map[string]string
	if err := f.Err(); err != nil {
		errs = map[string]string{}
		for _, fe := range f.List() {
			errs[fe.Field] = adminTranslate(tr(c), fe)
		}
		c.Status(fiber.StatusUnprocessableEntity)
	} else {
		entries, next, err := a.cfg.Tokens.ReadAudit(c.UserContext(), filter)
		if e := adminCursorProblem(err); e != nil {
			errs = map[string]string{"cursor": tr(c).T("admin.audit.bad_cursor")}
			c.Status(fiber.StatusUnprocessableEntity)
		} else if err != nil {
			return err
		}
		for _, e := range entries {
			name, ok := names[e.Actor]
			if !ok {
				name = e.Actor
			}
			detail := string(e.Detail)
			if detail == "null" {
				detail = ""
			}
			d.Entries = append(d.Entries, adminAuditEntry{AuditEntry: e, ActorName: name, Detail: adminCut(detail, 300), Short: adminCut(detail, 48)})
		}
		q := url.Values{}
		for _, n := range adminAuditFields {
			if form[n] != "" {
				q.Set(n, form[n])
			}
		}
		d.First = "/admin/audit?" + q.Encode()
		d.Paged = filter.Cursor != ""
		if next != "" {
			q.Set("cursor", next)
			d.Next = "/admin/audit?" + q.Encode()
		}
	}
	v := view{Title: "admin.audit.title", Data: d, Errors: errs}
	if len(errs) > 0 {
		v.Problem = tr(c).T("common.form_has_errors")
	}
	return a.renderView(c, "admin/audit", v)
}

// adminCursorProblem returns err when it refuses the cursor (a cursor not given out here).
func adminCursorProblem(err error) error {
	if e := (*trcledger.Error)(nil); errors.As(err, &e) && e.Code == trcledger.EINVALID {
		return e
	}
	return nil
}

// adminCut returns s cut to at most n characters, with an ellipsis when it was cut.
func adminCut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
