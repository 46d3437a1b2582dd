//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	controlapi "github.com/moby/buildkit/api/services/control"
	bkclient "github.com/moby/buildkit/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// TestCancel cancels a running build from the client: the gateway reports it
// canceled and the stream ends promptly instead of waiting for the step.
func TestCancel(t *testing.T) {
	st := env.stack.State
	c := authed(token(t, "e2e-cancel"))
	df := "FROM " + st.GolangImage + "\nRUN echo start-" + time.Now().Format(time.RFC3339Nano) + " && sleep 120\n"
	dgst, err := upload(t.Context(), c, makeTar(t, tarEntry{name: "Dockerfile", body: df}))
	if err != nil {
		t.Fatal(err)
	}
	before := metric(t, st.Gateway, `hallmark_builds_finished_total{code="canceled",result="canceled"}`)
	ctx, cancel := context.WithCancel(t.Context())
	stream, err := c.Build(ctx, connect.NewRequest(&hallmarkv1.BuildRequest{
		Source: &hallmarkv1.BuildRequest_ContextDigest{ContextDigest: dgst},
		Tags:   []string{st.Registry + "/e2e/cancel:v1"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the RUN step has started, then hang up.
	var buildID string
	for stream.Receive() {
		if a := stream.Msg().GetAccepted(); a != nil {
			buildID = a.GetBuildId()
		}
		if strings.Contains(logText(stream.Msg()), "start-") {
			break
		}
	}
	if buildID == "" {
		t.Fatalf("no accepted event before the RUN step (stream error %v)", stream.Err())
	}
	start := time.Now()
	cancel()
	stream.Close()
	deadline := time.Now().Add(30 * time.Second)
	for metric(t, st.Gateway, `hallmark_builds_finished_total{code="canceled",result="canceled"}`) <= before {
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not record the build as canceled within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// BuildKit itself must have stopped the build, not just the gateway.
	for {
		rec := buildKitRecord(t, buildID)
		if rec != nil && rec.GetCompletedAt() != nil {
			if rec.GetError() == nil || !strings.Contains(rec.GetError().GetMessage(), "cancel") {
				t.Errorf("BuildKit finished build %s with error %v, want a cancellation", buildID, rec.GetError())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("BuildKit still runs build %s 30s after the client hung up", buildID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("cancel took %s", d)
	}
	if _, err := remoteImage(t, st.Registry+"/e2e/cancel:v1"); err == nil {
		t.Error("tag exists after a canceled build")
	}
}

func logText(m *hallmarkv1.BuildResponse) string {
	var b strings.Builder
	for _, l := range m.GetStatus().GetLogs() {
		b.Write(l.GetMsg())
	}
	return b.String()
}

// TestHealthAndReflection talks to the gateway with grpc-go, as grpcurl
// does: the standard health service answers SERVING and server reflection
// lists the build service.
func TestHealthAndReflection(t *testing.T) {
	conn, err := grpc.NewClient(strings.TrimPrefix(env.stack.Gateway, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hr, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	if hr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, want SERVING", hr.GetStatus())
	}
	rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rs.Recv()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !slices.Contains(names, "hallmark.v1.BuildService") {
		t.Errorf("reflection lists %v, want hallmark.v1.BuildService", names)
	}
}

// buildKitRecord asks BuildKit for its history record of the build ref, or nil.
func buildKitRecord(t *testing.T, ref string) *controlapi.BuildHistoryRecord {
	t.Helper()
	c, err := bkclient.New(t.Context(), env.stack.BuildKit)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	hs, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{Ref: ref, EarlyExit: true})
	if err != nil {
		t.Fatal(err)
	}
	var rec *controlapi.BuildHistoryRecord
	for {
		ev, err := hs.Recv()
		if err != nil {
			return rec
		}
		if ev.GetRecord().GetRef() == ref {
			rec = ev.GetRecord()
		}
	}
}
