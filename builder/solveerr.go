package builder

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gatewaypb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/sourcepolicy"
	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"

	hallmark "github.com/hallmark-dev/hallmark"
)

// How BuildKit's errors reach its client (read from buildkit v0.34):
// buildkitd turns an error into a gRPC status whose details carry the typed
// errors of the solver (util/grpcerrors.ToGRPC), and the client's
// interceptor wraps the status back in them (FromGRPC). A failing RUN step
// arrives as a *gatewaypb.ExitError inside an *errdefs.SolveError whose op
// is an exec, inside an *errdefs.VertexError; a Dockerfile error carries an
// *errdefs.SourceError. The image exporter pushes after the solve, outside
// any vertex, and wraps a registry failure as text only ("failed to push
// <name>: …", exporter/containerimage), so a push failure is an error that
// carries none of the solver's types and names the image Hallmark asked to
// push. A source policy denial arrives as the text of
// sourcepolicy.ErrSourceDenied.

// classifySolve turns the error of a BuildKit solve on the worker at addr that
// pushes to target into a hallmark error class, by the types and gRPC
// status BuildKit returns: what a build step printed or ran never decides
// the class.
func classifySolve(ctx context.Context, err error, addr, target string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", hallmark.ErrCanceled, context.Cause(ctx))
	}
	msg := err.Error()
	code := grpcerrors.Code(err)
	switch {
	case code == codes.Unavailable:
		return fmt.Errorf("%w: the build lost the buildkit worker at %s: %s", hallmark.ErrUnavailable, addr, msg)
	case execFailed(err):
		return fmt.Errorf("%w: %s", hallmark.ErrBuildFailed, msg)
	case !fromSolver(err) && strings.Contains(msg, "failed to push "+target+": "):
		return fmt.Errorf("%w: push image: %s", hallmark.ErrUnavailable, msg)
	case strings.Contains(msg, sourcepolicy.ErrSourceDenied.Error()):
		return fmt.Errorf("%w: the build pulls an image the gateway did not pin (a # syntax= frontend, or an ONBUILD of a base image): %s", hallmark.ErrInvalid, msg)
	case code == codes.DeadlineExceeded:
		return fmt.Errorf("buildkit at %s: %w: %s", addr, context.DeadlineExceeded, msg)
	case code == codes.Canceled:
		return fmt.Errorf("buildkit at %s: %w: %s", addr, context.Canceled, msg)
	}
	return fmt.Errorf("%w: %s", hallmark.ErrBuildFailed, msg)
}

// execFailed reports whether err is a build step's process failing: it
// exited non-zero or could not start (an ExitError), or the solve failed in
// an exec op.
func execFailed(err error) bool {
	if _, ok := errors.AsType[*gatewaypb.ExitError](err); ok {
		return true
	}
	se, ok := errors.AsType[*errdefs.SolveError](err)
	return ok && se.Solve.GetOp().GetExec() != nil
}

// fromSolver reports whether err carries one of the types the solver and
// the frontend attach to an error of the build graph: the failing vertex,
// op, process, Dockerfile source or frontend.
func fromSolver(err error) bool {
	_, vertex := errors.AsType[*errdefs.VertexError](err)
	_, solve := errors.AsType[*errdefs.SolveError](err)
	_, exit := errors.AsType[*gatewaypb.ExitError](err)
	_, source := errors.AsType[*errdefs.SourceError](err)
	_, frontend := errors.AsType[*errdefs.FrontendError](err)
	return vertex || solve || exit || source || frontend
}
