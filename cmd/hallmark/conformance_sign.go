package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
)

// Limits of one sign-bundle call.
const (
	// conformanceSignTimeout bounds the whole call: certificate, timestamps,
	// log entry and verification.
	conformanceSignTimeout = 2 * time.Minute
	// conformanceRequestTimeout bounds each request to a service.
	conformanceRequestTimeout = 30 * time.Second
	// rekorV2 is the major API version of Rekor v2 logs.
	rekorV2 = 2
)

// conformanceSignFlags are the flags of sign-bundle.
type conformanceSignFlags struct {
	staging       bool
	inToto        bool
	token         string
	bundle        string
	trustedRoot   string
	signingConfig string
}

func newConformanceSignCmd() *cobra.Command {
	f := &conformanceSignFlags{}
	cmd := &cobra.Command{
		Use:   "sign-bundle [--staging] [--in-toto] --identity-token TOKEN --bundle FILE [--trusted-root FILE] [--signing-config FILE] FILE",
		Short: "Sign a file, or an in-toto statement, into a Sigstore bundle",
		Long: `Sign FILE keylessly with the OIDC --identity-token and write the Sigstore
bundle (v0.3 JSON) to --bundle: a message signature over FILE, or with
--in-toto a DSSE envelope (payload type application/vnd.in-toto+json) of
FILE, an in-toto statement.

The Fulcio, timestamp authorities and transparency logs are those that
--signing-config selects, the way Hallmark's gateway selects them; it is
required, as the public-good services cannot be reached from here. The new
bundle is verified against --trusted-root (default: the built-in public-good
snapshot) for the identity in its certificate before it is written.`,
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.staging, "staging", false, "use Sigstore's staging instance (needs --trusted-root and --signing-config)")
	fl.BoolVar(&f.inToto, "in-toto", false, "FILE is an in-toto statement: sign it as a DSSE envelope")
	fl.StringVar(&f.token, "identity-token", "", "the OIDC identity token to get a Fulcio certificate with")
	fl.StringVar(&f.bundle, "bundle", "", "where to write the bundle")
	fl.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json to verify the new bundle against (default: the built-in public-good snapshot)")
	fl.StringVar(&f.signingConfig, "signing-config", "", "Sigstore signing_config.json naming the services to use (required)")
	return conformanceCommand(cmd, "FILE", func(ctx context.Context, file string) error {
		return runConformanceSign(ctx, f, file)
	})
}

func runConformanceSign(ctx context.Context, f *conformanceSignFlags, file string) error {
	switch {
	case f.token == "":
		return usageError("--identity-token is required")
	case f.bundle == "":
		return usageError("--bundle is required")
	case f.staging && (f.trustedRoot == "" || f.signingConfig == ""):
		return errStaging
	case f.signingConfig == "":
		return usageError("--signing-config is required: the public-good Sigstore services are not reachable from here")
	}
	data, err := readConformanceFile(f.signingConfig, "signing config")
	if err != nil {
		return err
	}
	sc, err := root.NewSigningConfigFromJSON(data)
	if err != nil {
		return fmt.Errorf("read signing config %s: %w", f.signingConfig, err)
	}
	tr, err := conformanceTrustedRoot(f.trustedRoot, f.staging)
	if err != nil {
		return err
	}
	input, err := readConformanceFile(file, "input")
	if err != nil {
		return err
	}
	var content sign.Content = &sign.PlainData{Data: input}
	artifact := verify.ArtifactBytes(input)
	if f.inToto {
		subject, err := statementSubject(input)
		if err != nil {
			return fmt.Errorf("read in-toto statement %s: %w", file, err)
		}
		content = &sign.DSSEData{Data: input, PayloadType: hallmark.PayloadTypeInToto}
		artifact = verify.ArtifactDigest(subject)
	}

	ctx, cancel := context.WithTimeout(ctx, conformanceSignTimeout)
	defer cancel()
	b, err := signConformance(ctx, sc, f.token, content)
	if err != nil {
		return notVerified{msg: "sign: " + strings.ReplaceAll(err.Error(), f.token, "[token]")}
	}
	id, err := bundleIdentity(b)
	if err != nil {
		return notVerified{msg: "check new bundle: " + err.Error()}
	}
	if _, err := verify.VerifyBundle(ctx, tr, b, artifact, verify.WithIdentities(id)); err != nil {
		return notVerified{msg: "check new bundle: " + err.Error()}
	}
	if err := os.WriteFile(f.bundle, b, 0o644); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}

// signConformance signs content with a fresh key, a certificate that the
// signing config's Fulcio issues for token, and the timestamps and log
// entries of the services it selects, and returns the bundle JSON.
func signConformance(ctx context.Context, sc *root.SigningConfig, token string, content sign.Content) ([]byte, error) {
	now := time.Now()
	fulcio, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
	if err != nil {
		return nil, fmt.Errorf("select fulcio from signing config: %w", err)
	}
	var tsas, tlogs []root.Service
	if len(sc.TimestampAuthorityURLs()) > 0 {
		if tsas, err = root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now); err != nil {
			return nil, fmt.Errorf("select timestamp authorities from signing config: %w", err)
		}
	}
	if len(sc.RekorLogURLs()) > 0 {
		if tlogs, err = root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), sign.RekorAPIVersions, now); err != nil {
			return nil, fmt.Errorf("select transparency logs from signing config: %w", err)
		}
	}
	if len(tsas) == 0 && len(tlogs) == 0 {
		return nil, errors.New("signing config names neither a timestamp authority nor a transparency log, so no signature time could be proven")
	}
	opts := sign.BundleOptions{
		Context: ctx,
		CertificateProvider: sign.NewFulcio(&sign.FulcioOptions{
			BaseURL: fulcio.URL, Timeout: conformanceRequestTimeout, Retries: 1,
		}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: token},
	}
	for _, t := range tsas {
		opts.TimestampAuthorities = append(opts.TimestampAuthorities, sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{
			URL: t.URL, Timeout: conformanceRequestTimeout, Retries: 1,
		}))
	}
	for _, t := range tlogs {
		if t.MajorAPIVersion == rekorV2 && len(tsas) == 0 {
			return nil, fmt.Errorf("signing config selects Rekor v2 log %s, whose entries carry no time, but no timestamp authority", t.URL)
		}
		ro := &sign.RekorOptions{BaseURL: t.URL, Version: t.MajorAPIVersion, Timeout: conformanceRequestTimeout, Retries: 1}
		if t.MajorAPIVersion == rekorV2 {
			ro.Retries = 0 // a retried entry would be a second entry
		}
		opts.TransparencyLogs = append(opts.TransparencyLogs, sign.NewRekor(ro))
	}
	key, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	pb, err := sign.Bundle(content, key, opts)
	if err != nil {
		return nil, err
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return b, nil
}

// bundleIdentity returns the identity in the certificate of b, a bundle
// just signed.
func bundleIdentity(b []byte) (verify.Identity, error) {
	var head struct {
		VerificationMaterial struct {
			Certificate struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"certificate"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return verify.Identity{}, fmt.Errorf("read bundle: %w", err)
	}
	cert, err := x509.ParseCertificate(head.VerificationMaterial.Certificate.RawBytes)
	if err != nil {
		return verify.Identity{}, fmt.Errorf("read certificate: %w", err)
	}
	s, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return verify.Identity{}, fmt.Errorf("read certificate identity: %w", err)
	}
	return verify.Identity{Issuer: s.Issuer, SubjectAlternativeName: s.SubjectAlternativeName}, nil
}

// statementSubject returns the first sha256 subject digest of statement, an
// in-toto statement.
func statementSubject(statement []byte) (hallmark.Digest, error) {
	var st struct {
		Type    string `json:"_type"`
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(statement, &st); err != nil {
		return "", fmt.Errorf("statement is not JSON: %w", err)
	}
	if !strings.HasPrefix(st.Type, "https://in-toto.io/Statement/") {
		return "", fmt.Errorf("statement _type %q is not an in-toto statement", st.Type)
	}
	for _, s := range st.Subject {
		if h, ok := s.Digest["sha256"]; ok {
			return hallmark.ParseDigest("sha256:" + strings.ToLower(h))
		}
	}
	return "", errors.New("statement has no sha256 subject")
}
