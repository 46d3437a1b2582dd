//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/v1/types"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/registry/registrytest"
)

// TestVerifyHostileRegistry: a registry that answers a verification with
// a manifest declared at 4 GiB, a manifest that never ends, a referrers
// index of 5,000 entries or a redirect loop costs the real gateway a
// bounded amount of memory and time. VerifyService answers each with an
// error that names the setting to raise (never a verdict from part of the
// answer), and the cluster's admission webhook denies the Pod: it fails
// closed.
func TestVerifyHostileRegistry(t *testing.T) {
	st := env.stack.State
	reg := registrytest.New(t)
	h := reg.Host
	var mode atomic.Value // which hostile answer the hook gives
	mode.Store("")
	images := map[string]string{}
	for _, m := range []string{"huge", "endless", "referrers", "redirect"} {
		d, _ := reg.PushRandom(t, "hostile/"+m, "v1")
		images[m] = d.String()
	}
	reg.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		switch m := mode.Load().(string); {
		case m == "huge" && strings.Contains(r.URL.Path, "/hostile/huge/manifests/"):
			registrytest.Huge(w, string(types.OCIManifestSchema1), 4<<30)
		case m == "endless" && strings.Contains(r.URL.Path, "/hostile/endless/manifests/") && r.Method == http.MethodGet:
			registrytest.Endless(w, string(types.OCIManifestSchema1), 1<<30)
		case m == "referrers" && strings.Contains(r.URL.Path, "/hostile/referrers/referrers/"):
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			var b strings.Builder
			b.WriteString(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`)
			for i := range 5000 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064x","size":500,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`, i)
			}
			b.WriteString(`]}`)
			_, _ = w.Write([]byte(b.String()))
		case m == "redirect" && strings.Contains(r.URL.Path, "/hostile/redirect/"):
			http.Redirect(w, r, r.URL.String(), http.StatusTemporaryRedirect)
		default:
			return false
		}
		return true
	})
	gw := startGatewayWith(t, gatewayOpts{
		buildkit: st.BuildKit, registry: h,
		rules:     fmt.Sprintf("[{issuer: {{issuer}}, repositories: [%q]}]", h+"/**"),
		extraYAML: fmt.Sprintf("verify:\n  policies: [%q]\n", env.stack.Policy),
	})
	c := hallmarkv1connect.NewVerifyServiceClient(h2c(), gw, connect.WithInterceptors(bearer(token(t, "e2e-hostile"))))
	before := metric(t, gw, "go_memstats_sys_bytes")

	for _, tc := range []struct {
		mode string
		code connect.Code
		want string // in the error and in the webhook's denial
	}{
		{"huge", connect.CodeResourceExhausted, "verify.limits.maxManifestBytes"},
		{"endless", connect.CodeResourceExhausted, "verify.limits.maxManifestBytes"},
		{"referrers", connect.CodeResourceExhausted, "verify.limits.maxReferrers"},
		{"redirect", connect.CodeUnavailable, "redirect"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			mode.Store(tc.mode)
			defer mode.Store("")
			_, err := c.Verify(t.Context(), connect.NewRequest(&hallmarkv1.VerifyRequest{Image: images[tc.mode]}))
			if connect.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify = %v, want %s naming %q", err, tc.code, tc.want)
			}
			pod := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"verified"},"spec":{"containers":[{"name":"app","image":%q}]}}`, images[tc.mode])
			review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-` + tc.mode + `","kind":{"group":"","version":"v1","kind":"Pod"},` +
				`"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":"verified","object":` + pod + `}}`
			out := postReview(t, webhookClient(t), env.stack.Admission, []byte(review))
			if out.UID != "u-"+tc.mode || out.Allowed || !strings.Contains(out.Status.Message, tc.want) {
				t.Errorf("webhook answered %+v; want a denial naming %q", out, tc.want)
			}
		})
	}

	// The whole gateway process, not one call: what it took from the OS
	// grew by far less than one endless manifest would have held (the
	// registry client's own cap is 100 MiB).
	grew := metric(t, gw, "go_memstats_sys_bytes") - before
	t.Logf("the gateway's memory from the OS grew by %.1f MiB", grew/(1<<20))
	if grew > 48<<20 {
		t.Errorf("the gateway's memory from the OS grew by %.0f MiB during hostile verifications; want under 48 MiB", grew/(1<<20))
	}
}
