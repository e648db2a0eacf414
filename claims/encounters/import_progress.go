package encounters

import (
	"bytes"
	"slices"
)

// ImportProgress is what one chunk of an import made of its rows, told (ImportOptions.Progress)
// once the chunk has committed, in file order. LastRow is the last row of the file the chunk
// covers: chunks cover the file in order, so every row up to LastRow is done. The same file
// read again is cut into the same chunks, with the same LastRow each.
type ImportProgress struct {
	Accepted, Skipped, Rejected int
	LastRow                     int
	// Errors are the chunk's rejected rows (at most MaxImportErrors of them, in file order);
	// ErrorsTruncated says some were left out.
	Errors          []ImportError
	ErrorsTruncated bool
	// Header is the file's header row as written, when ImportOptions.KeepRejectedRows is set.
	Header []string
}

// progressOf is what chunk b made of its rows.
func progressOf(b *importBatch, header []string) ImportProgress {
	p := ImportProgress{Header: header}
	last := 0
	for _, r := range []*ImportResult{b.scanned, b.priced} {
		if r == nil {
			continue
		}
		p.Accepted += r.Accepted
		p.Skipped += r.Skipped
		p.Rejected += r.Rejected
		p.Errors = append(p.Errors, r.Errors...)
		p.ErrorsTruncated = p.ErrorsTruncated || r.ErrorsTruncated
		for _, e := range r.Errors {
			last = max(last, e.Row)
		}
	}
	if n := len(b.groups); n > 0 {
		g := b.groups[n-1]
		if m := len(g.rows); m > 0 {
			last = max(last, g.rows[m-1].n)
		}
	}
	slices.SortStableFunc(p.Errors, func(a, b ImportError) int { return a.Row - b.Row })
	p.LastRow = last
	return p
}

// CheckImportHeader reads the start of an import file as ImportFile would, and returns the
// error ImportFile would return for its header row or character set (EINVALID, EUNSUPPORTED),
// or nil. start is the beginning of the file (its first MiB is enough).
func CheckImportHeader(start []byte, charset string) error {
	cr, err := newCSVReader(bytes.NewReader(start), charset)
	if err != nil {
		return err
	}
	header, err := cr.header()
	if err != nil {
		return readFailure(err, cr.line)
	}
	_, err = readHeader(header)
	return err
}
