package trcledger

import (
	"testing"
	"time"
)

func TestTodayIsTheDateInBosnia(t *testing.T) {
	// 23:30 UTC on 31 March is already 1 April in Sarajevo (UTC+2 in summer).
	if got := Today(time.Date(2025, 3, 31, 23, 30, 0, 0, time.UTC)).String(); got != "2025-04-01" {
		t.Errorf("Today = %s, want 2025-04-01", got)
	}
	// 22:30 UTC on 15 January is 23:30 in Sarajevo (UTC+1 in winter): still the 15th.
	if got := Today(time.Date(2025, 1, 15, 22, 30, 0, 0, time.UTC)).String(); got != "2025-01-15" {
		t.Errorf("Today = %s, want 2025-01-15", got)
	}
}

func TestParseDateIsStrict(t *testing.T) {
	for _, bad := range []string{"2024-02-30", "2024-2-3", "15.03.2024", "", "0001-01-01"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	if d, err := ParseDate("2024-02-29"); err != nil || d.String() != "2024-02-29" {
		t.Errorf("leap day: %v %v", d, err)
	}
}
