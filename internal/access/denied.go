package access

import (
	"context"
	"errors"

	"github.com/jmoiron/sqlx"
)

// ActionDenied is the audit action of a refused attempt on an existing object outside the
// caller's scope (another provider's encounter, another payer's statement).
const ActionDenied = "access_denied"

// deniedError is the answer to such an attempt: to the caller exactly the not-found error of an
// unknown id (a 404), to RecordDenied the object that was asked for.
type deniedError struct {
	notFound             error
	objectType, objectID string
}

func (e *deniedError) Error() string { return e.notFound.Error() }
func (e *deniedError) Unwrap() error { return e.notFound }

// Denied wraps notFound, the answer to a caller asking for an existing object (objectType,
// objectID) outside their scope, so that the service method answering it can record the
// attempt with RecordDenied. Callers of the service still see notFound (errors.As finds it).
func Denied(notFound error, objectType, objectID string) error {
	return &deniedError{notFound: notFound, objectType: objectType, objectID: objectID}
}

// RecordDenied appends an access_denied audit entry (actor, role, object, request id) when err
// is, or wraps, a Denied answer, and returns err. ext must not be the refused request's own
// transaction, which rolls back with the refusal: pass the database. It returns the audit
// error instead when the entry cannot be written.
func RecordDenied(ctx context.Context, ext sqlx.ExtContext, err error) error {
	var d *deniedError
	if !errors.As(err, &d) {
		return err
	}
	if rerr := Record(ctx, ext, ActionDenied, d.objectType, d.objectID, map[string]any{"answered": "not_found"}); rerr != nil {
		return rerr
	}
	return err
}
