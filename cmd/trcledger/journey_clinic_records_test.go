package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/encoding/charmap"

	"github.com/trcledger/trcledger/internal/browsertest"
)

// journeyMarch is the month's file as Excel writes it on a Bosnian Windows (";", Windows-1250,
// dates 15.03.2025., decimal commas), with one bad row (row 4: the quantity "dva").
const journeyMarch = "external_id;contract_code;site_code;patient_id;beneficiary_category;sex;birth_year;service_date;kind;diagnoses;practitioner_ref;service_code;quantity\r\n" +
	"J-1;IOM-DZBIH-2024;TRC-LIPA;SFA-2025-101;irregular_migrant;M;1994;03.03.2025.;consultation;J06.9;dr Hodžić;PZZ-01;1\r\n" +
	"J-2;IOM-DZBIH-2024;TRC-BORICI;SFA-2025-102;unknown;X;;04.03.2025.;transport;;Šćekić;TRN-01;37,5\r\n" +
	"J-3;IOM-DZBIH-2024;TRC-LIPA;SFA-2025-103;refugee;F;2001;05.03.2025.;consultation;R10.4;dr Hodžić;PZZ-01;dva\r\n"

// TestJourneyClinicRecords: the nurse at DZ Bihać uploads the month's CSV in a real browser
// (the upload goes by XMLHttpRequest with progress), sees what was stored and rejected, opens
// her encounters and voids one with a reason.
func TestJourneyClinicRecords(t *testing.T) {
	t.Parallel()
	j := newJourney(t)
	file := filepath.Join(t.TempDir(), "mart-2025.csv")
	b, err := charmap.Windows1250.NewEncoder().Bytes([]byte(journeyMarch))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	j.signIn("sestra.bihac")
	j.run(
		chromedp.Navigate(j.base+"/clinic/upload"),
		chromedp.WaitVisible(`#file`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#file`, []string{file}, chromedp.ByQuery),
	)
	browsertest.Screenshot(t, j.ctx, "upload-form")
	j.run(chromedp.Click(`#upload-submit`, chromedp.ByQuery))
	// The script sends the file, then opens the result page.
	j.waitFor("the result page", func() bool { return strings.HasPrefix(j.location(), "/clinic/upload/") })
	j.run(chromedp.WaitVisible(`#upload-counts`, chromedp.ByQuery))
	for id, want := range map[string]string{"#count-read": "3", "#count-stored": "2", "#count-rejected": "1"} {
		if got := strings.TrimSpace(j.text(id)); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	if !strings.Contains(j.text(`#rejected-rows`), "quantity") {
		t.Error("the rejected row's reason is not shown")
	}
	if href := j.attr(`#rejected-report`, "href"); !strings.HasSuffix(href, "/rejected.csv") {
		t.Errorf("report link %q", href)
	}
	browsertest.Screenshot(t, j.ctx, "upload-result")

	j.run(
		chromedp.Click(`a[href="/clinic/encounters"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#encounters`, chromedp.ByQuery),
	)
	list := j.text(`#encounters`)
	if !strings.Contains(list, "J-1") || !strings.Contains(list, "J-2") || strings.Contains(list, "J-3") {
		t.Errorf("the encounters list: %s", list)
	}
	browsertest.Screenshot(t, j.ctx, "encounters")
	j.run(
		chromedp.Click(`//table[@id="encounters"]//a[text()="J-2"]`, chromedp.BySearch),
		chromedp.WaitVisible(`#lines`, chromedp.ByQuery),
	)
	browsertest.Screenshot(t, j.ctx, "encounter")
	j.run(
		chromedp.Click(`#void`, chromedp.ByQuery),
		chromedp.WaitVisible(`#reason`, chromedp.ByQuery),
		// Without a reason the form says so next to the field.
		chromedp.Click(`form[action$="/void"] button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#err-reason`, chromedp.ByQuery),
	)
	browsertest.Screenshot(t, j.ctx, "void-no-reason")
	j.run(
		chromedp.SendKeys(`#reason`, "Prevoz upisan dvaput", chromedp.ByQuery),
		chromedp.Click(`form[action$="/void"] button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#void-reason`, chromedp.ByQuery),
	)
	if got := j.text(`#encounter-status`); got != "Stornirana" {
		t.Errorf("status after the void %q", got)
	}
	if got := j.text(`#void-reason`); got != "Prevoz upisan dvaput" {
		t.Errorf("void reason %q", got)
	}
	browsertest.Screenshot(t, j.ctx, "voided")
	j.run(chromedp.EmulateViewport(360, 800))
	browsertest.Screenshot(t, j.ctx, "voided-360px")
	j.run(chromedp.EmulateViewport(1280, 900))

	// The statements page opens too (none yet for this clinic in the demo data).
	j.run(chromedp.Navigate(j.base+"/clinic/statements"), chromedp.WaitVisible(`form.filters`, chromedp.ByQuery))
	browsertest.Screenshot(t, j.ctx, "statements")
}
