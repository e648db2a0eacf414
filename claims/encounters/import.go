package encounters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/trcledger/trcledger"
)

// ImportColumns are the columns of an import file, in the order of the sample file; the header
// row names them, in any order. One row is one line; consecutive rows with the same external_id
// are one encounter and repeat its encounter columns.
var ImportColumns = importColumns[:]

var requiredColumns = []string{"external_id", "contract_code", "site_code", "patient_id", "beneficiary_category", "service_date", "kind", "service_code", "quantity"}

// encounterColumns of a row that must agree across the rows of one encounter.
var encounterLevel = ImportColumns[:15]

// ImportError says why a row was not imported.
type ImportError struct {
	Row     int    `json:"row"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Cells are the row's cells in the file's column order, kept only when
	// ImportOptions.KeepRejectedRows asks for them (nil when the row could not be split into
	// cells, or beyond the budget of kept rows); the patient_id cell is always empty.
	Cells []string `json:"-"`
}

// ImportResult counts the data rows of a file: accepted (posted now), skipped (already imported
// with the same content) and rejected (listed in Errors, at most MaxImportErrors of them).
type ImportResult struct {
	Accepted        int           `json:"accepted"`
	Skipped         int           `json:"skipped"`
	Rejected        int           `json:"rejected"`
	Errors          []ImportError `json:"errors"`
	ErrorsTruncated bool          `json:"errors_truncated"`
	// Header is the file's header row as written, when ImportOptions.KeepRejectedRows is set.
	Header []string `json:"-"`

	keep *rowKeeper // where rejected rows' cells are kept; nil: not kept

	progress func(ImportProgress) error // ImportOptions.Progress
}

// MaxImportErrors caps the error list of one import.
const MaxImportErrors = 1000

// importChunk is how many encounters are posted per database transaction.
const importChunk = 2000

// importChunkBytes caps what one chunk's rows take in memory: the text of each row plus
// importRowOverhead, so that chunks of long rows, and chunks of many short ones, stay small.
const importChunkBytes = 4 << 20

// importRowOverhead is what a row kept for its encounter takes besides its text: its cells
// (a string header each, ImportColumns of them) and its place in its group.
const importRowOverhead = 384

// importChunkRows caps the rows of one chunk, whatever they take.
const importChunkRows = 20_000

// importStorers is how many chunks of one import are stored at once. Two chunks meet as two
// server processes would: the unique index on external ids decides, and every write takes its
// keys in one order.
const importStorers = 2

// importRow is one data row: its number and its cells, indexed as ImportColumns (a column
// the file does not have is empty). The cells share one string, the row's text.
type importRow struct {
	n     int
	cells [len(importColumns)]string
}

// importColumns is ImportColumns as an array, so that a row's cells can be one.
var importColumns = [...]string{"external_id", "contract_code", "site_code", "patient_id", "beneficiary_category", "sex",
	"birth_year", "service_date", "kind", "diagnoses", "referral_number", "referral_to_level", "referral_to_provider_code",
	"practitioner_ref", "corrects", "service_code", "quantity"}

// columnIndex is the index of each column in importColumns.
var columnIndex = func() map[string]int {
	m := make(map[string]int, len(importColumns))
	for i, c := range importColumns {
		m[c] = i
	}
	return m
}()

// get returns the row's cell in column c (one of ImportColumns).
func (r *importRow) get(c string) string { return r.cells[columnIndex[c]] }

// importGroup is one encounter's rows. Rows beyond MaxLines are not kept: they are rejected as
// they are read and counted in overflow, and the whole encounter is refused.
type importGroup struct {
	rows     []importRow
	overflow int
	size     int // bytes the rows take: their text and importRowOverhead each
}

// ImportOptions say how to read an import file.
type ImportOptions struct {
	// Charset is the character set the client declared (charset= of its Content-Type):
	// utf-8, windows-1250 or iso-8859-2; empty means detect it (UTF-8 unless a line is not).
	Charset string
	// KeepRejectedRows keeps the cells of rejected rows (ImportError.Cells, at most
	// maxKeptBytes of them) and the header (ImportResult.Header), for a report of the rows to
	// fix; the raw patient id is never kept.
	KeepRejectedRows bool
	// Progress, when set, is told what each chunk made of its rows once it has committed, in
	// file order (import_progress.go); an error it returns stops the import with that error.
	Progress func(ImportProgress) error
}

// maxKeptBytes caps the text of the rejected rows one import keeps for its report.
const maxKeptBytes = 8 << 20

// rowKeeper keeps the cells of rejected rows, in the file's column order, within a budget
// shared by the goroutines of one import.
type rowKeeper struct {
	cols []string // the file's columns as readHeader named them
	left atomic.Int64
}

func newRowKeeper(cols []string) *rowKeeper {
	k := &rowKeeper{cols: cols}
	k.left.Store(maxKeptBytes)
	return k
}

// take returns a copy of cells with the patient_id cell emptied, or nil when the budget is spent.
func (k *rowKeeper) take(cells []string) []string {
	if k == nil || cells == nil {
		return nil
	}
	n := int64(0)
	for _, c := range cells {
		n += int64(len(c)) + 16
	}
	if k.left.Add(-n) < 0 {
		return nil
	}
	out := slices.Clone(cells)
	for i, c := range k.cols {
		if c == "patient_id" && i < len(out) {
			out[i] = "" // never echo a patient id
		}
	}
	return out
}

// fileCells returns the cells of row in the file's column order (a column the import does not
// read is empty).
func (k *rowKeeper) fileCells(row *importRow) []string {
	if k == nil {
		return nil
	}
	out := make([]string, len(k.cols))
	for i, c := range k.cols {
		if j, ok := columnIndex[c]; ok {
			out[i] = row.cells[j]
		}
	}
	return k.take(out)
}

// Import reads a CSV file as a stream and posts its encounters in chunks: good rows are posted,
// bad rows are reported with their row number (the header is row 1), and rows of an encounter
// already imported with the same content are skipped, so a clinic can fix its spreadsheet and
// upload the whole file again. A bad header is EINVALID and imports nothing; a body that
// cannot be read to its end (cut off) is EMALFORMED. docs/import-formats.md says which files
// are read (delimiters, character sets, dates, decimal commas) and the limits of a row.
func (s *Service) Import(ctx context.Context, r io.Reader) (*ImportResult, error) {
	return s.ImportFile(ctx, r, ImportOptions{})
}

// ImportFile is Import with the options the client gave; an unknown charset is EUNSUPPORTED.
func (s *Service) ImportFile(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportResult, error) {
	cr, err := newCSVReader(r, opts.Charset)
	if err != nil {
		return nil, err
	}
	header, err := cr.header()
	if err != nil {
		return nil, readFailure(err, cr.line)
	}
	cols, err := readHeader(header)
	if err != nil {
		return nil, err
	}
	cr.cols = cols
	var keep *rowKeeper
	if opts.KeepRejectedRows {
		keep = newRowKeeper(cols)
	}
	// A pipeline: a goroutine reads and prices the next chunk while importStorers chunks are
	// stored at once, each in its own transaction on its own connection, so the CPU work of
	// pricing and of two database sessions overlap. Outcomes are merged in file order.
	ctx, cancel := context.WithCancel(ctx)
	chunks := make(chan *importBatch, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		defer func() {
			if p := recover(); p != nil {
				readErr <- fmt.Errorf("import reader: panic: %v", p)
			}
		}()
		readErr <- s.readChunks(ctx, cr, cols, keep, chunks)
	}()
	// However this function ends (a panic included), the reader has stopped reading the
	// request's body before it returns.
	defer func() {
		cancel()
		for range chunks {
		}
	}()
	res := &ImportResult{Errors: []ImportError{}, progress: opts.Progress}
	if keep != nil {
		res.Header = make([]string, len(header))
		for i, h := range header {
			res.Header[i] = strings.TrimPrefix(h, "\ufeff")
		}
	}
	err = s.storeChunks(ctx, cancel, chunks, res)
	if rerr := <-readErr; err == nil && rerr != nil {
		err = readFailure(rerr, cr.line)
	}
	if err != nil {
		return nil, err
	}
	// A chunk's malformed rows are known before its invalid ones: list them all in file order.
	slices.SortStableFunc(res.Errors, func(a, b ImportError) int { return a.Row - b.Row })
	if s.sealer != nil && res.Accepted > 0 {
		s.sealer.Kick()
	}
	return res, nil
}

// storeChunks stores the priced chunks as they come, importStorers at once, and merges their
// outcomes into res in file order. An encounter that comes back in a later chunk must meet the
// first one committed (and be skipped or refused), never race it: such a chunk waits for the
// chunks before it that hold its external ids. After a failure it cancels the reader and
// drains what it had ready.
func (s *Service) storeChunks(ctx context.Context, cancel context.CancelFunc, chunks <-chan *importBatch, res *ImportResult) error {
	var err error
	var inFlight []storing
	finish := func() { // waits for the oldest chunk being stored
		st := inFlight[0]
		inFlight = inFlight[1:]
		if serr := <-st.done; serr != nil && err == nil {
			err = serr
			cancel()
		}
		if err == nil {
			res.merge(st.b.scanned)
			res.merge(st.b.priced)
			if res.progress != nil {
				if perr := res.progress(progressOf(st.b, res.Header)); perr != nil {
					err = perr
					cancel()
				}
			}
		}
	}
	for b := range chunks {
		if err != nil {
			continue // drain what the reader had ready; it stops at the cancelled context
		}
		for len(inFlight) > 0 && sharesExternalID(b, inFlight) {
			finish()
		}
		if err != nil {
			continue
		}
		st := storing{b: b, done: make(chan error, 1)}
		go func() {
			defer func() {
				if p := recover(); p != nil {
					st.done <- fmt.Errorf("import: panic: %v", p)
				}
			}()
			st.done <- s.storeBatch(ctx, st.b)
		}()
		inFlight = append(inFlight, st)
		if len(inFlight) >= importStorers {
			finish()
		}
	}
	for len(inFlight) > 0 {
		finish()
	}
	return err
}

// LimitImport returns r read up to max bytes: a body longer than that stops the import at the
// row it reached, with ETOOLARGE (413), once the chunks before that row are stored. The row
// the limit cuts, and the rows of the encounter it belongs to, are not imported.
func LimitImport(r io.Reader, max int64) io.Reader { return &limitedBody{r: r, left: max, max: max} }

type limitedBody struct {
	r         io.Reader
	left, max int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 { // is there more? then the body is too large
		var one [1]byte
		for {
			n, err := l.r.Read(one[:])
			if n > 0 {
				return 0, &tooLargeError{limit: l.max}
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// tooLargeError is a body beyond LimitImport's limit: reached is the row the limit cuts, from
// the first row not imported (the first of the encounter that may go on in the cut row).
type tooLargeError struct {
	limit         int64
	reached, from int
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("the body is longer than %d bytes", e.limit)
}

// readFailure turns a failure to read the body into EMALFORMED, or ETOOLARGE for a body
// beyond LimitImport's limit; other errors pass unchanged.
func readFailure(err error, line int) error {
	var tl *tooLargeError
	if errors.As(err, &tl) {
		if tl.reached == 0 {
			tl.reached, tl.from = line+1, line+1
		}
		if tl.reached <= 1 {
			return trcledger.Errorf(trcledger.ETOOLARGE, "the file is larger than %s, the most one upload may hold, and its header row was not read", byteSize(tl.limit))
		}
		open := ""
		if tl.from < tl.reached {
			open = fmt.Sprintf(" (rows %d to %d are of an encounter that may go on in row %d, so they were not imported either)", tl.from, tl.reached-1, tl.reached)
		}
		return trcledger.Errorf(trcledger.ETOOLARGE,
			"the file is larger than %s, the most one upload may hold: it was read up to row %d and no further. "+
				"Rows before row %d were imported (those with errors were not)%s; send the rows from row %d on as another file, "+
				"under the same header row, and they are imported too: rows already imported are skipped, so sending the file in parts works",
			byteSize(tl.limit), tl.reached, tl.from, open, tl.from)
	}
	var re *readError
	if !errors.As(err, &re) {
		return err
	}
	if line == 0 {
		return trcledger.Errorf(trcledger.EMALFORMED, "the file could not be read; upload it again")
	}
	return trcledger.Errorf(trcledger.EMALFORMED,
		"the file could not be read past row %d (the upload was cut off?); rows before it may be imported: upload the whole file again, rows already imported are skipped", line)
}

// staleImport is the import's 503 when a contract changed while the encounter at row was
// priced, three times over: chunks before it are committed, and an import takes no key.
func staleImport(row int) error {
	return trcledger.Errorf(trcledger.EUNAVAILABLE,
		"the contract's tariff or schedule was being changed while row %d was priced, and it was not imported; "+
			"rows before row %d were imported (and some after it may have been): send the whole file again, rows already imported are skipped", row, row)
}

// byteSize writes n bytes for a message: 1 GiB, 64 KiB, 1000 bytes.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// storing is a chunk being stored; done receives the outcome.
type storing struct {
	b    *importBatch
	done chan error
}

// sharesExternalID reports whether b holds an external id of a chunk being stored.
func sharesExternalID(b *importBatch, inFlight []storing) bool {
	for _, st := range inFlight {
		keys := make(map[string]bool, len(st.b.good))
		for _, e := range st.b.good {
			keys[externalKey(e.ProviderCode, e.ExternalID)] = true
		}
		for _, e := range b.good {
			if keys[externalKey(e.ProviderCode, e.ExternalID)] {
				return true
			}
		}
	}
	return false
}

// importBatch is one chunk of an import: its encounters' rows, the rows rejected while reading
// it, and what pricing and storing it made of the rest.
type importBatch struct {
	groups  []*importGroup
	size    int           // bytes the groups' rows take (importGroup.size)
	rows    int           // rows in groups
	scanned *ImportResult // malformed rows met while reading the chunk
	priced  *ImportResult // the chunk's own outcome: accepted, skipped, rejected
	keep    *rowKeeper    // keeps rejected rows' cells, or nil

	good       []*Encounter
	goodGroups []*importGroup
}

// readChunks reads the file, prices every importChunk encounters and sends them on.
func (s *Service) readChunks(ctx context.Context, cr *csvReader, cols []string, keep *rowKeeper, out chan<- *importBatch) error {
	next := func() *importBatch {
		return &importBatch{scanned: &ImportResult{Errors: []ImportError{}, keep: keep}, keep: keep}
	}
	b := next()
	send := func() error {
		if err := ctx.Err(); err != nil {
			return err // the storing side has failed: stop reading and pricing
		}
		if len(b.groups) == 0 && b.scanned.Rejected == 0 {
			return nil
		}
		if err := s.priceBatch(ctx, b); err != nil {
			return err
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = next()
		return nil
	}
	// A row is rejected while scanning right after it was read: its record is cr.last.
	err := scanImport(cr, cols, func(row int, code, msg string) { b.scanned.rejectCells(row, keep.take(cr.last), code, msg) }, func(g *importGroup) error {
		b.groups = append(b.groups, g)
		b.size += g.size
		b.rows += len(g.rows)
		if len(b.groups) >= s.importChunk || b.size >= importChunkBytes || b.rows >= importChunkRows {
			return send()
		}
		return nil
	})
	if tl := (*tooLargeError)(nil); errors.As(err, &tl) {
		// The body goes on past the limit: what was read before the encounter the limit
		// cuts is imported, as a body read to its end would be.
		if serr := send(); serr != nil {
			return serr
		}
		return err
	}
	if err != nil {
		return err
	}
	return send()
}

// priceBatch validates and prices the chunk's encounters with the current reference data,
// rejecting those that cannot be posted.
func (s *Service) priceBatch(ctx context.Context, b *importBatch) (err error) {
	ref, err := s.refs.get(ctx, s.db)
	if err != nil {
		return err
	}
	b.priced, b.good, b.goodGroups = &ImportResult{Errors: []ImportError{}, keep: b.keep}, nil, nil
	denied := deniedContracts{}
	defer func() {
		if rerr := denied.record(ctx, s); rerr != nil && err == nil {
			err = rerr
		}
	}()
	for _, g := range b.groups {
		if g.overflow > 0 {
			b.priced.rejectGroup(g, "invalid", fmt.Sprintf("encounter %s has %d lines; an encounter may have at most %d",
				g.rows[0].get("external_id"), len(g.rows)+g.overflow, MaxLines))
			continue
		}
		in, problem := g.input()
		if problem != "" {
			b.priced.rejectGroup(g, "invalid", problem)
			continue
		}
		var f trcledger.Fields
		e, err := s.price(ctx, ref, &in, "", &f)
		if err != nil {
			return err
		}
		if e == nil {
			denied.note(ctx, ref, in.ContractCode)
			b.priced.rejectGroup(g, "invalid", describe(f.List()))
			continue
		}
		if s.agePricing != nil {
			s.agePricing(e)
		}
		b.good = append(b.good, e)
		b.goodGroups = append(b.goodGroups, g)
	}
	return nil
}

// storeBatch writes a priced chunk, one writer job per encounter, and counts the outcomes:
// stored rows are accepted; an encounter already posted with the same content is skipped, with
// other content rejected; one priced on a contract that changed since is priced again with
// fresh reference data and written again (at most three times).
func (s *Service) storeBatch(ctx context.Context, b *importBatch) error {
	good, groups := b.good, b.goodGroups
	for attempt := 1; len(good) > 0; attempt++ {
		jobs := make([]*writeJob, len(good))
		for i, e := range good {
			jobs[i] = newJob(ctx, []*Encounter{e}, "", Idempotency{}, false)
		}
		if err := s.write(ctx, jobs); err != nil {
			if errors.Is(err, errWriteRaced) { // its message is a post's: it names a key
				return trcledger.Errorf(trcledger.EUNAVAILABLE,
					"other requests were posting the same external ids at the same moment, and row %d and the rows after it in its chunk were not imported; "+
						"rows before row %d were imported (and some after it may have been): send the whole file again, rows already imported are skipped",
					groups[0].rows[0].n, groups[0].rows[0].n)
			}
			return err
		}
		var stale []*importGroup
		for i, j := range jobs {
			if j.outcome == outcomeStale {
				stale = append(stale, groups[i])
				continue
			}
			b.priced.count(j, groups[i])
		}
		if len(stale) == 0 {
			return nil
		}
		if attempt >= 3 {
			return staleImport(stale[0].rows[0].n)
		}
		s.refs.drop()
		again := &importBatch{groups: stale, keep: b.keep}
		if err := s.priceBatch(ctx, again); err != nil {
			return err
		}
		b.priced.merge(again.priced)
		good, groups = again.good, again.goodGroups
	}
	return nil
}

// count records what the writer made of one encounter of the file.
func (r *ImportResult) count(j *writeJob, g *importGroup) {
	switch j.outcome {
	case outcomeStored:
		r.Accepted += len(g.rows)
	case outcomeDuplicate:
		e, p := j.encs[0], j.existing[0]
		if string(p.hash) == string(e.contentHash) {
			r.Skipped += len(g.rows)
		} else {
			r.rejectGroup(g, "duplicate_external_id", fmt.Sprintf("encounter %s already has external_id %s with other content; void it to correct it", p.id, e.ExternalID))
		}
	default:
		var terr *trcledger.Error
		if errors.As(j.err, &terr) && terr.Reason == "period_closed" {
			r.rejectGroup(g, "period_closed", terr.Message)
		} else if errors.As(j.err, &terr) && len(terr.Fields) > 0 {
			r.rejectGroup(g, "invalid", describe(terr.Fields))
		} else {
			r.rejectGroup(g, "invalid", fmt.Sprint(j.err))
		}
	}
}

// scanImport reads the data rows, rejects malformed ones and hands each complete encounter
// (its consecutive rows with the same external_id) to emit. Every row that is not blank is
// either in an encounter or rejected.
func scanImport(cr *csvReader, cols []string, reject func(row int, code, msg string), emit func(*importGroup) error) error {
	at := cellsAt(cols)
	var cur *importGroup
	for {
		row, rec, problem, err := cr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if tl := (*tooLargeError)(nil); errors.As(err, &tl) {
			tl.reached, tl.from = row+1, row+1 // the row the limit cuts
			if cur != nil {
				tl.from = cur.rows[0].n // the encounter read last may go on in that row
			}
			return err
		}
		if err != nil {
			return err
		}
		if problem != "" {
			reject(row, "malformed_row", problem)
			continue
		}
		r, size, code, msg := rowOf(cr, row, rec, cols, at)
		if code != "" {
			reject(row, code, msg)
			continue
		}
		id := r.get("external_id")
		if cur != nil && cur.rows[0].get("external_id") == id {
			if len(cur.rows)+cur.overflow >= MaxLines {
				// Not kept: the encounter is refused, and a file of one encounter repeated
				// without end must not fill the memory.
				cur.overflow++
				reject(row, "invalid", fmt.Sprintf("encounter %s has more than %d lines (from row %d); an encounter may have at most %d, so none of its rows is imported",
					id, MaxLines, cur.rows[0].n, MaxLines))
				continue
			}
			cur.rows = append(cur.rows, r)
			cur.size += size
			continue
		}
		if cur != nil {
			if err := emit(cur); err != nil {
				return err
			}
		}
		cur = &importGroup{rows: []importRow{r}, size: size}
	}
	if cur != nil {
		return emit(cur)
	}
	return nil
}

// cellsAt says where each column of the file goes in a row's cells; -1: nowhere (a column the
// import does not read).
func cellsAt(cols []string) []int {
	at := make([]int, len(cols))
	for i, c := range cols {
		at[i] = -1
		if j, ok := columnIndex[c]; ok {
			at[i] = j
		}
	}
	return at
}

// rowOf checks the shape of the record read as row and places its cells: the row and what it
// costs toward its chunk's cap, or the code and message the row is rejected with.
func rowOf(cr *csvReader, row int, rec, cols []string, at []int) (importRow, int, string, string) {
	if len(rec) > len(cols) && blank(rec[len(cols):]) {
		rec = rec[:len(cols)] // empty cells right of the table, as Excel may write them
	}
	if len(rec) != len(cols) {
		msg := fmt.Sprintf("the row has %d cells; the header row names %d columns", len(rec), len(cols))
		if len(rec) > len(cols) && cr.comma == ',' {
			msg += ` (in a file separated by commas, a decimal comma must be in quotes: "1,5")`
		}
		return importRow{}, 0, "malformed_row", msg
	}
	if !cleanRecord(rec) {
		return importRow{}, 0, "malformed_row", "the row is not valid UTF-8 text or holds a NUL character"
	}
	r := importRow{n: row}
	size := importRowOverhead // the cells share the row's text, which is kept whole
	unnamed := 0
	for i, v := range rec {
		size += len(v)
		v = strings.TrimSpace(v)
		if at[i] < 0 {
			if v != "" && unnamed == 0 {
				unnamed = i + 1
			}
			continue
		}
		r.cells[at[i]] = v
	}
	if unnamed > 0 {
		return importRow{}, 0, "malformed_row", fmt.Sprintf("column %d has no name in the header row but holds a value; name it or leave it empty", unnamed)
	}
	if r.get("external_id") == "" {
		// Not an encounter of its own, nor part of the one above or below.
		return importRow{}, 0, "invalid", "external_id is required: each row names its encounter's external_id"
	}
	return r, size, "", ""
}

func cleanRecord(rec []string) bool {
	for _, v := range rec {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return false
		}
	}
	return true
}

func readHeader(header []string) ([]string, error) {
	var f trcledger.Fields
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		cols[i] = h
		switch {
		case h == "":
			continue // a column without a name holds nothing to import
		case !slices.Contains(ImportColumns, h):
			f.Add("header", "unknown column %q (the columns are %s)", h, strings.Join(ImportColumns, ", "))
		case seen[h]:
			f.Add("header", "column %q appears twice", h)
		}
		seen[h] = true
	}
	for _, c := range requiredColumns {
		if !seen[c] {
			f.Add("header", "the required column %q is missing", c)
		}
	}
	return cols, f.Err()
}

func (r *ImportResult) merge(o *ImportResult) {
	r.Accepted += o.Accepted
	r.Skipped += o.Skipped
	for _, e := range o.Errors {
		r.rejectCells(e.Row, e.Cells, e.Code, e.Message)
	}
	r.Rejected += o.Rejected - len(o.Errors)
	r.ErrorsTruncated = r.ErrorsTruncated || o.ErrorsTruncated
}

// rejectCells counts a rejected row and lists it (with its kept cells) up to MaxImportErrors.
func (r *ImportResult) rejectCells(row int, cells []string, code, msg string) {
	r.Rejected++
	if len(r.Errors) >= MaxImportErrors {
		r.ErrorsTruncated = true
		return
	}
	r.Errors = append(r.Errors, ImportError{Row: row, Code: code, Message: msg, Cells: cells})
}

func (r *ImportResult) rejectGroup(g *importGroup, code, msg string) {
	for i := range g.rows {
		r.rejectCells(g.rows[i].n, r.keep.fileCells(&g.rows[i]), code, msg)
	}
}

// input turns a group of rows into an encounter, or says why it cannot.
func (g *importGroup) input() (EncounterInput, string) {
	f0 := &g.rows[0]
	first := func(c string) string { return f0.get(c) }
	for _, row := range g.rows[1:] {
		for _, c := range encounterLevel {
			if v, w := row.get(c), first(c); v != w && !sameDate(c, v, w) {
				if c == "patient_id" { // never echo a patient id
					return EncounterInput{}, fmt.Sprintf("rows %d and %d of one encounter name different patients", g.rows[0].n, row.n)
				}
				return EncounterInput{}, fmt.Sprintf("row %d says %s is %q, row %d says %q; rows of one encounter must agree", row.n, c, v, g.rows[0].n, w)
			}
		}
	}
	in := EncounterInput{
		ExternalID: first("external_id"), ContractCode: first("contract_code"), SiteCode: first("site_code"),
		PatientID: first("patient_id"), BeneficiaryCategory: first("beneficiary_category"), Kind: first("kind"),
		Sex: optional(first("sex")), PractitionerRef: optional(first("practitioner_ref")), Corrects: optional(first("corrects")),
		Diagnoses: []string{},
	}
	var problems []string
	if v := first("birth_year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil {
			problems = append(problems, "birth_year: must be a year such as 1990")
		}
		in.BirthYear = &y
	}
	if d, ok := parseImportDate(first("service_date")); ok {
		in.ServiceDate = d
	} else if first("service_date") != "" {
		problems = append(problems, "service_date: must be a real date written YYYY-MM-DD or DD.MM.YYYY")
	}
	for _, d := range strings.FieldsFunc(first("diagnoses"), func(r rune) bool { return r == ';' || r == ',' }) {
		in.Diagnoses = append(in.Diagnoses, strings.TrimSpace(d))
	}
	if first("referral_number") != "" || first("referral_to_level") != "" {
		in.Referral = &Referral{Number: first("referral_number"), ToLevel: first("referral_to_level"), ToProviderCode: optional(first("referral_to_provider_code"))}
	}
	for _, row := range g.rows {
		q, ok := parseImportQuantity(row.get("quantity"))
		if !ok {
			problems = append(problems, fmt.Sprintf("row %d quantity: must be a decimal number such as 1.5 or 1,5", row.n))
		}
		in.Lines = append(in.Lines, LineInput{ServiceCode: row.get("service_code"), Quantity: q})
	}
	if len(problems) > 0 {
		return in, strings.Join(problems, "; ")
	}
	return in, ""
}

// sameDate reports whether column c holds dates and a and b are the same one, written two ways.
func sameDate(c, a, b string) bool {
	if c != "service_date" {
		return false
	}
	da, oka := parseImportDate(a)
	db, okb := parseImportDate(b)
	return oka && okb && da.String() == db.String()
}

// parseImportDate reads a date as the API writes it (2025-03-15) or as a spreadsheet in
// Bosnia and Herzegovina does (15.03.2025, 15.3.2025, with or without a final dot).
func parseImportDate(v string) (trcledger.Date, bool) {
	if d, err := trcledger.ParseDate(v); err == nil {
		return d, true
	}
	t, err := time.Parse("2.1.2006", strings.TrimSuffix(v, "."))
	if err != nil || t.Year() < 1900 {
		return trcledger.Date{}, false
	}
	return trcledger.NewDate(t.Date()), true
}

// parseImportQuantity reads a decimal with a decimal point or a decimal comma (1.5 or 1,5);
// no thousands separators, no exponent.
func parseImportQuantity(v string) (decimal.Decimal, bool) {
	if strings.Count(v, ",") == 1 && !strings.Contains(v, ".") {
		v = strings.Replace(v, ",", ".", 1)
	}
	q, err := decimal.NewFromString(v)
	if err != nil || strings.ContainsAny(v, "eE") {
		return decimal.Zero, false
	}
	return q, true
}

func optional(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

func describe(fields []trcledger.FieldError) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}
