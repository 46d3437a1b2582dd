// Package signtest runs a fake Sigstore for unit tests: a Fulcio that
// serves the v2 signingCert endpoint from a test CA, an RFC 3161 timestamp
// authority and a Rekor v2 log that answers with real inclusion proofs and
// signed checkpoints, each an httptest server. Its trusted root and signing
// config have the shapes of the real ones, so bundles signed through it
// verify with sigstore-go exactly as production bundles do.
//
// It also mints the OIDC tokens its Fulcio accepts, and can make any of the
// three services fail or hang, to test how signers handle outages. The real
// services run only in e2e tests.
package signtest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/digitorus/timestamp"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	rekornote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/rekor-tiles/v2/pkg/types/hashedrekord"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"
)

// Service names one of the fake services.
type Service string

// The fake services.
const (
	Fulcio Service = "fulcio"
	TSA    Service = "tsa"
	Rekor  Service = "rekor"
)

// Default identity of the tokens the fake issues.
const (
	DefaultIssuer  = "https://oidc.signtest.invalid"
	DefaultSubject = "https://hallmark.signtest.invalid/gateway"
)

// OID of Fulcio's OIDC issuer (v2) certificate extension.
var oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}

// oidIssuerV1 is the deprecated raw-string form that Fulcio still writes.
var oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}

// Option configures a fake Sigstore.
type Option func(*Sigstore)

// WithCertificateLifetime sets how long the certificates Fulcio issues are
// valid. The default is 10 minutes, like the real Fulcio.
func WithCertificateLifetime(d time.Duration) Option {
	return func(s *Sigstore) { s.certLifetime = d }
}

// WithIdentity sets the issuer and subject of the tokens Token mints; the
// subject becomes the certificates' URI (or, without a scheme, email) SAN.
// The default is DefaultIssuer and DefaultSubject.
func WithIdentity(issuer, subject string) Option {
	return func(s *Sigstore) { s.issuer, s.subject = issuer, subject }
}

// WithoutRekor leaves the transparency log out of the signing config, so
// that only timestamps prove the signing time. The default includes it.
func WithoutRekor() Option { return func(s *Sigstore) { s.noRekor = true } }

// WithoutTSA leaves the timestamp authority out of the signing config,
// which makes a Rekor v2 config unusable. The default includes it.
func WithoutTSA() Option { return func(s *Sigstore) { s.noTSA = true } }

type fault struct {
	status int
	body   string
	hang   bool
	times  int // requests left to fail; 0 means until Heal
}

// Sigstore is a running fake Sigstore.
type Sigstore struct {
	issuer, subject string
	certLifetime    time.Duration
	noRekor, noTSA  bool
	start           time.Time

	oidcKey    *ecdsa.PrivateKey
	caRoot     *x509.Certificate
	caInter    *x509.Certificate
	caInterKey *ecdsa.PrivateKey
	tsaRoot    *x509.Certificate
	tsaInter   *x509.Certificate
	tsaLeaf    *x509.Certificate
	tsaKey     *ecdsa.PrivateKey
	rekorKey   *ecdsa.PrivateKey

	fulcio, tsa, rekor *httptest.Server
	closed             chan struct{}

	mu       sync.Mutex
	tree     *testonly.Tree
	faults   map[Service]fault
	requests map[Service]int
}

// New starts a fake Sigstore; tb's cleanup stops it.
func New(tb testing.TB, opts ...Option) *Sigstore {
	tb.Helper()
	s := &Sigstore{
		issuer:       DefaultIssuer,
		subject:      DefaultSubject,
		certLifetime: 10 * time.Minute,
		start:        time.Now().Add(-time.Hour).Truncate(time.Second),
		tree:         testonly.New(rfc6962.DefaultHasher),
		faults:       map[Service]fault{},
		requests:     map[Service]int{},
		closed:       make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	s.oidcKey = newKey(tb)
	var caRootKey, tsaRootKey, tsaInterKey *ecdsa.PrivateKey
	s.caRoot, caRootKey = newCA(tb, "signtest fulcio root", nil, nil, nil)
	s.caInter, s.caInterKey = newCA(tb, "signtest fulcio intermediate", s.caRoot, caRootKey, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning})
	s.tsaRoot, tsaRootKey = newCA(tb, "signtest tsa root", nil, nil, nil)
	s.tsaInter, tsaInterKey = newCA(tb, "signtest tsa intermediate", s.tsaRoot, tsaRootKey, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping})
	s.tsaKey = newKey(tb)
	s.tsaLeaf = newTSALeaf(tb, s.tsaKey, s.tsaInter, tsaInterKey)
	s.rekorKey = newKey(tb)

	s.fulcio = httptest.NewServer(s.guard(Fulcio, http.HandlerFunc(s.serveFulcio)))
	s.tsa = httptest.NewServer(s.guard(TSA, http.HandlerFunc(s.serveTSA)))
	s.rekor = httptest.NewServer(s.guard(Rekor, http.HandlerFunc(s.serveRekor)))
	tb.Cleanup(func() {
		close(s.closed)
		s.fulcio.Close()
		s.tsa.Close()
		s.rekor.Close()
	})
	return s
}

// Fail makes service answer every request with status and body until Heal.
func (s *Sigstore) Fail(service Service, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[service] = fault{status: status, body: body}
}

// FailTimes makes service answer the next n requests with status and body.
func (s *Sigstore) FailTimes(service Service, n int, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[service] = fault{status: status, body: body, times: n}
}

// Hang makes service hold every request until the client gives up.
func (s *Sigstore) Hang(service Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[service] = fault{hang: true}
}

// Heal undoes Fail and Hang.
func (s *Sigstore) Heal(service Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, service)
}

// Stop shuts service down for good, like a killed process: connections to
// it are refused.
func (s *Sigstore) Stop(service Service) {
	switch service {
	case Fulcio:
		s.fulcio.Close()
	case TSA:
		s.tsa.Close()
	default:
		s.rekor.Close()
	}
}

// Requests returns how many requests service received.
func (s *Sigstore) Requests(service Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[service]
}

// URL returns the base URL of service.
func (s *Sigstore) URL(service Service) string {
	switch service {
	case Fulcio:
		return s.fulcio.URL
	case TSA:
		return s.tsa.URL + "/api/v1/timestamp"
	default:
		return s.rekor.URL
	}
}

// Identity returns the issuer and SAN of the certificates Fulcio issues for
// Token's tokens.
func (s *Sigstore) Identity() (issuer, san string) { return s.issuer, s.subject }

// Token mints an OIDC token, valid for an hour, that Fulcio accepts.
func (s *Sigstore) Token(tb testing.TB) string {
	tb.Helper()
	now := time.Now()
	return s.mint(tb, map[string]any{
		"iss": s.issuer, "sub": s.subject, "aud": "sigstore",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
}

// ExpiredToken mints a token that expired a minute ago.
func (s *Sigstore) ExpiredToken(tb testing.TB) string {
	tb.Helper()
	now := time.Now()
	return s.mint(tb, map[string]any{
		"iss": s.issuer, "sub": s.subject, "aud": "sigstore",
		"iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-time.Minute).Unix(),
	})
}

func (s *Sigstore) mint(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT","kid":"signtest"}`))
	body, err := json.Marshal(claims)
	if err != nil {
		tb.Fatalf("encode claims: %v", err)
	}
	signingInput := header + "." + base64.RawURLEncoding.EncodeToString(body)
	digest := sha256.Sum256([]byte(signingInput))
	r, sv, err := ecdsa.Sign(rand.Reader, s.oidcKey, digest[:])
	if err != nil {
		tb.Fatalf("sign token: %v", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// SigningConfig returns a signing config naming the fake services: Fulcio
// (API v1), the TSA (v1) and the Rekor log (v2), with ANY selectors.
func (s *Sigstore) SigningConfig(tb testing.TB) *root.SigningConfig {
	tb.Helper()
	svc := func(u string, v uint32) []root.Service {
		return []root.Service{{URL: u, MajorAPIVersion: v, ValidityPeriodStart: s.start, Operator: "signtest"}}
	}
	anyOne := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	var tsas, tlogs []root.Service
	if !s.noTSA {
		tsas = svc(s.URL(TSA), 1)
	}
	if !s.noRekor {
		tlogs = svc(s.URL(Rekor), 2)
	}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02, svc(s.URL(Fulcio), 1), nil, tlogs, anyOne, tsas, anyOne)
	if err != nil {
		tb.Fatalf("build signing config: %v", err)
	}
	return sc
}

// TrustedRoot returns the trusted root of the fake services: the Fulcio CA,
// the TSA chain and the Rekor v2 log key, and no CT logs (the fake Fulcio
// writes no SCTs, like the dev stack's).
func (s *Sigstore) TrustedRoot(tb testing.TB) *root.TrustedRoot {
	tb.Helper()
	return s.trustedRoot(tb, s.caRoot, s.caInter)
}

// ForeignTrustedRoot is TrustedRoot with an unrelated Fulcio CA in place of
// the fake's, so that its certificates do not verify.
func (s *Sigstore) ForeignTrustedRoot(tb testing.TB) *root.TrustedRoot {
	tb.Helper()
	r, rk := newCA(tb, "foreign root", nil, nil, nil)
	i, _ := newCA(tb, "foreign intermediate", r, rk, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning})
	return s.trustedRoot(tb, r, i)
}

func (s *Sigstore) trustedRoot(tb testing.TB, caRoot, caInter *x509.Certificate) *root.TrustedRoot {
	tb.Helper()
	pub, err := x509.MarshalPKIXPublicKey(s.rekorKey.Public())
	if err != nil {
		tb.Fatalf("encode rekor key: %v", err)
	}
	logID := sha256.Sum256(pub)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{
			Root: caRoot, Intermediates: []*x509.Certificate{caInter},
			ValidityPeriodStart: s.start, URI: s.URL(Fulcio),
		}},
		map[string]*root.TransparencyLog{},
		[]root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{
			Root: s.tsaRoot, Intermediates: []*x509.Certificate{s.tsaInter}, Leaf: s.tsaLeaf,
			ValidityPeriodStart: s.start, URI: s.URL(TSA),
		}},
		map[string]*root.TransparencyLog{fmt.Sprintf("%x", logID): {
			BaseURL: s.URL(Rekor), ID: logID[:], ValidityPeriodStart: s.start,
			HashFunc: crypto.SHA256, PublicKey: s.rekorKey.Public(), SignatureHashFunc: crypto.SHA256,
		}},
	)
	if err != nil {
		tb.Fatalf("build trusted root: %v", err)
	}
	return tr
}

// guard counts requests and applies faults.
func (s *Sigstore) guard(service Service, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[service]++
		f, faulty := s.faults[service]
		if faulty && f.times > 0 {
			if f.times--; f.times == 0 {
				delete(s.faults, service)
			} else {
				s.faults[service] = f
			}
		}
		s.mu.Unlock()
		switch {
		case faulty && f.hang:
			select {
			case <-r.Context().Done():
			case <-s.closed:
			}
			return
		case faulty:
			http.Error(w, f.body, f.status)
			return
		}
		h.ServeHTTP(w, r)
	})
}

const maxRequest = 1 << 20

func (s *Sigstore) serveFulcio(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.NotFound(w, r)
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		http.Error(w, `{"code":16,"message":"missing bearer token"}`, http.StatusUnauthorized)
		return
	}
	claims, err := s.checkToken(token)
	if err != nil {
		http.Error(w, `{"code":16,"message":"There was an error processing the identity token"}`, http.StatusUnauthorized)
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Algorithm string `json:"algorithm"`
				Content   string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession string `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequest)).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	block, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
	if block == nil {
		http.Error(w, "public key is not PEM", http.StatusBadRequest)
		return
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		http.Error(w, "bad public key", http.StatusBadRequest)
		return
	}
	ecPub, ok := pub.(*ecdsa.PublicKey)
	pop, err := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	digest := sha256.Sum256([]byte(claims.Subject))
	if !ok || err != nil || !ecdsa.VerifyASN1(ecPub, digest[:], pop) {
		http.Error(w, `{"code":3,"message":"The signature supplied in the request could not be verified"}`, http.StatusBadRequest)
		return
	}
	leaf, err := s.issue(ecPub, claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	chain := []string{pemCert(leaf), pemCert(s.caInter), pemCert(s.caRoot)}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"signedCertificateDetachedSct": map[string]any{"chain": map[string]any{"certificates": chain}},
	})
}

type claims struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	Expiry  int64  `json:"exp"`
}

func (s *Sigstore) checkToken(token string) (claims, error) {
	var c claims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, fmt.Errorf("not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return c, fmt.Errorf("bad signature")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(&s.oidcKey.PublicKey, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return c, fmt.Errorf("bad signature")
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return c, err
	}
	if c.Issuer != s.issuer || c.Subject == "" || time.Now().Unix() >= c.Expiry {
		return c, fmt.Errorf("wrong issuer, no subject or expired")
	}
	return c, nil
}

func (s *Sigstore) issue(pub *ecdsa.PublicKey, c claims) (*x509.Certificate, error) {
	issuerV2, err := asn1.MarshalWithParams(c.Issuer, "utf8")
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		NotBefore:    now,
		NotAfter:     now.Add(s.certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: oidIssuerV1, Value: []byte(c.Issuer)},
			{Id: oidIssuerV2, Value: issuerV2},
		},
	}
	if u, err := url.Parse(c.Subject); err == nil && u.Scheme != "" {
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{c.Subject}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caInter, pub, s.caInterKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// readPost reads the body of a POST to path ("": any path), up to
// maxRequest bytes. Otherwise it answers the request itself and returns
// false.
func readPost(w http.ResponseWriter, r *http.Request, path string) ([]byte, bool) {
	if r.Method != http.MethodPost || path != "" && r.URL.Path != path {
		http.NotFound(w, r)
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

func (s *Sigstore) serveTSA(w http.ResponseWriter, r *http.Request) {
	body, ok := readPost(w, r, "")
	if !ok {
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, "bad timestamp request", http.StatusBadRequest)
		return
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:   req.HashAlgorithm,
		HashedMessage:   req.HashedMessage,
		Time:            time.Now(),
		Nonce:           req.Nonce,
		Policy:          asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2},
		ExtraExtensions: req.Extensions,
	}
	resp, err := ts.CreateResponseWithOpts(s.tsaLeaf, s.tsaKey, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

func (s *Sigstore) serveRekor(w http.ResponseWriter, r *http.Request) {
	body, ok := readPost(w, r, "/api/v2/log/entries")
	if !ok {
		return
	}
	var req rekortilespb.CreateEntryRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		http.Error(w, "bad entry request", http.StatusBadRequest)
		return
	}
	hr := req.GetHashedRekordRequestV002()
	if hr == nil {
		http.Error(w, "only hashedrekord entries are supported", http.StatusBadRequest)
		return
	}
	registry, err := signature.NewAlgorithmRegistryConfig([]protocommon.PublicKeyDetails{protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	entry, err := hashedrekord.ToLogEntry(hr, registry)
	if err != nil {
		http.Error(w, "invalid entry: "+err.Error(), http.StatusBadRequest)
		return
	}
	tle, err := s.append(r.Context(), entry)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out, err := protojson.Marshal(tle)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(out)
}

// append adds entry to the log and returns it with an inclusion proof in a
// signed checkpoint, the way rekor-tiles does.
func (s *Sigstore) append(ctx context.Context, entry *rekortilespb.Entry) (*protorekor.TransparencyLogEntry, error) {
	serialized, err := protojson.Marshal(entry)
	if err != nil {
		return nil, err
	}
	body, err := jsoncanonicalizer.Transform(serialized)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.tree.AppendData(body)
	size := s.tree.Size()
	index := size - 1
	rootHash := s.tree.Hash()
	proof, err := s.tree.InclusionProof(index, size)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(s.rekor.URL)
	if err != nil {
		return nil, err
	}
	signer, err := signature.LoadECDSASignerVerifier(s.rekorKey, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	noteSigner, err := rekornote.NewNoteSigner(ctx, u.Hostname(), signer)
	if err != nil {
		return nil, err
	}
	cp := flog.Checkpoint{Origin: u.Hostname(), Size: size, Hash: rootHash}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(cp)}, noteSigner)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(s.rekorKey.Public())
	if err != nil {
		return nil, err
	}
	logID := sha256.Sum256(pub)
	return &protorekor.TransparencyLogEntry{
		LogIndex:    int64(index),
		LogId:       &protocommon.LogId{KeyId: logID[:]},
		KindVersion: &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.2"},
		InclusionProof: &protorekor.InclusionProof{
			LogIndex:   int64(index),
			RootHash:   rootHash,
			TreeSize:   int64(size),
			Hashes:     proof,
			Checkpoint: &protorekor.Checkpoint{Envelope: string(signed)},
		},
		CanonicalizedBody: body,
	}, nil
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("generate key: %v", err)
	}
	return k
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// newCA makes a root (parent nil) or intermediate CA certificate.
func newCA(tb testing.TB, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, eku []x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey) {
	tb.Helper()
	key := newKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"signtest"}},
		NotBefore:             time.Now().Add(-2 * time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           eku,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		tb.Fatalf("create %s: %v", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("parse %s: %v", cn, err)
	}
	return cert, key
}

func newTSALeaf(tb testing.TB, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	tb.Helper()
	// RFC 3161 requires the timestamping EKU to be critical.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		tb.Fatalf("encode eku: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial(),
		Subject:         pkix.Name{CommonName: "signtest tsa", Organization: []string{"signtest"}},
		NotBefore:       time.Now().Add(-2 * time.Hour),
		NotAfter:        time.Now().Add(24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		tb.Fatalf("create tsa leaf: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("parse tsa leaf: %v", err)
	}
	return cert
}

func pemCert(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}
