package access

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// Record appends an audit entry for the caller in ctx: action (create, update, revoke, read...)
// on the object. Call it inside the transaction of the change it records. detail must never
// hold a raw patient id, a token or a diagnosis.
func Record(ctx context.Context, ext sqlx.ExtContext, action, objectType, objectID string, detail any) error {
	p := PrincipalFrom(ctx)
	var raw []byte
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("encode audit detail: %w", err)
		}
		raw = b
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
