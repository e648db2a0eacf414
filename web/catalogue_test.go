package web_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trcledger/trcledger/claims/statements"
	"github.com/trcledger/trcledger/internal/access"
	"github.com/trcledger/trcledger/web/i18n"
)

// TestEveryLocaleHasEveryKey fails when a key is in one locale's catalogue and not in another's,
// or when a key the pages use (a string literal in web's Go files or templates that looks like
// a catalogue key) is in none.
func TestEveryLocaleHasEveryKey(t *testing.T) {
	en := i18n.Keys("en")
	if len(en) == 0 {
		t.Fatal("no English catalogue")
	}
	for _, loc := range i18n.Locales {
		keys := i18n.Keys(loc)
		for _, k := range en {
			if !slices.Contains(keys, k) {
				t.Errorf("%s lacks %q", loc, k)
			}
		}
		for _, k := range keys {
			if !slices.Contains(en, k) {
				t.Errorf("%s has %q, which English lacks", loc, k)
			}
		}
		if got, want := i18n.Problems(loc), i18n.Problems("en"); !slices.Equal(got, want) {
			t.Errorf("%s translates %d problem messages, English lists %d", loc, len(got), len(want))
		}
	}
	used := usedKeys(t)
	if len(used) < 20 {
		t.Fatalf("found only %d keys in use; the scan is broken", len(used))
	}
	for k, where := range used {
		if !slices.Contains(en, k) {
			t.Errorf("%s uses %q, which no catalogue has", where, k)
		}
	}
	for _, role := range access.Roles { // keys made at run time: (print "common.role." .User.Role)
		if !slices.Contains(en, "common.role."+role) {
			t.Errorf("no name for role %s", role)
		}
	}
	for _, flag := range statements.LineFlags { // (print "review.flag." .)
		if !slices.Contains(en, "review.flag."+flag) {
			t.Errorf("no name for line flag %s on the review pages", flag)
		}
	}
}

// keyLiteral is a quoted catalogue key: an area prefix, a dot, then names.
var keyLiteral = regexp.MustCompile(`"((?:common|login|clinic|review|finance|admin|report|icd)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*)"`)

func usedKeys(t *testing.T) map[string]string {
	t.Helper()
	used := map[string]string{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") || strings.HasPrefix(p, "i18n") {
			return err
		}
		if !strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, ".html") && !strings.HasSuffix(p, ".js") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range keyLiteral.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") {
				used[m[1]] = p
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return used
}
