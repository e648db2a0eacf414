package icd10

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/trcledger/trcledger"
)

// MaxCodes is the most codes one file may hold (the full ICD-10 has about 14,000).
const MaxCodes = 100000

const maxTitle = 300

// ParseCSV reads a code list: a header row naming the column "code" and one column per locale
// it gives titles in (any of bs, hr, sr-Latn, sr-Cyrl, en, in any order, case ignored), then one
// row per code. Commas or semicolons (what Excel writes in the local languages) separate the
// columns; a UTF-8 byte order mark is skipped. An empty title cell leaves that locale's title as
// it was. It returns EINVALID naming every bad row (row 1 is the header).
func ParseCSV(r io.Reader) ([]Code, error) {
	br := bufio.NewReader(r)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	first, _ := br.Peek(4096)
	line, _, _ := bytes.Cut(first, []byte("\n"))
	cr := csv.NewReader(br)
	if bytes.Count(line, []byte(";")) > bytes.Count(line, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	var f trcledger.Fields
	header, err := cr.Read()
	if err != nil {
		return nil, f.AddErr("row 1", "the file must start with a header row such as code,bs,hr,sr-Latn,sr-Cyrl,en")
	}
	cols := make([]string, len(header)) // column -> locale, "code" or ""
	hasCode := false
	for i, h := range header {
		h = strings.TrimSpace(h)
		switch {
		case strings.EqualFold(h, "code"):
			cols[i], hasCode = "code", true
		default:
			for _, loc := range Locales {
				if strings.EqualFold(h, loc) {
					cols[i] = loc
				}
			}
			if cols[i] == "" {
				f.Add("row 1", "unknown column %q: use code and any of %s", h, strings.Join(Locales, ", "))
			}
		}
	}
	if !hasCode {
		f.Add("row 1", "the header names no column code")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out []Code
	seen := map[string]int{}
	for row := 2; !f.Full(); row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		field := fmt.Sprintf("row %d", row)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				f.Add(field, "cannot be read as CSV: %v", pe.Err)
				continue
			}
			return nil, fmt.Errorf("read icd-10 file: %w", err)
		}
		if len(out) >= MaxCodes {
			return nil, f.AddErr(field, "a list holds at most %d codes", MaxCodes)
		}
		c := Code{Titles: map[string]string{}}
		blank := true
		for i, v := range rec {
			v = strings.TrimSpace(v)
			if v != "" {
				blank = false
			}
			switch {
			case i >= len(cols):
				if v != "" {
					f.Add(field, "has more cells than the header")
				}
			case cols[i] == "code":
				c.Code = Normalize(v)
			case v == "":
			case !utf8.ValidString(v):
				f.Add(field, "the title in %s is not UTF-8 text; save the file as CSV UTF-8", cols[i])
			case utf8.RuneCountInString(v) > maxTitle:
				f.Add(field, "the title in %s is longer than %d characters", cols[i], maxTitle)
			default:
				c.Titles[cols[i]] = v
			}
		}
		switch {
		case blank:
			continue
		case !Pattern.MatchString(c.Code):
			f.Add(field, "%q is not an ICD-10 code such as J06.9", c.Code)
			continue
		case len(c.Titles) == 0:
			f.Add(field, "code %s has no title", c.Code)
			continue
		}
		if prev, dup := seen[c.Code]; dup {
			f.Add(field, "code %s is on row %d too", c.Code, prev)
			continue
		}
		seen[c.Code] = row
		out = append(out, c)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, f.AddErr("row 2", "the file holds no codes")
	}
	return out, nil
}
