package statements

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// pdfReplacement stands in the PDF for a character its fonts cannot show.
const pdfReplacement = '?'

// pdfGlyphs says which characters of the Basic Multilingual Plane both fonts of the statement
// PDF (Go regular and bold) have a glyph for; fpdf's UTF-8 fonts cover nothing beyond it.
var pdfGlyphs = sync.OnceValue(func() []bool {
	has := make([]bool, 0x10000)
	for i := range has {
		has[i] = true
	}
	for _, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			panic("claims: parse a built-in PDF font: " + err.Error())
		}
		var buf sfnt.Buffer
		for r := range has {
			if has[r] {
				g, err := f.GlyphIndex(&buf, rune(r))
				has[r] = err == nil && g != 0
			}
		}
	}
	return has
})

// pdfText returns s as the statement PDF can print it: a character outside the Basic
// Multilingual Plane (an emoji), one the fonts have no glyph for, a byte that is not UTF-8 and
// an unpaired surrogate become pdfReplacement; control characters (line breaks, tabs) become
// spaces. Without it fpdf panics on the first character beyond U+FFFF, and a statement that
// holds one could never be printed.
func pdfText(s string) string {
	glyphs := pdfGlyphs()
	ok := true
	for _, r := range s {
		if r == utf8.RuneError || r > 0xFFFF || !glyphs[r] || unicode.IsControl(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s { // an invalid byte comes out as utf8.RuneError
		switch {
		case unicode.IsControl(r):
			b.WriteByte(' ')
		case r == utf8.RuneError || r > 0xFFFF || !glyphs[r]:
			b.WriteRune(pdfReplacement)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
