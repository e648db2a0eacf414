package demo

import (
	"context"
	"fmt"

	"github.com/trcledger/trcledger/internal/access"
)

// User is a demo person's account and its password, shown once.
type User struct {
	Username, Role, Org, Locale, Password string
}

// demoUsers are one person per role, bound like the demo tokens.
var demoUsers = []access.NewUser{
	{Username: "admin", DisplayName: "Admir Kovačević", Role: access.RoleAdmin, Locale: "bs"},
	{Username: "sestra.bihac", DisplayName: "Amra Hodžić", Role: access.RoleClinic, OrgCode: ProviderDZBihac, Locale: "bs"},
	{Username: "revizor.usk", DisplayName: "Selma Begić", Role: access.RoleReviewer, OrgCode: PayerZZOUSK, Locale: "hr"},
	{Username: "finance.iom", DisplayName: "Jelena Marković", Role: access.RoleFinance, Locale: "sr-Cyrl"},
}

// SeedUsers creates one demo user per role with a generated password. It returns ErrSeeded when
// the first of them already exists (so an older demo database gets its users once).
func SeedUsers(ctx context.Context, users *access.Users) ([]User, error) {
	if _, err := users.FindUser(ctx, demoUsers[0].Username); err == nil {
		return nil, ErrSeeded
	}
	var out []User
	for _, in := range demoUsers {
		u, password, err := users.CreateUser(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("demo user %s: %w", in.Username, err)
		}
		org := in.OrgCode
		if org == "" {
			org = "-"
		}
		out = append(out, User{Username: u.Username, Role: u.Role, Org: org, Locale: u.Locale, Password: password})
	}
	return out, nil
}
