package server

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/provenance"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// importRecord is the record of an image that verdict v allowed, imported
// by caller at time at as ref (tag: the tag ref named, if any). Everything
// in it comes from the verdict's verified statements: its newest verified
// SLSA provenance (requester, source, bases, times) and SPDX SBOMs
// (packages; for an index, every platform's), and its verified
// attestations. A provenance of another builder gives no more than its
// build type; a requester the provenance does not name is the importer's.
func importRecord(v *verify.Verdict, caller hallmark.Identity, ref, repo, tag string, at time.Time) (*store.Build, error) {
	if _, err := hallmark.ParseDigest(string(v.Digest)); err != nil {
		return nil, fmt.Errorf("verdict digest: %w", err)
	}
	at = at.UTC()
	b := &store.Build{
		ID: "import-" + v.Digest.Hex()[:12] + "-" + newID()[:8], Kind: store.KindImport, Repository: repo,
		Digest: v.Digest, Outcome: store.OutcomeSucceeded, Started: at, Finished: at,
		Import: &store.Import{By: actorOf(caller), At: at, Ref: ref, Policy: v.Policy, RequesterFrom: store.RequesterFromImporter},
	}
	if tag != "" {
		b.Tags = []store.TagMove{{Tag: tag}}
	}
	inputs := []policy.Input{v.Input}
	atts := slices.Clone(v.Attestations)
	for _, p := range v.Platforms {
		inputs = append(inputs, p.Input)
		atts = append(atts, p.Attestations...)
	}
	b.Attestations = verifiedAttestations(atts)
	for _, in := range inputs { // an index's own provenance first
		if in.Provenance != nil {
			if err := fromProvenance(b, in.Provenance); err != nil {
				return nil, err
			}
			break
		}
	}
	if b.Import.RequesterFrom == store.RequesterFromImporter {
		b.Requester = recordedIdentity(caller)
	}
	var purls []string
	for _, in := range inputs {
		purls = append(purls, sbomPURLs(in.SBOM)...)
	}
	slices.Sort(purls)
	for _, p := range slices.Compact(purls) {
		if pkg, err := store.PackageOf(p); err == nil {
			b.Packages = append(b.Packages, pkg)
		}
	}
	return b, nil
}

// fromProvenance fills b with what a verified provenance predicate says
// about the build (provenance.Summarize).
func fromProvenance(b *store.Build, pred map[string]any) error {
	data, err := json.Marshal(pred)
	if err != nil {
		return fmt.Errorf("read provenance: %w", err)
	}
	s, err := provenance.Summarize(data)
	if err != nil {
		return err
	}
	b.Import.BuildType, b.Import.BuildID = s.BuildType, s.BuildID
	if s.Requester.Issuer != "" || s.Requester.Subject != "" {
		b.Requester = hallmark.Identity{Issuer: s.Requester.Issuer, Subject: s.Requester.Subject}
		if len(s.Requester.Claims) > 0 {
			b.Requester.Claims = make(map[string]any, len(s.Requester.Claims))
			for k, v := range s.Requester.Claims {
				b.Requester.Claims[k] = v
			}
		}
		b.Import.RequesterFrom = store.RequesterFromProvenance
	}
	if !s.Started.IsZero() && !s.Finished.IsZero() {
		b.Started, b.Finished = s.Started.UTC(), s.Finished.UTC()
	}
	b.Platforms = s.Platforms
	if c := s.Source.Context; c != nil {
		b.Source.ContextDigest = c.Digest
	}
	if g := s.Source.Git; g != nil {
		b.Source.GitURL, b.Source.GitCommit, b.Source.GitSubdir = g.URL, g.Commit, g.Subdir
	}
	b.Source.Dockerfile, b.Source.DockerfileDigest, b.Source.Frontend = s.Dockerfile, s.DockerfileDigest, s.Frontend
	if s.BuildKit.Version != "" {
		b.Worker = "buildkitd " + s.BuildKit.Version
	}
	for _, rb := range s.Bases {
		b.Bases = append(b.Bases, recordBase(rb, s.RuntimeBase))
	}
	return nil
}

// verifiedAttestations are the attestations that verified, each referrer
// once.
func verifiedAttestations(in []verify.Attestation) []store.Attestation {
	var out []store.Attestation
	for _, a := range in {
		if !a.Verified || slices.ContainsFunc(out, func(o store.Attestation) bool { return o.Digest == a.Referrer.Digest }) {
			continue
		}
		out = append(out, store.Attestation{
			PredicateType: a.PredicateType, Digest: a.Referrer.Digest, Signer: a.SignerIdentity, Issuer: a.SignerIssuer,
			LogIndex: a.LogIndex, SignedAt: a.Timestamp,
		})
	}
	return out
}

// sbomPURLs are the package URLs of an SPDX 2.x JSON document (a verified
// SBOM predicate, as encoding/json decodes it): every package's purl
// external reference, except those of the packages the document
// describes (the image itself). Any SPDX producer's document reads.
func sbomPURLs(doc map[string]any) []string {
	if doc == nil {
		return nil
	}
	described := map[string]bool{}
	for _, id := range list(doc["documentDescribes"]) {
		if s, ok := id.(string); ok {
			described[s] = true
		}
	}
	docID, _ := doc["SPDXID"].(string)
	for _, r := range list(doc["relationships"]) {
		rel, _ := r.(map[string]any)
		if t, _ := rel["relationshipType"].(string); t == "DESCRIBES" && rel["spdxElementId"] == docID {
			if s, ok := rel["relatedSpdxElement"].(string); ok {
				described[s] = true
			}
		}
	}
	var out []string
	for _, p := range list(doc["packages"]) {
		pkg, _ := p.(map[string]any)
		if id, _ := pkg["SPDXID"].(string); described[id] {
			continue
		}
		for _, r := range list(pkg["externalRefs"]) {
			ref, _ := r.(map[string]any)
			loc, _ := ref["referenceLocator"].(string)
			if t, _ := ref["referenceType"].(string); t == "purl" && strings.HasPrefix(loc, "pkg:") {
				out = append(out, loc)
			}
		}
	}
	return out
}

// list is v as a JSON array, or nil.
func list(v any) []any {
	l, _ := v.([]any)
	return l
}
