//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

// TestAttestedBases runs a gateway that requires every base image to pass
// the stack's verification policy: an unattested base is refused before
// the build (no tag), an attested one is built upon and the decision is in
// the provenance.
func TestAttestedBases(t *testing.T) {
	_, attested := attestedExample(t)
	st := env.stack.State
	unattested := pushRandom(t, st.Registry+"/e2e/attested-base:random")
	gw := startGatewayWith(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, extraYAML: fmt.Sprintf(
		"verify:\n  policies: [%q]\npolicy:\n  baseImages:\n    requireAttestation: %s\n", env.stack.Policy, devstack.PolicyName)})
	c := hallmarkv1connectClient(gw, token(t, "e2e-attested-bases"))

	refused := st.Registry + "/e2e/attested-base:refused"
	err := buildInline(t, c, "FROM "+unattested+"\nUSER 65532\n", nil, refused)
	if code(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), `is not attested as policy "gateway-built" requires`) ||
		!strings.Contains(err.Error(), "the image has no attestations") {
		t.Errorf("unattested base: error = %v, want it refused naming the policy and the reason", err)
	}
	if _, err := remoteImage(t, refused); err == nil {
		t.Errorf("%s exists after a refused build", refused)
	}

	res, _, err := build(t.Context(), c, dockerfileRequest(t, c, "FROM "+attested+"\nUSER 65532\n", st.Registry+"/e2e/attested-base:v1"))
	if err != nil {
		t.Fatalf("attested base: %v", err)
	}
	bp := provenanceOf(t, res.GetPinned()).BuildDefinition.InternalParameters.BasePolicy
	if bp == nil || len(bp.Bases) != 1 || bp.Bases[0].VerifiedBy != devstack.PolicyName || bp.Bases[0].Digest != digestIn(attested) {
		t.Errorf("basePolicy = %+v, want the attested base verified by %q", bp, devstack.PolicyName)
	}
}
