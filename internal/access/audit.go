package access

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
)

// Record appends an audit entry for the caller in ctx: action (create, update, revoke, read...)
// on the object. Call it inside the transaction of the change it records. detail must never
// hold a raw patient id, a token or a diagnosis.
func Record(ctx context.Context, ext sqlx.ExtContext, action, objectType, objectID string, detail any) error {
	p := PrincipalFrom(ctx)
	var raw *string // jsonb goes as text: a []byte would be sent as binary jsonb
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("encode audit detail: %w", err)
		}
		s := string(b)
		raw = &s
	}
	_, err := ext.ExecContext(ctx, `
		INSERT INTO audit_log (actor, role, action, object_type, object_id, request_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		p.TokenID, p.Role, action, objectType, objectID, RequestID(ctx), raw)
	if err != nil {
		return fmt.Errorf("insert audit entry: %w", err)
	}
	return nil
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID         int64           `json:"id" db:"id"`
	At         trcledger.Time  `json:"at" db:"at"`
	Actor      string          `json:"actor" db:"actor"`
	Role       string          `json:"role" db:"role"`
	Action     string          `json:"action" db:"action"`
	ObjectType string          `json:"object_type" db:"object_type"`
	ObjectID   string          `json:"object_id" db:"object_id"`
	RequestID  string          `json:"request_id" db:"request_id"`
	Detail     json.RawMessage `json:"detail" db:"detail"`
}

// AuditFilter narrows ReadAudit; empty fields match everything. Cursor is the opaque value a
// previous page returned.
type AuditFilter struct {
	Actor, Action, Object string
	From, To              *time.Time
	Cursor                string
	Limit                 int
}

// ReadAudit returns audit entries newest first, a page at a time, and the cursor of the next
// page ("" on the last). It returns EINVALID for a cursor it did not give out.
func ReadAudit(ctx context.Context, q sqlx.QueryerContext, f AuditFilter) ([]AuditEntry, string, error) {
	before := int64(math.MaxInt64)
	if f.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		n, perr := strconv.ParseInt(string(b), 10, 64)
		if err != nil || perr != nil || n <= 0 {
			return nil, "", (&trcledger.Fields{}).AddErr("cursor", "is not a cursor this service gave out")
		}
		before = n
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	out := []AuditEntry{}
	err := sqlx.SelectContext(ctx, q, &out, `
		SELECT id, at, actor, role, action, object_type, object_id, request_id, coalesce(detail, 'null'::jsonb) AS detail
		FROM audit_log
		WHERE id < $1 AND ($2 = '' OR actor = $2) AND ($3 = '' OR action = $3) AND ($4 = '' OR object_id = $4)
		  AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6)
		ORDER BY id DESC LIMIT $7`, before, f.Actor, f.Action, f.Object, f.From, f.To, f.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("read audit log: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(out[len(out)-1].ID, 10)))
	}
	return out, next, nil
}

// RecordEach appends one audit entry per object (action on objectType), with one statement.
func RecordEach(ctx context.Context, ext sqlx.ExtContext, action, objectType string, objectIDs []string) error {
	if len(objectIDs) == 0 {
		return nil
	}
	p := PrincipalFrom(ctx)
	_, err := ext.ExecContext(ctx, `
		INSERT INTO audit_log (actor, role, action, object_type, object_id, request_id)
		SELECT $1, $2, $3, $4, id, $5 FROM unnest($6::text[]) AS id`,
		p.TokenID, p.Role, action, objectType, RequestID(ctx), pq.Array(objectIDs))
	if err != nil {
		return fmt.Errorf("insert audit entries: %w", err)
	}
	return nil
}

// AuditRow is one entry for RecordRows, made on behalf of its own caller.
type AuditRow struct {
	Principal  Principal
	RequestID  string
	Action     string
	ObjectType string
	ObjectID   string
}

// RecordRows appends entries made for several callers (requests posted together) with one
// statement.
func RecordRows(ctx context.Context, ext sqlx.ExtContext, rows []AuditRow) error {
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	actors, roles, actions, types, objects, reqs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range rows {
		actors[i], roles[i], actions[i], types[i], objects[i], reqs[i] = r.Principal.TokenID, r.Principal.Role, r.Action, r.ObjectType, r.ObjectID, r.RequestID
	}
	_, err := ext.ExecContext(ctx, `
		INSERT INTO audit_log (actor, role, action, object_type, object_id, request_id)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
		pq.Array(actors), pq.Array(roles), pq.Array(actions), pq.Array(types), pq.Array(objects), pq.Array(reqs))
	if err != nil {
		return fmt.Errorf("insert audit entries: %w", err)
	}
	return nil
}
