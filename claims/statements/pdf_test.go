package statements

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

func TestPDFText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"DZ Bihać — Borići, Đurđevik, Šćepan, Žepče", "DZ Bihać — Borići, Đurđevik, Šćepan, Žepče"},
		{"EMOJI-😀", "EMOJI-?"},
		{"a\x00b\tc\nd\x1b", "a b c d "},
		{"bad \xff\xfe bytes", "bad ?? bytes"},
		{"surrogate \xed\xa0\x80", "surrogate ???"},
		{"\uffff\U0010FFFF", "??"},
	} {
		if got := pdfText(tt.in); got != tt.want {
			t.Errorf("pdfText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzPDFStatement renders a statement whose texts (a record number, the parties' names and
// codes, flags, a decision) are arbitrary strings: it must always be a PDF, never a panic or
// an error.
func FuzzPDFStatement(f *testing.F) {
	f.Add("EMOJI-😀", "DZ Bihać", "ZZO-USK", "late", "approve")
	f.Add("👨‍👩‍👧‍👦 family", "Zavod zdravstvenog osiguranja Unsko-sanskog kantona", "IOM", "high_value", "")
	f.Add("\xff\xfe\xed\xa0\x80", "\x00\x01\x1b[31m", "\u202eRTL", "dup\nlicate", "reject")
	f.Add("مرحبا e\u0301 漢字", "\uffff\ufffe\U0010FFFF", "\U0001F1E7\U0001F1E6", "\t", "adjust")
	f.Add(strings.Repeat("Ž", 300), strings.Repeat("😀", 100), "", "", "")
	f.Fuzz(func(t *testing.T, record, name, code, flag, decision string) {
		amount := trcledger.NewAmount(decimal.RequireFromString("12.00"))
		st := &Statement{Number: "ST-2025-03-" + code, ProviderCode: code, PayerCode: "IOM", Period: "2025-03", Status: StatusSubmitted,
			Currency: "BAM", Claimed: amount, Paid: amount, Outstanding: amount, ContentHash: &name,
			Lines: []StatementLine{{ID: 1, ExternalID: record, ServiceCode: code, Quantity: decimal.NewFromInt(1), Amount: amount,
				Flags: []string{flag, record}, Decision: &decision, ApprovedAmount: &amount}}}
		var buf bytes.Buffer
		if err := writeStatementPDF(pdfDoc{st: st, locale: "sr-Cyrl", names: map[string]string{code: name, "IOM": record}, services: map[string]string{code: name}, place: record}, &buf); err != nil {
			t.Fatalf("render: %v", err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
			t.Fatalf("not a PDF: %q", buf.Bytes()[:min(buf.Len(), 16)])
		}
		glyphs := pdfGlyphs()
		for _, s := range []string{record, name, code, flag, decision} {
			out := pdfText(s)
			for _, r := range out {
				if r == utf8.RuneError || r > 0xFFFF || !glyphs[r] || unicode.IsControl(r) {
					t.Fatalf("pdfText(%q) = %q keeps %U", s, out, r)
				}
			}
			if utf8.ValidString(s) && utf8.RuneCountInString(out) != utf8.RuneCountInString(s) {
				t.Fatalf("pdfText(%q) = %q: not one character for one", s, out)
			}
		}
	})
}
