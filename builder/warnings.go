package builder

import (
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Progress steps that carry the gateway's warnings, so that `hallmark
// build` shows them like BuildKit's own.
const (
	lintVertex = "[hallmark] lint Dockerfile"
	scanVertex = "[hallmark] scan image for secrets"
)

// emitWarnings reports warnings as a completed step named name.
func emitWarnings(emit func(hallmark.Event) error, name string, warnings []string) error {
	if len(warnings) == 0 {
		return nil
	}
	now := time.Now()
	d := hallmark.SHA256([]byte(name + now.String())).String()
	st := &hallmark.SolveStatus{Vertexes: []hallmark.Vertex{{Digest: d, Name: name, Started: &now, Completed: &now}}}
	for _, w := range warnings {
		st.Warnings = append(st.Warnings, hallmark.VertexWarning{Vertex: d, Level: 1, Short: []byte(w)})
	}
	return emit(hallmark.Event{Status: st})
}
