package trcledger

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// TimeLayout is the one timestamp format of the API: RFC 3339 in UTC with exactly six decimals
// (PostgreSQL keeps microseconds), so that every timestamp has the same width and timestamps
// sort as strings: 2026-12-01T12:00:00.123456Z.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Time is an instant as the API writes it (TimeLayout) and PostgreSQL stores it (timestamptz).
// It embeds time.Time, so Before, After, IsZero and the rest work on it as on a time.Time.
type Time struct{ time.Time }

// TimeOf returns t as a Time.
func TimeOf(t time.Time) Time { return Time{t} }

// TimePtr returns t as a *Time, nil when t is nil.
func TimePtr(t *time.Time) *Time {
	if t == nil {
		return nil
	}
	return &Time{*t}
}

// String returns t in TimeLayout.
func (t Time) String() string { return t.UTC().Format(TimeLayout) }

// MarshalJSON writes t in TimeLayout, rounded down to the microsecond.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Truncate(time.Microsecond).Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON reads any RFC 3339 timestamp.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("a timestamp must be a string such as 2026-12-01T12:00:00.000000Z")
	}
	v, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// Value stores t as a timestamp.
func (t Time) Value() (driver.Value, error) { return t.Time, nil }

// Scan reads a timestamp.
func (t *Time) Scan(src any) error {
	v, ok := src.(time.Time)
	if !ok {
		return fmt.Errorf("cannot scan %T into a timestamp", src)
	}
	t.Time = v
	return nil
}
