package reports

import (
	"maps"
	"slices"
	"testing"
)

// TestBulletinLabelsComplete: every locale has every key English has, and nothing else.
func TestBulletinLabelsComplete(t *testing.T) {
	t.Parallel()
	want := slices.Sorted(maps.Keys(bulletinEN))
	for _, loc := range BulletinPDFLocales {
		got := slices.Sorted(maps.Keys(bulletinLabels[loc]))
		if !slices.Equal(got, want) {
			t.Errorf("%s: keys %v, want %v", loc, got, want)
		}
	}
	t.Log(bulletinLabels["sr-Cyrl"]["explain"], bulletinLabels["sr-Cyrl"]["footer"])
}
