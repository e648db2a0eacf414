package trcledger

import (
	"database/sql/driver"
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Sarajevo on machines without a zone database
)

// Date is a civil date (no time, no zone), written YYYY-MM-DD in JSON and stored as SQL date.
type Date struct{ t time.Time }

// DateLayout is the one date format of the API.
const DateLayout = "2006-01-02"

// ParseDate reads YYYY-MM-DD strictly: 2024-02-30 and 2024-2-3 are errors.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil || t.Year() < 1900 || t.Year() > 9999 {
		return Date{}, fmt.Errorf("%q is not a valid date (YYYY-MM-DD)", s)
	}
	return Date{t}, nil
}

// NewDate returns the date y-m-d.
func NewDate(y int, m time.Month, d int) Date { return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)} }

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date { return NewDate(t.Date()) }

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Time returns d as midnight UTC.
func (d Date) Time() time.Time { return d.t }

// String returns YYYY-MM-DD.
func (d Date) String() string { return d.t.Format(DateLayout) }

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.t.Before(o.t) }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.t.After(o.t) }

// AddDays returns d plus n days.
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("date must be a string YYYY-MM-DD")
	}
	v, err := ParseDate(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Value stores d as an SQL date.
func (d Date) Value() (driver.Value, error) { return d.String(), nil }

// Scan reads an SQL date.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d = NewDate(v.Date())
		return nil
	case string:
		p, err := ParseDate(v)
		*d = p
		return err
	case []byte:
		p, err := ParseDate(string(v))
		*d = p
		return err
	}
	return fmt.Errorf("cannot scan %T into Date", src)
}

// InRange reports whether d lies in [from, to); a nil to is open.
func (d Date) InRange(from Date, to *Date) bool {
	return !d.Before(from) && (to == nil || d.Before(*to))
}

// bih is where dates are read: a visit on the evening of the 1st in Bihać is on the 1st,
// whatever the server's zone.
var bih = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Sarajevo")
	if err != nil {
		panic(err) // time/tzdata is embedded: cannot happen
	}
	return loc
}()

// Today returns the date of t in Bosnia and Herzegovina (Europe/Sarajevo).
func Today(t time.Time) Date { return DateOf(t.In(bih)) }
