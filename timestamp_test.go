package trcledger

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeHasOneWidth(t *testing.T) {
	sarajevo, _ := time.LoadLocation("Europe/Sarajevo")
	for _, tt := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 12, 1, 13, 0, 0, 0, sarajevo), `"2026-12-01T12:00:00.000000Z"`},
		{time.Date(2026, 12, 1, 12, 0, 0, 123456789, time.UTC), `"2026-12-01T12:00:00.123456Z"`},
		{time.Date(2026, 12, 1, 12, 0, 0, 120000000, time.UTC), `"2026-12-01T12:00:00.120000Z"`},
	} {
		b, err := json.Marshal(TimeOf(tt.in))
		if err != nil || string(b) != tt.want {
			t.Errorf("%v: %s, want %s", tt.in, b, tt.want)
		}
		var back Time
		if err := json.Unmarshal(b, &back); err != nil || !back.Equal(tt.in.Truncate(time.Microsecond)) {
			t.Errorf("%s read back as %v (%v)", b, back, err)
		}
	}
}
