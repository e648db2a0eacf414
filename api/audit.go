package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/internal/access"
)

// auditLog answers GET /v1/audit: newest first, filters actor, action, object, from, to, cursor.
func auditLog(t *access.Tokens) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f trcledger.Fields
		filter := access.AuditFilter{Actor: query(c, "actor"), Action: query(c, "action"), Object: query(c, "object"), Cursor: query(c, "cursor")}
		for _, name := range []string{"actor", "action", "object", "cursor"} {
			checkQuery(&f, name, c.Query(name))
		}
		for _, name := range []string{"from", "to"} {
			v := c.Query(name)
			if v == "" {
				continue
			}
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				d, derr := trcledger.ParseDate(v)
				if derr != nil {
					f.Add(name, "must be a date (2025-03-01) or a time (2025-03-01T08:00:00Z)")
					continue
				}
				at = d.Time()
			}
			if name == "from" {
				filter.From = &at
			} else {
				filter.To = &at
			}
		}
		filter.Limit = limitParam(c, &f, 500)
		if err := f.Err(); err != nil {
			return err
		}
		items, next, err := t.ReadAudit(c.UserContext(), filter)
		if err != nil {
			return err
		}
		out := list[access.AuditEntry]{Items: items}
		if next != "" {
			out.NextCursor = &next
		}
		return c.JSON(out)
	}
}
