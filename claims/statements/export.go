package statements

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ExportCSV writes the statement as CSV, one row a line, with its flags and decisions; it is
// read (and audited) as FindStatementByID reads it, from the replica when one is set and caught
// up (SetReplica), and returns its errors (ENOTFOUND) or a failure to write w.
func (s *Service) ExportCSV(ctx context.Context, id string, w io.Writer) error {
	st, err := s.exportStatement(ctx, id)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"statement", "period", "provider_code", "payer_code", "line_id", "encounter_id", "external_id", "line_no",
		"service_date", "service_code", "site_code", "patient_key", "beneficiary_category", "quantity", "line_amount", "basis_points",
		"amount", "flags", "decision", "approved_amount", "reason_code", "note", "diagnoses", "extrapolated"})
	for _, l := range st.Lines {
		approved := ""
		if l.ApprovedAmount != nil {
			approved = l.ApprovedAmount.String()
		}
		_ = cw.Write([]string{st.Number, st.Period, st.ProviderCode, st.PayerCode, fmt.Sprint(l.ID), l.EncounterID, csvSafe(l.ExternalID),
			fmt.Sprint(l.LineNo), l.ServiceDate.String(), l.ServiceCode, l.SiteCode, l.PatientKey, l.BeneficiaryCategory,
			l.Quantity.String(), l.LineAmount.String(), fmt.Sprint(l.BasisPoints), l.Amount.String(), strings.Join(l.Flags, ";"),
			str(l.Decision), approved, str(l.ReasonCode), csvSafe(str(l.Note)), strings.Join(l.Diagnoses, ";"), extrapolatedCell(l)})
	}
	cw.Flush()
	return cw.Error()
}

// extrapolatedCell says how an extrapolated line was decided: seed, percent and rate
// ("seed=42;percent=10;rate=0.125000"); empty for any other line.
func extrapolatedCell(l StatementLine) string {
	x := l.Extrapolation
	if x == nil {
		return ""
	}
	return fmt.Sprintf("seed=%d;percent=%d;rate=%s", x.Seed, x.SamplePercent, x.Rate)
}
