// Package icd10 keeps the ICD-10 codes clinics write as diagnoses, with their titles in bs, hr,
// sr-Latn, sr-Cyrl and en: the list the product ships (the codes most used in primary and
// emergency care at reception centres, seeded by migration 0018, the same rows as common.csv)
// and the national list an operator loads (trcledger icd10 load FILE). Once a national list is
// loaded, a code in neither list is unknown, and the capture page flags it before it is posted;
// posting itself checks only the code's shape (claims/encounters), so a code missing from an
// out-of-date list never blocks care from being billed.
//
// It imports only the root package and internal/pg: the web application and cmd/trcledger use it.
package icd10

import (
	"context"
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/trcledger/trcledger"
)

// Locales are the languages a title may be written in (the web application's locales).
var Locales = []string{"bs", "hr", "sr-Latn", "sr-Cyrl", "en"}

// Pattern is the shape of an ICD-10 code (the same the encounters service accepts): a letter,
// two digits (or digit and letter), and an optional subdivision after a dot.
var Pattern = regexp.MustCompile(`^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$`)

// Common is the shipped list in the load format (code,bs,hr,sr-Latn,sr-Cyrl,en): the rows
// migration 0018 seeds, kept here as an example of the format and for the test that the two agree.
//
//go:embed common.csv
var Common []byte

// Code is one ICD-10 code with its titles by locale (a locale may lack one).
type Code struct {
	Code   string            `json:"code"`
	Titles map[string]string `json:"titles"`
}

// List is every known code, by code, and whether a national list is loaded (then a code not in
// the list is unknown).
type List struct {
	Codes    []Code
	Loaded   bool
	LoadedAt *time.Time
	Source   string
	byCode   map[string]int
}

// Has reports whether code is in the list.
func (l *List) Has(code string) bool {
	_, ok := l.byCode[code]
	return ok
}

// Find returns the code's entry, or nil.
func (l *List) Find(code string) *Code {
	if i, ok := l.byCode[code]; ok {
		return &l.Codes[i]
	}
	return nil
}

// Unknown returns the codes (normalised: trimmed, upper case) that are not in the list, when a
// national list is loaded; nothing when only the shipped list is known.
func (l *List) Unknown(codes []string) []string {
	if !l.Loaded {
		return nil
	}
	var out []string
	for _, c := range codes {
		c = Normalize(c)
		if c != "" && !l.Has(c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// Normalize trims a code and writes it in upper case, as the encounters service stores it.
func Normalize(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// Store reads and loads the codes. It keeps the list in memory for a short while: a load by this
// process drops it at once; a load by another process is seen within cacheTTL.
type Store struct {
	db  *sqlx.DB
	now func() time.Time

	mu     sync.Mutex
	cached *List
	at     time.Time
}

const cacheTTL = time.Minute

// NewStore returns the store over db; now is the clock.
func NewStore(db *sqlx.DB, now func() time.Time) *Store { return &Store{db: db, now: now} }

// List returns every known code with its titles.
func (s *Store) List(ctx context.Context) (*List, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != nil && time.Since(s.at) < cacheTTL {
		return s.cached, nil
	}
	l, err := readList(ctx, s.db)
	if err != nil {
		return nil, err
	}
	s.cached, s.at = l, time.Now()
	return l, nil
}

func (s *Store) drop() {
	s.mu.Lock()
	s.cached = nil
	s.mu.Unlock()
}

func readList(ctx context.Context, q sqlx.QueryerContext) (*List, error) {
	var rows []struct {
		Code   string  `db:"code"`
		Locale *string `db:"locale"`
		Title  *string `db:"title"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `
		SELECT c.code, t.locale, t.title FROM icd10_codes c LEFT JOIN icd10_titles t ON t.code = c.code
		ORDER BY c.code`); err != nil {
		return nil, fmt.Errorf("read icd-10 codes: %w", err)
	}
	l := &List{Codes: []Code{}, byCode: map[string]int{}}
	for _, r := range rows {
		i, ok := l.byCode[r.Code]
		if !ok {
			i = len(l.Codes)
			l.byCode[r.Code] = i
			l.Codes = append(l.Codes, Code{Code: r.Code, Titles: map[string]string{}})
		}
		if r.Locale != nil && r.Title != nil {
			l.Codes[i].Titles[*r.Locale] = *r.Title
		}
	}
	var last []struct {
		Source   string    `db:"source"`
		LoadedAt time.Time `db:"loaded_at"`
	}
	if err := sqlx.SelectContext(ctx, q, &last, `SELECT source, loaded_at FROM icd10_loads ORDER BY id DESC LIMIT 1`); err != nil {
		return nil, fmt.Errorf("read icd-10 loads: %w", err)
	}
	if len(last) == 1 {
		l.Loaded, l.LoadedAt, l.Source = true, &last[0].LoadedAt, last[0].Source
	}
	return l, nil
}

// LoadResult says what a load did.
type LoadResult struct {
	Codes   int `json:"codes"`   // codes in the file
	Added   int `json:"added"`   // codes not known before
	Removed int `json:"removed"` // codes of the previous national list that are in neither list now
}

// Load replaces the national list with the codes of a CSV file (see ParseCSV), in one
// transaction: every code of the file is known afterwards with the file's titles (a locale the
// file has no column for keeps the title it had); a code of the previous national list that is
// not in the file and not in the shipped list is removed. It returns EINVALID naming every bad
// row, and writes nothing then.
func (s *Store) Load(ctx context.Context, rows []Code, source string) (*LoadResult, error) {
	if len(rows) == 0 {
		return nil, trcledger.Errorf(trcledger.EINVALID, "the file holds no codes")
	}
	codes := make([]string, len(rows))
	var tc, tl, tt []string
	for i, r := range rows {
		codes[i] = r.Code
		for _, loc := range Locales {
			if t, ok := r.Titles[loc]; ok && t != "" {
				tc, tl, tt = append(tc, r.Code), append(tl, loc), append(tt, t)
			}
		}
	}
	res := &LoadResult{Codes: len(rows)}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.GetContext(ctx, &res.Added, `SELECT count(*) FROM unnest($1::text[]) AS t(code)
		WHERE NOT EXISTS (SELECT 1 FROM icd10_codes c WHERE c.code = t.code)`, pq.Array(codes)); err != nil {
		return nil, fmt.Errorf("count new codes: %w", err)
	}
	r, err := tx.ExecContext(ctx, `DELETE FROM icd10_codes WHERE national AND NOT shipped AND NOT (code = ANY($1::text[]))`, pq.Array(codes))
	if err != nil {
		return nil, fmt.Errorf("remove old codes: %w", err)
	}
	n, _ := r.RowsAffected()
	res.Removed = int(n)
	steps := []struct {
		what, query string
		args        []any
	}{
		{"clear national list", `UPDATE icd10_codes SET national = false WHERE national AND NOT (code = ANY($1::text[]))`, []any{pq.Array(codes)}},
		{"insert codes", `INSERT INTO icd10_codes (code, shipped, national) SELECT code, false, true FROM unnest($1::text[]) AS t(code)
			ON CONFLICT (code) DO UPDATE SET national = true`, []any{pq.Array(codes)}},
		{"insert titles", `INSERT INTO icd10_titles (code, locale, title) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
			ON CONFLICT (code, locale) DO UPDATE SET title = excluded.title`, []any{pq.Array(tc), pq.Array(tl), pq.Array(tt)}},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
			return nil, fmt.Errorf("%s: %w", st.what, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO icd10_loads (source, codes, loaded_at) VALUES ($1, $2, $3)`,
		source, len(rows), s.now().UTC()); err != nil {
		return nil, fmt.Errorf("record load: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	s.drop()
	return res, nil
}

// Search returns up to limit codes whose code starts with q or whose title (in any locale)
// contains it, codes matching by code first.
func (l *List) Search(q string, limit int) []Code {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	uq, lq := strings.ToUpper(q), strings.ToLower(q)
	type hit struct {
		c    Code
		rank int
	}
	var hits []hit
	for _, c := range l.Codes {
		switch {
		case strings.HasPrefix(c.Code, uq):
			hits = append(hits, hit{c, 0})
		default:
			for _, t := range c.Titles {
				if strings.Contains(strings.ToLower(t), lq) {
					hits = append(hits, hit{c, 1})
					break
				}
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].rank < hits[j].rank })
	out := make([]Code, 0, min(limit, len(hits)))
	for i := 0; i < len(hits) && i < limit; i++ {
		out = append(out, hits[i].c)
	}
	return out
}
