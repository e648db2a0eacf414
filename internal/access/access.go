// Package access holds who is calling (tokens, roles, bindings), the request's identity in the
// context, and the append-only audit log.
package access

import (
	"context"
)

// Roles of DESIGN.md section 1.
const (
	RoleAdmin    = "admin"
	RoleClinic   = "clinic"
	RoleReviewer = "reviewer"
	RoleFinance  = "finance"
)

// Roles lists every role.
var Roles = []string{RoleAdmin, RoleClinic, RoleReviewer, RoleFinance}

// Principal is the caller behind a token. OrgCode binds clinic staff to a provider and
// reviewers to a payer; it is empty for admin and finance.
type Principal struct {
	TokenID string
	Name    string
	Role    string
	OrgCode string
}

type ctxKey int

const (
	principalKey ctxKey = iota
	requestIDKey
)

// System is the principal of command-line work (migrate, seed-demo, token create).
var System = Principal{TokenID: "system", Name: "system", Role: RoleAdmin}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFrom returns the caller in ctx, or System when there is none (command line).
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey).(Principal); ok {
		return p
	}
	return System
}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}
