package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// fakeQuery is an in-process QueryService answering from fixed records,
// in pages of at most maxPage, and recording what it was asked.
type fakeQuery struct {
	hallmarkv1connect.UnimplementedQueryServiceHandler

	images     []*hallmarkv1.Image
	unresolved []string
	builds     []*hallmarkv1.Build
	events     []*hallmarkv1.AuditEvent
	pushes     []*hallmarkv1.AuditEvent // unattested_pushes answers these
	check      *hallmarkv1.AuditCheck
	findings   *hallmarkv1.ListFindingsResponse // ListFindings answers its findings in pages, the rest as is
	maxPage    int                              // 0: no cap but the request's

	mu       sync.Mutex
	methods  []string
	auth     []string
	sizes    []int32
	requests []any
}

func (g *fakeQuery) record(req connect.AnyRequest, size int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.auth = append(g.auth, req.Header().Get("Authorization"))
	g.sizes = append(g.sizes, size)
	g.requests = append(g.requests, req.Any())
}

// fakePage returns the page of items that size and token select: the
// token is the index of the page's first item.
func fakePage[T any](g *fakeQuery, items []T, size int32, token string) ([]T, string) {
	start, _ := strconv.Atoi(token)
	n := int(size)
	if n == 0 {
		n = 50
	}
	if g.maxPage > 0 {
		n = min(n, g.maxPage)
	}
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next
}

func (g *fakeQuery) ListImages(_ context.Context, req *connect.Request[hallmarkv1.ListImagesRequest]) (*connect.Response[hallmarkv1.ListImagesResponse], error) {
	g.record(req, req.Msg.GetPageSize())
	page, next := fakePage(g, g.images, req.Msg.GetPageSize(), req.Msg.GetPageToken())
	return connect.NewResponse(&hallmarkv1.ListImagesResponse{Images: page, NextPageToken: next, UnresolvedBases: g.unresolved}), nil
}

func (g *fakeQuery) ListBuilds(_ context.Context, req *connect.Request[hallmarkv1.ListBuildsRequest]) (*connect.Response[hallmarkv1.ListBuildsResponse], error) {
	g.record(req, req.Msg.GetPageSize())
	page, next := fakePage(g, g.builds, req.Msg.GetPageSize(), req.Msg.GetPageToken())
	return connect.NewResponse(&hallmarkv1.ListBuildsResponse{Builds: page, NextPageToken: next}), nil
}

func (g *fakeQuery) ListAudit(_ context.Context, req *connect.Request[hallmarkv1.ListAuditRequest]) (*connect.Response[hallmarkv1.ListAuditResponse], error) {
	g.record(req, req.Msg.GetPageSize())
	events := g.events
	if req.Msg.GetUnattestedPushes() {
		events = g.pushes
	}
	page, next := fakePage(g, events, req.Msg.GetPageSize(), req.Msg.GetPageToken())
	return connect.NewResponse(&hallmarkv1.ListAuditResponse{Events: page, NextPageToken: next}), nil
}

func (g *fakeQuery) GetImage(_ context.Context, req *connect.Request[hallmarkv1.GetImageRequest]) (*connect.Response[hallmarkv1.GetImageResponse], error) {
	g.record(req, 0)
	for _, im := range g.images {
		if req.Msg.GetImage() == im.GetRepository()+"@"+im.GetDigest() {
			return connect.NewResponse(&hallmarkv1.GetImageResponse{Image: im, Builds: g.builds[:1], Attestations: g.builds[0].GetAttestations(), Events: g.events[:2]}), nil
		}
	}
	return nil, connect.NewError(connect.CodeNotFound, errors.New("image: the gateway recorded no such image in a repository the caller may read"))
}

func (g *fakeQuery) GetBuild(_ context.Context, req *connect.Request[hallmarkv1.GetBuildRequest]) (*connect.Response[hallmarkv1.GetBuildResponse], error) {
	g.record(req, 0)
	for _, b := range g.builds {
		if b.GetId() == req.Msg.GetId() {
			return connect.NewResponse(&hallmarkv1.GetBuildResponse{Build: b}), nil
		}
	}
	return nil, connect.NewError(connect.CodeNotFound, errors.New("build: no such build"))
}

func (g *fakeQuery) VerifyAudit(_ context.Context, req *connect.Request[hallmarkv1.VerifyAuditRequest]) (*connect.Response[hallmarkv1.VerifyAuditResponse], error) {
	g.record(req, 0)
	return connect.NewResponse(&hallmarkv1.VerifyAuditResponse{Check: g.check}), nil
}

func (g *fakeQuery) ListFindings(_ context.Context, req *connect.Request[hallmarkv1.ListFindingsRequest]) (*connect.Response[hallmarkv1.ListFindingsResponse], error) {
	g.record(req, req.Msg.GetPageSize())
	if req.Msg.GetImage() == "reg.example/nope:v1" {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("image reg.example/nope:v1: the gateway recorded no such image"))
	}
	resp := &hallmarkv1.ListFindingsResponse{Advisories: g.findings.GetAdvisories(), DatabaseUpdated: g.findings.GetDatabaseUpdated(), ScannedAt: g.findings.GetScannedAt()}
	resp.Findings, resp.NextPageToken = fakePage(g, g.findings.GetFindings(), req.Msg.GetPageSize(), req.Msg.GetPageToken())
	return connect.NewResponse(resp), nil
}

// startQuery serves g as hallmarkd does and returns its URL.
func startQuery(t *testing.T, g *fakeQuery) string {
	t.Helper()
	path, h := hallmarkv1connect.NewQueryServiceHandler(g)
	return serveH2C(t, path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.methods = append(g.methods, r.Method)
		g.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
}

var qt0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func qDigest(c string) string { return "sha256:" + strings.Repeat(c, 64) }

func qTime(min int) *timestamppb.Timestamp {
	return timestamppb.New(qt0.Add(time.Duration(min) * time.Minute))
}

// queryFixture is a fakeQuery with n images, builds and audit records.
func queryFixture(n int) *fakeQuery {
	g := &fakeQuery{check: &hallmarkv1.AuditCheck{Records: 20, Chains: []*hallmarkv1.AuditChain{
		{Name: "decisions", Length: 60, FirstSeq: 51}, {Name: "events", Length: 10, FirstSeq: 1}}}}
	claims, _ := structpb.NewStruct(map[string]any{"ref": "refs/heads/main", "run_attempt": 2.0})
	for i := range n {
		hex := strconv.FormatInt(int64(i%16), 16)
		repo := fmt.Sprintf("reg.example/team-a/app%d", i)
		base := &hallmarkv1.ImageBase{Ref: "reg.example/base:12", Repository: "reg.example/base", Digest: qDigest("1"), Runtime: true}
		g.images = append(g.images, &hallmarkv1.Image{Repository: repo, Digest: qDigest(hex), BuildId: fmt.Sprintf("b-%d", i),
			Created: qTime(i), Tags: []string{"v1", "latest"}, Bases: []*hallmarkv1.ImageBase{base, {Ref: "reg.example/golang:1.26", Repository: "reg.example/golang", Digest: qDigest("9")}}})
		g.builds = append(g.builds, &hallmarkv1.Build{Id: fmt.Sprintf("b-%d", i), Kind: "build", Repository: repo, Digest: qDigest(hex),
			Requester: &hallmarkv1.Requester{Issuer: "https://ci.example", Subject: "repo:acme/app:ref:refs/heads/main", Claims: claims},
			Source:    &hallmarkv1.BuildSource{GitUrl: "https://git.example/app", GitCommit: strings.Repeat("c", 40), Dockerfile: "Dockerfile", DockerfileDigest: qDigest("f")},
			Platforms: []string{"linux/amd64"}, Bases: []*hallmarkv1.ImageBase{base}, Tags: []*hallmarkv1.TagMove{{Tag: "v1", Previous: qDigest("0")}, {Tag: "latest"}},
			Attestations: []*hallmarkv1.RecordedAttestation{{PredicateType: "https://slsa.dev/provenance/v1", ReferrerDigest: qDigest("e"),
				SignerIdentity: "https://hallmark.dev/builders/dev", SignerIssuer: "https://issuer.example", LogIndex: 7, SignedAt: qTime(i)}},
			Started: qTime(i), Finished: timestamppb.New(qTime(i).AsTime().Add(95 * time.Second)), Outcome: "succeeded", Worker: "buildkitd-0"})
		g.events = append(g.events, &hallmarkv1.AuditEvent{Id: int64(i + 1), Chain: "events", Seq: int64(i + 1), At: qTime(i), Kind: "tag",
			Actor: "https://ci.example repo:acme/app", Repository: repo, Digest: qDigest(hex), Subject: "v1", Outcome: "succeeded",
			Detail: `{"build":"b-` + strconv.Itoa(i) + `"}`, PrevHash: strings.Repeat("0", 64), Hash: strings.Repeat("1", 64)})
		g.pushes = append(g.pushes, &hallmarkv1.AuditEvent{Id: int64(n + i + 1), Chain: "events", Seq: int64(n + i + 1), At: qTime(60 + i), Kind: "push",
			Actor: "alice", Repository: repo, Digest: qDigest(strconv.FormatInt(int64(15-i%16), 16)), Subject: "hotfix-" + strconv.Itoa(i), Outcome: "succeeded",
			Detail:   `{"mediaType":"application/vnd.oci.image.manifest.v1+json","tag":"hotfix-` + strconv.Itoa(i) + `","eventID":"e-` + strconv.Itoa(i) + `"}`,
			PrevHash: strings.Repeat("1", 64), Hash: strings.Repeat("2", 64)})
	}
	// The third build is still running.
	if n > 2 {
		b := g.builds[2]
		b.Outcome, b.Finished, b.Digest, b.Tags, b.Attestations = "running", nil, "", nil, nil
		b.Progress = &hallmarkv1.BuildProgress{Phase: "building", Step: "[2/3] RUN make -j2", Done: 5, Total: 9, Updated: qTime(4)}
	}
	// The third record stands for twelve identical admissions.
	if n > 2 {
		e := g.events[2]
		e.Chain, e.Kind, e.Actor, e.Subject, e.Outcome = "decisions", "admission", "system:serviceaccount:kube-system:replicaset-controller", "web/Pod/", "allowed"
		e.Detail = `{"namespace":"web","object":"Pod/","policy":"default","count":12,"last":"2026-12-02T10:02:00.09Z"}`
	}
	return g
}

// runQuery runs the command newCmd returns with args, as main would, with
// HALLMARK_TOKEN set and the gateway at gw.
func runQuery(t *testing.T, cmd func() *cobra.Command, gw string, args ...string) runResult {
	t.Helper()
	return runGatewayCmd(t.Context(), t, cmd(), "", append(args, "--gateway", gw)...)
}
