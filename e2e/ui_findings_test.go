//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// uiAdvisory is an OSV record, made up for this test, against the tzdata
// of the stack's base image, with a low CVSS so that no policy blocks on
// it.
const uiAdvisory = `{
  "schema_version": "1.6.0",
  "id": "HALLMARK-UI-2099-1",
  "modified": "2026-12-01T00:00:00Z",
  "aliases": ["CVE-2099-4242"],
  "summary": "tzdata <b>test</b> advisory",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}],
  "affected": [{
    "package": {"ecosystem": "Debian:12", "name": "tzdata"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2099a-0+deb12u1"}]}]
  }]
}`

// TestUIFinding: a browser sending an API bearer token (the scripts' way
// in, no sign-in) sees on an image's page the vulnerability finding a
// re-scan recorded after an advisory arrived, and finds the image by the
// advisory's alias in the images list.
func TestUIFinding(t *testing.T) {
	st := env.stack.State
	gw, _ := launchGateway(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, rules: adminRules(),
		extraYAML: "vulndb: {refresh: 2s}\nui: {enabled: true}\n"})
	const subject = "e2e-ui-finding"
	c := hallmarkv1connectClient(gw, token(t, subject))
	tag := st.Registry + "/e2e/ui-finding:v1"
	res, _, err := build(t.Context(), c, inlineRequest(t, c, "FROM "+st.BaseImage+"\nLABEL e2e.ui=finding\nUSER 65532\n", tag))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	adv := filepath.Join(t.TempDir(), "advisory.json")
	if err := os.WriteFile(adv, []byte(uiAdvisory), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, stderr, err := runCLI(t, "vulndb", "import", "--gateway", gw, "--token-file", tokenFileOf(t, "dev-ci"), adv); err != nil {
		t.Fatalf("hallmark vulndb import: %v\n%s%s", err, out, stderr)
	}

	ctx := newBrowser(t)
	p := page{t, ctx}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Bearer " + token(t, subject)},
	}); err != nil {
		t.Fatal(err)
	}
	imageURL := gw + "/ui/images/" + st.Registry + "/e2e/ui-finding@" + res.GetDigest()
	var findings string
	// The re-scan runs within a refresh (2s) of the import.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		p.do(chromedp.Navigate(imageURL), chromedp.WaitVisible(chromedp.ID("findings")))
		if findings = p.text("#findings"); strings.Contains(findings, "HALLMARK-UI-2099-1") {
			break
		}
	}
	for _, want := range []string{"HALLMARK-UI-2099-1", "CVE-2099-4242", "tzdata <b>test</b> advisory", "low", "2099a-0+deb12u1", "1 open"} {
		if !strings.Contains(findings, want) {
			t.Errorf("findings section lacks %q: %q", want, clip(findings))
		}
	}
	if v := p.text("#viewer"); !strings.HasPrefix(v, subject+" (") {
		t.Errorf("viewer %q: the bearer token did not sign the browser in", v)
	}
	p.do(chromedp.Navigate(gw+"/ui/images?advisory=CVE-2099-4242"), chromedp.WaitVisible(chromedp.ID("images")))
	if list := p.text("#images"); !strings.Contains(list, st.Registry+"/e2e/ui-finding") || !strings.Contains(list, "HALLMARK-UI-2099-1") {
		t.Errorf("images with CVE-2099-4242: %q", clip(list))
	}
}
