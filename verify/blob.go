package verify

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/registry"
)

// Artifact is what a bundle must be a signature of: the artifact's bytes
// (ArtifactBytes) or its sha256 digest (ArtifactDigest). The zero Artifact
// is invalid.
type Artifact struct {
	kind   artifactKind
	data   []byte
	digest hallmark.Digest
}

type artifactKind int

const (
	artifactUnset artifactKind = iota
	artifactBytes
	artifactDigest
)

// ArtifactBytes is the artifact data itself.
func ArtifactBytes(data []byte) Artifact {
	return Artifact{kind: artifactBytes, data: data}
}

// ArtifactDigest is the sha256 digest of the artifact, for artifacts the
// caller does not hold. VerifyBundle rejects a malformed digest.
func ArtifactDigest(d hallmark.Digest) Artifact {
	return Artifact{kind: artifactDigest, digest: d}
}

// policy returns the sigstore-go artifact policy for a.
func (a Artifact) policy() (sgverify.ArtifactPolicyOption, error) {
	switch a.kind {
	case artifactUnset:
		return nil, fmt.Errorf("%w: no artifact: use ArtifactBytes or ArtifactDigest", hallmark.ErrInvalid)
	case artifactBytes:
		return sgverify.WithArtifact(bytes.NewReader(a.data)), nil
	}
	d, err := hallmark.ParseDigest(a.digest.String())
	if err != nil {
		return nil, fmt.Errorf("artifact digest: %w", err)
	}
	raw, err := hex.DecodeString(d.Hex())
	if err != nil {
		return nil, fmt.Errorf("%w: artifact digest: %w", hallmark.ErrInvalid, err)
	}
	return sgverify.WithArtifactDigest("sha256", raw), nil
}

// BundleResult is what VerifyBundle verified.
type BundleResult struct {
	// SignerIdentity and SignerIssuer are the certificate's subject
	// alternative name and OIDC issuer; empty for a key-signed bundle.
	SignerIdentity string
	SignerIssuer   string
	// LogIndex is the index of the verified transparency log entry, or -1.
	LogIndex int64
	// Timestamp is the verified signing time: the RFC 3161 timestamp, else
	// the log's integrated time.
	Timestamp time.Time
	// Statement is the verified DSSE payload, an in-toto statement, and
	// PredicateType its predicate type; both are empty for a message
	// signature.
	Statement     []byte
	PredicateType string
}

// BundleError says why a bundle did not verify: it is malformed or of an
// unsupported kind, or one of its checks failed.
type BundleError struct {
	// Reason is a one-line explanation.
	Reason string
}

func (e *BundleError) Error() string { return e.Reason }

type bundleOptions struct {
	identities []Identity
	key        signature.Verifier
	maxSize    int64
}

// bundleOption is a BundleOption only.
type bundleOption func(*bundleOptions) error

func (f bundleOption) applyToBundle(o *bundleOptions) error { return f(o) }

// WithBundleKey verifies a bundle signed with a managed key instead of a
// Fulcio certificate: the signature must verify with pub (an ECDSA, RSA or
// Ed25519 public key). It excludes WithIdentities. The default is none:
// VerifyBundle needs this option or WithIdentities.
func WithBundleKey(pub crypto.PublicKey) BundleOption {
	return bundleOption(func(o *bundleOptions) error {
		v, err := signature.LoadDefaultVerifier(pub)
		if err != nil {
			return fmt.Errorf("%w: public key: %w", hallmark.ErrInvalid, err)
		}
		o.key = v
		return nil
	})
}

// VerifyBundle verifies data, one standalone Sigstore bundle (JSON, media
// type v0.1 to v0.3), for artifact against trustedMaterial (usually a
// *root.TrustedRoot), the way `cosign verify-blob` and the
// sigstore-conformance suite do, rather than the bundles attached to an
// image (Verifier.Image):
//
//	res, err := verify.VerifyBundle(ctx, trustedRoot, bundleJSON,
//		verify.ArtifactDigest(digest),
//		verify.WithIdentities(verify.Identity{Issuer: iss, SubjectAlternativeName: san}))
//
// The bundle may be a message signature over the artifact, or a DSSE
// envelope of an in-toto statement (payload type
// application/vnd.in-toto+json, one signature) whose subjects must include
// the artifact's sha256. It is signed either with a Fulcio certificate that
// must match one of the identities of WithIdentities, or with the managed
// key of WithBundleKey; exactly one of the two options is required
// (WithMaxBundleSize lowers the size limit).
//
// What the bundle must carry follows the trusted material exactly as for a
// Verifier: an SCT when it lists CT logs (certificates only), an entry in
// one of its transparency logs when it lists any, and a signed RFC 3161
// timestamp unless a log entry has an integrated time; every timestamp and
// log entry present must verify. Certificates and keys are checked at the
// bundle's verified timestamps, not now, so old bundles still verify.
//
// Unlike Image, which records failures in its result, VerifyBundle answers
// one question about one bundle, so a bundle that does not verify
// (malformed, unsupported, or failing any check) is an error wrapping a
// *BundleError that says why. Other errors wrap hallmark.ErrInvalid for bad
// arguments (no artifact or a malformed digest, no signer option or both,
// no trusted material) and hallmark.ErrCanceled when ctx ended.
func VerifyBundle(ctx context.Context, trustedMaterial root.TrustedMaterial, data []byte, artifact Artifact, opts ...BundleOption) (*BundleResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("verify bundle: %w: %w", hallmark.ErrCanceled, err)
	}
	o := bundleOptions{maxSize: registry.MaxBundleSize}
	for _, opt := range opts {
		if err := opt.applyToBundle(&o); err != nil {
			return nil, fmt.Errorf("verify bundle: %w", err)
		}
	}
	if tr, ok := trustedMaterial.(*root.TrustedRoot); trustedMaterial == nil || ok && tr == nil {
		return nil, fmt.Errorf("verify bundle: %w: trusted material is nil", hallmark.ErrInvalid)
	}
	switch {
	case o.key != nil && len(o.identities) > 0:
		return nil, fmt.Errorf("verify bundle: %w: a key and certificate identities exclude each other", hallmark.ErrInvalid)
	case o.key == nil && len(o.identities) == 0:
		return nil, fmt.Errorf("verify bundle: %w: no signer: give certificate identities or a key", hallmark.ErrInvalid)
	}
	matchers := make([]matcher, 0, len(o.identities))
	for _, id := range o.identities {
		m, err := compileIdentity(id)
		if err != nil {
			return nil, fmt.Errorf("verify bundle: %w", err)
		}
		matchers = append(matchers, m)
	}
	artifactPolicy, err := artifact.policy()
	if err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	res, err := verifyOneBundle(trustedMaterial, data, artifactPolicy, matchers, o)
	if err != nil {
		return nil, fmt.Errorf("verify bundle: %w", err)
	}
	return res, nil
}

// verifyOneBundle does VerifyBundle's work once its arguments are checked;
// every error it returns is a *BundleError.
func verifyOneBundle(trusted root.TrustedMaterial, data []byte, artifactPolicy sgverify.ArtifactPolicyOption, matchers []matcher, o bundleOptions) (*BundleResult, error) {
	fail := func(format string, args ...any) error {
		return &BundleError{Reason: strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")}
	}
	b, err := readBundle(data, o.maxSize)
	if err != nil {
		return nil, fail("%s", err.Error())
	}
	if err := checkBundleShape(b, o.key != nil); err != nil {
		return nil, fail("%s", err.Error())
	}
	entries, err := b.TlogEntries()
	if err != nil {
		return nil, fail("read transparency log entries: %s", clipErr(err))
	}
	if len(entries) == 0 && len(trusted.RekorLogs()) > 0 {
		return nil, fail("bundle has no transparency log entry")
	}
	identityPolicy := sgverify.WithoutIdentitiesUnsafe() // checked below with matchers
	requireSCT := len(trusted.CTLogs()) > 0
	if o.key != nil {
		identityPolicy, requireSCT = sgverify.WithKey(), false
		key := root.NewExpiringKey(o.key, time.Time{}, time.Time{})
		trusted = root.TrustedMaterialCollection{
			root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil }),
			trusted,
		}
	}
	sv, err := sgverify.NewVerifier(trusted, requiredMaterial(b, len(entries) > 0, requireSCT)...)
	if err != nil {
		return nil, fail("configure verification: %s", clipErr(err))
	}
	res, err := sv.Verify(b, sgverify.NewPolicy(artifactPolicy, identityPolicy))
	if err != nil {
		return nil, fail("%s", sigstoreFailure(err))
	}
	out := &BundleResult{LogIndex: logIndex(trusted, entries), Timestamp: signingTime(res)}
	if o.key == nil {
		if res.Signature == nil || res.Signature.Certificate == nil {
			return nil, fail("bundle is signed with a key, not a Fulcio certificate")
		}
		cert := res.Signature.Certificate
		out.SignerIdentity, out.SignerIssuer = cert.SubjectAlternativeName, cert.Issuer
		if !anyMatch(matchers, cert.Issuer, cert.SubjectAlternativeName) {
			return nil, fail("certificate identity %s (issuer %s) is not an allowed signer", hallmark.Clip(cert.SubjectAlternativeName, 80), hallmark.Clip(cert.Issuer, 80))
		}
	}
	if env := b.GetDsseEnvelope(); env != nil {
		out.Statement = env.GetPayload()
		if res.Statement != nil {
			out.PredicateType = res.Statement.GetPredicateType()
		}
	}
	return out, nil
}

// checkBundleShape checks what the signature and verification material of b
// are before any cryptography: a DSSE envelope must carry one signature of
// an in-toto statement, and the bundle must be signed with a key exactly
// when one is expected.
func checkBundleShape(b *bundle.Bundle, withKey bool) error {
	if env := b.GetDsseEnvelope(); env != nil {
		if env.GetPayloadType() != hallmark.PayloadTypeInToto {
			return fmt.Errorf("DSSE payload type %q is not %q", hallmark.Clip(env.GetPayloadType(), 80), hallmark.PayloadTypeInToto)
		}
		if len(env.GetSignatures()) != 1 {
			return fmt.Errorf("DSSE envelope has %d signatures, want 1", len(env.GetSignatures()))
		}
	} else if b.GetMessageSignature() == nil {
		return errors.New("bundle has neither a message signature nor a DSSE envelope")
	}
	vm := b.GetVerificationMaterial()
	hasCert := vm.GetCertificate() != nil || vm.GetX509CertificateChain() != nil
	switch {
	case withKey && vm.GetPublicKey() == nil:
		return errors.New("bundle is not signed with a key, but a key was given")
	case !withKey && !hasCert:
		return errors.New("bundle is signed with a key, not a Fulcio certificate, but no key was given")
	}
	return nil
}
