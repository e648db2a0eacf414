// Package i18n holds the web application's catalogues and the formats of dates and amounts in
// each locale: bs, hr, sr-Latn, sr-Cyrl and en. Serbian Cyrillic is transliterated mechanically
// from the Serbian Latin catalogue. Catalogues are JSON files per locale and area
// (locales/<locale>/<area>.json), keyed "<area>.<name>"; problems.json maps the English format
// of a field message (trcledger.FieldError.Format) to its translation.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"github.com/trcledger/trcledger/internal/locale"
)

//go:embed locales
var files embed.FS

// Locales are the languages of the application; Default is used when nothing else decides.
var Locales = []string{"bs", "hr", "sr-Latn", "sr-Cyrl", "en"}

// Default is the locale of a visitor whose browser asks for none of ours.
const Default = "bs"

// catalogue is one locale's messages: keys, and problems (English format -> translation).
type catalogue struct {
	keys     map[string]string
	problems map[string]string
}

var catalogues = mustLoad()

// sourceLocales have their own files; sr-Cyrl is made from sr-Latn.
var sourceLocales = []string{"bs", "hr", "sr-Latn", "en"}

func mustLoad() map[string]*catalogue {
	out := map[string]*catalogue{}
	for _, loc := range sourceLocales {
		c, err := load(loc)
		if err != nil {
			panic(err)
		}
		out[loc] = c
	}
	cyr := &catalogue{keys: map[string]string{}, problems: map[string]string{}}
	for k, v := range out["sr-Latn"].keys {
		cyr.keys[k] = ToCyrillic(v)
	}
	for k, v := range out["sr-Latn"].problems {
		cyr.problems[k] = ToCyrillic(v)
	}
	out["sr-Cyrl"] = cyr
	return out
}

func load(locale string) (*catalogue, error) {
	c := &catalogue{keys: map[string]string{}, problems: map[string]string{}}
	dir := path.Join("locales", locale)
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil, fmt.Errorf("i18n: read %s: %w", dir, err)
	}
	for _, e := range entries {
		raw, err := files.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("i18n: %s/%s: %w", dir, e.Name(), err)
		}
		dst := c.keys
		if e.Name() == "problems.json" {
			dst = c.problems
		}
		for k, v := range m {
			if _, dup := dst[k]; dup {
				return nil, fmt.Errorf("i18n: %s: key %q is in two files", dir, k)
			}
			dst[k] = v
		}
	}
	return c, nil
}

// Keys returns every key of the locale's catalogue (for the completeness test).
func Keys(locale string) []string {
	c := catalogues[locale]
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.keys))
	for k := range c.keys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Problems returns every English problem format the locale translates.
func Problems(locale string) []string {
	c := catalogues[locale]
	if c == nil {
		return nil
	}
	out := make([]string, 0, len(c.problems))
	for k := range c.problems {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Supported reports whether locale is one of Locales.
func Supported(locale string) bool { return slices.Contains(Locales, locale) }

// Negotiate picks the locale for an Accept-Language header: the best of ours it names, else
// Default. Plain "sr" (and sr-RS, sr-BA) read as Serbian Latin, sr-Cyrl as Cyrillic
// (locale.Negotiate, which the printed statement shares).
func Negotiate(acceptLanguage string) string { return locale.Negotiate(acceptLanguage) }

// Name is each locale's own name, for the language switcher.
func Name(locale string) string {
	return map[string]string{"bs": "Bosanski", "hr": "Hrvatski", "sr-Latn": "Srpski", "sr-Cyrl": "Српски", "en": "English"}[locale]
}

// Translator speaks one locale.
type Translator struct {
	Locale string
	c      *catalogue
}

// For returns the translator of locale (Default for an unknown one).
func For(locale string) Translator {
	if c, ok := catalogues[locale]; ok {
		return Translator{Locale: locale, c: c}
	}
	return Translator{Locale: Default, c: catalogues[Default]}
}

// T returns the message of key, formatted with args (fmt verbs, %[n]s to reorder). A missing
// key shows as the key itself in brackets, which the catalogue test prevents from shipping.
func (tr Translator) T(key string, args ...any) string {
	msg, ok := tr.c.keys[key]
	if !ok {
		if msg, ok = catalogues["en"].keys[key]; !ok {
			return "[" + key + "]"
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Has reports whether the locale's catalogue holds key.
func (tr Translator) Has(key string) bool {
	_, ok := tr.c.keys[key]
	return ok
}

// Problem translates a field message made from the English format with args; an unknown format
// falls back to the English message.
func (tr Translator) Problem(format string, args []any, english string) string {
	if format == "" {
		return english
	}
	if msg, ok := tr.c.problems[format]; ok {
		return fmt.Sprintf(msg, args...)
	}
	return english
}

// Local reports whether the locale writes dates and amounts the local way (not en).
func (tr Translator) Local() bool { return locale.Local(tr.Locale) }
