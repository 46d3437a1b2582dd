package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// progressModes are the values of --progress, as buildx takes them.
var progressModes = []string{"auto", "plain", "tty", "rawjson", "quiet"}

// progressMode is the --progress mode, "quiet" with --quiet.
func progressMode(progress string, quiet bool) (string, error) {
	if quiet {
		progress = "quiet"
	}
	if !slices.Contains(progressModes, progress) {
		return "", fmt.Errorf("parse --progress: unknown mode %q, want one of %s", progress, strings.Join(progressModes, ", "))
	}
	return progress, nil
}

// progress is the one way build and base build show what happens: the
// CLI's own "#0 …" lines (infof) and BuildKit's status rendered with
// progressui, the way buildx does. The display starts with the first
// status, so that lines printed before it do not fight with a tty display.
type progress struct {
	out    io.Writer
	chatty bool // infof prints: not in the quiet and rawjson modes
	disp   progressui.Display
	ch     chan *client.SolveStatus
	done   chan struct{}
	err    error
}

// newProgress checks mode and prepares a display writing to out.
func newProgress(out io.Writer, mode string) (*progress, error) {
	d, err := progressui.NewDisplay(out, progressui.DisplayMode(mode))
	if err != nil {
		return nil, fmt.Errorf("start progress display: %w", err)
	}
	return &progress{out: out, chatty: mode != "quiet" && mode != "rawjson", disp: d}, nil
}

// infof prints one of the CLI's own progress lines, except in the quiet
// and rawjson modes.
func (p *progress) infof(format string, args ...any) {
	if p.chatty {
		fmt.Fprintf(p.out, format, args...)
	}
}

// follow reads a build stream to its end: it shows the acceptance and the
// progress (event splits each message into them) and returns the result,
// nil if none came. The display is drained before follow returns, so a
// failing step's output is on screen before the error.
func follow[M, R any](stream *connect.ServerStreamForClient[M], event func(*M) (*hallmarkv1.BuildAccepted, *hallmarkv1.SolveStatus, *R), prog *progress) (*R, error) {
	defer stream.Close()
	var result *R
	for stream.Receive() {
		acc, st, res := event(stream.Msg())
		switch {
		case acc != nil:
			if !prog.started() {
				prog.accepted(acc)
			}
		case st != nil:
			prog.update(st)
		case res != nil:
			result = res
		}
	}
	perr := prog.finish()
	if err := stream.Err(); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, fmt.Errorf("show progress: %w", perr)
	}
	return result, nil
}

// accepted shows the gateway's acceptance of a build.
func (p *progress) accepted(a *hallmarkv1.BuildAccepted) {
	p.infof("#0 build %s accepted\n", a.GetBuildId())
	if n := a.GetQueuePosition(); n > 0 {
		p.infof("#0 waiting for a build slot, %d ahead\n", n)
	}
	for _, b := range a.GetBases() {
		p.infof("#0 pinned %s to %s\n", b.GetRef(), b.GetPinned())
	}
}

func (p *progress) started() bool { return p.ch != nil }

// update hands s to the display, starting it if needed. The display reads on
// a context of its own so that it drains after a cancel.
func (p *progress) update(s *hallmarkv1.SolveStatus) {
	if p.ch == nil {
		p.ch = make(chan *client.SolveStatus, 16)
		p.done = make(chan struct{})
		go func() {
			defer close(p.done)
			_, p.err = p.disp.UpdateFrom(context.Background(), p.ch)
		}()
	}
	p.ch <- toSolveStatus(s)
}

// finish closes the display and waits until everything is printed.
func (p *progress) finish() error {
	if p.ch == nil {
		return nil
	}
	close(p.ch)
	<-p.done
	return p.err
}

// toSolveStatus converts the gateway's mirror of BuildKit's SolveStatus back
// into BuildKit's own type.
func toSolveStatus(s *hallmarkv1.SolveStatus) *client.SolveStatus {
	out := &client.SolveStatus{}
	for _, v := range s.GetVertexes() {
		cv := &client.Vertex{
			Digest:    digest.Digest(v.GetDigest()),
			Name:      v.GetName(),
			Cached:    v.GetCached(),
			Error:     v.GetError(),
			Started:   timePtr(v.GetStarted()),
			Completed: timePtr(v.GetCompleted()),
		}
		for _, in := range v.GetInputs() {
			cv.Inputs = append(cv.Inputs, digest.Digest(in))
		}
		out.Vertexes = append(out.Vertexes, cv)
	}
	for _, st := range s.GetStatuses() {
		out.Statuses = append(out.Statuses, &client.VertexStatus{
			ID:        st.GetId(),
			Vertex:    digest.Digest(st.GetVertex()),
			Name:      st.GetName(),
			Current:   st.GetCurrent(),
			Total:     st.GetTotal(),
			Timestamp: timeVal(st.GetTimestamp()),
			Started:   timePtr(st.GetStarted()),
			Completed: timePtr(st.GetCompleted()),
		})
	}
	for _, l := range s.GetLogs() {
		out.Logs = append(out.Logs, &client.VertexLog{
			Vertex:    digest.Digest(l.GetVertex()),
			Stream:    int(l.GetStream()),
			Data:      l.GetMsg(),
			Timestamp: timeVal(l.GetTimestamp()),
		})
	}
	for _, w := range s.GetWarnings() {
		out.Warnings = append(out.Warnings, &client.VertexWarning{
			Vertex: digest.Digest(w.GetVertex()),
			Level:  int(w.GetLevel()),
			Short:  w.GetShort(),
			Detail: w.GetDetail(),
			URL:    w.GetUrl(),
		})
	}
	return out
}

func timePtr(ts *timestamppb.Timestamp) *time.Time {
	if ts == nil {
		return nil
	}
	t := ts.AsTime()
	return &t
}

func timeVal(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}
