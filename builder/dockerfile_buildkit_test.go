package builder

import (
	"context"
	"maps"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	fstypes "github.com/tonistiigi/fsutil/types"

	"github.com/hallmark-dev/hallmark"
)

// These tests run BuildKit's own Dockerfile-to-LLB conversion, which
// resolves exactly the images a build pulls, and compare with what
// InspectDockerfile and NamedContexts say.

const fakeImageConfig = `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}`

// recordingResolver answers every image lookup with an empty image and
// remembers the references asked for.
type recordingResolver struct {
	mu   sync.Mutex
	refs map[string]bool
}

func (r *recordingResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs == nil {
		r.refs = map[string]bool{}
	}
	r.refs[ref] = true
	return ref, digest.FromString(ref), []byte(fakeImageConfig), nil
}

func (r *recordingResolver) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.refs))
}

// fakeGateway is the part of a frontend gateway client that dockerui and
// named contexts use.
type fakeGateway struct {
	gwclient.Client
	opts     map[string]string
	resolved recordingResolver
}

func (g *fakeGateway) BuildOpts() gwclient.BuildOpts {
	caps := pb.Caps.CapSet(pb.Caps.All())
	return gwclient.BuildOpts{Opts: g.opts, LLBCaps: caps, Caps: caps}
}

// Solve serves the build context, which has no .dockerignore.
func (g *fakeGateway) Solve(context.Context, gwclient.SolveRequest) (*gwclient.Result, error) {
	res := gwclient.NewResult()
	res.SetRef(emptyRef{})
	return res, nil
}

type emptyRef struct{ gwclient.Reference }

func (emptyRef) StatFile(context.Context, gwclient.StatRequest) (*fstypes.Stat, error) {
	return nil, os.ErrNotExist
}

func (emptyRef) ReadFile(context.Context, gwclient.ReadRequest) ([]byte, error) {
	return nil, os.ErrNotExist
}

func (g *fakeGateway) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return g.resolved.ResolveImageConfig(ctx, ref, opt)
}

func convertOpt(t *testing.T, tc inspectCase) dockerfile2llb.ConvertOpt {
	t.Helper()
	opt := dockerfile2llb.ConvertOpt{}
	opt.BuildArgs = tc.args
	opt.Target = tc.target
	if tc.platform != "" {
		p, err := platforms.Parse(tc.platform)
		if err != nil {
			t.Fatal(err)
		}
		opt.TargetPlatform = &p
	}
	return opt
}

func normalizedSet(t *testing.T, refs []string) []string {
	t.Helper()
	var out []string
	for _, r := range refs {
		n, err := normalizeName(r)
		if err != nil {
			t.Fatalf("normalize %q: %v", r, err)
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func TestInspectDockerfileMatchesBuildKit(t *testing.T) {
	for _, tc := range inspectCases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []InspectOption
			if tc.platform != "" {
				opts = append(opts, WithTargetPlatform(tc.platform))
			}
			info, err := InspectDockerfile([]byte(tc.dockerfile), tc.args, tc.target, opts...)
			if err != nil {
				t.Fatal(err)
			}
			res := &recordingResolver{}
			opt := convertOpt(t, tc)
			opt.MetaResolver = res
			if _, err := dockerfile2llb.Dockerfile2LLB(t.Context(), []byte(tc.dockerfile), opt); err != nil {
				t.Fatalf("BuildKit conversion: %v", err)
			}
			if got, want := normalizedSet(t, info.Bases), res.seen(); !slices.Equal(got, want) {
				t.Errorf("InspectDockerfile bases %q, BuildKit resolved %q", got, want)
			}
		})
	}
}

func TestNamedContextsPinEveryBase(t *testing.T) {
	for _, tc := range inspectCases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []InspectOption
			if tc.platform != "" {
				opts = append(opts, WithTargetPlatform(tc.platform))
			}
			info, err := InspectDockerfile([]byte(tc.dockerfile), tc.args, tc.target, opts...)
			if err != nil {
				t.Fatal(err)
			}
			var bases []hallmark.ResolvedBase
			var wantPinned []string
			for _, b := range info.Bases {
				// Pinned as Resolve pins: go-containerregistry's repository
				// name ("index.docker.io/library/alpine") and the digest.
				ref, err := name.ParseReference(b)
				if err != nil {
					t.Fatal(err)
				}
				d := hallmark.Digest(digest.FromString(b).String())
				pinned := ref.Context().Name() + "@" + d.String()
				bases = append(bases, hallmark.ResolvedBase{Ref: b, Pinned: pinned, Digest: d})
				// BuildKit asks for it in its own normal form.
				named, err := reference.ParseNormalizedNamed(pinned)
				if err != nil {
					t.Fatal(err)
				}
				wantPinned = append(wantPinned, named.String())
			}
			gw := &fakeGateway{opts: NamedContexts(bases)}
			for k, v := range tc.args {
				gw.opts["build-arg:"+k] = v
			}
			if tc.platform != "" {
				gw.opts["platform"] = tc.platform
			}
			if tc.target != "" {
				gw.opts["target"] = tc.target
			}
			bc, err := dockerui.NewClient(gw)
			if err != nil {
				t.Fatal(err)
			}
			meta := &recordingResolver{}
			opt := convertOpt(t, tc)
			opt.Config = bc.Config
			opt.Client = bc
			opt.MetaResolver = meta
			if _, err := dockerfile2llb.Dockerfile2LLB(t.Context(), []byte(tc.dockerfile), opt); err != nil {
				t.Fatalf("BuildKit conversion: %v", err)
			}
			if unpinned := meta.seen(); len(unpinned) > 0 {
				t.Errorf("BuildKit resolved %q by name, not through a named context", unpinned)
			}
			sort.Strings(wantPinned)
			if got := gw.resolved.seen(); !slices.Equal(got, slices.Compact(wantPinned)) {
				t.Errorf("named contexts resolved %q, want %q", got, wantPinned)
			}
		})
	}
}

// buildKitBases returns the normalized images BuildKit resolves converting
// src, and false if it cannot convert it.
func buildKitBases(t *testing.T, src []byte, args map[string]string, target string) (bases []string, ok bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			ok = false // a BuildKit bug, not ours
		}
	}()
	res := &recordingResolver{}
	opt := dockerfile2llb.ConvertOpt{MetaResolver: res}
	opt.BuildArgs = args
	opt.Target = target
	if _, err := dockerfile2llb.Dockerfile2LLB(t.Context(), src, opt); err != nil {
		return nil, false
	}
	return res.seen(), true
}
