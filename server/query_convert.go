package server

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/store"
)

// The store's records in their API form. They live here rather than in
// server/convert, which the CLI links: converting them needs the store
// package, and with it the database drivers.

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func imageMsg(im store.Image) *hallmarkv1.Image {
	return &hallmarkv1.Image{
		Repository: im.Repository, Digest: im.Digest.String(), BuildId: im.BuildID,
		Created: timestamp(im.Created), Tags: im.Tags, Bases: basesMsg(im.Bases),
	}
}

func basesMsg(in []store.Base) []*hallmarkv1.ImageBase {
	out := make([]*hallmarkv1.ImageBase, len(in))
	for i, b := range in {
		out[i] = &hallmarkv1.ImageBase{Ref: b.Ref, Repository: b.Repository, Digest: b.Digest.String(), Runtime: b.Runtime}
	}
	return out
}

// buildMsg is the API form of a build record (its packages are not in
// it). Claims the store decoded from JSON always convert; an error means a
// record the store should never have held.
func buildMsg(b *store.Build) (*hallmarkv1.Build, error) {
	var claims *structpb.Struct
	if len(b.Requester.Claims) > 0 {
		var err error
		if claims, err = structpb.NewStruct(b.Requester.Claims); err != nil {
			return nil, fmt.Errorf("convert claims of build %s: %w", b.ID, err)
		}
	}
	out := &hallmarkv1.Build{
		Id: b.ID, Kind: b.Kind, Repository: b.Repository, Platforms: b.Platforms,
		Requester: &hallmarkv1.Requester{Issuer: b.Requester.Issuer, Subject: b.Requester.Subject, Claims: claims},
		Source: &hallmarkv1.BuildSource{
			ContextDigest: b.Source.ContextDigest.String(), GitUrl: b.Source.GitURL, GitCommit: b.Source.GitCommit,
			GitSubdir: b.Source.GitSubdir, Dockerfile: b.Source.Dockerfile,
			DockerfileDigest: b.Source.DockerfileDigest.String(), Frontend: b.Source.Frontend,
		},
		Bases: basesMsg(b.Bases), Digest: b.Digest.String(), Attestations: attestationsMsg(b.Attestations),
		Started: timestamp(b.Started), Finished: timestamp(b.Finished), Outcome: b.Outcome, Error: b.Error, Worker: b.Worker,
	}
	for _, t := range b.Tags {
		out.Tags = append(out.Tags, &hallmarkv1.TagMove{Tag: t.Tag, Previous: t.Previous.String()})
	}
	if p := b.Progress; p != nil {
		out.Progress = &hallmarkv1.BuildProgress{
			Phase: p.Phase, Queue: int32(p.Queue), Step: p.Step, Done: int32(p.Done), Total: int32(p.Total), Updated: timestamp(p.Updated),
		}
	}
	return out, nil
}

func buildsMsg(in []store.Build) ([]*hallmarkv1.Build, error) {
	out := make([]*hallmarkv1.Build, len(in))
	for i := range in {
		var err error
		if out[i], err = buildMsg(&in[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func attestationsMsg(in []store.Attestation) []*hallmarkv1.RecordedAttestation {
	out := make([]*hallmarkv1.RecordedAttestation, len(in))
	for i, a := range in {
		out[i] = &hallmarkv1.RecordedAttestation{
			PredicateType: a.PredicateType, ReferrerDigest: a.Digest.String(), SignerIdentity: a.Signer,
			SignerIssuer: a.Issuer, LogIndex: a.LogIndex, SignedAt: timestamp(a.SignedAt),
		}
	}
	return out
}

func eventsMsg(in []store.Event) []*hallmarkv1.AuditEvent {
	out := make([]*hallmarkv1.AuditEvent, len(in))
	for i, e := range in {
		out[i] = &hallmarkv1.AuditEvent{
			Id: e.ID, Chain: e.Chain, Seq: e.Seq, At: timestamp(e.At), Kind: e.Kind, Actor: e.Actor,
			Repository: e.Repository, Digest: e.Digest.String(), Subject: e.Subject, Outcome: e.Outcome,
			Detail: string(e.Detail), PrevHash: e.PrevHash, Hash: e.Hash,
		}
	}
	return out
}

// auditCheckMsg is the API form of an audit check, its chains by name.
func auditCheckMsg(c *store.AuditCheck) *hallmarkv1.AuditCheck {
	out := &hallmarkv1.AuditCheck{Records: c.Records, Problems: c.Problems}
	for name, ch := range c.Chains {
		out.Chains = append(out.Chains, &hallmarkv1.AuditChain{Name: name, Length: ch.Length, FirstSeq: ch.FirstSeq, HeadHash: ch.HeadHash})
	}
	slices.SortFunc(out.Chains, func(a, b *hallmarkv1.AuditChain) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}
