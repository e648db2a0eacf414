package locale

import "strings"

// ToCyrillic transliterates Serbian Latin text to Serbian Cyrillic, letter by letter (lj, nj and
// dž are one letter each). fmt verbs (%s, %[2]d, %%) and {{...}} are kept as they are, and so
// are the words in latinWords (codes and units that stay Latin in Cyrillic text).
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
		if i == 0 || !isWordRune(rs[i-1]) { // a word that stays in Latin letters
			j := i
			for j < len(rs) && isWordRune(rs[j]) {
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

// latinWords stay in Latin letters in Cyrillic text: file formats, codes and names of systems.
var latinWords = map[string]bool{
	"CSV": true, "PDF": true, "ICD": true, "IOM": true, "API": true, "ID": true, "URL": true,
	"FHIR": true, "Excel": true, "trcledger": true, "UTF": true, "JSON": true, "SVG": true,
}
