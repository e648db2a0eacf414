package locale

import (
	"strings"
	"unicode"
)

// ToCyrillic transliterates Serbian Latin text to Serbian Cyrillic, letter by letter (lj, nj and
// dž are one letter each). fmt verbs (%s, %[2]d, %%) and {{...}} are kept as they are, and so
// are the words in latinWords (codes, units and values a user types that stay Latin in
// Cyrillic text) and codes: a run of characters up to a space or punctuation that holds both a
// letter and a digit (J06.9, UTF-8), or an _, :, @, [ or = (asylum_seeker, payable:IOM:DZ-BIHAC).
func ToCyrillic(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == '%' { // a fmt verb: copy up to and including its letter
			j := i + 1
			for j < len(rs) && !isVerb(rs[j]) {
				j++
			}
			if j < len(rs) {
				b.WriteString(string(rs[i : j+1]))
				i = j
				continue
			}
		}
		if i == 0 || isTokenEnd(rs[i-1]) { // a code that stays as it is: J06.9, asylum_seeker, payable:IOM:X
			j := i
			for j < len(rs) && !isTokenEnd(rs[j]) {
				j++
			}
			if isCode(rs[i:j]) {
				b.WriteString(string(rs[i:j]))
				i = j - 1
				continue
			}
		}
		if i == 0 || !isWordRune(rs[i-1]) || isTokenEnd(rs[i-1]) { // a word that stays in Latin letters
			j := i
			for j < len(rs) && isWordRune(rs[j]) && !isTokenEnd(rs[j]) {
				j++
			}
			if latinWords[string(rs[i:j])] {
				b.WriteString(string(rs[i:j]))
				i = j - 1
				continue
			}
		}
		if i+1 < len(rs) {
			if c, ok := digraphs[string(rs[i:i+2])]; ok {
				b.WriteString(c)
				i++
				continue
			}
		}
		if c, ok := letters[r]; ok {
			b.WriteString(c)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isVerb(r rune) bool {
	return r == '%' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
}

var digraphs = map[string]string{
	"Lj": "Љ", "LJ": "Љ", "lj": "љ", "Nj": "Њ", "NJ": "Њ", "nj": "њ", "Dž": "Џ", "DŽ": "Џ", "dž": "џ",
}

var letters = map[rune]string{
	'A': "А", 'B': "Б", 'V': "В", 'G': "Г", 'D': "Д", 'Đ': "Ђ", 'E': "Е", 'Ž': "Ж", 'Z': "З", 'I': "И",
	'J': "Ј", 'K': "К", 'L': "Л", 'M': "М", 'N': "Н", 'O': "О", 'P': "П", 'R': "Р", 'S': "С", 'T': "Т",
	'Ć': "Ћ", 'U': "У", 'F': "Ф", 'H': "Х", 'C': "Ц", 'Č': "Ч", 'Š': "Ш",
	'a': "а", 'b': "б", 'v': "в", 'g': "г", 'd': "д", 'đ': "ђ", 'e': "е", 'ž': "ж", 'z': "з", 'i': "и",
	'j': "ј", 'k': "к", 'l': "л", 'm': "м", 'n': "н", 'o': "о", 'p': "п", 'r': "р", 's': "с", 't': "т",
	'ć': "ћ", 'u': "у", 'f': "ф", 'h': "х", 'c': "ц", 'č': "ч", 'š': "ш",
}

func isWordRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r > 127
}

// isTokenEnd ends a code: a space, or punctuation that is not part of one.
func isTokenEnd(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(",;()„“”\"'«»", r)
}

// isCode reports whether a token is a code to keep as it is (see ToCyrillic). MKB-10 (the
// Serbian name of ICD-10) is a word, written МКБ-10 in Cyrillic.
func isCode(tok []rune) bool {
	if strings.HasPrefix(string(tok), "MKB") {
		return false
	}
	letter, digit := false, false
	for i, r := range tok {
		switch {
		case r == '%': // a token with a fmt verb is left to the verb rule
			return false
		case strings.ContainsRune("_:@[=", r) && i < len(tok)-1: // not a colon ending a word
			return true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsLetter(r):
			letter = true
		}
	}
	return letter && digit
}

// latinWords stay in Latin letters in Cyrillic text: file formats, codes and names of systems.
var latinWords = map[string]bool{
	"CSV": true, "PDF": true, "ICD": true, "IOM": true, "API": true, "ID": true, "URL": true,
	"FHIR": true, "Excel": true, "trcledger": true, "UTF": true, "JSON": true, "SVG": true,
	// values of fields a user types or picks, named in problem messages
	"approve": true, "reject": true, "adjust": true, "fixed": true, "points": true, "provider": true, "payer": true,
	"secondary": true, "tertiary": true, "admin": true, "clinic": true, "reviewer": true, "finance": true,
	"unknown": true, "refugee": true, "F": true, "M": true, "X": true, "id": true, "BAM": true, "ISO": true, "NUL": true,
	"Save": true, "As": true, "Unicode": true, "Text": true, "Comma": true, "delimited": true, "curl": true,
}
