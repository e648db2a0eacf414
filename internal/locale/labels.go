package locale

import "fmt"

// Labels are a printed document's words per locale: English, Bosnian, Croatian and Serbian
// Latin as written, Serbian Cyrillic transliterated from the Latin.
type Labels map[string]map[string]string

// NewLabels returns the labels of the five locales from the four written ones.
func NewLabels(en, bs, hr, srLatn map[string]string) Labels {
	cyr := make(map[string]string, len(srLatn))
	for k, v := range srLatn {
		cyr[k] = ToCyrillic(v)
	}
	return Labels{"en": en, "bs": bs, "hr": hr, "sr-Latn": srLatn, "sr-Cyrl": cyr}
}

// Get returns the label of key in loc (English when loc lacks it, the key when English does
// too), formatted with args.
func (l Labels) Get(loc, key string, args ...any) string {
	msg, ok := l[loc][key]
	if !ok {
		if msg, ok = l["en"][key]; !ok {
			msg = key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}
