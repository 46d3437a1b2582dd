package builder

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	gatewaypb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/sourcepolicy"
	"github.com/moby/buildkit/util/grpcerrors"
	digest "github.com/opencontainers/go-digest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hallmark "github.com/hallmark-dev/hallmark"
)

const testTarget = "registry.example.com/acme/app"

// fromBuildKit returns err, an error inside buildkitd, as BuildKit's client
// returns it: buildkitd's interceptor turns it into a gRPC status with the
// typed errors as details, the client's turns that back into the typed
// errors around the status, and Solve adds its prefix.
func fromBuildKit(t *testing.T, err error) error {
	t.Helper()
	return fmt.Errorf("failed to solve: %w", grpcerrors.FromGRPC(grpcerrors.ToGRPC(t.Context(), err)))
}

// inGraph wraps err the way the solver and the Dockerfile frontend wrap
// the failure of op: the op, the vertex, the solve, the Dockerfile line.
func inGraph(err error, op *pb.Op) error {
	err = errdefs.WithOp(err, op, nil)
	err = errdefs.WrapVertex(err, digest.FromString(fmt.Sprint(op)))
	err = errdefs.WithSolveError(err, nil, nil, nil)
	return errdefs.WithSource(err, &errdefs.Source{
		Info:   &pb.SourceInfo{Filename: "Dockerfile", Data: []byte("FROM alpine\nRUN git push origin main\n")},
		Ranges: []*pb.Range{{Start: &pb.Position{Line: 2}, End: &pb.Position{Line: 2}}},
	})
}

// runFails is a RUN step whose process ran command and exited with code.
func runFails(command string, code uint32) error {
	args := []string{"/bin/sh", "-c", command}
	err := fmt.Errorf("process %q did not complete successfully: %w", strings.Join(args, " "), &gatewaypb.ExitError{ExitCode: code})
	return inGraph(err, &pb.Op{Op: &pb.Op_Exec{Exec: &pb.ExecOp{Meta: &pb.Meta{Args: args}}}})
}

func TestClassifySolveError(t *testing.T) {
	canceled, cancel := context.WithCancelCause(t.Context())
	cancel(errors.New("the caller went away"))

	tests := []struct {
		name      string
		ctx       context.Context // default: a live one
		err       func(t *testing.T) error
		wantClass error
		wantMsg   string // a part of the message
	}{
		{
			name:      "RUN git push fails",
			err:       func(t *testing.T) error { return fromBuildKit(t, runFails("git push origin main", 128)) },
			wantClass: hallmark.ErrBuildFailed, wantMsg: `process "/bin/sh -c git push origin main" did not complete successfully: exit code: 128`,
		},
		{
			name: "RUN step naming the push target fails",
			err: func(t *testing.T) error {
				return fromBuildKit(t, runFails("echo failed to push "+testTarget+": denied; exit 1", 1))
			},
			wantClass: hallmark.ErrBuildFailed, wantMsg: "exit code: 1",
		},
		{
			name:      "RUN step that cannot start",
			err:       func(t *testing.T) error { return fromBuildKit(t, runFails("push ", gatewaypb.UnknownExitStatus)) },
			wantClass: hallmark.ErrBuildFailed, wantMsg: "exit code: 255",
		},
		{
			name: "RUN step printing a policy denial fails",
			err: func(t *testing.T) error {
				return fromBuildKit(t, runFails("echo source denied by policy; exit 1", 1))
			},
			wantClass: hallmark.ErrBuildFailed, wantMsg: "exit code: 1",
		},
		{
			name: "exec op fails without an exit code",
			err: func(t *testing.T) error {
				op := &pb.Op{Op: &pb.Op_Exec{Exec: &pb.ExecOp{Meta: &pb.Meta{Args: []string{"docker", "push", testTarget}}}}}
				return fromBuildKit(t, inGraph(errors.New("failed to mount /tmp/push : no such file"), op))
			},
			wantClass: hallmark.ErrBuildFailed, wantMsg: "failed to mount",
		},
		{
			name: "COPY of a missing file",
			err: func(t *testing.T) error {
				op := &pb.Op{Op: &pb.Op_File{File: &pb.FileOp{}}}
				return fromBuildKit(t, inGraph(errors.New(`failed to calculate checksum of ref x: "/push ": not found`), op))
			},
			wantClass: hallmark.ErrBuildFailed, wantMsg: `"/push ": not found`,
		},
		{
			name: "COPY of a file named like a push failure",
			err: func(t *testing.T) error {
				op := &pb.Op{Op: &pb.Op_File{File: &pb.FileOp{}}}
				return fromBuildKit(t, inGraph(fmt.Errorf(`failed to calculate checksum of ref x: "/failed to push %s: x": not found`, testTarget), op))
			},
			wantClass: hallmark.ErrBuildFailed, wantMsg: "not found",
		},
		{
			name: "Dockerfile error mentioning push",
			err: func(t *testing.T) error {
				err := errdefs.WithSource(errors.New("dockerfile parse error on line 2: unknown instruction: push "), &errdefs.Source{Info: &pb.SourceInfo{Filename: "Dockerfile"}})
				return fromBuildKit(t, err)
			},
			wantClass: hallmark.ErrBuildFailed, wantMsg: "unknown instruction: push",
		},
		{
			name: "push to a registry that is down",
			err: func(t *testing.T) error {
				cause := errors.New(`failed to do request: Head "https://registry.example.com/v2/acme/app/blobs/sha256:ab": dial tcp 10.0.0.9:443: connect: connection refused`)
				return fromBuildKit(t, fmt.Errorf("failed to push %v: %w", testTarget, cause))
			},
			wantClass: hallmark.ErrUnavailable, wantMsg: "push image: failed to solve: failed to push " + testTarget + ": failed to do request",
		},
		{
			name: "registry refuses the push",
			err: func(t *testing.T) error {
				// containerd's remotes errors.ErrUnexpectedStatus: text only over gRPC.
				cause := errors.New("unexpected status from PUT request to https://registry.example.com/v2/acme/app/manifests/sha256:ab: 503 Service Unavailable")
				return fromBuildKit(t, fmt.Errorf("failed to push %v: %w", testTarget, cause))
			},
			wantClass: hallmark.ErrUnavailable, wantMsg: "503 Service Unavailable",
		},
		{
			name: "push of another image is no push of ours",
			err: func(t *testing.T) error {
				return fromBuildKit(t, fmt.Errorf("failed to push %v: %w", testTarget+"-cache", errors.New("denied")))
			},
			wantClass: hallmark.ErrBuildFailed, wantMsg: "denied",
		},
		{
			name: "image the gateway did not pin",
			err: func(t *testing.T) error {
				denied := fmt.Errorf("source %q denied by policy: %w", "docker-image://docker.io/docker/dockerfile:1", sourcepolicy.ErrSourceDenied)
				return fromBuildKit(t, inGraph(denied, &pb.Op{Op: &pb.Op_Source{Source: &pb.SourceOp{Identifier: "docker-image://docker.io/docker/dockerfile:1"}}}))
			},
			wantClass: hallmark.ErrInvalid, wantMsg: "did not pin",
		},
		{
			name: "buildkit unreachable",
			err: func(*testing.T) error {
				return status.Error(codes.Unavailable, "connection error: desc = transport: dial unix /run/buildkit/buildkitd.sock: connect: no such file or directory")
			},
			wantClass: hallmark.ErrUnavailable, wantMsg: "buildkit worker at unix:///run/buildkit/buildkitd.sock",
		},
		{
			name:      "buildkit canceled the build",
			err:       func(t *testing.T) error { return fromBuildKit(t, status.Error(codes.Canceled, "context canceled")) },
			wantClass: context.Canceled, wantMsg: "buildkit at unix:///run/buildkit/buildkitd.sock",
		},
		{
			name: "a deadline inside buildkit",
			err: func(t *testing.T) error {
				return fromBuildKit(t, status.Error(codes.DeadlineExceeded, "context deadline exceeded"))
			},
			wantClass: context.DeadlineExceeded, wantMsg: "buildkit at unix:///run/buildkit/buildkitd.sock",
		},
		{
			name:      "the caller went away",
			ctx:       canceled,
			err:       func(t *testing.T) error { return fromBuildKit(t, runFails("make", 2)) },
			wantClass: hallmark.ErrCanceled, wantMsg: "the caller went away",
		},
		{
			name:      "anything else",
			err:       func(t *testing.T) error { return fromBuildKit(t, errors.New("frontend dockerfile.v0 not found")) },
			wantClass: hallmark.ErrBuildFailed, wantMsg: "frontend dockerfile.v0 not found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			got := classifySolve(ctx, tt.err(t), "unix:///run/buildkit/buildkitd.sock", testTarget)
			if class := hallmark.Class(got); !errors.Is(class, tt.wantClass) || class == nil {
				t.Errorf("classify = %q of class %v, want %v", got, class, tt.wantClass)
			}
			if !strings.Contains(got.Error(), tt.wantMsg) {
				t.Errorf("classify = %q, want it to contain %q", got, tt.wantMsg)
			}
		})
	}
}

// TestSolveErrorTypesCrossGRPC checks what classify relies on: the typed
// errors of a failing RUN step survive buildkitd's gRPC status.
func TestSolveErrorTypesCrossGRPC(t *testing.T) {
	err := fromBuildKit(t, runFails("false", 1))
	exit, ok := errors.AsType[*gatewaypb.ExitError](err)
	if !ok || exit.ExitCode != 1 {
		t.Errorf("ExitError = %v, %v; want exit code 1", exit, ok)
	}
	se, ok := errors.AsType[*errdefs.SolveError](err)
	if !ok || se.Solve.GetOp().GetExec() == nil {
		t.Errorf("SolveError = %v, %v; want one of an exec op", se, ok)
	}
	if !fromSolver(err) || fromSolver(fromBuildKit(t, errors.New("failed to push x: y"))) {
		t.Error("fromSolver cannot tell a solve error from an exporter's")
	}
}
