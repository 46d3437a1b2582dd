package hallmark

import (
	"fmt"
	"time"
)

// stepFailed is a failed step's error text when the cause is internal: the
// cause itself only reaches the logs, and the build's final error says what
// the caller may know.
const stepFailed = "failed; see the error that ends the build"

// Step reports work that happens outside BuildKit (assembling a base image,
// attesting) as one vertex in a build's progress, so that clients show it
// like a BuildKit step: StartStep, any number of Logf, then Done.
type Step struct {
	emit    func(Event) error
	digest  string
	name    string
	started time.Time
	err     error // the first error sending a log line
}

// StartStep sends the start of a step called name to emit and returns the
// step. The error is emit's.
func StartStep(emit func(Event) error, name string) (*Step, error) {
	s := &Step{emit: emit, name: name, started: time.Now()}
	s.digest = SHA256([]byte(name + s.started.String())).String()
	err := emit(Event{Status: &SolveStatus{Vertexes: []Vertex{{Digest: s.digest, Name: name, Started: &s.started}}}})
	return s, err
}

// Logf sends one line of the step's output. An error sending it is kept
// and returned by Done; once one is kept, later lines are dropped.
func (s *Step) Logf(format string, args ...any) {
	if s.err != nil {
		return
	}
	line := fmt.Sprintf(format, args...) + "\n"
	s.err = s.emit(Event{Status: &SolveStatus{Logs: []VertexLog{{Vertex: s.digest, Timestamp: time.Now(), Stream: 1, Data: []byte(line)}}}})
}

// Done completes the step, marked failed if cause is not nil. The vertex
// carries cause's message only when cause is classified (Class); an
// internal cause shows as a failure that the build's final error explains,
// so that it never reaches the caller's progress.
//
// Done returns the error of sending the step's progress: the first error of
// Logf, in which case nothing more is sent, or the error of sending the
// completion. It never returns cause: the caller returns that itself,
// wrapped as it sees fit.
func (s *Step) Done(cause error) error {
	if s.err != nil {
		return s.err
	}
	now := time.Now()
	v := Vertex{Digest: s.digest, Name: s.name, Started: &s.started, Completed: &now}
	if cause != nil {
		v.Error = stepFailed
		if Class(cause) != nil {
			v.Error = cause.Error()
		}
	}
	return s.emit(Event{Status: &SolveStatus{Vertexes: []Vertex{v}}})
}
