package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// findChromium returns a Chromium (or Chrome) to drive, or why there is none.
func findChromium() (string, string) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, ""
		}
	}
	return "", "no Chromium on PATH (looked for chromium, chromium-browser, google-chrome): " +
		"install one (Debian: apt-get install chromium) to run the live page's browser test"
}

// TestLivePageInABrowser loads the live page from a real process in
// headless Chromium, sends a command from the page's form and sees it reach
// Succeeded and the projection, sends a poison from the lab and sees the
// dead letter, and requires a console free of errors. It keeps a screenshot
// (go test -artifacts keeps it after the run).
func TestLivePageInABrowser(t *testing.T) {
	path, why := findChromium()
	if path == "" {
		t.Skip(why)
	}
	s := startSystem(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.WindowSize(1600, 1000),
		// The sandbox needs user namespaces, which CI containers (root) lack;
		// the page under test is our own, on loopback.
		chromedp.NoSandbox)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The browser lives as long as the context of the first call: start it on
	// one with no deadline, and give each step its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	problems, err := listenForProblems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second) // each step's deadline
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			shot(t, ctx, "failed")
			t.Fatalf("%s: %v\nconsole: %v\n%s", what, err, problems(), s.logs)
		}
	}
	text := func(sel string) string {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		v, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}

	step("open the page and go live", chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#connection[data-state="live"]`)), chromedp.WaitVisible(chromedp.CSS(`#lab`)))

	step("PUT a shipment from the form",
		chromedp.SetValue(chromedp.CSS(`#put-id`), "browser-1"),
		chromedp.Click(chromedp.CSS(`#put-form button[type="submit"]`)),
		chromedp.WaitVisible(`//p[@id="put-result"][contains(., "202 Accepted: operation ")]`))
	op := lastWord(text(`#put-result`))
	step("see it Succeeded and visible in the projection",
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-op=%q][data-status="Succeeded"][data-visible="true"]`, op))),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-shipment="browser-1"][data-status="registered"]`)))

	step("send a poison message from the lab",
		chromedp.SetValue(chromedp.CSS(`#poison-shipment`), "browser-1"),
		chromedp.Click(chromedp.CSS(`#poison-form button[type="submit"]`)),
		chromedp.WaitVisible(`//p[@id="lab-result"][contains(., "poison sent: operation ")]`))
	poison := lastWord(text(`#lab-result`))
	step("see the dead letter",
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`li[data-deadletter=%q]`, poison))),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-op=%q][data-deadlettered="true"][data-status="Failed"]`, poison))))

	shot(t, ctx, "live-page")
	step("open the shipment's history, one click away", chromedp.Click(chromedp.CSS(`tr[data-shipment="browser-1"] a`)),
		chromedp.WaitVisible(`//aside[@id="detail"]//h3[contains(., "/v1/shipments/browser-1/history → 200")]`))
	shot(t, ctx, "shipment-history")
	step("and its operation, one more click", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#detail-body a[title="operation %s"]`, op))),
		chromedp.WaitVisible(fmt.Sprintf(`//aside[@id="detail"]//h3[contains(., "/v1/operations/%s → 200")]`, op)))
	if p := problems(); len(p) > 0 {
		t.Errorf("the page reported problems in its console:\n%s", strings.Join(p, "\n"))
	}
}

// listenForProblems records console errors and warnings, uncaught
// exceptions and the browser's own error log (a failed load, a refused
// script), and returns what was recorded so far.
func listenForProblems(ctx context.Context) (func() []string, error) {
	var mu sync.Mutex
	var seen []string
	add := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, s)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			switch ev.Type {
			case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeWarning, runtime.ConsoleAPICalledTypeAssert:
				var args []string
				for _, a := range ev.Args {
					args = append(args, a.Description+string(a.Value))
				}
				add(fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			add(fmt.Sprintf("exception: %s %s:%d", d.Text, d.URL, d.LineNumber))
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				add(fmt.Sprintf("log %s: %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
			}
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}, err
}

// shot keeps a screenshot of the whole page in the test's artifact directory.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Errorf("keep the screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", file)
}

var lastWordRE = regexp.MustCompile(`\S+$`)

// lastWord is the last word of s: the operation id of the page's results.
func lastWord(s string) string { return lastWordRE.FindString(strings.TrimSpace(s)) }
