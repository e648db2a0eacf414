package fhir

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/contracts"
)

// linesPage is how many statement lines the exporter reads at a time.
const linesPage = statements.MaxStatementLinesPage

// Exporter writes statements as FHIR R4 resources. It reads through the statements service,
// with the caller's principal in the context: the same scope, diagnoses and audit as reading a
// statement.
type Exporter struct {
	statements *statements.Service
	reference  *contracts.Store
	now        func() time.Time
}

// NewExporter returns an exporter over the statements service and the reference data.
func NewExporter(st *statements.Service, ref *contracts.Store, now func() time.Time) *Exporter {
	return &Exporter{statements: st, reference: ref, now: now}
}

// emitter writes one resource, remembering which shared resources (organizations, patients,
// coverages) it has written so that each is written once.
type emitter struct {
	write    func(resourceType, id string, resource any) error
	written  map[string]bool
	services catalogue
	orgs     map[string]*Organization
}

// once writes a shared resource unless it was written before.
func (e *emitter) once(resourceType, id string, resource any) error {
	key := resourceType + "/" + id
	if e.written[key] {
		return nil
	}
	e.written[key] = true
	return e.write(resourceType, id, resource)
}

func (x *Exporter) newEmitter(ctx context.Context, write func(resourceType, id string, resource any) error) (*emitter, error) {
	list, err := x.reference.ListServices(ctx)
	if err != nil {
		return nil, err
	}
	services := catalogue{}
	for _, s := range list {
		services[s.Code] = s
	}
	return &emitter{write: write, written: map[string]bool{}, services: services, orgs: map[string]*Organization{}}, nil
}

// organization writes the organization of code once.
func (x *Exporter) organization(ctx context.Context, e *emitter, code string) error {
	o, ok := e.orgs[code]
	if !ok {
		org, err := x.reference.FindOrganizationByCode(ctx, code)
		if err != nil {
			return err
		}
		o = OrganizationOf(org)
		e.orgs[code] = o
	}
	return e.once("Organization", o.ID, o)
}

// statement writes the resources of one statement, reading its lines a page at a time: the
// provider and payer, then per encounter its patient, coverage and Claim (with, after review,
// its ClaimResponse and ExplanationOfBenefit), then a PaymentReconciliation per payment. It
// returns the statement as its first page was read.
func (x *Exporter) statement(ctx context.Context, e *emitter, id string) (*statements.Statement, error) {
	page := statements.LinesPage{Limit: linesPage}
	var first *statements.Statement
	var cur *claimGroup
	parts := map[string]int{} // encounter id -> claims written for it on this statement
	flush := func(st *statements.Statement) error {
		if cur == nil {
			return nil
		}
		g := cur
		cur = nil
		if err := e.once("Patient", resourceID(g.patientKey), PatientOf(g.patientKey)); err != nil {
			return err
		}
		cov := CoverageOf(st.PayerCode, g.patientKey)
		if err := e.once("Coverage", cov.ID, cov); err != nil {
			return err
		}
		claim, resp, eob := claimResources(st, g, e.services)
		if err := e.write("Claim", claim.ID, claim); err != nil {
			return err
		}
		if resp != nil {
			if err := e.write("ClaimResponse", resp.ID, resp); err != nil {
				return err
			}
			return e.write("ExplanationOfBenefit", eob.ID, eob)
		}
		return nil
	}
	for {
		st, err := x.statements.FindStatementPage(ctx, id, page)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = st
			for _, code := range []string{st.ProviderCode, st.PayerCode} {
				if err := x.organization(ctx, e, code); err != nil {
					return nil, err
				}
			}
		}
		for _, l := range st.Lines {
			if cur != nil && cur.encounter == l.EncounterID {
				cur.lines = append(cur.lines, l)
				continue
			}
			if err := flush(first); err != nil {
				return nil, err
			}
			// Lines come in service date and share order, so an encounter's lines are
			// together; should they not be, the later ones make a claim of their own.
			key := []string{first.ID, l.EncounterID}
			if n := parts[l.EncounterID]; n > 0 {
				key = append(key, strconv.Itoa(n))
			}
			parts[l.EncounterID]++
			cur = &claimGroup{key: digest(key...), encounter: l.EncounterID, patientKey: l.PatientKey, lines: []statements.StatementLine{l}}
		}
		if st.LinesNextCursor == nil {
			break
		}
		page.Cursor = *st.LinesNextCursor
	}
	if err := flush(first); err != nil {
		return nil, err
	}
	for i := range first.Payments {
		p := PaymentOf(first, &first.Payments[i])
		if err := e.write("PaymentReconciliation", p.ID, p); err != nil {
			return nil, err
		}
	}
	return first, nil
}

// bundleHead is a Bundle without its entries, which follow it as they are written.
type bundleHead struct {
	ResourceType string     `json:"resourceType"`
	ID           string     `json:"id"`
	Identifier   Identifier `json:"identifier"`
	Type         string     `json:"type"`
	Timestamp    string     `json:"timestamp"`
}

// WriteBundle writes statement id as a FHIR R4 Bundle of type collection (JSON) to w. It
// returns ENOTFOUND for a statement that is unknown or outside the caller's scope, before it
// writes anything.
func (x *Exporter) WriteBundle(ctx context.Context, id string, w io.Writer) error {
	var entries bytes.Buffer
	e, err := x.newEmitter(ctx, func(resourceType, rid string, resource any) error {
		b, err := json.Marshal(resource)
		if err != nil {
			return err
		}
		if entries.Len() > 0 {
			entries.WriteByte(',')
		}
		_, err = fmt.Fprintf(&entries, `{"fullUrl":%q,"resource":%s}`, Base+resourceType+"/"+rid, b)
		return err
	})
	if err != nil {
		return err
	}
	st, err := x.statement(ctx, e, id)
	if err != nil {
		return err
	}
	head, err := json.Marshal(bundleHead{ResourceType: "Bundle", ID: resourceID("statement-" + st.ID),
		Identifier: Identifier{System: SystemStatement, Value: st.Number}, Type: "collection",
		Timestamp: instant(trcledger.TimeOf(x.now()))})
	if err != nil {
		return err
	}
	// A bufio.Writer keeps its first error; Flush reports it.
	bw := bufio.NewWriter(w)
	_, _ = bw.Write(head[:len(head)-1])
	_, _ = bw.WriteString(`,"entry":[`)
	_, _ = bw.Write(entries.Bytes())
	_, _ = bw.WriteString("]}")
	return bw.Flush()
}

// Month is a month's statements ready to be exported; Prepare checks the request, so that a
// bad one is refused before anything is written.
type Month struct {
	x          *Exporter
	statements []*statements.Statement
}

// PrepareMonth finds the statements of period (YYYY-MM) the caller may see, of one payer and
// one provider when those are given, leaving out cancelled ones. It returns EINVALID for a
// period that is not YYYY-MM.
func (x *Exporter) PrepareMonth(ctx context.Context, period, payer, provider string) (*Month, error) {
	if _, err := time.Parse("2006-01", period); err != nil || len(period) != 7 {
		return nil, (&trcledger.Fields{}).AddErr("period", "must be a month written YYYY-MM")
	}
	list, err := x.statements.FindStatements(ctx, statements.StatementFilter{Period: period, PayerCode: payer, ProviderCode: provider})
	if err != nil {
		return nil, err
	}
	m := &Month{x: x}
	for _, st := range list {
		if st.Status != statements.StatusCancelled {
			m.statements = append(m.statements, st)
		}
	}
	return m, nil
}

// Statements is how many statements the month's export holds.
func (m *Month) Statements() int { return len(m.statements) }

// WriteNDJSON writes every resource of the month's statements to w, one JSON object a line,
// each statement read a page of lines at a time. Only the set of shared resources already
// written (organizations, patients, coverages) grows with the month.
func (m *Month) WriteNDJSON(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriter(w)
	e, err := m.x.newEmitter(ctx, func(_, _ string, resource any) error {
		b, err := json.Marshal(resource)
		if err != nil {
			return err
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
		return bw.WriteByte('\n')
	})
	if err != nil {
		return err
	}
	for _, st := range m.statements {
		if _, err := m.x.statement(ctx, e, st.ID); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// OperationOutcome is the line that ends an NDJSON export that failed after it began: the
// status is already sent, so the failure is told in the stream.
func OperationOutcome(diagnostics string) []byte {
	b, _ := json.Marshal(map[string]any{"resourceType": "OperationOutcome", "issue": []map[string]any{
		{"severity": "error", "code": "exception", "diagnostics": diagnostics}}})
	return append(b, '\n')
}
