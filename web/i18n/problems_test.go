package i18n

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestEveryProblemFormatIsTranslated scans the repository's Go code (not its tests) for the
// formats of field messages — the literal second argument of Fields.Add and Fields.AddErr, and
// the literal argument of every function that passes one of its string parameters on as such a
// format (invalidBecause, a closure add := func(field, format string, ...)) — and fails when a locale's problems.json
// lacks one, or translates one with other fmt verbs than English. The failure lists the
// missing formats as JSON members to paste into web/i18n/locales/<locale>/problems.json.
func TestEveryProblemFormatIsTranslated(t *testing.T) {
	used := problemFormats(t, filepath.Join("..", ".."))
	if len(used) < 100 {
		t.Fatalf("found only %d problem formats; the scan is broken", len(used))
	}
	formats := slices.Sorted(maps.Keys(used))
	for _, loc := range Locales {
		problems := catalogues[loc].problems
		var missing, where []string
		for _, f := range formats {
			msg, ok := problems[f]
			if !ok {
				q := jsonString(f)
				missing = append(missing, fmt.Sprintf("  %s: %s,", q, q))
				where = append(where, fmt.Sprintf("  %s: %s", used[f], q))
				continue
			}
			if got, want := verbArgs(msg), verbArgs(f); !slices.Equal(got, want) {
				t.Errorf("%s translates %q as %q: its fmt verbs %v differ from English's %v", loc, f, msg, got, want)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s/problems.json lacks %d problem formats; add these members, translated:\n%s\nused at:\n%s",
				loc, len(missing), strings.Join(missing, "\n"), strings.Join(where, "\n"))
		}
	}
	for f := range catalogues["en"].problems {
		if _, ok := used[f]; !ok {
			t.Logf("problems.json translates %q, which no code uses any more", f)
		}
	}
}

// TestProblemTranslations: a field message reads in the reader's language, its arguments in
// place; an unknown format keeps the English message.
func TestProblemTranslations(t *testing.T) {
	for _, c := range []struct {
		loc, format string
		args        []any
		want        string
	}{
		{"en", "must be at most %d characters", []any{200}, "must be at most 200 characters"},
		{"bs", "is required", nil, "obavezno polje"},
		{"sr-Cyrl", "is required", nil, "обавезно поље"},
		{"hr", "unknown service %s", []any{"PZZ-99"}, "nepoznata usluga PZZ-99"},
		{"bs", "unknown %s %s", []any{"site", "TRC-X"}, "nepoznata šifra TRC-X (site)"},
		{"bs", "no such format %s", []any{"x"}, "the English message"},
	} {
		if got := For(c.loc).Problem(c.format, c.args, "the English message"); got != c.want {
			t.Errorf("%s %q = %q, want %q", c.loc, c.format, got, c.want)
		}
	}
}

// verbArgs lists the fmt verbs of a format as "argument:verb", sorted, so that a translation
// may reorder them with %[n] but must keep each argument's verb.
func verbArgs(format string) []string {
	var out []string
	next := 1
	for _, m := range fmtVerb.FindAllStringSubmatch(format, -1) {
		if m[0] == "%%" {
			continue
		}
		if m[1] != "" {
			next, _ = strconv.Atoi(m[1])
		}
		out = append(out, fmt.Sprintf("%d:%s", next, m[2]))
		next++
	}
	slices.Sort(out)
	return out
}

var fmtVerb = regexp.MustCompile(`%%|%(?:\[(\d+)\])?[-+# 0]*\d*(?:\.\d+)?([a-zA-Z])`)

// jsonString is s as a JSON string, <, > and & as they are.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(b.String())
}

// fieldAdders are the methods of trcledger.Fields that take (field, format, args...).
var fieldAdders = map[string]int{"Add": 1, "AddErr": 1}

// wrapperKey names a function that passes a format on: unexported ones by their directory.
func wrapperKey(dir, name string) string {
	if name != "" && unicode.IsUpper([]rune(name)[0]) {
		return name
	}
	return dir + ":" + name
}

// problemFormats returns every literal format passed to Fields.Add or AddErr, directly or
// through a wrapper, in the non-test Go files under root, with where it was found.
func problemFormats(t *testing.T, root string) map[string]string {
	t.Helper()
	type file struct {
		dir string
		f   *ast.File
	}
	var files []file
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "var" || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, 0)
		if err != nil {
			return err
		}
		files = append(files, file{filepath.Dir(p), f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// calleeIndex says at which argument a call takes a format: a Fields method, or a wrapper.
	wrappers := map[string]int{}
	calleeIndex := func(dir string, call *ast.CallExpr) (int, bool) {
		switch fn := call.Fun.(type) {
		case *ast.SelectorExpr:
			if i, ok := fieldAdders[fn.Sel.Name]; ok && !strings.Contains(exprString(fn.X), "Header") {
				return i, true
			}
			i, ok := wrappers[wrapperKey(dir, fn.Sel.Name)]
			return i, ok
		case *ast.Ident:
			i, ok := wrappers[wrapperKey(dir, fn.Name)]
			return i, ok
		}
		return 0, false
	}
	// A function whose parameter named format goes on as another format is a wrapper; repeat
	// until no new one is found (a wrapper of a wrapper).
	for changed := true; changed; {
		changed = false
		for _, fl := range files {
			ast.Inspect(fl.f, func(n ast.Node) bool {
				var name string
				var typ *ast.FuncType
				var body *ast.BlockStmt
				switch n := n.(type) {
				case *ast.FuncDecl:
					name, typ, body = n.Name.Name, n.Type, n.Body
				case *ast.AssignStmt: // add := func(field, format string, args ...any) {...}
					if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
						if id, ok := n.Lhs[0].(*ast.Ident); ok {
							if lit, ok := n.Rhs[0].(*ast.FuncLit); ok {
								name, typ, body = id.Name, lit.Type, lit.Body
							}
						}
					}
				}
				if body == nil {
					return true
				}
				key := wrapperKey(fl.dir, name)
				if _, known := wrappers[key]; known {
					return true
				}
				params, idx := map[string]int{}, 0 // the string parameters, by name
				for _, fld := range typ.Params.List {
					isString := false
					if id, ok := fld.Type.(*ast.Ident); ok && id.Name == "string" {
						isString = true
					}
					for _, id := range fld.Names {
						if isString {
							params[id.Name] = idx
						}
						idx++
					}
					if len(fld.Names) == 0 {
						idx++
					}
				}
				if len(params) == 0 {
					return true
				}
				ast.Inspect(body, func(m ast.Node) bool {
					call, ok := m.(*ast.CallExpr)
					if !ok {
						return true
					}
					if i, ok := calleeIndex(fl.dir, call); ok && i < len(call.Args) {
						if id, ok := call.Args[i].(*ast.Ident); ok {
							if param, ok := params[id.Name]; ok {
								wrappers[key], changed = param, true
							}
						}
					}
					return true
				})
				return true
			})
		}
	}

	used := map[string]string{}
	for _, fl := range files {
		ast.Inspect(fl.f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			i, ok := calleeIndex(fl.dir, call)
			if !ok || i >= len(call.Args) {
				return true
			}
			if s, ok := stringLiteral(call.Args[i]); ok {
				if _, seen := used[s]; !seen {
					pos := fset.Position(call.Pos())
					rel, _ := filepath.Rel(root, pos.Filename)
					used[s] = fmt.Sprintf("%s:%d", filepath.ToSlash(rel), pos.Line)
				}
			}
			return true
		})
	}
	return used
}

// stringLiteral is the value of a string literal, or of literals joined with +.
func stringLiteral(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, ok1 := stringLiteral(e.X)
		b, ok2 := stringLiteral(e.Y)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return stringLiteral(e.X)
	}
	return "", false
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	case *ast.CallExpr:
		return exprString(e.Fun) + "()"
	}
	return ""
}
