package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/trcledger/trcledger/internal/browsertest"
)

// TestJourneySignIn: each demo user signs in in a real browser, lands on their role's page in
// their own language, and signs out.
func TestJourneySignIn(t *testing.T) {
	t.Parallel()
	j := newJourney(t)
	for _, c := range []struct{ user, path, lang string }{
		{"sestra.bihac", "/clinic", "bs"},
		{"revizor.usk", "/review", "hr"},
		{"finance.iom", "/finance", "sr-Cyrl"},
		{"admin", "/admin", "bs"},
	} {
		j.signIn(c.user)
		if got := j.location(); !strings.HasPrefix(got, c.path) {
			t.Errorf("%s landed on %s, want %s", c.user, got, c.path)
		}
		if got := j.attr("html", "lang"); got != c.lang {
			t.Errorf("%s: <html lang=%q>, want %q", c.user, got, c.lang)
		}
		browsertest.Screenshot(t, j.ctx, c.user)
		j.run(chromedp.Click(`form.signout button`, chromedp.ByQuery), chromedp.WaitVisible(`#username`, chromedp.ByQuery))
	}
}
