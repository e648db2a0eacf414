package encounters

import (
	"context"

	"github.com/trcledger/trcledger/internal/access"
)

// deniedContracts collects, for one request or import chunk, the contracts of other providers
// that a clinic tried to post on: each is answered "unknown contract", exactly as an unknown
// code, and recorded once as an access_denied attempt (recordDenied).
type deniedContracts map[string]bool

// note remembers code when it names an existing contract of another provider than the caller's.
func (d deniedContracts) note(ctx context.Context, ref *refData, code string) {
	if code == "" || d[code] || len(code) > maxText {
		return
	}
	p, err := ref.contract(ctx, code)
	if err == nil && p != nil && !access.CanPostEncounter(access.PrincipalFrom(ctx), p.Contract.ProviderCode) {
		d[code] = true
	}
}

// record appends one access_denied audit entry per contract noted, outside the refused
// request's transaction (it rolls back with the refusal).
func (d deniedContracts) record(ctx context.Context, s *Service) error {
	for code := range d {
		if err := access.Record(ctx, s.db, access.ActionDenied, "contract", code, map[string]any{"answered": "unknown_contract"}); err != nil {
			return err
		}
	}
	return nil
}
