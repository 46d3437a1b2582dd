package verify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/sign/signtest"
	"github.com/hallmark-dev/hallmark/verify"
)

func newKey(t *testing.T) *sign.EphemeralKeypair {
	t.Helper()
	k, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBlobVerifyBundle(t *testing.T) {
	ss := signtest.New(t)
	tr := ss.TrustedRoot(t)
	issuer, san := ss.Identity()
	signer := verify.WithIdentities(verify.Identity{Issuer: issuer, SubjectAlternativeName: san})

	artifact := []byte("hello, hallmark\n")
	digest := hallmark.SHA256(artifact)
	other := hallmark.SHA256([]byte("something else"))
	statement := fmt.Appendf(nil, `{"_type":%q,"subject":[{"name":"a","digest":{"sha256":%q}}],"predicateType":"https://example.com/p","predicate":{}}`,
		hallmark.StatementTypeV1, digest.Hex())

	message := ss.Bundle(t, &sign.PlainData{Data: artifact}, nil)
	dsse := ss.Bundle(t, &sign.DSSEData{Data: statement, PayloadType: hallmark.PayloadTypeInToto}, nil)
	notInToto := ss.Bundle(t, &sign.DSSEData{Data: artifact, PayloadType: "text/plain"}, nil)
	key := newKey(t)
	keySigned := ss.Bundle(t, &sign.PlainData{Data: artifact}, key)
	withKey := verify.WithBundleKey(key.GetPublicKey())

	tests := []struct {
		name     string
		trusted  root.TrustedMaterial
		bundle   []byte
		artifact verify.Artifact
		opts     []verify.BundleOption
		want     string // substring of the failure; "" verifies
	}{
		{name: "message bytes", bundle: message, artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}},
		{name: "message digest", bundle: message, artifact: verify.ArtifactDigest(digest), opts: []verify.BundleOption{signer}},
		{name: "message identity regexp", bundle: message, artifact: verify.ArtifactDigest(digest),
			opts: []verify.BundleOption{verify.WithIdentities(verify.Identity{IssuerRegexp: ".*signtest.*", SANRegexp: "https://hallmark\\..*"})}},
		{name: "message other identity", bundle: message, artifact: verify.ArtifactDigest(digest),
			opts: []verify.BundleOption{verify.WithIdentities(verify.Identity{Issuer: issuer, SubjectAlternativeName: san + "x"})}, want: "is not an allowed signer"},
		{name: "message other bytes", bundle: message, artifact: verify.ArtifactBytes([]byte("tampered")), opts: []verify.BundleOption{signer}, want: "verify signature"},
		{name: "message other digest", bundle: message, artifact: verify.ArtifactDigest(other), opts: []verify.BundleOption{signer}, want: "verify signature"},
		{name: "dsse bytes", bundle: dsse, artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}},
		{name: "dsse digest", bundle: dsse, artifact: verify.ArtifactDigest(digest), opts: []verify.BundleOption{signer}},
		{name: "dsse other digest", bundle: dsse, artifact: verify.ArtifactDigest(other), opts: []verify.BundleOption{signer}, want: "does not match any digest in statement"},
		{name: "dsse not in-toto", bundle: notInToto, artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}, want: "DSSE payload type"},
		{name: "key", bundle: keySigned, artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{withKey}},
		{name: "key digest", bundle: keySigned, artifact: verify.ArtifactDigest(digest), opts: []verify.BundleOption{withKey}},
		{name: "key other key", bundle: keySigned, artifact: verify.ArtifactBytes(artifact),
			opts: []verify.BundleOption{verify.WithBundleKey(newKey(t).GetPublicKey())}, want: "verify"},
		{name: "key without key", bundle: keySigned, artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}, want: "signed with a key"},
		{name: "certificate with key", bundle: message, artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{withKey}, want: "not signed with a key"},
		{name: "foreign root", trusted: ss.ForeignTrustedRoot(t), bundle: message, artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}, want: "certificate"},
		{name: "no log entry", bundle: signtest.DropMaterial(t, message, "tlogEntries"), artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}, want: "no transparency log entry"},
		{name: "no timestamp", bundle: signtest.DropMaterial(t, message, "timestampVerificationData"), artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}, want: "timestamp"},
		{name: "not JSON", bundle: []byte(`{"mediaType":`), artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}, want: "not a JSON object"},
		{name: "unknown version", bundle: signtest.EditBundle(t, message, func(m map[string]any) { m["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=99.9" }),
			artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}, want: "not supported"},
		{name: "too large", bundle: message, artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer, verify.WithMaxBundleSize(100)}, want: "over the 100-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trusted := tt.trusted
			if trusted == nil {
				trusted = tr
			}
			res, err := verify.VerifyBundle(t.Context(), trusted, tt.bundle, tt.artifact, tt.opts...)
			if tt.want != "" {
				var be *verify.BundleError
				if !errors.As(err, &be) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("VerifyBundle = %v, want a BundleError containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyBundle: %v", err)
			}
			if res.LogIndex < 0 || res.Timestamp.IsZero() {
				t.Errorf("LogIndex %d, Timestamp %v: want a verified log entry and timestamp", res.LogIndex, res.Timestamp)
			}
			switch {
			case strings.HasPrefix(tt.name, "key"):
				if res.SignerIdentity != "" || res.SignerIssuer != "" {
					t.Errorf("signer %q from %q, want none for a key", res.SignerIdentity, res.SignerIssuer)
				}
			case res.SignerIdentity != san || res.SignerIssuer != issuer:
				t.Errorf("signer %q from %q, want %q from %q", res.SignerIdentity, res.SignerIssuer, san, issuer)
			}
			if strings.HasPrefix(tt.name, "dsse") {
				if string(res.Statement) != string(statement) || res.PredicateType != "https://example.com/p" {
					t.Errorf("statement %s (%q), want the signed one", res.Statement, res.PredicateType)
				}
			} else if res.Statement != nil || res.PredicateType != "" {
				t.Errorf("statement %s (%q) for a message signature", res.Statement, res.PredicateType)
			}
		})
	}
}

func TestBlobVerifyBundleArguments(t *testing.T) {
	ss := signtest.New(t)
	tr := ss.TrustedRoot(t)
	issuer, san := ss.Identity()
	artifact := []byte("a")
	b := ss.Bundle(t, &sign.PlainData{Data: artifact}, nil)
	signer := verify.WithIdentities(verify.Identity{Issuer: issuer, SubjectAlternativeName: san})
	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		name     string
		ctx      context.Context
		trusted  root.TrustedMaterial
		artifact verify.Artifact
		opts     []verify.BundleOption
		want     error
	}{
		{name: "no signer", artifact: verify.ArtifactBytes(artifact), want: hallmark.ErrInvalid},
		{name: "key and identity", artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer, verify.WithBundleKey(newKey(t).GetPublicKey())}, want: hallmark.ErrInvalid},
		{name: "identity without issuer", artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{verify.WithIdentities(verify.Identity{SubjectAlternativeName: san})}, want: hallmark.ErrInvalid},
		{name: "unsupported key", artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{verify.WithBundleKey("not a key")}, want: hallmark.ErrInvalid},
		{name: "no artifact", opts: []verify.BundleOption{signer}, want: hallmark.ErrInvalid},
		{name: "bad digest", artifact: verify.ArtifactDigest("sha256:abc"), opts: []verify.BundleOption{signer}, want: hallmark.ErrInvalid},
		{name: "empty digest", artifact: verify.ArtifactDigest(""), opts: []verify.BundleOption{signer}, want: hallmark.ErrInvalid},
		{name: "bad max size", artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer, verify.WithMaxBundleSize(0)}, want: hallmark.ErrInvalid},
		{name: "nil trusted root", trusted: (*root.TrustedRoot)(nil), artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}, want: hallmark.ErrInvalid},
		{name: "canceled", ctx: canceled, artifact: verify.ArtifactBytes(artifact), opts: []verify.BundleOption{signer}, want: hallmark.ErrCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, trusted := tt.ctx, tt.trusted
			if ctx == nil {
				ctx = t.Context()
			}
			if trusted == nil {
				trusted = tr
			}
			_, err := verify.VerifyBundle(ctx, trusted, b, tt.artifact, tt.opts...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyBundle = %v, want %v", err, tt.want)
			}
			var be *verify.BundleError
			if errors.As(err, &be) {
				t.Errorf("argument error %v is a BundleError", err)
			}
		})
	}
}
