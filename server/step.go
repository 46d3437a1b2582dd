package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// step reports gateway work that happens outside BuildKit (attesting) as a
// vertex in the build's progress, so `hallmark build` shows it like a
// BuildKit step.
type step struct {
	emit    func(hallmark.Event) error
	digest  string
	name    string
	started time.Time
	err     error
}

func newStep(emit func(hallmark.Event) error, name string) *step {
	sum := sha256.Sum256([]byte(name + time.Now().String()))
	return &step{emit: emit, digest: "sha256:" + hex.EncodeToString(sum[:]), name: name}
}

func (s *step) start() error {
	s.started = time.Now()
	return s.emit(hallmark.Event{Status: &hallmark.SolveStatus{Vertexes: []hallmark.Vertex{{Digest: s.digest, Name: s.name, Started: &s.started}}}})
}

// log sends one line of output for the step. Send errors are kept and
// returned by done.
func (s *step) log(format string, args ...any) {
	if s.err != nil {
		return
	}
	line := fmt.Sprintf(format, args...) + "\n"
	s.err = s.emit(hallmark.Event{Status: &hallmark.SolveStatus{Logs: []hallmark.VertexLog{{Vertex: s.digest, Timestamp: time.Now(), Stream: 1, Data: []byte(line)}}}})
}

// done completes the step, marking it failed with cause if it is non-nil.
func (s *step) done(cause error) error {
	if s.err != nil {
		return s.err
	}
	now := time.Now()
	v := hallmark.Vertex{Digest: s.digest, Name: s.name, Started: &s.started, Completed: &now}
	if cause != nil {
		v.Error = "failed; see the error that ends the build"
		if _, ok := classify(cause); ok {
			v.Error = cause.Error()
		}
	}
	return s.emit(hallmark.Event{Status: &hallmark.SolveStatus{Vertexes: []hallmark.Vertex{v}}})
}
