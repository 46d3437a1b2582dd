//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"
)

// TestVulnScanWithoutAdvisories: a gateway whose build policy fails on
// critical findings but has no advisories loaded (its own data directory,
// so its own empty store: the shared dev gateway may have some imported)
// says so in every build's warnings (never a silent pass) and attests no
// scan.
func TestVulnScanWithoutAdvisories(t *testing.T) {
	st := env.stack.State
	gw, _ := launchGateway(t, gatewayOpts{
		buildkit:  st.BuildKit,
		registry:  st.Registry,
		extraYAML: "policy: {vulnerabilities: {failOn: critical}}\n",
	})
	c := hallmarkv1connectClient(gw, token(t, "e2e-vulnscan"))
	res, events, err := build(t.Context(), c, inlineRequest(t, c, "FROM "+st.BaseImage+"\nLABEL e2e.vulnscan=1\nUSER 65532\n", st.Registry+"/e2e/vulnscan:v1"))
	if err != nil {
		t.Fatal(err)
	}
	const warning = "no advisory data loaded: the image was not scanned for vulnerabilities"
	if !slices.Contains(res.GetWarnings(), warning) {
		t.Errorf("warnings %q, want %q", res.GetWarnings(), warning)
	}
	var step bool
	for _, e := range events {
		for _, v := range e.GetStatus().GetVertexes() {
			step = step || strings.Contains(v.GetName(), "[hallmark] scan: "+warning)
		}
	}
	if !step {
		t.Error("the progress shows no scan step")
	}
	for _, a := range res.GetAttestations() {
		if strings.Contains(a.GetPredicateType(), "vulns") {
			t.Errorf("an unscanned image has a scan attestation: %v", a)
		}
	}
}
