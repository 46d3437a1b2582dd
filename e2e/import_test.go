//go:build e2e

package e2e

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// exitCodeOf is the exit status of a finished command.
func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestStoreImport: an image built through another gateway, with a store of
// its own, is unknown to the stack's gateway until `hallmark store import`
// verifies it there and records it; then the queries find it by its base
// and by a package of its SBOM, with the requester its provenance names and
// the importer as the audit actor. An unsigned image does not verify and
// is recorded nowhere.
func TestStoreImport(t *testing.T) {
	st := env.stack.State
	prefix := st.Registry + "/e2e/import-"
	other := startGatewayWith(t, gatewayOpts{buildkit: st.BuildKit, registry: st.Registry}) // a fresh data directory: an empty store
	const builder = "e2e-import-builder"
	res := buildOn(t, other, builder, "FROM "+st.BaseImage+"\nLABEL e2e.import=1\nUSER 65532\n", prefix+"app:v1")
	q := queryClient(t, st.Gateway, "e2e-import")
	if _, err := q.GetImage(t.Context(), connect.NewRequest(&hallmarkv1.GetImageRequest{Image: res.GetPinned()})); code(err) != connect.CodeNotFound {
		t.Fatalf("before the import, the stack's gateway knows the image: %v", err)
	}

	start := time.Now()
	out, stderr, err := runCLI(t, "store", "import", prefix+"app:v1")
	took := time.Since(start)
	if err != nil || !strings.HasPrefix(strings.Split(out, "\n")[1], "imported ") {
		t.Fatalf("hallmark store import: %v\n%s%s", err, out, stderr)
	}
	t.Logf("import of one image (CLI, verification not cached): %s\n%s", took.Round(time.Millisecond), out)

	img, err := q.GetImage(t.Context(), connect.NewRequest(&hallmarkv1.GetImageRequest{Image: res.GetPinned()}))
	if err != nil {
		t.Fatalf("GetImage after the import: %v", err)
	}
	_, baseDigest, _ := strings.Cut(st.BaseImage, "@")
	im := img.Msg.GetImage()
	if !slices.Equal(im.GetTags(), []string{"v1"}) ||
		!slices.ContainsFunc(im.GetBases(), func(b *hallmarkv1.ImageBase) bool { return b.GetDigest() == baseDigest && b.GetRuntime() }) {
		t.Errorf("imported image %v", im)
	}
	builds := img.Msg.GetBuilds()
	if len(builds) != 1 || builds[0].GetKind() != "import" || builds[0].GetRequester().GetSubject() != builder ||
		builds[0].GetSource().GetDockerfileDigest() == "" || len(builds[0].GetAttestations()) < 2 || builds[0].GetId() != im.GetBuildId() {
		t.Errorf("import record %v", builds)
	}
	if got := repositories(listImages(t, q, &hallmarkv1.ListImagesRequest{Base: baseDigest}), prefix); !slices.Contains(got, prefix+"app") {
		t.Errorf("images on the stack's base: %q", got)
	}
	if got := listImages(t, q, &hallmarkv1.ListImagesRequest{Package: "base-files", Repository: prefix + "app"}); len(got) != 1 {
		t.Errorf("images holding base-files (from the SBOM): %d", len(got))
	}
	audit, err := q.ListAudit(t.Context(), connect.NewRequest(&hallmarkv1.ListAuditRequest{Kinds: []string{"import"}, Digest: res.GetDigest()}))
	if err != nil || len(audit.Msg.GetEvents()) != 1 || strings.Contains(audit.Msg.GetEvents()[0].GetActor(), builder) {
		t.Errorf("import audit record (the importer acted, not the builder): %v, %v", audit, err)
	}

	// By digest, again: already recorded.
	start = time.Now()
	out, stderr, err = runCLI(t, "store", "import", res.GetPinned())
	if err != nil || !strings.Contains(out, "already_recorded") || !strings.Contains(out, im.GetBuildId()) {
		t.Errorf("import again: %v\n%s%s", err, out, stderr)
	}
	t.Logf("import of one image already recorded (CLI): %s", time.Since(start).Round(time.Millisecond))

	unsigned := prefix + "unsigned:v1"
	unsignedImg, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(unsigned, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, unsignedImg); err != nil {
		t.Fatal(err)
	}
	out, stderr, err = runCLI(t, "store", "import", unsigned)
	if exitCodeOf(err) != 1 || !strings.Contains(out, "not_verified") {
		t.Errorf("importing an unsigned image: exit %d\n%s%s", exitCodeOf(err), out, stderr)
	}
	if got := listImages(t, q, &hallmarkv1.ListImagesRequest{Repository: prefix + "unsigned"}); len(got) != 0 {
		t.Errorf("the unsigned image was recorded: %v", got)
	}
}
