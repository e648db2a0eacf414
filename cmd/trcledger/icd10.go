package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/trcledger/trcledger"
	"github.com/trcledger/trcledger/icd10"
)

// icd10Command is `trcledger icd10 load FILE`: it replaces the national ICD-10 list with the
// codes of a CSV file (icd10.ParseCSV: a header code,bs,hr,sr-Latn,sr-Cyrl,en, any of the
// languages, comma or semicolon separated). Nothing is written when a row is bad; every bad row
// is named.
func icd10Command(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 2 || args[0] != "load" {
		return errors.New("usage: trcledger icd10 load FILE (a CSV with a header such as code,bs,hr,sr-Latn,sr-Cyrl,en)")
	}
	f, err := os.Open(args[1]) //nolint:gosec // the operator names the file to load on the command line
	if err != nil {
		return fmt.Errorf("open %s: %w", args[1], err)
	}
	defer f.Close()
	codes, err := icd10.ParseCSV(f)
	if err != nil {
		return describe(args[1], err)
	}
	db, err := openDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := icd10.NewStore(db, time.Now).Load(ctx, codes, filepath.Base(args[1]))
	if err != nil {
		return describe(args[1], err)
	}
	fmt.Fprintf(stdout, "loaded %d ICD-10 codes from %s (%d new, %d no longer listed removed)\n", res.Codes, args[1], res.Added, res.Removed)
	return nil
}

// describe spells out every bad row of a refused file.
func describe(file string, err error) error {
	var e *trcledger.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	msg := fmt.Sprintf("%s was not loaded:", file)
	for _, fe := range e.Fields {
		msg += fmt.Sprintf("\n  %s: %s", fe.Field, fe.Message)
	}
	if e.Truncated() {
		msg += fmt.Sprintf("\n  ... and %d more", e.Total-len(e.Fields))
	}
	return errors.New(msg)
}
