//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/hallmark-dev/hallmark/internal/devstack"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// buildOn builds a small image through gateway and returns its result.
func buildOn(t *testing.T, gateway, subject, dockerfile, tag string) *hallmarkv1.BuildResult {
	t.Helper()
	c := hallmarkv1connectClient(gateway, token(t, subject))
	res, _, err := build(t.Context(), c, inlineRequest(t, c, dockerfile, tag))
	if err != nil {
		t.Fatalf("build %s: %v", tag, err)
	}
	return res
}

// getBuild asks gateway for a build's record.
func getBuild(t *testing.T, gateway, subject, id string) (*hallmarkv1.Build, error) {
	t.Helper()
	resp, err := queryClient(t, gateway, subject).GetBuild(t.Context(), connect.NewRequest(&hallmarkv1.GetBuildRequest{Id: id}))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetBuild(), nil
}

// TestStoreSurvivesRestart: a gateway on its default store (SQLite in its
// data directory) still knows its builds after a restart, and its audit
// log is intact.
func TestStoreSurvivesRestart(t *testing.T) {
	st := env.stack.State
	o := gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, dataDir: t.TempDir()}
	gw, stop := launchGateway(t, o)
	res := buildOn(t, gw, "e2e-restart", "FROM "+st.BaseImage+"\nLABEL e2e.restart=1\nUSER 65532\n", st.Registry+"/e2e/restart:v1")
	stop()
	gw, _ = launchGateway(t, o)
	b, err := getBuild(t, gw, "e2e-restart", res.GetBuildId())
	if err != nil || b.GetDigest() != res.GetDigest() {
		t.Fatalf("after a restart: %v, %v", b, err)
	}
	check, err := queryClient(t, gw, "e2e-restart").VerifyAudit(t.Context(), connect.NewRequest(&hallmarkv1.VerifyAuditRequest{}))
	if err != nil || len(check.Msg.GetCheck().GetProblems()) != 0 || check.Msg.GetCheck().GetRecords() < 2 {
		t.Errorf("audit after a restart: %v, %v", check, err)
	}
}

// postgresStore starts a PostgreSQL for the test and returns the gateway
// configuration's store section for it.
func postgresStore(t *testing.T) string {
	t.Helper()
	pg, err := devstack.StartPostgres(t.Context(), t.TempDir())
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() { pg.Close() })
	sc := pg.GatewayStore()
	return "store: {driver: postgres, dsn: \"" + sc.DSN + "\", passwordFile: \"" + sc.PasswordFile + "\"}\n"
}

// TestStoreSharedByReplicas: two gateways on one PostgreSQL see each
// other's builds, also after one restarts.
func TestStoreSharedByReplicas(t *testing.T) {
	st := env.stack.State
	o := gatewayOpts{buildkit: st.BuildKit, registry: st.Registry, extraYAML: postgresStore(t)}
	one, stopOne := launchGateway(t, o)
	two, _ := launchGateway(t, o)

	fromOne := buildOn(t, one, "e2e-replica", "FROM "+st.BaseImage+"\nLABEL e2e.replica=1\nUSER 65532\n", st.Registry+"/e2e/replica-one:v1")
	fromTwo := buildOn(t, two, "e2e-replica", "FROM "+st.BaseImage+"\nLABEL e2e.replica=2\nUSER 65532\n", st.Registry+"/e2e/replica-two:v1")
	if b, err := getBuild(t, two, "e2e-replica", fromOne.GetBuildId()); err != nil || b.GetDigest() != fromOne.GetDigest() {
		t.Errorf("gateway two does not see gateway one's build: %v, %v", b, err)
	}
	stopOne()
	one, _ = launchGateway(t, o)
	if b, err := getBuild(t, one, "e2e-replica", fromTwo.GetBuildId()); err != nil || b.GetDigest() != fromTwo.GetDigest() {
		t.Errorf("gateway one, restarted, does not see gateway two's build: %v, %v", b, err)
	}
	_, baseDigest, _ := strings.Cut(st.BaseImage, "@")
	got := listImages(t, queryClient(t, one, "e2e-replica"), &hallmarkv1.ListImagesRequest{Base: baseDigest})
	if repos := repositories(got, st.Registry+"/e2e/replica-"); len(repos) != 2 {
		t.Errorf("images on the stack's base in the shared store: %q", repos)
	}
}
