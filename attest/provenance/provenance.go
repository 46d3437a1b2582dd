package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/moby/buildkit/util/purl"
	packageurl "github.com/package-url/packageurl-go"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/intoto"
)

const (
	// BuildType is the buildDefinition.buildType of every build Hallmark
	// runs: a Dockerfile built by BuildKit's dockerfile.v0 frontend (or an
	// allowed "# syntax=" frontend image, pinned by digest) from an
	// uploaded context or a git commit, with every base image pinned by
	// digest. docs/provenance.md describes its parameters.
	BuildType = "https://hallmark.dev/buildtypes/dockerfile/v1"

	// FrontendDockerfile is BuildKit's built-in Dockerfile frontend, the
	// frontend of every build without a "# syntax=" directive. The only
	// other frontends BuildType allows are frontend images the gateway's
	// policy allowed, pinned by digest.
	FrontendDockerfile = "dockerfile.v0"

	// BasePinningSourcePolicy is the base-pinning mode of the gateway:
	// every FROM is resolved to a digest before the solve, and the solve runs
	// under a BuildKit source policy that rewrites each base to that digest
	// and denies every other image.
	BasePinningSourcePolicy = "buildkit-source-policy"

	// minScannedSecret is the shortest secret value the final scan looks
	// for; shorter values would match ordinary JSON by chance.
	minScannedSecret = 8
)

// Build is what Predicate describes: one finished BuildKit solve, before
// attestation and tagging.
type Build struct {
	// Request is the validated request, with the caller's verified identity.
	Request hallmark.BuildRequest
	// Result is the builder's result. Started and Solved become startedOn
	// and finishedOn; Finished and Attestations are not used (they are not
	// known yet when the provenance is signed).
	Result hallmark.BuildResult
	// BuilderID is runDetails.builder.id: an absolute URI naming this
	// gateway's build platform and its trust boundary, one per gateway mode
	// (for example "https://hallmark.example.com/builders/prod"). Required.
	BuilderID string
	// HallmarkVersion is the gateway's version, written to
	// runDetails.builder.version["hallmark"]. Optional.
	HallmarkVersion string
	// BasePinning is the gateway's base-pinning mode, written to
	// internalParameters.basePinning. The default is BasePinningSourcePolicy.
	BasePinning string
}

// Names of the resolved dependencies that are not base images. Every
// dependency without a name is a base image.
const (
	DependencySource     = "source"
	DependencyDockerfile = "dockerfile"
	DependencyFrontend   = "frontend"
)

// Predicate returns the SLSA Provenance v1 predicate of b as compact,
// deterministic JSON. It fails if b is incomplete or inconsistent (no
// builder id, no times, a Dockerfile digest that does not match the inline
// Dockerfile, an unexpected frontend), or if the output would contain the
// value of one of the build's secrets (hallmark.ErrInvalid).
func Predicate(b Build) ([]byte, error) {
	p, err := build(b)
	if err != nil {
		return nil, fmt.Errorf("write provenance: %w", err)
	}
	out, err := intoto.Encode(p)
	if err != nil {
		return nil, fmt.Errorf("write provenance: %w", err)
	}
	if err := scanSecrets(out, b.Request); err != nil {
		return nil, fmt.Errorf("write provenance: %w", err)
	}
	return out, nil
}

// Parse reads a predicate of BuildType, strictly: unknown fields are errors.
// The predicate should come from a verified statement (intoto.Parse bounds
// its size).
func Parse(predicate []byte) (*Provenance, error) {
	var p Provenance
	if err := parseStrict(predicate, &p, func() string { return p.BuildDefinition.BuildType }, BuildType); err != nil {
		return nil, fmt.Errorf("parse provenance: %w", err)
	}
	return &p, nil
}

// parseStrict decodes predicate into p, refusing unknown fields, trailing
// data and a build type (read with buildType after decoding) other than
// want. Errors wrap hallmark.ErrInvalid.
func parseStrict(predicate []byte, p any, buildType func() string, want string) error {
	dec := json.NewDecoder(bytes.NewReader(predicate))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return fmt.Errorf("%w: %w", hallmark.ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the predicate", hallmark.ErrInvalid)
	}
	if bt := buildType(); bt != want {
		return fmt.Errorf("%w: build type %q is not %q", hallmark.ErrInvalid, hallmark.Clip(bt, 80), want)
	}
	return nil
}

func build(b Build) (*Provenance, error) {
	req, res := b.Request, b.Result
	if err := checkURI(b.BuilderID); err != nil {
		return nil, fmt.Errorf("builder id: %w", err)
	}
	id := res.ID
	switch {
	case id == "":
		return nil, fmt.Errorf("build id is empty")
	case req.ID != "" && req.ID != id:
		return nil, fmt.Errorf("request id %q and result id %q differ", req.ID, id)
	case res.Started.IsZero() || res.Solved.IsZero():
		return nil, fmt.Errorf("build %s has no start or solve time", id)
	case res.Solved.Before(res.Started):
		return nil, fmt.Errorf("build %s was solved before it started", id)
	}
	frontend, err := frontendDependency(res)
	if err != nil {
		return nil, err
	}
	tenancy, err := tenancyParameters(res)
	if err != nil {
		return nil, err
	}
	dfDigest, err := hallmark.ParseDigest(string(res.DockerfileDigest))
	if err != nil {
		return nil, fmt.Errorf("dockerfile digest: %w", err)
	}
	pinning := b.BasePinning
	if pinning == "" {
		pinning = BasePinningSourcePolicy
	}

	ext, deps, err := sourceAndDockerfile(req, dfDigest)
	if err != nil {
		return nil, err
	}
	bases, err := baseDependencies(res.Bases)
	if err != nil {
		return nil, err
	}
	deps = append(deps, bases...)
	deps = append(deps, frontend)
	policy, err := basePolicy(res)
	if err != nil {
		return nil, err
	}

	ext.Target = req.Target
	ext.BuildArgs, ext.RedactedBuildArgs = buildArgs(req.BuildArgs)
	ext.Secrets = secretIDs(req.Secrets)
	ext.Platforms = nonEmpty(req.Platforms)
	ext.Labels = nonEmptyMap(req.Labels)
	ext.NoCache = req.NoCache
	ext.Repository = req.Repository
	ext.Tags = req.Tags
	if ext.Tags == nil {
		ext.Tags = []string{}
	}
	ext.Requester = RequesterOf(req.Requester)

	version := map[string]string{}
	if b.HallmarkVersion != "" {
		version["hallmark"] = b.HallmarkVersion
	}
	if res.BuildKit.Version != "" {
		version["buildkit"] = res.BuildKit.Version
	}
	return &Provenance{
		BuildDefinition: BuildDefinition{
			BuildType:          BuildType,
			ExternalParameters: ext,
			InternalParameters: InternalParameters{
				BuildKit:    BuildKit{Version: res.BuildKit.Version, Revision: res.BuildKit.Revision},
				Frontend:    res.Frontend,
				BasePinning: pinning,
				BasePolicy:  policy,
				CacheScope:  tenancy.CacheScope,
				Network:     tenancy.Network,
				Warnings:    nonEmpty(res.Warnings),
			},
			ResolvedDependencies: deps,
		},
		RunDetails: RunDetails{
			Builder: Builder{ID: b.BuilderID, Version: nonEmptyMap(version)},
			Metadata: Metadata{
				InvocationID: id,
				StartedOn:    res.Started.UTC(),
				FinishedOn:   res.Solved.UTC(),
			},
		},
	}, nil
}

// sourceAndDockerfile fills the source and Dockerfile parameters and their
// resolved dependencies.
func sourceAndDockerfile(req hallmark.BuildRequest, dfDigest hallmark.Digest) (ExternalParameters, []ResourceDescriptor, error) {
	var ext ExternalParameters
	var srcURI string // the source's URI, to which "#<path>" names a file
	var src ResourceDescriptor
	switch {
	case req.Git != nil && req.ContextDigest != "":
		return ext, nil, fmt.Errorf("build has both a git source and a context digest")
	case req.Git != nil:
		g, uri, err := gitSource(req.Git)
		if err != nil {
			return ext, nil, err
		}
		ext.Source.Git = g
		srcURI = uri
		src = ResourceDescriptor{Name: DependencySource, URI: uri, Digest: map[string]string{"gitCommit": g.Commit}}
	default:
		d, err := hallmark.ParseDigest(string(req.ContextDigest))
		if err != nil {
			return ext, nil, fmt.Errorf("context digest: %w", err)
		}
		ext.Source.Context = &ContextSource{Digest: d}
		srcURI = "hallmark+context:" + d.String()
		src = ResourceDescriptor{Name: DependencySource, URI: srcURI, Digest: map[string]string{"sha256": d.Hex()}}
	}

	df := ResourceDescriptor{Name: DependencyDockerfile, Digest: map[string]string{"sha256": dfDigest.Hex()}}
	if len(req.DockerfileInline) > 0 {
		if hallmark.SHA256(req.DockerfileInline) != dfDigest {
			return ext, nil, fmt.Errorf("dockerfile digest %s is not the digest of the inline dockerfile", dfDigest)
		}
		ext.Dockerfile = Dockerfile{Inline: true, Digest: dfDigest}
	} else {
		p := dockerfilePath(req.Dockerfile)
		ext.Dockerfile = Dockerfile{Path: p}
		inSource := p
		if ext.Source.Git != nil && ext.Source.Git.Subdir != "" {
			inSource = path.Join(ext.Source.Git.Subdir, p)
			srcURI = strings.TrimSuffix(srcURI, "#"+ext.Source.Git.Subdir)
		}
		df.URI = srcURI + "#" + inSource
	}
	return ext, []ResourceDescriptor{src, df}, nil
}

// dockerfilePath is the Dockerfile's path in the source as the builder reads
// it: slash-separated, cleaned, relative, "Dockerfile" by default.
func dockerfilePath(p string) string {
	rel := path.Clean("/" + p)[1:]
	if rel == "" {
		return "Dockerfile"
	}
	return rel
}

var commitRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`) })

// gitSource returns the git parameters, with credentials removed from the
// URL, and the source's URI in SPDX VCS form, git+<url>@<commit>[#<subdir>].
func gitSource(g *hallmark.GitSource) (*GitSource, string, error) {
	if !commitRE().MatchString(g.Commit) {
		return nil, "", fmt.Errorf("git commit is not a full lowercase hex commit id")
	}
	subdir := strings.Trim(path.Clean("/"+g.Subdir), "/")
	if strings.ContainsAny(subdir, "#?") {
		return nil, "", fmt.Errorf("git subdir has '#' or '?'")
	}
	shown, uriURL, err := gitURL(g.URL)
	if err != nil {
		return nil, "", err
	}
	uri := "git+" + uriURL + "@" + g.Commit
	if subdir != "" {
		uri += "#" + subdir
	}
	return &GitSource{URL: shown, Commit: g.Commit, Subdir: subdir}, uri, nil
}

// scpLikeRE matches git's scp-like syntax, "git@host:path".
var scpLikeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([A-Za-z0-9._-]+)@([A-Za-z0-9.-]+):([^\s#?]+)$`) })

// gitURL returns a git URL safe to publish (http(s) URLs lose any user
// information, which may be a token) and the same as a URL for the
// dependency's URI (scp-like "git@host:path" becomes "ssh://git@host/path").
// Errors never quote the URL, which may hold credentials.
func gitURL(raw string) (shown, uri string, err error) {
	if m := scpLikeRE().FindStringSubmatch(raw); m != nil {
		return raw, "ssh://" + m[1] + "@" + m[2] + "/" + strings.TrimPrefix(m[3], "/"), nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return "", "", fmt.Errorf("git url is not an http(s) or git@host:path URL")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", "", fmt.Errorf("git url has a query or fragment")
	}
	u.User = nil
	s := u.String()
	return s, s, nil
}

// baseDependencies are the base images, as BuildKit's own provenance (and
// so docker buildx) names them: a pkg:docker purl of the reference as
// written, with the pinned digest. Duplicates are dropped; order is kept.
func baseDependencies(bases []hallmark.ResolvedBase) ([]ResourceDescriptor, error) {
	var out []ResourceDescriptor
	seen := map[string]bool{}
	for _, b := range bases {
		d, err := hallmark.ParseDigest(string(b.Digest))
		if err != nil {
			return nil, fmt.Errorf("base %q: %w", hallmark.Clip(b.Ref, 80), err)
		}
		uri, err := purl.RefToPURL(packageurl.TypeDocker, b.Ref, nil)
		if err != nil {
			return nil, fmt.Errorf("base %q: %w", hallmark.Clip(b.Ref, 80), err)
		}
		if key := uri + " " + d.String(); !seen[key] {
			seen[key] = true
			out = append(out, ResourceDescriptor{URI: uri, Digest: map[string]string{"sha256": d.Hex()}})
		}
	}
	return out, nil
}

// basePolicy records the base-image policy decision of res. Every decision
// must name a base of res.Bases with the same digest.
func basePolicy(res hallmark.BuildResult) (*BasePolicy, error) {
	if res.BasePolicy == nil {
		return nil, nil
	}
	switch res.BasePolicy.Mode {
	case "pin", "require-digest":
	default:
		return nil, fmt.Errorf("base policy mode %q is not pin or require-digest", hallmark.Clip(res.BasePolicy.Mode, 80))
	}
	pinned := map[string]bool{}
	for _, b := range res.Bases {
		pinned[b.Ref+" "+string(b.Digest)] = true
	}
	p := &BasePolicy{Mode: res.BasePolicy.Mode, Bases: []BaseDecision{}}
	for _, d := range res.BasePolicy.Bases {
		if _, err := hallmark.ParseDigest(string(d.Digest)); err != nil {
			return nil, fmt.Errorf("base policy: base %q: %w", hallmark.Clip(d.Ref, 80), err)
		}
		if !pinned[d.Ref+" "+string(d.Digest)] {
			return nil, fmt.Errorf("base policy: base %q@%s is not among the build's bases", hallmark.Clip(d.Ref, 80), d.Digest)
		}
		p.Bases = append(p.Bases, BaseDecision{Ref: d.Ref, Digest: d.Digest, AllowedBy: d.AllowedBy, Runtime: d.Runtime, VerifiedBy: d.VerifiedBy})
	}
	return p, nil
}

var releaseRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`) })

// builtinFrontendDependency is BuildKit's built-in Dockerfile frontend:
// the frontend/dockerfile package of the BuildKit module, at the daemon's
// release and, when known, its git commit.
func builtinFrontendDependency(bk hallmark.BuildKitInfo) ResourceDescriptor {
	version := ""
	if releaseRE().MatchString(bk.Version) {
		version = bk.Version
	}
	p := packageurl.NewPackageURL(packageurl.TypeGolang, "github.com/moby", "buildkit", version, nil, "frontend/dockerfile")
	rd := ResourceDescriptor{Name: DependencyFrontend, URI: p.ToString()}
	if commitRE().MatchString(bk.Revision) {
		rd.Digest = map[string]string{"gitCommit": bk.Revision}
	}
	return rd
}

// secretNameRE and publicNameRE are BuildKit's SecretsUsedInArgOrEnv rule:
// a name with one of these words (split on "_") looks like a credential
// unless it also has an allowed word.
var (
	secretNameRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)`)
	})
	publicNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)(?:_|^)(?:public|file|version)(?:_|$)`) })
)

func looksSecret(name string) bool {
	return secretNameRE().MatchString(name) && !publicNameRE().MatchString(name)
}

// buildArgs splits the build args into those written with their values and
// the sorted names of those that look like credentials.
func buildArgs(args map[string]string) (map[string]string, []string) {
	var kept map[string]string
	var redacted []string
	for k, v := range args {
		if looksSecret(k) {
			redacted = append(redacted, k)
			continue
		}
		if kept == nil {
			kept = map[string]string{}
		}
		kept[k] = v
	}
	slices.Sort(redacted)
	return kept, redacted
}

func secretIDs(secrets []hallmark.Secret) []string {
	var ids []string
	for _, s := range secrets {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// requesterClaims are the token claims recorded in the provenance: who and
// what in CI asked for the build. Anything else (audience, expiry, nonces,
// e-mail addresses, and any token) is left out.
var requesterClaims = []string{
	// GitHub Actions
	"actor", "actor_id", "base_ref", "enterprise", "environment", "event_name",
	"head_ref", "job_workflow_ref", "job_workflow_sha", "ref", "ref_protected",
	"ref_type", "repository", "repository_id", "repository_owner",
	"repository_owner_id", "repository_visibility", "run_attempt", "run_id",
	"run_number", "runner_environment", "sha", "workflow", "workflow_ref",
	"workflow_sha",
	// GitLab CI
	"ci_config_ref_uri", "ci_config_sha", "deployment_tier", "job_id",
	"namespace_id", "namespace_path", "pipeline_id", "pipeline_source",
	"project_id", "project_path", "project_visibility", "ref_path",
	"user_id", "user_login",
}

// kubernetesClaims are the paths kept from a Kubernetes service account
// token's nested "kubernetes.io" claim, written as "kubernetes.io/<path>".
var kubernetesClaims = [][]string{
	{"namespace"},
	{"serviceaccount", "name"},
	{"serviceaccount", "uid"},
	{"pod", "name"},
	{"pod", "uid"},
}

// maxClaimBytes bounds a recorded claim value; longer values are left out.
const maxClaimBytes = 1024

// RequesterOf is what the provenance records about the caller: issuer,
// subject and the allowlisted claims (requesterClaims, kubernetesClaims).
// The store keeps the same, so that a query shows no more than the signed
// provenance does.
func RequesterOf(id hallmark.Identity) Requester {
	r := Requester{Issuer: id.Issuer, Subject: id.Subject}
	claims := map[string]string{}
	for _, name := range requesterClaims {
		if v, ok := claimString(id.Claims[name]); ok {
			claims[name] = v
		}
	}
	if k8s, ok := id.Claims["kubernetes.io"].(map[string]any); ok {
		for _, p := range kubernetesClaims {
			var v any = k8s
			for _, part := range p {
				m, ok := v.(map[string]any)
				if !ok {
					v = nil
					break
				}
				v = m[part]
			}
			if s, ok := claimString(v); ok {
				claims["kubernetes.io/"+strings.Join(p, "/")] = s
			}
		}
	}
	r.Claims = nonEmptyMap(claims)
	return r
}

// claimString renders a scalar claim as a string; other values are skipped.
func claimString(v any) (string, bool) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case bool:
		s = strconv.FormatBool(v)
	case json.Number:
		s = v.String()
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		return "", false
	}
	if s == "" || len(s) > maxClaimBytes {
		return "", false
	}
	return s, true
}

// scanSecrets refuses output that contains the value of a secret, or of a
// build arg whose value was redacted: such a value reached another field
// (a label, a build arg under another name, the git URL).
func scanSecrets(out []byte, req hallmark.BuildRequest) error {
	check := func(what string, v []byte) error {
		if len(v) < minScannedSecret {
			return nil
		}
		enc, err := intoto.Encode(string(v))
		if err != nil {
			return err
		}
		if bytes.Contains(out, v) || bytes.Contains(out, bytes.Trim(enc, `"`)) {
			return fmt.Errorf("%w: the provenance would reveal the value of %s; pass it only as a secret", hallmark.ErrInvalid, what)
		}
		return nil
	}
	for _, s := range req.Secrets {
		if err := check(fmt.Sprintf("secret %q", s.ID), s.Value); err != nil {
			return err
		}
	}
	for k, v := range req.BuildArgs {
		if looksSecret(k) {
			if err := check(fmt.Sprintf("build arg %q", k), []byte(v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkURI checks for an absolute URI without spaces.
func checkURI(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("%q has spaces or control characters", hallmark.Clip(s, 80))
	}
	if u, err := url.Parse(s); err != nil || u.Scheme == "" {
		return fmt.Errorf("%q is not an absolute URI", hallmark.Clip(s, 80))
	}
	return nil
}

func nonEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nonEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
