package icd10_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/icd10"
	"github.com/trcledger/trcledger/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestShippedListIsSeeded: the migration seeds exactly the shipped list (common.csv), every code
// titled in all five languages, and no national list counts as loaded.
func TestShippedListIsSeeded(t *testing.T) {
	t.Parallel()
	want, err := icd10.ParseCSV(bytes.NewReader(icd10.Common))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 60 || len(want) > 120 {
		t.Errorf("the shipped list has %d codes, want 60 to 120", len(want))
	}
	st := icd10.NewStore(pgtest.NewDB(t), time.Now)
	got, err := st.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Loaded || len(got.Codes) != len(want) {
		t.Fatalf("seeded %d codes (loaded %v), want %d", len(got.Codes), got.Loaded, len(want))
	}
	for _, w := range want {
		g := got.Find(w.Code)
		if g == nil {
			t.Errorf("%s is not seeded", w.Code)
			continue
		}
		for _, loc := range icd10.Locales {
			if g.Titles[loc] == "" || g.Titles[loc] != w.Titles[loc] {
				t.Errorf("%s in %s: seeded %q, common.csv %q", w.Code, loc, g.Titles[loc], w.Titles[loc])
			}
		}
	}
	for _, code := range []string{"J06.9", "A09", "K52.9", "L08.9", "T14.0", "Z00.0", "R50.9", "B86"} {
		if !got.Has(code) {
			t.Errorf("the shipped list lacks %s", code)
		}
	}
	if u := got.Unknown([]string{"A00.0"}); len(u) != 0 {
		t.Errorf("without a national list nothing is unknown, got %v", u)
	}
}

// TestLoadReplacesTheNationalList: a load adds its codes and titles, keeps the shipped ones, and
// a second load drops the codes of the first that are in neither list.
func TestLoadReplacesTheNationalList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := icd10.NewStore(pgtest.NewDB(t), time.Now)
	first, err := icd10.ParseCSV(strings.NewReader("\ufeffcode;bs;EN\nA00.0;Kolera;Cholera\nj06.9;Prehlada (nacionalni naziv);\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Load(ctx, first, "first.csv")
	if err != nil || res.Codes != 2 || res.Added != 1 || res.Removed != 0 {
		t.Fatalf("first load: %+v %v", res, err)
	}
	l, err := st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Loaded || l.Find("A00.0").Titles["en"] != "Cholera" || l.Find("J06.9").Titles["bs"] != "Prehlada (nacionalni naziv)" ||
		l.Find("J06.9").Titles["en"] != "Acute upper respiratory infection, unspecified" {
		t.Errorf("after the first load: %+v %+v", l.Find("A00.0"), l.Find("J06.9"))
	}
	if u := l.Unknown([]string{"A00.0", "b86", "X99.9"}); len(u) != 1 || u[0] != "X99.9" {
		t.Errorf("unknown: %v, want X99.9", u)
	}
	second, _ := icd10.ParseCSV(strings.NewReader("code,en\nA01.0,Typhoid fever\n"))
	res, err = st.Load(ctx, second, "second.csv")
	if err != nil || res.Added != 1 || res.Removed != 1 {
		t.Fatalf("second load: %+v %v", res, err)
	}
	l, _ = st.List(ctx)
	if l.Has("A00.0") || !l.Has("A01.0") || !l.Has("J06.9") {
		t.Errorf("after the second load: A00.0 %v, A01.0 %v, J06.9 %v", l.Has("A00.0"), l.Has("A01.0"), l.Has("J06.9"))
	}
}

func TestParseCSVNamesEveryBadRow(t *testing.T) {
	t.Parallel()
	_, err := icd10.ParseCSV(strings.NewReader("code,bs,xx\n"))
	if err == nil || !strings.Contains(fieldsOf(err), `unknown column "xx"`) {
		t.Errorf("unknown column: %v", err)
	}
	_, err = icd10.ParseCSV(strings.NewReader("code,en\nJ06.9,Cold\nnot a code,X\nJ06.9,Again\nR51,\n"))
	if err == nil {
		t.Fatal("bad rows accepted")
	}
	for _, want := range []string{"row 3", "row 4", "row 5"} {
		if !strings.Contains(fieldsOf(err), want) {
			t.Errorf("%s not named: %s", want, fieldsOf(err))
		}
	}
}

// fieldsOf lists the fields an error names.
func fieldsOf(err error) string {
	var e *trcledger.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Field+": "+f.Message)
	}
	return strings.Join(names, "; ")
}
