//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
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
	for stream.Receive() {
		if strings.Contains(logText(stream.Msg()), "start-") {
			break
		}
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
