package signtest

import (
	"testing"

	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// Bundle signs content with the fake's services, as `cosign sign-blob
// --bundle` does, and returns the bundle JSON: keyless with a Fulcio
// certificate for the fake's identity when key is nil, else with key;
// timestamped by its TSA and logged in its Rekor v2.
func (s *Sigstore) Bundle(tb testing.TB, content sign.Content, key *sign.EphemeralKeypair) []byte {
	tb.Helper()
	opts := sign.BundleOptions{
		Context:              tb.Context(),
		TimestampAuthorities: []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.URL(TSA)})},
		TransparencyLogs:     []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.URL(Rekor), Version: 2})},
	}
	if key == nil {
		var err error
		if key, err = sign.NewEphemeralKeypair(nil); err != nil {
			tb.Fatal(err)
		}
		opts.CertificateProvider = sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.URL(Fulcio)})
		opts.CertificateProviderOptions = &sign.CertificateProviderOptions{IDToken: s.Token(tb)}
	}
	pb, err := sign.Bundle(content, key, opts)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
