package statements_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/internal/demo"
)

// TestExportPDFIn prints a statement from the database: the service names from the catalogue,
// the provider's jurisdiction as the place of issue (or the configured place), the draft
// watermark before submission only, and a rejected line's reason in the reader's language.
func TestExportPDFIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.PostOn(t, "MAR-1", "P1", "2025-03-03")
	f.PostOn(t, "MAR-2", "P2", "2025-03-04")
	st, err := f.Svc.CreateStatement(finance, demo.ProviderDZBihac, demo.PayerZZOUSK, "2025-03")
	if err != nil {
		t.Fatal(err)
	}
	print := func(loc string) string {
		t.Helper()
		var buf bytes.Buffer
		if err := f.Svc.ExportPDFIn(reviewer, st.ID, loc, &buf); err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		return strings.Join(strings.Fields(statements.PDFToText(t, buf.Bytes(), true)), " ")
	}
	draft := print("sr-Cyrl")
	for _, want := range []string{"Извештај о потраживањима ST-2025-03-DZBIHAC-ZZOUSK", "НАЦРТ", "1. 03.03.2025. MAR-1 PZZ-01 GP consultation",
		"2. 04.03.2025. MAR-2 PZZ-01 GP consultation", "Место и датум издавања: Una-Sana Canton, 23.11.2026.", "Потраживано 24,00 КМ"} {
		if !strings.Contains(draft, want) {
			t.Errorf("the draft lacks %q:\n%s", want, draft)
		}
	}
	if _, err := f.Svc.SubmitStatement(finance, st.ID); err != nil {
		t.Fatal(err)
	}
	full, _ := f.Svc.FindStatementByID(reviewer, st.ID)
	if _, err := f.Svc.Decide(reviewer, st.ID, []statements.Decision{
		{LineID: full.Lines[0].ID, Decision: "approve"},
		{LineID: full.Lines[1].ID, Decision: "reject", ReasonCode: "not_eligible", Note: "kartica istekla 01.03.2025."},
	}); err != nil {
		t.Fatal(err)
	}
	f.Svc.SetIssuePlace("Bihać")
	submitted := print("bs")
	for _, want := range []string{"Izvještaj o potraživanjima", "Status U pregledu", "1. 03.03.2025. MAR-1 PZZ-01 GP consultation 1 12,00 Odobreno 12,00",
		"2. 04.03.2025. MAR-2 PZZ-01 GP consultation 1 12,00 Odbijeno 0,00 Razlog: Nema pravo na uslugu — kartica istekla 01.03.2025.",
		"Mjesto i datum izdavanja: Bihać, 23.11.2026.", "Potraživano 24,00 KM"} {
		if !strings.Contains(submitted, want) {
			t.Errorf("the submitted statement lacks %q:\n%s", want, submitted)
		}
	}
	if strings.Contains(submitted, "NACRT") {
		t.Errorf("a submitted statement carries the draft watermark")
	}
	var buf bytes.Buffer
	if err := f.Svc.ExportPDFIn(reviewer, st.ID, "de", &buf); trcledger.ErrorCode(err) != trcledger.EINVALID {
		t.Errorf("locale de: %v", err)
	}
}
