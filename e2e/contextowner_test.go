//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"connectrpc.com/connect"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// TestContextBoundToUploader: an uploaded context builds only for the
// identities that uploaded it. Its digest, which provenance publishes,
// gives anyone else NOT_FOUND, exactly as a digest never uploaded, and does
// not let them skip sending the bytes; a token no rule matches may not
// upload at all.
func TestContextBoundToUploader(t *testing.T) {
	st := env.stack.State
	gw := startGatewayWith(t, gatewayOpts{
		buildkit: st.BuildKit, registry: st.Registry, noSigning: true,
		rules: fmt.Sprintf("[{issuer: %q, subject: \"e2e-ctx-*\", repositories: [%q]}]", st.Issuer, st.Registry+"/**"),
	})
	alice := hallmarkv1connectClient(gw, token(t, "e2e-ctx-alice"))
	bob := hallmarkv1connectClient(gw, token(t, "e2e-ctx-bob"))
	stranger := hallmarkv1connectClient(gw, token(t, "e2e-stranger"))

	archive := makeTar(t, tarEntry{name: "Dockerfile", body: "FROM " + st.BaseImage + "\nUSER 65532\nLABEL e2e=context-owner\n"})
	digest := sha(archive)
	if d, err := upload(t.Context(), alice, archive); err != nil || d != digest {
		t.Fatalf("alice's UploadContext = %s, %v", d, err)
	}
	if _, _, err := build(t.Context(), alice, buildRequest(digest, st.Registry+"/e2e/context-owner:alice")); err != nil {
		t.Fatalf("alice's build: %v", err)
	}

	// Bob names alice's digest: the same answer as for a digest never uploaded.
	_, _, errOwned := build(t.Context(), bob, buildRequest(digest, st.Registry+"/e2e/context-owner:bob"))
	random := sha([]byte("never uploaded " + t.Name()))
	_, _, errMissing := build(t.Context(), bob, buildRequest(random, st.Registry+"/e2e/context-owner:bob"))
	if code(errOwned) != connect.CodeNotFound || code(errMissing) != connect.CodeNotFound {
		t.Fatalf("bob's builds = %v / %v, want NotFound", errOwned, errMissing)
	}
	if a, b := strings.ReplaceAll(errOwned.Error(), digest, "D"), strings.ReplaceAll(errMissing.Error(), random, "D"); a != b {
		t.Errorf("another's context and a missing one read differently:\n%s\n%s", a, b)
	}

	// Bob's expected_digest of alice's context does not answer Existed.
	stream := bob.UploadContext(t.Context())
	_ = stream.Send(&hallmarkv1.UploadContextRequest{ExpectedDigest: digest})
	res, err := stream.CloseAndReceive()
	if err == nil && res.Msg.GetExisted() {
		t.Fatal("UploadContext answered Existed to an identity that never sent the bytes")
	}
	if code(err) != connect.CodeInvalidArgument {
		t.Errorf("UploadContext without the bytes = %v, want InvalidArgument (nothing was sent)", err)
	}
	// Sending the bytes makes bob a co-owner.
	stream = bob.UploadContext(t.Context())
	_ = stream.Send(&hallmarkv1.UploadContextRequest{ExpectedDigest: digest, Chunk: archive})
	if res, err := stream.CloseAndReceive(); err != nil || res.Msg.GetExisted() || res.Msg.GetSize() != int64(len(archive)) {
		t.Fatalf("bob's UploadContext with the bytes = %v, %v; want received, not existed", res, err)
	}
	if _, _, err := build(t.Context(), bob, buildRequest(digest, st.Registry+"/e2e/context-owner:bob")); err != nil {
		t.Errorf("bob's build after his upload: %v", err)
	}

	// A token that matches no rule may not upload.
	if _, err := upload(t.Context(), stranger, archive); code(err) != connect.CodePermissionDenied {
		t.Errorf("stranger's UploadContext = %v, want PermissionDenied", err)
	}
}
