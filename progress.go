package hallmark

import "time"

// Event is one update of a running build: exactly one field is set.
type Event struct {
	Accepted *Accepted
	Status   *SolveStatus
}

// Accepted says a build was accepted, how many builds are ahead of it, and
// which base images it will be built from.
type Accepted struct {
	ID            string
	QueuePosition int
	Bases         []ResolvedBase
}

// SolveStatus mirrors BuildKit's client.SolveStatus without depending on it.
type SolveStatus struct {
	Vertexes []Vertex
	Statuses []VertexStatus
	Logs     []VertexLog
	Warnings []VertexWarning
}

// Vertex is one build step.
type Vertex struct {
	Digest    string
	Inputs    []string
	Name      string
	Cached    bool
	Started   *time.Time
	Completed *time.Time
	Error     string
}

// VertexStatus is the progress of one operation inside a step.
type VertexStatus struct {
	ID        string
	Vertex    string
	Name      string
	Current   int64
	Total     int64
	Timestamp time.Time
	Started   *time.Time
	Completed *time.Time
}

// VertexLog is output written by a step.
type VertexLog struct {
	Vertex    string
	Timestamp time.Time
	Stream    int
	Data      []byte
}

// VertexWarning is a warning about the build definition.
type VertexWarning struct {
	Vertex string
	Level  int
	Short  []byte
	Detail [][]byte
	URL    string
}
