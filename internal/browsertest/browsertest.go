// Package browsertest starts a real headless Chromium for the web application's journeys
// (github.com/chromedp/chromedp) and writes screenshots as test artifacts. Without a browser the
// tests are skipped on a developer's machine and fail when CI is set: CI must install Debian's
// chromium (.ci/run does).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds Chromium: $CHROME_PATH, then the usual names on PATH.
func Path() string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium with a fresh profile and returns a context for one tab; it is
// closed when the test ends. Without a browser the test is skipped, or fails when CI is set.
func New(t *testing.T) context.Context {
	t.Helper()
	path := Path()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium found (CHROME_PATH, chromium, chromium-browser, google-chrome); CI must install it (.ci/run installs Debian's chromium)")
		}
		t.Skip("no Chromium found; install Debian's chromium or set CHROME_PATH")
	}
	// Not t.TempDir: Chromium may still write its profile for a moment after it is told to
	// stop, and TempDir's cleanup fails the test on a directory that is not empty yet.
	profile, err := os.MkdirTemp("", "trcledger-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	tctx, cancelTimeout := context.WithTimeout(ctx, browserTimeout())
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // closes the browser and waits for it
		cancelTimeout()
		cancelTab()
		cancelAlloc()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(tctx); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("start Chromium %s: %v", path, err)
		}
		t.Skipf("Chromium %s does not start: %v", path, err)
	}
	return tctx
}

// ArtifactDir is where screenshots go: $TEST_ARTIFACTS, else var/test-artifacts at the
// module root.
func ArtifactDir() string {
	if d := os.Getenv("TEST_ARTIFACTS"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "var", "test-artifacts")
}

// Screenshot writes a full-page PNG of the tab as <ArtifactDir>/<test name>-<name>.png and
// returns its path.
func Screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	var buf []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := ArtifactDir()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())+"-"+name+".png")
	if err := os.WriteFile(file, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// browserTimeout is how long one journey may drive its browser: 5 minutes, or
// BROWSER_TIMEOUT (a Go duration) to find a stall quickly.
func browserTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("BROWSER_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Minute
}
