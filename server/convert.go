package server

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hallmark "github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/server/convert"
)

func tsp(t *time.Time) *timestamppb.Timestamp { return convert.Timestamp(t) }

func bases(in []hallmark.ResolvedBase) []*hallmarkv1.ResolvedBase {
	out := make([]*hallmarkv1.ResolvedBase, len(in))
	for i, b := range in {
		out[i] = &hallmarkv1.ResolvedBase{Ref: b.Ref, Pinned: b.Pinned, Digest: b.Digest.String()}
	}
	return out
}

func eventProto(e hallmark.Event) *hallmarkv1.BuildResponse {
	switch {
	case e.Accepted != nil:
		return &hallmarkv1.BuildResponse{Event: &hallmarkv1.BuildResponse_Accepted{Accepted: acceptedProto(e.Accepted)}}
	case e.Status != nil:
		return &hallmarkv1.BuildResponse{Event: &hallmarkv1.BuildResponse_Status{Status: statusProto(e.Status)}}
	}
	return nil
}

func acceptedProto(a *hallmark.Accepted) *hallmarkv1.BuildAccepted {
	return &hallmarkv1.BuildAccepted{BuildId: a.ID, QueuePosition: int32(a.QueuePosition), Bases: bases(a.Bases)}
}

func statusProto(s *hallmark.SolveStatus) *hallmarkv1.SolveStatus {
	out := &hallmarkv1.SolveStatus{}
	for _, v := range s.Vertexes {
		out.Vertexes = append(out.Vertexes, &hallmarkv1.Vertex{
			Digest: v.Digest, Inputs: v.Inputs, Name: v.Name, Cached: v.Cached,
			Started: tsp(v.Started), Completed: tsp(v.Completed), Error: v.Error,
		})
	}
	for _, st := range s.Statuses {
		out.Statuses = append(out.Statuses, &hallmarkv1.VertexStatus{
			Id: st.ID, Vertex: st.Vertex, Name: st.Name, Current: st.Current, Total: st.Total,
			Timestamp: tsp(&st.Timestamp), Started: tsp(st.Started), Completed: tsp(st.Completed),
		})
	}
	for _, l := range s.Logs {
		out.Logs = append(out.Logs, &hallmarkv1.VertexLog{Vertex: l.Vertex, Timestamp: tsp(&l.Timestamp), Stream: int32(l.Stream), Msg: l.Data})
	}
	for _, w := range s.Warnings {
		out.Warnings = append(out.Warnings, &hallmarkv1.VertexWarning{Vertex: w.Vertex, Level: int64(w.Level), Short: w.Short, Detail: w.Detail, Url: w.URL})
	}
	return out
}

func resultProto(r hallmark.BuildResult) *hallmarkv1.BuildResponse {
	return &hallmarkv1.BuildResponse{Event: &hallmarkv1.BuildResponse_Result{Result: buildResultProto(r)}}
}

func buildResultProto(r hallmark.BuildResult) *hallmarkv1.BuildResult {
	return &hallmarkv1.BuildResult{
		BuildId: r.ID, Digest: r.Digest.String(), ImageName: r.Repository, Tags: r.Tags, Pinned: r.Pinned,
		Bases: bases(r.Bases), Started: tsp(&r.Started), Finished: tsp(&r.Finished),
		Attestations: attestations(r.Attestations), Warnings: r.Warnings,
	}
}

func attestations(in []hallmark.Attestation) []*hallmarkv1.Attestation {
	out := make([]*hallmarkv1.Attestation, len(in))
	for i, a := range in {
		out[i] = &hallmarkv1.Attestation{
			PredicateType: a.PredicateType, ReferrerDigest: a.Digest.String(), BundleDigest: a.BundleDigest.String(),
			SignerIdentity: a.SignerIdentity, SignerIssuer: a.SignerIssuer, LogIndex: a.LogIndex, Timestamp: tsp(&a.Timestamp),
		}
	}
	return out
}
