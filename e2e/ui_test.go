//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// chromiumPath is Debian's chromium, which `hallmark dev deps` installs.
const chromiumPath = "/usr/bin/chromium"

// Screenshot checks: a blank 1280×1000 page compresses to a few KiB; the
// shortest page here (the 403 page) to about 17 KiB, the image page to
// well over 100 KiB.
const (
	minScreenshotBytes      = 10 << 10
	minImageScreenshotBytes = 60 << 10
	screenshotWidth         = 1280
)

// newBrowser starts a headless Chromium with a fresh profile and returns a
// tab's context. Without Chromium the test fails under CI and is skipped
// elsewhere.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Chromium at %s (make deps installs it): %v", chromiumPath, err)
		}
		t.Skipf("no Chromium at %s: run make deps", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(screenshotWidth, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first call starts the browser, which lives as long as ctx: no
	// timeout on it; each step below has its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// screenshots is where screenshots go: $HALLMARK_UI_SCREENSHOTS (make
// ui-screenshots), else a temporary directory.
func screenshots(t *testing.T) string {
	if d := os.Getenv("HALLMARK_UI_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// shoot saves a full-page screenshot of the current page as name.png and
// checks it is a PNG of the window's width and at least minBytes.
func shoot(t *testing.T, ctx context.Context, dir, name string, minBytes int) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	// The IHDR chunk follows the 8-byte signature: length, type, width.
	if len(png) < 24 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || binary.BigEndian.Uint32(png[16:20]) != screenshotWidth || len(png) < minBytes {
		t.Errorf("screenshot %s: %d bytes, want a PNG %d pixels wide of at least %d bytes", name, len(png), screenshotWidth, minBytes)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// page is a browser tab of a test, with steps that fail the test.
type page struct {
	t   *testing.T
	ctx context.Context
}

// stepTimeout bounds each step in the browser.
const stepTimeout = 30 * time.Second

// do runs steps, each page load and wait bounded by stepTimeout.
func (p page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// get runs one action that returns a value.
func get[T any](p page, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// download clicks sel and returns the file the browser downloaded.
func (p page) download(sel chromedp.CSS) []byte {
	p.t.Helper()
	dir := p.t.TempDir()
	done := make(chan string, 8)
	if err := chromedp.ListenBrowser(p.ctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			select {
			case done <- e.GUID:
			default:
			}
		}
	}); err != nil {
		p.t.Fatal(err)
	}
	on := true
	if _, err := chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &on,
	}); err != nil {
		p.t.Fatal(err)
	}
	p.do(chromedp.Click(sel))
	select {
	case guid := <-done:
		b, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil {
			p.t.Fatal(err)
		}
		return b
	case <-time.After(stepTimeout):
		p.t.Fatal("the download did not complete")
		return nil
	}
}

// text is the text of the first element sel (CSS) matches.
func (p page) text(sel string) string {
	p.t.Helper()
	return get(p, chromedp.Text(chromedp.CSS(sel)))
}

// TestUI drives a real browser through the web view: sign in through the
// dev issuer, the page of an image built here with its packages, verdict
// and base link, the SBOM download, the lists, the 403 page of a
// repository the identity may not read, and signing out. Screenshots of
// the main pages go to $HALLMARK_UI_SCREENSHOTS (make ui-screenshots).
func TestUI(t *testing.T) {
	st := env.stack.State
	const subject = "e2e-ui"
	c := hallmarkv1connectClient(st.Gateway, token(t, subject))
	prefix := st.Registry + "/e2e/ui-"
	buildIt := func(dockerfile, tag string) *hallmarkv1.BuildResult {
		t.Helper()
		res, _, err := build(t.Context(), c, inlineRequest(t, c, dockerfile, tag))
		if err != nil {
			t.Fatalf("build %s: %v", tag, err)
		}
		return res
	}
	base := buildIt("FROM "+st.BaseImage+"\nLABEL e2e.ui=base\nUSER 65532\n", prefix+"base:1")
	app := buildIt("FROM "+prefix+"base:1\nLABEL e2e.ui=app\n", prefix+"app:v1")
	v := hallmarkv1connect.NewVerifyServiceClient(h2c(), st.Gateway, connect.WithInterceptors(bearer(token(t, subject))))
	if _, err := v.Verify(t.Context(), connect.NewRequest(&hallmarkv1.VerifyRequest{Image: app.GetPinned()})); err != nil {
		t.Fatal(err)
	}
	waitAudit(t, queryClient(t, st.Gateway, subject), &hallmarkv1.ListAuditRequest{Kinds: []string{"verify"}, Digest: app.GetDigest()})

	ctx := newBrowser(t)
	shots := screenshots(t)
	appRepo, baseRepo := prefix+"app", prefix+"base"
	appURL := st.UI + "images/" + appRepo + "@" + app.GetDigest()
	issuer := env.stack.OIDC().URL()

	t.Run("sign in through the dev issuer", func(t *testing.T) {
		p := page{t, ctx}
		p.do(chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.ID("subject")))
		if loc := get(p, chromedp.Location()); !strings.HasPrefix(loc, issuer+"/authorize?") || !strings.Contains(loc, "code_challenge_method=S256") {
			t.Errorf("signing in at %s, want the dev issuer with PKCE", loc)
		}
		p.do(
			chromedp.SetValue(chromedp.ID("subject"), subject),
			chromedp.Click(chromedp.ID("sign-in")),
			chromedp.WaitVisible(chromedp.ID("package-table")),
		)
		if loc := get(p, chromedp.Location()); loc != appURL {
			t.Errorf("back at %s, want %s", loc, appURL)
		}
	})

	t.Run("image page", func(t *testing.T) {
		p := page{t, ctx}
		if h := p.text("#image"); !strings.Contains(h, appRepo) || !strings.Contains(h, app.GetDigest()) {
			t.Errorf("heading %q", h)
		}
		if tags := p.text(".tags"); !strings.Contains(tags, "v1") {
			t.Errorf("tags %q", tags)
		}
		if viewer := p.text("#viewer"); !strings.HasPrefix(viewer, subject+" (") {
			t.Errorf("viewer %q, want %s", viewer, subject)
		}
		if verdict := p.text("#verdicts"); !strings.Contains(verdict, "allowed") {
			t.Errorf("verdicts %q, want the recorded allowed verdict", verdict)
		}
		if b := p.text("#build"); !strings.Contains(b, subject) || !strings.Contains(b, "took") {
			t.Errorf("build %q", clip(b))
		}
		if a := p.text("#attestations"); !strings.Contains(a, "https://slsa.dev/provenance/v1") || !strings.Contains(a, "https://spdx.dev/Document") {
			t.Errorf("attestations %q", clip(a))
		}
		// The stack's base image holds Debian's base-files, which the
		// table marks as coming from the base.
		rows := get(p, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#package-table tr.package")).filter(r => r.querySelector("td.name").textContent === "base-files").map(r => r.lastElementChild.textContent)`))
		if len(rows) != 1 || rows[0] != "base" {
			t.Errorf("base-files rows, from-base column: %q", rows)
		}
		shoot(t, p.ctx, shots, "image", minImageScreenshotBytes)
	})

	t.Run("re-verify", func(t *testing.T) {
		p := page{t, ctx}
		p.do(chromedp.Click(chromedp.ID("reverify")), chromedp.WaitVisible(chromedp.ID("reverified")))
		if v := p.text("#reverified"); !strings.Contains(v, "allowed") {
			t.Errorf("re-verified: %q", clip(v))
		}
		rules := get(p, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#reverified tr.rule")).map(r => r.textContent)`))
		if len(rules) == 0 || !strings.Contains(strings.Join(rules, "\n"), "signers") {
			t.Errorf("rule outcomes %q, want every rule, signers included", rules)
		}
		shoot(t, p.ctx, shots, "reverify", minScreenshotBytes)
		p.do(chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.ID("package-table")))
	})

	t.Run("search the packages", func(t *testing.T) {
		p := page{t, ctx}
		p.do(
			chromedp.SetValue(chromedp.CSS("input[name=q]"), "base-files"),
			chromedp.Submit(chromedp.CSS("input[name=q]")),
			chromedp.WaitVisible(chromedp.ID("package-table")),
		)
		names := get(p, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#package-table tr.package td.name")).map(e => e.textContent)`))
		if len(names) != 1 || names[0] != "base-files" {
			t.Errorf("search base-files: rows %q", names)
		}
	})

	t.Run("SBOM download", func(t *testing.T) {
		p := page{t, ctx}
		p.do(chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.ID("sbom-cyclonedx")))
		b := p.download(chromedp.CSS("#sbom-cyclonedx"))
		if !bytes.Contains(b, []byte(`"bomFormat": "CycloneDX"`)) || !bytes.Contains(b, []byte(`"name": "base-files"`)) || !bytes.Contains(b, []byte(app.GetDigest())) {
			t.Errorf("downloaded SBOM %q", clip(string(b)))
		}
		spdx := p.download(chromedp.CSS("#sbom-spdx"))
		if !bytes.Contains(spdx, []byte(`"spdxVersion":"SPDX-2.3"`)) && !bytes.Contains(spdx, []byte(`"spdxVersion": "SPDX-2.3"`)) || !bytes.Contains(spdx, []byte("base-files")) {
			t.Errorf("downloaded SPDX SBOM %q", clip(string(spdx)))
		}
	})

	t.Run("bundle download", func(t *testing.T) {
		p := page{t, ctx}
		p.do(chromedp.Navigate(appURL), chromedp.WaitVisible(chromedp.ID("attestations")))
		b := p.download(chromedp.CSS("#attestations a.bundle"))
		if !bytes.Contains(b, []byte(`application/vnd.dev.sigstore.bundle.v0.3+json`)) || !bytes.Contains(b, []byte(`"dsseEnvelope"`)) {
			t.Errorf("downloaded bundle %q", clip(string(b)))
		}
	})

	t.Run("follow the base link", func(t *testing.T) {
		p := page{t, ctx}
		p.do(
			chromedp.Navigate(appURL),
			chromedp.WaitVisible(chromedp.ID("bases")),
			chromedp.Click(chromedp.CSS("#bases table a.base-link")),
			chromedp.WaitVisible(chromedp.ID("built-on")),
		)
		if h := p.text("#image"); !strings.Contains(h, baseRepo) || !strings.Contains(h, base.GetDigest()) {
			t.Errorf("the base link led to %q, want %s@%s", h, baseRepo, base.GetDigest())
		}
		if on := p.text("#built-on"); !strings.Contains(on, appRepo) {
			t.Errorf("the base's page does not list %s as built on it: %q", appRepo, on)
		}
	})

	t.Run("lists", func(t *testing.T) {
		p := page{t, ctx}
		for _, l := range []struct{ name, path, table, want string }{
			{"images", "images?repository=" + appRepo, "#images", appRepo},
			{"builds", "builds?repository=" + appRepo, "#builds", app.GetBuildId()},
			{"audit", "audit?repository=" + appRepo, "#audit", "verify"},
		} {
			p.do(chromedp.Navigate(st.UI+l.path), chromedp.WaitVisible(chromedp.CSS(l.table)))
			if text := p.text(l.table); !strings.Contains(text, l.want) {
				t.Errorf("%s: lacks %q: %q", l.name, l.want, clip(text))
			}
			shoot(t, p.ctx, shots, l.name, minScreenshotBytes)
		}
	})

	t.Run("a running build updates live", func(t *testing.T) {
		p := page{t, ctx}
		repo := prefix + "live"
		df := "FROM " + st.GolangImage + "\nRUN echo " + t.Name() + time.Now().Format(time.RFC3339Nano) + " && sleep 6\nUSER 65532\n"
		done := make(chan *hallmarkv1.BuildResult, 1)
		go func() {
			res, _, err := build(context.WithoutCancel(t.Context()), c, inlineRequest(t, c, df, repo+":v1"))
			if err != nil {
				t.Errorf("build: %v", err)
			}
			done <- res
		}()
		// The list shows the build as running, its step named, and the
		// page's script redraws its row until it ends, without a reload.
		for deadline := time.Now().Add(stepTimeout); ; {
			p.do(chromedp.Navigate(st.UI+"builds?repository="+repo), chromedp.WaitVisible(chromedp.ID("builds")))
			if n := get(p, chromedp.Evaluate[int](`document.querySelectorAll("#builds tr[data-running] td.outcome-running").length`)); n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the build never showed as running: %q", clip(p.text("#builds")))
			}
			time.Sleep(200 * time.Millisecond)
		}
		shoot(t, p.ctx, shots, "builds-running", minScreenshotBytes)
		// QueryService lists it as running too, with its phase.
		running, err := queryClient(t, st.Gateway, subject).ListBuilds(t.Context(), connect.NewRequest(&hallmarkv1.ListBuildsRequest{Repository: repo, Outcome: "running"}))
		if err != nil || len(running.Msg.GetBuilds()) != 1 || running.Msg.GetBuilds()[0].GetProgress().GetPhase() == "" {
			t.Errorf("ListBuilds running: %v, %v", running, err)
		}
		marker := get(p, chromedp.Evaluate[bool](`window.hallmarkSamePage = true`))
		if !marker {
			t.Fatal("could not mark the page")
		}
		// The script redraws the row with the step BuildKit runs.
		for deadline := time.Now().Add(stepTimeout); ; {
			status := get(p, chromedp.Evaluate[string](`(document.querySelector("#builds td.status") || {}).textContent || ""`))
			if strings.Contains(status, "sleep 6") && strings.HasPrefix(status, "running: building") {
				break
			}
			if time.Now().After(deadline) || !strings.HasPrefix(status, "running") {
				t.Fatalf("the running row never named its RUN step: %q", status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		res := <-done
		if res == nil {
			t.FailNow()
		}
		p.do(chromedp.WaitVisible(chromedp.CSS("#build-" + res.GetBuildId() + " td.outcome-succeeded")))
		if href := get(p, chromedp.Evaluate[string](`document.querySelector("#build-`+res.GetBuildId()+` td.image a").getAttribute("href")`)); href != "/ui/images/"+repo+"@"+res.GetDigest() {
			t.Errorf("the ended row links to %q", href)
		}
		if same := get(p, chromedp.Evaluate[bool](`window.hallmarkSamePage === true`)); !same {
			t.Error("the page reloaded; the script should have redrawn the row")
		}
		row := p.text("#build-" + res.GetBuildId())
		if !strings.Contains(row, "succeeded") || !strings.Contains(row, repo+"@"+res.GetDigest()[:len("sha256:")+12]) {
			t.Errorf("the ended row reads %q", row)
		}
		if running := get(p, chromedp.Evaluate[int](`document.querySelectorAll("#builds tr[data-running]").length`)); running != 0 {
			t.Errorf("%d rows still marked running", running)
		}
	})

	t.Run("verdict and stale filters", func(t *testing.T) {
		p := page{t, ctx}
		list := func(query string) string {
			p.do(chromedp.Navigate(st.UI+"images?repository="+appRepo+"&"+query), chromedp.WaitVisible(chromedp.ID("images")))
			return p.text("#images")
		}
		if got := list("verdict=allowed"); !strings.Contains(got, appRepo) {
			t.Errorf("verdict allowed: %q", clip(got))
		}
		if got := list("verdict=denied"); strings.Contains(got, appRepo) {
			t.Errorf("verdict denied lists the allowed app: %q", clip(got))
		}
		// Not asked before the move: the gateway reuses a base tag's
		// resolution for a while (server's staleTTL), as for the API.
		buildIt("FROM "+st.BaseImage+"\nLABEL e2e.ui=base2\nUSER 65532\n", prefix+"base:1") // the base tag moves
		if got := list("stale=1"); !strings.Contains(got, appRepo) {
			t.Errorf("stale after its base moved: %q", clip(got))
		}
	})

	t.Run("a repository the identity may not read", func(t *testing.T) {
		p := page{t, ctx}
		p.do(chromedp.Navigate(st.UI+"images/registry.example.com/private/app:v1"), chromedp.WaitVisible(chromedp.ID("status")))
		if status := p.text("#status"); !strings.HasPrefix(status, "403") {
			t.Errorf("status heading %q, want 403", status)
		}
		shoot(t, p.ctx, shots, "forbidden", minScreenshotBytes)
	})

	t.Run("sign out", func(t *testing.T) {
		p := page{t, ctx}
		p.do(
			chromedp.Navigate(st.UI+"images"),
			chromedp.Click(chromedp.ID("sign-out")),
			chromedp.WaitVisible(chromedp.ID("sign-in")),
			chromedp.Navigate(appURL),
			chromedp.WaitVisible(chromedp.ID("subject")),
		)
		if loc := get(p, chromedp.Location()); !strings.HasPrefix(loc, issuer+"/authorize?") {
			t.Errorf("after signing out the page sent the browser to %s, want the issuer", loc)
		}
	})
}

// clip shortens page text for a failure message.
func clip(s string) string {
	if len(s) > 500 {
		return s[:500] + "…"
	}
	return s
}
