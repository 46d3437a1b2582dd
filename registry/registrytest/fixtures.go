package registrytest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/hallmark-dev/hallmark"
)

// EmptyDigest is the digest of "{}", the content of the OCI empty
// descriptor: the config of a bundle referrer.
const EmptyDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

// Mode is one way a registry lists the referrers of an image.
type Mode struct {
	// Name names the mode in a subtest.
	Name string
	// Referrers says whether the registry serves the OCI referrers API
	// (WithReferrersAPI); without it, clients use the fallback tag.
	Referrers bool
}

// Modes are both ways, for the tests that must pass in each.
var Modes = []Mode{
	{"referrers api", true},
	{"tag fallback", false},
}

// FakeBundle returns a JSON document shaped like a Sigstore bundle around
// an in-toto payload, which publishing accepts and which never verifies.
func FakeBundle(t testing.TB, payload string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"mediaType":            hallmark.MediaTypeBundleV03,
		"verificationMaterial": map[string]any{},
		"dsseEnvelope": map[string]any{
			"payload":     []byte(payload),
			"payloadType": hallmark.PayloadTypeInToto,
			"signatures":  []any{},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// UnreachableHost returns a registry host, "127.0.0.1:port", that no
// longer listens: every request to it fails to connect.
func UnreachableHost() string {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	return strings.TrimPrefix(srv.URL, "http://")
}

// Unreachable returns an image by digest on an UnreachableHost.
func Unreachable(t testing.TB) name.Digest {
	t.Helper()
	ref, err := name.NewDigest(UnreachableHost() + "/app@sha256:" + strings.Repeat("2", 64))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// NoRetry makes go-containerregistry's remote calls try each request once,
// so that tests of failures are quick.
func NoRetry() remote.Option {
	return remote.WithRetryBackoff(remote.Backoff{Steps: 1})
}
