package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/sigstore/sigstore-go/pkg/bundle"
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
		return nil, fmt.Errorf("DSSE payload type %q is not %q", clip(env.GetPayloadType()), hallmark.PayloadTypeInToto)
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
	var head struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("bundle is not a JSON object: %v", clipErr(err))
	}
	if !slices.Contains(supportedMediaTypes, head.MediaType) {
		return nil, fmt.Errorf("bundle media type %q is not supported", clip(head.MediaType))
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("read bundle: %v", clipErr(err))
	}
	return &b, nil
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

// clip shortens untrusted strings quoted in failures.
func clip(s string) string {
	r := []rune(s)
	if len(r) <= 80 {
		return s
	}
	return string(r[:80]) + "…"
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
