// Package trcledger holds what every part of the billing ledger shares: the one error type.
package trcledger

import (
	"errors"
	"fmt"
)

// Error codes: the class of an error, mapped to an HTTP status by the API.
const (
	EINVALID      = "invalid"       // the request is understood but its content is wrong (422)
	EMALFORMED    = "malformed"     // the request cannot be read at all (400)
	ENOTFOUND     = "not_found"     // unknown, or outside the caller's scope (404)
	ECONFLICT     = "conflict"      // clashes with what is stored (409)
	ESTATE        = "invalid_state" // not allowed in the object's current state (409)
	EUNAUTHORIZED = "unauthorized"  // no valid token (401)
	EFORBIDDEN    = "forbidden"     // the caller's role may not do this (403)
	ETOOLARGE     = "too_large"     // the body is beyond the limit (413)
	ERATELIMIT    = "rate_limited"  // too many requests (429)
	EUNSUPPORTED  = "unsupported"   // a body in a format the route does not read (415)
	EUNAVAILABLE  = "unavailable"   // the server is shutting down; retry elsewhere or later (503)
	EINTERNAL     = "internal"      // anything else (500, no details)
)

// FieldError names one bad field, by its JSON path (lines[2].service_code), and what is wrong.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// Format and Args are what Message was made from, so that the web application can show it
	// in the reader's language (the API answers Message, in English).
	Format string `json:"-"`
	Args   []any  `json:"-"`
}

// Error is the one error type of trcledger. Code is the class; Reason is the machine-readable
// code a client sees (validation_failed, no_cost_share_rule, ...), defaulting to Code.
type Error struct {
	Code    string
	Reason  string
	Message string
	Fields  []FieldError
	// Total is how many field errors were found when that is more than Fields holds (the list
	// was capped at MaxFieldErrors); 0 when Fields is the whole list.
	Total int
	// Extra carries members added to the problem document (e.g. existing_id).
	Extra map[string]any
}

// Truncated reports whether Fields is only the first part of the field errors found.
func (e *Error) Truncated() bool { return e.Total > len(e.Fields) }

// Error implements error.
func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("trcledger: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("trcledger: %s: %s (%d fields)", e.Code, e.Message, len(e.Fields))
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithReason sets the machine-readable reason and returns e.
func (e *Error) WithReason(reason string) *Error {
	e.Reason = reason
	return e
}

// With adds a member to the problem document and returns e.
func (e *Error) With(key string, value any) *Error {
	if e.Extra == nil {
		e.Extra = map[string]any{}
	}
	e.Extra[key] = value
	return e
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, else EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// MaxFieldErrors caps the field errors one answer lists: a 2 MiB body of a million bad elements
// must not become a problem document of a hundred megabytes.
const MaxFieldErrors = 100

// Fields collects field errors so that a 422 lists every bad field, not the first, up to
// MaxFieldErrors; beyond that it only counts them. A field keeps only its first message.
type Fields struct {
	list  []FieldError
	seen  map[string]bool
	total int // field errors found, listed or not
}

// Add records a problem with field; a field already recorded is left as it is. Once the list
// holds MaxFieldErrors fields, further problems are only counted (see Full).
func (f *Fields) Add(field, format string, args ...any) {
	f.add(FieldError{Field: field, Message: fmt.Sprintf(format, args...), Format: format, Args: args})
}

func (f *Fields) add(fe FieldError) {
	if f.seen[fe.Field] {
		return
	}
	f.total++
	if len(f.list) >= MaxFieldErrors {
		return
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	f.seen[fe.Field] = true
	f.list = append(f.list, fe)
}

// Full reports whether more problems were found than the list holds: validation may stop, the
// answer will not grow.
func (f *Fields) Full() bool { return f.total > MaxFieldErrors }

// Count counts n more problems found but not listed (those beyond another list's cap).
func (f *Fields) Count(n int) { f.total += n }

// Has reports whether field already has a problem.
func (f *Fields) Has(field string) bool { return f.seen[field] }

// Len returns the number of bad fields found (listed or only counted).
func (f *Fields) Len() int { return f.total }

// List returns the bad fields in the order they were found.
func (f *Fields) List() []FieldError { return f.list }

// Merge adds every field of other under prefix (prefix "" keeps the names).
func (f *Fields) Merge(prefix string, other []FieldError) {
	for i, fe := range other {
		if f.Full() {
			f.total += len(other) - i // counted without comparing them with those listed
			return
		}
		if prefix != "" {
			fe.Field = prefix + "." + fe.Field
		}
		f.add(fe)
	}
}

// Err returns nil when no field is bad, else an EINVALID *Error listing them all.
func (f *Fields) Err() error {
	if len(f.list) == 0 {
		return nil
	}
	e := &Error{Code: EINVALID, Reason: "validation_failed", Message: "the request has invalid fields", Fields: f.list}
	if f.total > len(f.list) {
		e.Total = f.total
	}
	return e
}

// MergeErr adds the fields of an EINVALID error to f and returns nil; any other non-nil error
// is returned as it is.
func (f *Fields) MergeErr(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Code == EINVALID && len(e.Fields) > 0 {
		f.Merge("", e.Fields)
		if e.Truncated() {
			f.Count(e.Total - len(e.Fields))
		}
		return nil
	}
	return err
}

// AddErr records a problem with field and returns the EINVALID error listing every field so far.
func (f *Fields) AddErr(field, format string, args ...any) error {
	f.Add(field, format, args...)
	return f.Err()
}
