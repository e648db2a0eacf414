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
		j.waitFor("the role's page", func() bool { return strings.HasPrefix(j.location(), c.path) })
		if h1 := j.text("main h1"); h1 == "" {
			t.Errorf("%s: the page has no heading", c.user)
		}
		if got := j.attr("html", "lang"); got != c.lang {
			t.Errorf("%s: <html lang=%q>, want %q", c.user, got, c.lang)
		}
		browsertest.Screenshot(t, j.ctx, c.user)
		j.run(chromedp.Click(`form.signout button`, chromedp.ByQuery), chromedp.WaitVisible(`#username`, chromedp.ByQuery))
	}
}
