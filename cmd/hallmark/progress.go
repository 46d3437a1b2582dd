package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// progressModes are the values of --progress, as buildx takes them.
var progressModes = []string{"auto", "plain", "tty", "rawjson", "quiet"}

// progress renders BuildKit status with progressui, the way buildx does.
// The display starts with the first status, so that lines printed before it
// do not fight with a tty display.
type progress struct {
	disp progressui.Display
	ch   chan *client.SolveStatus
	done chan struct{}
	err  error
}

// newProgress checks mode and prepares a display writing to out.
func newProgress(out io.Writer, mode string) (*progress, error) {
	d, err := progressui.NewDisplay(out, progressui.DisplayMode(mode))
	if err != nil {
		return nil, fmt.Errorf("start progress display: %w", err)
	}
	return &progress{disp: d}, nil
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
