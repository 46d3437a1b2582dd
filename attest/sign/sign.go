package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark"
)

// MaxStatementSize is the largest statement Sign accepts: its bundle, with
// the payload in base64, must still fit in 16 MiB, the size limit readers of
// OCI referrers apply (registry.MaxBundleSize).
const MaxStatementSize = 12<<20 - 64<<10

// Signed is a statement signed into a Sigstore bundle.
type Signed struct {
	// Bundle is the Sigstore bundle v0.3 as protojson.
	Bundle []byte
	// MediaType is hallmark.MediaTypeBundleV03.
	MediaType string
	// BundleDigest is the sha256 of Bundle.
	BundleDigest hallmark.Digest
	// PredicateType is the statement's predicate type.
	PredicateType string
	// SignerIdentity is the certificate's subject alternative name.
	SignerIdentity string
	// SignerIssuer is the certificate's OIDC issuer extension.
	SignerIssuer string
	// LogIndex is the index of the first transparency log entry, or -1 if the
	// bundle has none.
	LogIndex int64
	// Timestamp is the first verified RFC 3161 time, or zero if the bundle has
	// none.
	Timestamp time.Time
	// Timings splits the time Sign took.
	Timings Timings
}

// Timings is where the time of one Sign call went. The service times are
// their HTTP round trips (a Rekor v2 write includes waiting for the entry's
// checkpoint); Total also counts hashing, signing and assembling.
type Timings struct {
	Key, Fulcio, TSA, Rekor, Verify, Total time.Duration
}

// LogAttrs are the timings as log attributes, in milliseconds.
func (t Timings) LogAttrs() []any {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return []any{"key_ms", ms(t.Key), "fulcio_ms", ms(t.Fulcio), "tsa_ms", ms(t.TSA), "rekor_ms", ms(t.Rekor), "verify_ms", ms(t.Verify), "total_ms", ms(t.Total)}
}

// Attestation describes the signed statement once it is published as the
// referrer manifest with digest referrer.
func (s *Signed) Attestation(referrer hallmark.Digest) hallmark.Attestation {
	return hallmark.Attestation{
		PredicateType:  s.PredicateType,
		Digest:         referrer,
		BundleDigest:   s.BundleDigest,
		SignerIdentity: s.SignerIdentity,
		SignerIssuer:   s.SignerIssuer,
		LogIndex:       s.LogIndex,
		Timestamp:      s.Timestamp,
	}
}

// Signer signs in-toto statements keylessly as the gateway. It is safe for
// concurrent use.
type Signer struct {
	signingConfig *root.SigningConfig
	trustedRoot   *root.TrustedRoot
	tokens        TokenSource
	opts          options
	requireSCT    bool
	cache         *credentialCache

	mu     sync.Mutex
	issuer string // expected identity, set by option or pinned by the first signature
	san    string
}

// New returns a Signer that uses the services of signingConfig, verifies
// what it signs against trustedRoot and gets its OIDC tokens from tokens.
//
// It checks that the signing config can produce verifiable bundles now: a
// Fulcio, and a timestamp authority or a transparency log (Rekor v2 logs
// need a timestamp authority). When trustedRoot lists certificate
// transparency logs, certificates must carry an SCT.
func New(signingConfig *root.SigningConfig, trustedRoot *root.TrustedRoot, tokens TokenSource, opts ...Option) (*Signer, error) {
	if signingConfig == nil || trustedRoot == nil || tokens == nil {
		return nil, fmt.Errorf("new signer: %w: signing config, trusted root and token source are required", hallmark.ErrInvalid)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("new signer: %w", err)
		}
	}
	if _, err := selectServices(signingConfig, o.now()); err != nil {
		return nil, fmt.Errorf("new signer: %w", err)
	}
	if len(trustedRoot.FulcioCertificateAuthorities()) == 0 {
		return nil, fmt.Errorf("new signer: %w: trusted root has no certificate authority", hallmark.ErrInvalid)
	}
	return &Signer{
		signingConfig: signingConfig,
		trustedRoot:   trustedRoot,
		tokens:        tokens,
		opts:          o,
		requireSCT:    len(trustedRoot.CTLogs()) > 0,
		cache:         &credentialCache{maxAge: o.reuse, now: o.now},
		issuer:        o.issuer,
		san:           o.san,
	}, nil
}

// Sign signs statement, an in-toto Statement v1, and returns the verified
// bundle. Errors wrap hallmark.ErrInvalid for a statement or configuration
// that cannot be signed, hallmark.ErrUnavailable when Fulcio, a timestamp
// authority or a log could not be reached, failed or timed out, and
// hallmark.ErrCanceled when ctx ended.
func (s *Signer) Sign(ctx context.Context, statement []byte) (*Signed, error) {
	signed, err := s.SignAll(ctx, [][]byte{statement})
	if err != nil {
		return nil, err
	}
	return signed[0], nil
}

// SignAll signs statements like Sign, all with one ephemeral key and one
// Fulcio certificate (the cached one with WithCertificateReuse), and all at
// once: the timestamp authorities and logs are asked for every statement in
// parallel, so n statements cost about one log round trip, not n. It
// returns the bundles in the order of statements; any failure fails all.
// WithTimeout bounds the whole call.
func (s *Signer) SignAll(ctx context.Context, statements [][]byte) ([]*Signed, error) {
	parsed := make([]parsedStatement, len(statements))
	for i, st := range statements {
		var err error
		if parsed[i].predicateType, parsed[i].subjectDigest, err = parseStatement(st); err != nil {
			return nil, fmt.Errorf("sign statement: %w", err)
		}
	}
	if len(statements) == 0 {
		return nil, nil
	}
	start := time.Now()
	callCtx := ctx
	ctx, cancel := context.WithTimeout(ctx, s.opts.timeout)
	defer cancel()

	svc, err := selectServices(s.signingConfig, s.opts.now())
	if err != nil {
		return nil, fmt.Errorf("sign statement: %w", err)
	}
	cred, err := s.credential(callCtx, ctx, svc)
	if err != nil {
		return nil, fmt.Errorf("sign statement: %w", err)
	}
	out := make([]*Signed, len(statements))
	g, gctx := errgroup.WithContext(ctx)
	for i := range statements {
		g.Go(func() error {
			signed, err := s.signWith(callCtx, gctx, start, svc, cred, statements[i], parsed[i])
			if err != nil {
				return fmt.Errorf("sign statement: %w", err)
			}
			out[i] = signed
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// parsedStatement is what Sign reads of a statement before signing it.
type parsedStatement struct {
	predicateType string
	subjectDigest []byte
}

// batchCredential is the key and certificate of one SignAll call.
type batchCredential struct {
	keypair *sign.EphemeralKeypair
	der     []byte
	timings Timings // of the key and the certificate
}

// credential returns the cached key and certificate if certificate reuse
// is on and they are fresh, else a new key certified by Fulcio.
func (s *Signer) credential(callCtx, ctx context.Context, svc services) (*batchCredential, error) {
	if cr := s.cache.fresh(); cr != nil {
		s.opts.logger.DebugContext(ctx, "reused signing certificate")
		return &batchCredential{keypair: cr.keypair, der: cr.der}, nil
	}
	start := time.Now()
	kp, err := sign.NewEphemeralKeypair(&sign.EphemeralKeypairOptions{Algorithm: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256})
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	keyTook := time.Since(start)
	o := &observer{ctx: ctx, base: s.opts.transport, service: "fulcio", url: svc.fulcio.URL}
	provider := &certificateProvider{
		fulcio: sign.NewFulcio(&sign.FulcioOptions{
			BaseURL:   svc.fulcio.URL,
			Timeout:   -1, // ctx carries the deadline
			Retries:   s.opts.retries,
			Transport: o,
		}),
		url:    svc.fulcio.URL,
		tokens: s.tokens,
		cache:  s.cache,
		now:    s.opts.now,
	}
	der, err := provider.GetCertificate(ctx, kp, nil)
	if err != nil {
		return nil, s.classify(callCtx, ctx, err, []*observer{o}, provider.token)
	}
	s.opts.logger.DebugContext(ctx, "got signing certificate", "fulcio", svc.fulcio.URL)
	return &batchCredential{keypair: kp, der: der, timings: Timings{Key: keyTook, Fulcio: o.took()}}, nil
}

// fixedCertificate is a sign.CertificateProvider of one certificate.
type fixedCertificate []byte

func (c fixedCertificate) GetCertificate(context.Context, sign.Keypair, *sign.CertificateProviderOptions) ([]byte, error) {
	return c, nil
}

// signWith signs one statement with cred: the timestamp authorities and
// logs of svc, then the verification of the bundle. start is when the
// SignAll call began.
func (s *Signer) signWith(callCtx, ctx context.Context, start time.Time, svc services, cred *batchCredential, statement []byte, st parsedStatement) (*Signed, error) {
	var observers []*observer
	observe := func(service, url string) *observer {
		o := &observer{ctx: ctx, base: s.opts.transport, service: service, url: url}
		observers = append(observers, o)
		return o
	}
	bopts := sign.BundleOptions{CertificateProvider: fixedCertificate(cred.der), Context: ctx}
	for _, t := range svc.tsas {
		bopts.TimestampAuthorities = append(bopts.TimestampAuthorities, sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{
			URL:       t.URL,
			Timeout:   -1,
			Retries:   s.opts.retries,
			Transport: observe("timestamp authority", t.URL),
		}))
	}
	for _, t := range svc.tlogs {
		ro := &sign.RekorOptions{BaseURL: t.URL, Version: t.MajorAPIVersion, Timeout: s.opts.timeout, Retries: s.opts.retries}
		if t.MajorAPIVersion == rekorV2 {
			ro.Retries = 0
			ro.ClientV2 = &rekorV2Client{baseURL: t.URL, client: &http.Client{Transport: observe("rekor", t.URL)}}
		}
		bopts.TransparencyLogs = append(bopts.TransparencyLogs, sign.NewRekor(ro))
	}

	pb, err := sign.Bundle(&sign.DSSEData{Data: statement, PayloadType: hallmark.PayloadTypeInToto}, cred.keypair, bopts)
	if err != nil {
		return nil, s.classify(callCtx, ctx, err, observers, "")
	}
	timings := cred.timings
	for _, o := range observers {
		switch o.service {
		case "timestamp authority":
			timings.TSA += o.took()
		case "rekor":
			timings.Rekor += o.took()
		}
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	verifyStart := time.Now()
	signed, err := s.verify(b, statement, st.subjectDigest, len(svc.tsas), svc.tlogs)
	if err != nil {
		s.cache.forget(cred.keypair) // never sign again with a certificate that did not verify
		return nil, fmt.Errorf("verify new bundle: %w", err)
	}
	signed.PredicateType = st.predicateType
	timings.Verify, timings.Total = time.Since(verifyStart), time.Since(start)
	signed.Timings = timings
	s.opts.logger.InfoContext(ctx, "signed statement", append([]any{
		"predicateType", st.predicateType,
		"bundleDigest", signed.BundleDigest,
		"identity", signed.SignerIdentity,
		"issuer", signed.SignerIssuer,
		"logIndex", signed.LogIndex,
		"timestamp", signed.Timestamp}, timings.LogAttrs()...)...)
	return signed, nil
}

// classify turns an error of sign.Bundle into one that says which service
// failed and whether retrying may help. It never contains the token.
func (s *Signer) classify(callCtx, ctx context.Context, err error, observers []*observer, token string) error {
	err = redact(err, token)
	if callCtx.Err() != nil {
		return fmt.Errorf("%w: %w", hallmark.ErrCanceled, err)
	}
	for _, o := range observers {
		failed, why := o.unavailable()
		switch {
		case !failed:
		case why == "":
			return fmt.Errorf("%w: %s %s gave no answer within %v: %w", hallmark.ErrUnavailable, o.service, o.url, s.opts.timeout, err)
		default:
			return fmt.Errorf("%w: %s %s %s: %w", hallmark.ErrUnavailable, o.service, o.url, redactString(why, token), err)
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: no answer within %v: %w", hallmark.ErrUnavailable, s.opts.timeout, err)
	}
	return err
}

// verify checks the bundle the way a verifier will: against the trusted
// root, with the thresholds of what was requested, for the statement's
// subject and the expected identity.
func (s *Signer) verify(b, statement []byte, subjectDigest []byte, tsas int, tlogs []root.Service) (*Signed, error) {
	var bun bundle.Bundle
	if err := bun.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("parse bundle: %w", err)
	}
	env, err := bun.Envelope()
	if err != nil {
		return nil, fmt.Errorf("read envelope: %w", err)
	}
	raw := env.RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(raw.Payload)
	if err != nil || raw.PayloadType != hallmark.PayloadTypeInToto || !bytes.Equal(payload, statement) {
		return nil, errors.New("envelope does not carry the statement")
	}
	leaf := bun.VerificationMaterial.GetCertificate()
	if leaf == nil {
		return nil, errors.New("bundle has no certificate")
	}
	cert, err := parseCertificate(leaf.GetRawBytes())
	if err != nil {
		return nil, err
	}
	summary, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("read certificate identity: %w", err)
	}
	issuer, san, pinned := s.expectedIdentity(summary)
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
	if err != nil {
		return nil, fmt.Errorf("build identity policy: %w", err)
	}

	var vopts []verify.VerifierOption
	if tsas > 0 {
		vopts = append(vopts, verify.WithSignedTimestamps(tsas))
	}
	if len(tlogs) > 0 {
		vopts = append(vopts, verify.WithTransparencyLog(len(tlogs)))
		if tsas == 0 {
			vopts = append(vopts, verify.WithIntegratedTimestamps(len(tlogs)))
		}
	}
	if s.requireSCT {
		vopts = append(vopts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(s.trustedRoot, vopts...)
	if err != nil {
		return nil, fmt.Errorf("build verifier: %w", err)
	}
	res, err := v.Verify(&bun, verify.NewPolicy(verify.WithArtifactDigest("sha256", subjectDigest), verify.WithCertificateIdentity(id)))
	if err != nil {
		return nil, err
	}
	if !pinned {
		if err := s.pin(issuer, san); err != nil {
			return nil, err
		}
	}

	signed := &Signed{
		Bundle:         b,
		MediaType:      hallmark.MediaTypeBundleV03,
		BundleDigest:   hallmark.SHA256(b),
		SignerIdentity: summary.SubjectAlternativeName,
		SignerIssuer:   summary.Issuer,
		LogIndex:       -1,
	}
	if entries := bun.VerificationMaterial.GetTlogEntries(); len(entries) > 0 {
		signed.LogIndex = entries[0].GetLogIndex()
	}
	for _, ts := range res.VerifiedTimestamps {
		if ts.Type == "TimestampAuthority" {
			signed.Timestamp = ts.Timestamp
			break
		}
	}
	return signed, nil
}

// expectedIdentity returns the identity bundles must have; pinned is false
// when none was set yet and the certificate's own is returned.
func (s *Signer) expectedIdentity(summary certificate.Summary) (issuer, san string, pinned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.issuer != "" {
		return s.issuer, s.san, true
	}
	return summary.Issuer, summary.SubjectAlternativeName, false
}

// pin makes the identity of the first verified bundle the expected one.
func (s *Signer) pin(issuer, san string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.issuer == "" {
		s.issuer, s.san = issuer, san
		return nil
	}
	if s.issuer != issuer || s.san != san {
		return fmt.Errorf("certificate identity %q from %q differs from the pinned %q from %q", san, issuer, s.san, s.issuer)
	}
	return nil
}

// Identity returns the identity the Signer's bundles verify against: the
// one given by WithExpectedIdentity, else the first certificate's, else
// empty strings before the first signature.
func (s *Signer) Identity() (issuer, san string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issuer, s.san
}

// parseStatement checks that statement is an in-toto Statement v1 with a
// predicate type and a sha256 subject, and returns both.
func parseStatement(statement []byte) (predicateType string, subjectDigest []byte, err error) {
	if len(statement) > MaxStatementSize {
		return "", nil, fmt.Errorf("%w: statement is %d bytes, over %d", hallmark.ErrTooLarge, len(statement), MaxStatementSize)
	}
	var st struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(statement, &st); err != nil {
		return "", nil, fmt.Errorf("%w: statement is not JSON: %w", hallmark.ErrInvalid, err)
	}
	if st.Type != hallmark.StatementTypeV1 {
		return "", nil, fmt.Errorf("%w: statement _type is %q, want %q", hallmark.ErrInvalid, st.Type, hallmark.StatementTypeV1)
	}
	if st.PredicateType == "" {
		return "", nil, fmt.Errorf("%w: statement has no predicateType", hallmark.ErrInvalid)
	}
	if len(st.Subject) == 0 {
		return "", nil, fmt.Errorf("%w: statement has no subject", hallmark.ErrInvalid)
	}
	d, err := hallmark.ParseDigest("sha256:" + st.Subject[0].Digest["sha256"])
	if err != nil {
		return "", nil, fmt.Errorf("statement subject: %w", err)
	}
	subjectDigest, err = hex.DecodeString(d.Hex())
	if err != nil {
		return "", nil, fmt.Errorf("%w: statement subject digest: %w", hallmark.ErrInvalid, err)
	}
	return st.PredicateType, subjectDigest, nil
}
