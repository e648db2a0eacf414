package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/trcledger/trcledger/internal/browsertest"
)

// TestJourneyAdmin: the demo admin (in bs) creates a clinic user for DZ-BIHAC with a generated
// password and reads it off the page; the new user signs in with it and lands on /clinic in the
// language the admin chose; the admin resets the password and the old one no longer works.
// Screenshots: the users page, a contract's cost-share timeline, the audit log.
func TestJourneyAdmin(t *testing.T) {
	t.Parallel()
	j := newJourney(t)
	j.signIn("admin")
	if got := j.attr("html", "lang"); got != "bs" {
		t.Fatalf("the admin's pages are in %q, want bs", got)
	}
	j.run(
		chromedp.Navigate(j.base+"/admin/users"),
		chromedp.WaitVisible(`#f-username`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-username`, "sestra.lipa", chromedp.ByQuery),
		chromedp.SetValue(`#f-display_name`, "Lejla Mujić", chromedp.ByQuery),
		chromedp.SetValue(`#f-role`, "clinic", chromedp.ByQuery),
		chromedp.SetValue(`#f-org_code`, "DZ-BIHAC", chromedp.ByQuery),
		chromedp.SetValue(`#f-locale`, "hr", chromedp.ByQuery),
	)
	if j.text(`label[for="pw-generate"]`) != "Generiši lozinku (prikazuje se jednom)" {
		t.Errorf("the password choice reads %q", j.text(`label[for="pw-generate"]`))
	}
	browsertest.Screenshot(t, j.ctx, "users")
	j.run(
		chromedp.Click(`form[action="/admin/users"] button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-secret`, chromedp.ByQuery),
	)
	password := strings.TrimSpace(j.text(`#new-secret`))
	if len(password) < 16 {
		t.Fatalf("generated password %q", password)
	}
	if !strings.Contains(j.text(`.admin-secret`), "samo ovaj put") {
		t.Error("the page does not say the password is shown once")
	}
	browsertest.Screenshot(t, j.ctx, "user-created")
	j.adminSignOut()

	j.password["sestra.lipa"] = password
	j.signIn("sestra.lipa")
	if got := j.location(); !strings.HasPrefix(got, "/clinic") {
		t.Errorf("the new user landed on %s", got)
	}
	if got := j.attr("html", "lang"); got != "hr" {
		t.Errorf("the new user's pages are in %q, want hr", got)
	}
	j.adminSignOut()

	j.signIn("admin")
	j.run(
		chromedp.Navigate(j.base+"/admin/users/sestra.lipa/password"),
		chromedp.WaitVisible(`#pw-generate`, chromedp.ByQuery),
		chromedp.Click(`form[action="/admin/users/sestra.lipa/password"] button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-secret`, chromedp.ByQuery),
	)
	fresh := strings.TrimSpace(j.text(`#new-secret`))
	if fresh == "" || fresh == password {
		t.Fatalf("the reset gave %q", fresh)
	}

	j.run(chromedp.Navigate(j.base+"/admin/contracts/IOM-DZBIH-2024"), chromedp.WaitVisible(`svg.timeline`, chromedp.ByQuery))
	if n := j.adminCount(`svg.timeline g.bar`); n != 8 {
		t.Errorf("the timeline draws %d bars, want 8", n)
	}
	browsertest.Screenshot(t, j.ctx, "contract-timeline")
	j.run(chromedp.Navigate(j.base+"/admin/audit?action=set_password"), chromedp.WaitVisible(`#audit`, chromedp.ByQuery))
	if !strings.Contains(j.text(`#audit tbody`), "set_password") {
		t.Error("the audit log does not show the reset")
	}
	j.run(chromedp.Navigate(j.base+"/admin/audit"), chromedp.WaitVisible(`#audit`, chromedp.ByQuery))
	browsertest.Screenshot(t, j.ctx, "audit")
	// On a phone the users' table becomes one card per user.
	j.run(chromedp.EmulateViewport(360, 740), chromedp.Navigate(j.base+"/admin/users"), chromedp.WaitVisible(`#f-username`, chromedp.ByQuery))
	browsertest.Screenshot(t, j.ctx, "users-phone")
	j.run(chromedp.EmulateViewport(1280, 900))
	j.adminSignOut()

	// The old password no longer works; the new one does.
	j.run(
		chromedp.Navigate(j.base+"/login"),
		chromedp.WaitVisible(`#username`, chromedp.ByQuery),
		chromedp.SendKeys(`#username`, "sestra.lipa", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.Click(`form[action="/login"] button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#login-error`, chromedp.ByQuery),
	)
	j.password["sestra.lipa"] = fresh
	j.signIn("sestra.lipa")
	if got := j.location(); !strings.HasPrefix(got, "/clinic") {
		t.Errorf("with the new password the user landed on %s", got)
	}
}

// adminSignOut presses the sign-out button and waits for the login page.
func (j *journey) adminSignOut() {
	j.t.Helper()
	j.run(chromedp.Click(`form.signout button`, chromedp.ByQuery), chromedp.WaitVisible(`#username`, chromedp.ByQuery))
}

// adminCount is the number of elements matching sel.
func (j *journey) adminCount(sel string) int {
	j.t.Helper()
	var n int
	j.run(chromedp.Evaluate(`document.querySelectorAll(`+"`"+sel+"`"+`).length`, &n))
	return n
}
