package contracts

import (
	"context"
	"fmt"

	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
)

// Ref is a code that a request refers to: the field that holds it, what it must name
// (provider, payer, organization, service, site or jurisdiction), and the code.
type Ref struct {
	Field, Kind, Code string
}

// refTables says where each kind of code is kept.
var refTables = map[string]string{
	"provider": "organizations", "payer": "organizations", "organization": "organizations",
	"service": "services", "site": "sites", "jurisdiction": "jurisdictions",
}

// CheckRefs returns EINVALID naming each ref whose code is unknown, or an organization of
// another kind, in the words the writes use; refs with an empty code are skipped. It writes
// nothing: a handler calls it so that one answer names unknown codes together with the
// request's other errors. One query per table, whatever the number of refs.
func (s *Store) CheckRefs(ctx context.Context, refs []Ref) error {
	codes := map[string][]string{}
	for _, r := range refs {
		if t, ok := refTables[r.Kind]; ok && r.Code != "" {
			codes[t] = append(codes[t], r.Code)
		}
	}
	kinds := map[string]map[string]string{} // table -> code -> kind ("" outside organizations)
	for table, list := range codes {
		col := "''"
		if table == "organizations" {
			col = "kind"
		}
		k, err := s.kindsOf(ctx, table, col, list)
		if err != nil {
			return fmt.Errorf("check %s: %w", table, err)
		}
		kinds[table] = k
	}
	var f trcledger.Fields
	for _, r := range refs {
		t, ok := refTables[r.Kind]
		if !ok || r.Code == "" {
			continue
		}
		kind, known := kinds[t][r.Code]
		switch {
		case !known:
			f.Add(r.Field, "unknown %s %s", r.Kind, r.Code)
		case t == "organizations" && r.Kind != "organization" && kind != r.Kind:
			f.Add(r.Field, "%s is a %s, not a %s", r.Code, kind, r.Kind)
		}
	}
	return f.Err()
}

// kindsOf returns, for each of codes found in table, the value of col (the column kind, or
// an empty string literal). table and col come from this package, never from a request.
func (s *Store) kindsOf(ctx context.Context, table, col string, codes []string) (map[string]string, error) {
	rows, err := s.db.QueryxContext(ctx, `SELECT code, `+col+` FROM `+table+` WHERE code = ANY($1)`, pq.Array(codes))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	kinds := map[string]string{}
	for rows.Next() {
		var code, kind string
		if err := rows.Scan(&code, &kind); err != nil {
			return nil, err
		}
		kinds[code] = kind
	}
	return kinds, rows.Err()
}
