package verify

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/hallmark-dev/hallmark"
)

// supportedMediaTypes are the Sigstore bundle versions verified: those
// sigstore-go reads. Hallmark and cosign v3 write the first.
var supportedMediaTypes = []string{
	hallmark.MediaTypeBundleV03,
	"application/vnd.dev.sigstore.bundle+json;version=0.3",
	"application/vnd.dev.sigstore.bundle+json;version=0.2",
	"application/vnd.dev.sigstore.bundle+json;version=0.1",
}

// parsedBundle is a bundle that passed parseBundle: not yet verified.
type parsedBundle struct {
	bundle  *bundle.Bundle
	payload []byte // the DSSE payload, decoded
}

// parseBundle reads a Sigstore bundle from untrusted bytes of at most limit
// bytes and checks its shape before any cryptography: a supported media
// type, a DSSE envelope of an in-toto statement, and a certificate (keyless
// signing) as verification material. Errors describe why the bundle cannot
// be verified.
func parseBundle(data []byte, limit int64) (*parsedBundle, error) {
	b, err := readBundle(data, limit)
	if err != nil {
		return nil, err
	}
	if b.GetDsseEnvelope() == nil {
		return nil, errors.New("bundle has no DSSE envelope (a message signature cannot carry a statement)")
	}
	env := b.GetDsseEnvelope()
	if env.GetPayloadType() != hallmark.PayloadTypeInToto {
		return nil, fmt.Errorf("DSSE payload type %q is not %q", hallmark.Clip(env.GetPayloadType(), 80), hallmark.PayloadTypeInToto)
	}
	if len(env.GetSignatures()) != 1 {
		return nil, fmt.Errorf("DSSE envelope has %d signatures, want 1", len(env.GetSignatures()))
	}
	if b.GetVerificationMaterial().GetCertificate() == nil && b.GetVerificationMaterial().GetX509CertificateChain() == nil {
		return nil, errors.New("bundle is signed with a key, not a Fulcio certificate")
	}
	// protojson decoded the payload from base64 already.
	return &parsedBundle{bundle: b, payload: env.GetPayload()}, nil
}

// readBundle reads a Sigstore bundle of any kind (message signature or DSSE
// envelope, certificate or key) from untrusted bytes of at most limit bytes:
// it must be JSON with a supported media type that sigstore-go accepts.
// Errors describe why the bundle cannot be verified.
func readBundle(data []byte, limit int64) (*bundle.Bundle, error) {
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("bundle is %d bytes, over the %d-byte limit", len(data), limit)
	}
	mediaType, err := bundleMediaType(data)
	if err != nil {
		return nil, fmt.Errorf("bundle is not a JSON object: %v", clipErr(err))
	}
	if !slices.Contains(supportedMediaTypes, mediaType) {
		return nil, fmt.Errorf("bundle media type %q is not supported", hallmark.Clip(mediaType, 80))
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("read bundle: %v", clipErr(err))
	}
	return &b, nil
}

// bundleMediaType reads the media type a bundle's JSON declares, from
// untrusted bytes.
func bundleMediaType(data []byte) (string, error) {
	var head struct {
		MediaType string `json:"mediaType"`
	}
	err := json.Unmarshal(data, &head)
	return head.MediaType, err
}

// requiredMaterial says what b must carry to verify, given what it carries:
// every log entry it has must verify (at least one if hasEntries), a signed
// timestamp is required unless a log entry has an integrated time, which is
// then required to verify too, and an SCT if requireSCT.
func requiredMaterial(b *bundle.Bundle, hasEntries, requireSCT bool) []sgverify.VerifierOption {
	var opts []sgverify.VerifierOption
	integrated := false
	if hasEntries {
		opts = append(opts, sgverify.WithTransparencyLog(1))
		for _, e := range b.GetVerificationMaterial().GetTlogEntries() {
			integrated = integrated || e.GetIntegratedTime() != 0
		}
	}
	hasTSA := len(b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()) > 0
	if hasTSA || !integrated {
		opts = append(opts, sgverify.WithSignedTimestamps(1))
	}
	if integrated {
		opts = append(opts, sgverify.WithIntegratedTimestamps(1))
	}
	if requireSCT {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	return append(opts, sgverify.WithoutStatementPredicate())
}

// logIndex is the index of the first of entries that comes from one of
// trusted's transparency logs, or -1.
func logIndex(trusted root.TrustedMaterial, entries []*tlog.Entry) int64 {
	for _, e := range entries {
		if _, ok := trusted.RekorLogs()[hex.EncodeToString([]byte(e.LogKeyID()))]; ok {
			return e.LogIndex()
		}
	}
	return -1
}

// signingTime is a verified bundle's signing time: its RFC 3161 timestamp,
// else the first verified time (a log's integrated time).
func signingTime(res *sgverify.VerificationResult) time.Time {
	var t time.Time
	for _, ts := range res.VerifiedTimestamps {
		if ts.Type == "TimestampAuthority" {
			return ts.Timestamp
		}
		if t.IsZero() {
			t = ts.Timestamp
		}
	}
	return t
}

// sigstoreFailure is sigstore-go's verification error as a reason.
// sigstore-go v1.3.0 formats a nil error into one of its messages.
func sigstoreFailure(err error) string {
	return strings.ReplaceAll(clipErr(err), "; error: %!w(<nil>)", "")
}

// anyMatch reports whether one of ms allows the signer issuer and san.
func anyMatch(ms []matcher, issuer, san string) bool {
	for _, m := range ms {
		if m.match(issuer, san) {
			return true
		}
	}
	return false
}

// clipErr shortens an error message that may quote untrusted input.
func clipErr(err error) string {
	s := err.Error()
	r := []rune(s)
	if len(r) <= 300 {
		return s
	}
	return string(r[:300]) + "…"
}
