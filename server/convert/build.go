package convert

import (
	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// Bases is the API form of resolved base images.
func Bases(in []hallmark.ResolvedBase) []*hallmarkv1.ResolvedBase {
	out := make([]*hallmarkv1.ResolvedBase, len(in))
	for i, b := range in {
		out[i] = &hallmarkv1.ResolvedBase{Ref: b.Ref, Pinned: b.Pinned, Digest: b.Digest.String()}
	}
	return out
}

// BuildEvent is the Build message of a progress event, or nil.
func BuildEvent(e hallmark.Event) *hallmarkv1.BuildResponse {
	switch {
	case e.Accepted != nil:
		return &hallmarkv1.BuildResponse{Event: &hallmarkv1.BuildResponse_Accepted{Accepted: Accepted(e.Accepted)}}
	case e.Status != nil:
		return &hallmarkv1.BuildResponse{Event: &hallmarkv1.BuildResponse_Status{Status: Status(e.Status)}}
	}
	return nil
}

// Accepted is the API form of a build's acceptance.
func Accepted(a *hallmark.Accepted) *hallmarkv1.BuildAccepted {
	return &hallmarkv1.BuildAccepted{BuildId: a.ID, QueuePosition: int32(a.QueuePosition), Bases: Bases(a.Bases)}
}

// Status is the API form of one batch of BuildKit progress.
func Status(s *hallmark.SolveStatus) *hallmarkv1.SolveStatus {
	out := &hallmarkv1.SolveStatus{}
	for _, v := range s.Vertexes {
		out.Vertexes = append(out.Vertexes, &hallmarkv1.Vertex{
			Digest: v.Digest, Inputs: v.Inputs, Name: v.Name, Cached: v.Cached,
			Started: Timestamp(v.Started), Completed: Timestamp(v.Completed), Error: v.Error,
		})
	}
	for _, st := range s.Statuses {
		out.Statuses = append(out.Statuses, &hallmarkv1.VertexStatus{
			Id: st.ID, Vertex: st.Vertex, Name: st.Name, Current: st.Current, Total: st.Total,
			Timestamp: Timestamp(&st.Timestamp), Started: Timestamp(st.Started), Completed: Timestamp(st.Completed),
		})
	}
	for _, l := range s.Logs {
		out.Logs = append(out.Logs, &hallmarkv1.VertexLog{Vertex: l.Vertex, Timestamp: Timestamp(&l.Timestamp), Stream: int32(l.Stream), Msg: l.Data})
	}
	for _, w := range s.Warnings {
		out.Warnings = append(out.Warnings, &hallmarkv1.VertexWarning{Vertex: w.Vertex, Level: int64(w.Level), Short: w.Short, Detail: w.Detail, Url: w.URL})
	}
	return out
}

// BuildResultEvent is the Build message of a result.
func BuildResultEvent(r hallmark.BuildResult) *hallmarkv1.BuildResponse {
	return &hallmarkv1.BuildResponse{Event: &hallmarkv1.BuildResponse_Result{Result: BuildResult(r)}}
}

// BuildResult is the API form of a build's result.
func BuildResult(r hallmark.BuildResult) *hallmarkv1.BuildResult {
	return &hallmarkv1.BuildResult{
		BuildId: r.ID, Digest: r.Digest.String(), ImageName: r.Repository, Tags: r.Tags, Pinned: r.Pinned,
		Bases: Bases(r.Bases), Started: Timestamp(&r.Started), Finished: Timestamp(&r.Finished),
		Attestations: Attestations(r.Attestations), Warnings: r.Warnings,
	}
}

// Attestations is the API form of the attestations published for an image.
func Attestations(in []hallmark.Attestation) []*hallmarkv1.Attestation {
	out := make([]*hallmarkv1.Attestation, len(in))
	for i, a := range in {
		out[i] = &hallmarkv1.Attestation{
			PredicateType: a.PredicateType, ReferrerDigest: a.Digest.String(), BundleDigest: a.BundleDigest.String(),
			SignerIdentity: a.SignerIdentity, SignerIssuer: a.SignerIssuer, LogIndex: a.LogIndex, Timestamp: Timestamp(&a.Timestamp),
			SubjectDigest: a.Subject.String(), Platform: a.Platform,
		}
	}
	return out
}

// BaseEvent is the BuildBase message of a progress event, or nil.
func BaseEvent(e hallmark.Event) *hallmarkv1.BuildBaseResponse {
	switch {
	case e.Accepted != nil:
		return &hallmarkv1.BuildBaseResponse{Event: &hallmarkv1.BuildBaseResponse_Accepted{Accepted: Accepted(e.Accepted)}}
	case e.Status != nil:
		return &hallmarkv1.BuildBaseResponse{Event: &hallmarkv1.BuildBaseResponse_Status{Status: Status(e.Status)}}
	}
	return nil
}

// BaseResultEvent is the BuildBase message of a result.
func BaseResultEvent(res hallmark.BaseResult) *hallmarkv1.BuildBaseResponse {
	out := &hallmarkv1.BuildBaseResult{Build: BuildResult(res.Build)}
	for _, p := range res.Packages {
		out.Packages = append(out.Packages, &hallmarkv1.DebianPackage{
			Name: p.Name, Version: p.Version, Architecture: p.Architecture, Uri: p.URI, Sha256: p.SHA256.String(), Size: p.Size,
		})
	}
	return &hallmarkv1.BuildBaseResponse{Event: &hallmarkv1.BuildBaseResponse_Result{Result: out}}
}
