package sign_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/attest/sign"
	"github.com/hallmark-dev/hallmark/attest/sign/signtest"
)

var subjectHex = strings.Repeat("ab", 32)

func statement(t *testing.T, predicateType string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"_type":         hallmark.StatementTypeV1,
		"subject":       []any{map[string]any{"name": "registry.example/app", "digest": map[string]string{"sha256": subjectHex}}},
		"predicateType": predicateType,
		"predicate":     map[string]any{"builder": map[string]string{"id": "https://hallmark.example/builder"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tokens(t *testing.T, ss *signtest.Sigstore) (sign.TokenSource, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	return sign.FuncTokenSource(func(context.Context) (string, error) {
		calls.Add(1)
		return ss.Token(t), nil
	}), &calls
}

func newSigner(t *testing.T, ss *signtest.Sigstore, ts sign.TokenSource, opts ...sign.Option) *sign.Signer {
	t.Helper()
	s, err := sign.New(ss.SigningConfig(t), ss.TrustedRoot(t), ts, append([]sign.Option{sign.WithRetries(0)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// verifyBundle verifies a bundle the way a consumer does, independently of
// the Signer's own check.
func verifyBundle(t *testing.T, tr *root.TrustedRoot, b []byte, tlog bool, issuer, san string) *verify.VerificationResult {
	t.Helper()
	var bun bundle.Bundle
	if err := bun.UnmarshalJSON(b); err != nil {
		t.Fatalf("parse bundle: %v", err)
	}
	vopts := []verify.VerifierOption{verify.WithSignedTimestamps(1)}
	if tlog {
		vopts = append(vopts, verify.WithTransparencyLog(1))
	}
	v, err := verify.NewVerifier(tr, vopts...)
	if err != nil {
		t.Fatal(err)
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, "")
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := hex.DecodeString(subjectHex)
	res, err := v.Verify(&bun, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithCertificateIdentity(id)))
	if err != nil {
		t.Fatalf("verify bundle: %v", err)
	}
	return res
}

func TestSignRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		opts []signtest.Option
		tlog bool
	}{
		{"rekor v2 and tsa", nil, true},
		{"tsa only", []signtest.Option{signtest.WithoutRekor()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := signtest.New(t, tt.opts...)
			ts, _ := tokens(t, ss)
			s := newSigner(t, ss, ts)
			issuer, san := ss.Identity()
			before := time.Now().Add(-time.Second)

			for i := range 2 {
				stmt := statement(t, hallmark.PredicateSLSAProvenanceV1)
				got, err := s.Sign(t.Context(), stmt)
				if err != nil {
					t.Fatalf("Sign #%d: %v", i, err)
				}
				sum := sha256.Sum256(got.Bundle)
				if want := hallmark.Digest("sha256:" + hex.EncodeToString(sum[:])); got.BundleDigest != want {
					t.Errorf("BundleDigest = %s, want %s", got.BundleDigest, want)
				}
				if got.MediaType != hallmark.MediaTypeBundleV03 || got.PredicateType != hallmark.PredicateSLSAProvenanceV1 {
					t.Errorf("MediaType, PredicateType = %q, %q", got.MediaType, got.PredicateType)
				}
				if got.SignerIdentity != san || got.SignerIssuer != issuer {
					t.Errorf("identity = %q from %q, want %q from %q", got.SignerIdentity, got.SignerIssuer, san, issuer)
				}
				wantIndex := int64(-1)
				if tt.tlog {
					wantIndex = int64(i)
				}
				if got.LogIndex != wantIndex {
					t.Errorf("LogIndex = %d, want %d", got.LogIndex, wantIndex)
				}
				if got.Timestamp.Before(before) || got.Timestamp.After(time.Now().Add(time.Second)) {
					t.Errorf("Timestamp = %v, not around now", got.Timestamp)
				}

				var raw struct {
					MediaType    string `json:"mediaType"`
					DsseEnvelope struct {
						PayloadType string `json:"payloadType"`
						Payload     []byte `json:"payload"`
					} `json:"dsseEnvelope"`
				}
				if err := json.Unmarshal(got.Bundle, &raw); err != nil {
					t.Fatal(err)
				}
				if raw.MediaType != hallmark.MediaTypeBundleV03 || raw.DsseEnvelope.PayloadType != hallmark.PayloadTypeInToto || string(raw.DsseEnvelope.Payload) != string(stmt) {
					t.Errorf("bundle mediaType %q, payloadType %q, payload matches %v", raw.MediaType, raw.DsseEnvelope.PayloadType, string(raw.DsseEnvelope.Payload) == string(stmt))
				}

				res := verifyBundle(t, ss.TrustedRoot(t), got.Bundle, tt.tlog, issuer, san)
				if res.Statement.GetPredicateType() != hallmark.PredicateSLSAProvenanceV1 {
					t.Errorf("verified predicate type %q", res.Statement.GetPredicateType())
				}
				a := got.Attestation(hallmark.Digest("sha256:" + strings.Repeat("cd", 32)))
				if a.BundleDigest != got.BundleDigest || a.LogIndex != got.LogIndex || a.SignerIdentity != san || a.PredicateType != got.PredicateType {
					t.Errorf("Attestation() = %+v", a)
				}
			}
			if n := ss.Requests(signtest.Fulcio); n != 2 {
				t.Errorf("Fulcio got %d requests for 2 signatures without reuse, want 2", n)
			}
			if gi, gs := s.Identity(); gi != issuer || gs != san {
				t.Errorf("Identity() = %q, %q after signing, want the pinned %q, %q", gi, gs, issuer, san)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	ss := signtest.New(t)
	noTSA := signtest.New(t, signtest.WithoutTSA())
	ts, _ := tokens(t, ss)
	tests := []struct {
		name   string
		sc     *root.SigningConfig
		tr     *root.TrustedRoot
		tokens sign.TokenSource
		opts   []sign.Option
	}{
		{"nil signing config", nil, ss.TrustedRoot(t), ts, nil},
		{"nil trusted root", ss.SigningConfig(t), nil, ts, nil},
		{"nil token source", ss.SigningConfig(t), ss.TrustedRoot(t), nil, nil},
		{"rekor v2 without tsa", noTSA.SigningConfig(t), noTSA.TrustedRoot(t), ts, nil},
		{"zero timeout", ss.SigningConfig(t), ss.TrustedRoot(t), ts, []sign.Option{sign.WithTimeout(0)}},
		{"zero reuse age", ss.SigningConfig(t), ss.TrustedRoot(t), ts, []sign.Option{sign.WithCertificateReuse(0)}},
		{"identity without san", ss.SigningConfig(t), ss.TrustedRoot(t), ts, []sign.Option{sign.WithExpectedIdentity("https://issuer", "")}},
		{"nil logger", ss.SigningConfig(t), ss.TrustedRoot(t), ts, []sign.Option{sign.WithLogger(nil)}},
		{"nil transport", ss.SigningConfig(t), ss.TrustedRoot(t), ts, []sign.Option{sign.WithHTTPTransport(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sign.New(tt.sc, tt.tr, tt.tokens, tt.opts...)
			if !errors.Is(err, hallmark.ErrInvalid) || s != nil {
				t.Fatalf("New = %v, %v; want ErrInvalid", s, err)
			}
		})
	}
}

func TestSignRejectsStatement(t *testing.T) {
	ss := signtest.New(t)
	ts, calls := tokens(t, ss)
	s := newSigner(t, ss, ts)
	tests := []struct {
		name      string
		statement string
		want      error
	}{
		{"not json", `{`, hallmark.ErrInvalid},
		{"statement v0.1", `{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"x","subject":[{"digest":{"sha256":"` + subjectHex + `"}}]}`, hallmark.ErrInvalid},
		{"no predicate type", `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"` + subjectHex + `"}}]}`, hallmark.ErrInvalid},
		{"no subject", `{"_type":"https://in-toto.io/Statement/v1","predicateType":"x","subject":[]}`, hallmark.ErrInvalid},
		{"no sha256 subject", `{"_type":"https://in-toto.io/Statement/v1","predicateType":"x","subject":[{"digest":{"sha512":"00"}}]}`, hallmark.ErrInvalid},
		{"too large", `{"_type":"` + strings.Repeat(" ", sign.MaxStatementSize) + `"}`, hallmark.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Sign(t.Context(), []byte(tt.statement))
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("Sign = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	if calls.Load() != 0 || ss.Requests(signtest.Fulcio) != 0 {
		t.Errorf("rejected statements read %d tokens and made %d Fulcio requests", calls.Load(), ss.Requests(signtest.Fulcio))
	}
}

func TestSignTokenErrorsHideToken(t *testing.T) {
	ss := signtest.New(t)
	valid := ss.Token(t)
	dir := t.TempDir()
	file := func(content string) string {
		p := filepath.Join(dir, fmt.Sprintf("token-%d", time.Now().UnixNano()))
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		tokens  sign.TokenSource
		secret  string
		setup   func()
		wantMsg string
	}{
		{
			name:    "token source fails",
			tokens:  sign.FuncTokenSource(func(context.Context) (string, error) { return "", errors.New("metadata server down") }),
			wantMsg: "metadata server down",
		},
		{
			name:    "token file missing",
			tokens:  sign.FileTokenSource(filepath.Join(dir, "missing")),
			wantMsg: "read token file",
		},
		{
			name:    "token file empty",
			tokens:  sign.FileTokenSource(file("\n")),
			wantMsg: "empty",
		},
		{
			name:    "expired token",
			tokens:  sign.FileTokenSource(file(ss.ExpiredToken(t) + "\n")),
			secret:  ss.ExpiredToken(t),
			wantMsg: "expired",
		},
		{
			name:    "malformed token",
			tokens:  sign.FuncTokenSource(func(context.Context) (string, error) { return "hunter2-not-a-jwt", nil }),
			secret:  "hunter2-not-a-jwt",
			wantMsg: "not a JWT",
		},
		{
			name:    "fulcio rejects and echoes the token",
			tokens:  sign.FuncTokenSource(func(context.Context) (string, error) { return valid, nil }),
			secret:  valid,
			setup:   func() { ss.Fail(signtest.Fulcio, http.StatusUnauthorized, "invalid token "+valid) },
			wantMsg: "401",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
				t.Cleanup(func() { ss.Heal(signtest.Fulcio) })
			}
			s := newSigner(t, ss, tt.tokens)
			got, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX))
			if err == nil || got != nil {
				t.Fatalf("Sign = %v, %v; want an error", got, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error %q does not mention %q", msg, tt.wantMsg)
			}
			if errors.Is(err, hallmark.ErrUnavailable) {
				t.Errorf("error %q is ErrUnavailable; a bad token is not an outage", msg)
			}
			t.Log(err)
			if tt.secret != "" {
				sig := tt.secret[strings.LastIndexByte(tt.secret, '.')+1:]
				if strings.Contains(msg, tt.secret) || (len(sig) > 16 && strings.Contains(msg, sig)) {
					t.Errorf("error %q contains the token", msg)
				}
			}
		})
	}
}

func TestSignServiceFailures(t *testing.T) {
	tests := []struct {
		name    string
		service signtest.Service
		hang    bool
		status  int
		wantMsg string
	}{
		{"fulcio 500", signtest.Fulcio, false, http.StatusInternalServerError, "fulcio"},
		{"fulcio 429", signtest.Fulcio, false, http.StatusTooManyRequests, "fulcio"},
		{"tsa 503", signtest.TSA, false, http.StatusServiceUnavailable, "timestamp authority"},
		{"rekor 500", signtest.Rekor, false, http.StatusInternalServerError, "rekor"},
		{"fulcio hangs", signtest.Fulcio, true, 0, "fulcio"},
		{"rekor hangs", signtest.Rekor, true, 0, "rekor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := signtest.New(t)
			if tt.hang {
				ss.Hang(tt.service)
			} else {
				ss.Fail(tt.service, tt.status, "down for maintenance")
			}
			ts, _ := tokens(t, ss)
			s := newSigner(t, ss, ts, sign.WithTimeout(500*time.Millisecond))
			got, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX))
			if !errors.Is(err, hallmark.ErrUnavailable) || got != nil {
				t.Fatalf("Sign = %v, %v; want ErrUnavailable", got, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			t.Log(err)
		})
	}
}

func TestSignRetriesFulcio(t *testing.T) {
	ss := signtest.New(t)
	ss.FailTimes(signtest.Fulcio, 1, http.StatusServiceUnavailable, "busy")
	ts, _ := tokens(t, ss)
	s := newSigner(t, ss, ts, sign.WithRetries(1))
	if _, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX)); err != nil {
		t.Fatalf("Sign after one 503: %v", err)
	}
	if n := ss.Requests(signtest.Fulcio); n != 2 {
		t.Errorf("Fulcio got %d requests, want 2", n)
	}
}

func TestSignServiceStopped(t *testing.T) {
	for _, service := range []signtest.Service{signtest.Fulcio, signtest.TSA, signtest.Rekor} {
		t.Run(string(service), func(t *testing.T) {
			ss := signtest.New(t)
			ts, _ := tokens(t, ss)
			s := newSigner(t, ss, ts)
			if _, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX)); err != nil {
				t.Fatal(err)
			}
			ss.Stop(service)
			got, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX))
			if !errors.Is(err, hallmark.ErrUnavailable) || got != nil {
				t.Fatalf("Sign with %s stopped = %v, %v; want ErrUnavailable", service, got, err)
			}
			if !strings.Contains(err.Error(), "connection refused") {
				t.Errorf("error %q does not say the connection was refused", err)
			}
		})
	}
}

func TestSignCanceled(t *testing.T) {
	ss := signtest.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	s := newSigner(t, ss, sign.FuncTokenSource(func(context.Context) (string, error) {
		cancel() // the caller goes away while the signer works
		return ss.Token(t), nil
	}))
	got, err := s.Sign(ctx, statement(t, hallmark.PredicateSPDX))
	if !errors.Is(err, hallmark.ErrCanceled) || got != nil {
		t.Fatalf("Sign = %v, %v; want ErrCanceled", got, err)
	}
}

func TestSignFailsClosed(t *testing.T) {
	ss := signtest.New(t)
	issuer, san := ss.Identity()
	tests := []struct {
		name string
		tr   *root.TrustedRoot
		opts []sign.Option
	}{
		{"trusted root without the fulcio ca", ss.ForeignTrustedRoot(t), nil},
		{"other expected san", ss.TrustedRoot(t), []sign.Option{sign.WithExpectedIdentity(issuer, san+"/other")}},
		{"other expected issuer", ss.TrustedRoot(t), []sign.Option{sign.WithExpectedIdentity("https://other.example", san)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, _ := tokens(t, ss)
			s, err := sign.New(ss.SigningConfig(t), tt.tr, ts, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX))
			if err == nil || got != nil {
				t.Fatalf("Sign = %v, %v; want a verification error", got, err)
			}
			if !strings.Contains(err.Error(), "verify new bundle") {
				t.Errorf("error %q does not say verification failed", err)
			}
			if errors.Is(err, hallmark.ErrUnavailable) {
				t.Errorf("error %q is ErrUnavailable; an unverifiable bundle is not an outage", err)
			}
			t.Log(err)
		})
	}
	t.Run("unverifiable certificate is not reused", func(t *testing.T) {
		ts, _ := tokens(t, ss)
		before := ss.Requests(signtest.Fulcio)
		s, err := sign.New(ss.SigningConfig(t), ss.ForeignTrustedRoot(t), ts, sign.WithCertificateReuse(5*time.Minute), sign.WithRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX)); err == nil {
				t.Fatal("Sign succeeded against a foreign trusted root")
			}
		}
		if n := ss.Requests(signtest.Fulcio) - before; n != 2 {
			t.Errorf("Fulcio got %d requests, want 2: a certificate that failed verification must not be reused", n)
		}
	})
	t.Run("expected identity matches", func(t *testing.T) {
		ts, _ := tokens(t, ss)
		s := newSigner(t, ss, ts, sign.WithExpectedIdentity(issuer, san))
		if _, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCertificateReuse(t *testing.T) {
	tests := []struct {
		name         string
		lifetime     time.Duration
		opts         []sign.Option
		wantRequests int
	}{
		{"off by default", 10 * time.Minute, nil, 3},
		{"on", 10 * time.Minute, []sign.Option{sign.WithCertificateReuse(5 * time.Minute)}, 1},
		{"on but certificate expires within a minute", 50 * time.Second, []sign.Option{sign.WithCertificateReuse(5 * time.Minute)}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ss := signtest.New(t, signtest.WithCertificateLifetime(tt.lifetime))
			ts, calls := tokens(t, ss)
			s := newSigner(t, ss, ts, tt.opts...)
			issuer, san := ss.Identity()
			certs := map[string]bool{}
			for range 3 {
				got, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX))
				if err != nil {
					t.Fatal(err)
				}
				res := verifyBundle(t, ss.TrustedRoot(t), got.Bundle, true, issuer, san)
				certs[res.Signature.Certificate.SubjectAlternativeName+leafSerial(t, got.Bundle)] = true
			}
			if n := ss.Requests(signtest.Fulcio); n != tt.wantRequests {
				t.Errorf("Fulcio got %d requests, want %d", n, tt.wantRequests)
			}
			if int(calls.Load()) != tt.wantRequests || len(certs) != tt.wantRequests {
				t.Errorf("read %d tokens and used %d certificates, want %d", calls.Load(), len(certs), tt.wantRequests)
			}
		})
	}
}

func leafSerial(t *testing.T, b []byte) string {
	t.Helper()
	var raw struct {
		VerificationMaterial struct {
			Certificate struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"certificate"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw.VerificationMaterial.Certificate.RawBytes)
	return hex.EncodeToString(sum[:])
}

func TestFileTokenSourceRereads(t *testing.T) {
	ss := signtest.New(t)
	path := filepath.Join(t.TempDir(), "token")
	write := func(tok string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := newSigner(t, ss, sign.FileTokenSource(path))
	steps := []struct {
		token  string
		wantOK bool
	}{
		{ss.Token(t), true},
		{ss.ExpiredToken(t), false},
		{ss.Token(t), true},
	}
	for i, st := range steps {
		write(st.token)
		_, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX))
		if (err == nil) != st.wantOK {
			t.Fatalf("step %d: Sign error = %v, want ok=%v", i, err, st.wantOK)
		}
	}
}

func TestFileTokenSourceTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(strings.Repeat("a", sign.MaxTokenSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := sign.FileTokenSource(path).Token(t.Context())
	if !errors.Is(err, hallmark.ErrTooLarge) {
		t.Fatalf("Token error = %v, want ErrTooLarge", err)
	}
}

func TestSignConcurrent(t *testing.T) {
	ss := signtest.New(t)
	ts, _ := tokens(t, ss)
	s := newSigner(t, ss, ts, sign.WithCertificateReuse(5*time.Minute))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	indexes := make([]int64, 4)
	for i := range errs {
		wg.Go(func() {
			got, err := s.Sign(t.Context(), statement(t, hallmark.PredicateSPDX))
			errs[i] = err
			if err == nil {
				indexes[i] = got.LogIndex
			}
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Sign #%d: %v", i, err)
		}
		if seen[indexes[i]] {
			t.Errorf("log index %d used twice", indexes[i])
		}
		seen[indexes[i]] = true
	}
}

// TestSignAllOneCertificate: the statements of one SignAll share one key
// and one Fulcio certificate, each gets its own log entry and timestamp,
// and each bundle verifies on its own.
func TestSignAllOneCertificate(t *testing.T) {
	ss := signtest.New(t)
	ts, _ := tokens(t, ss)
	s := newSigner(t, ss, ts)
	issuer, san := ss.Identity()
	stmts := [][]byte{statement(t, hallmark.PredicateSPDX), statement(t, hallmark.PredicateSLSAProvenanceV1), statement(t, hallmark.PredicateVulns)}
	got, err := s.SignAll(t.Context(), stmts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(stmts) {
		t.Fatalf("SignAll returned %d bundles for %d statements", len(got), len(stmts))
	}
	if n := ss.Requests(signtest.Fulcio); n != 1 {
		t.Errorf("Fulcio got %d requests for one SignAll, want 1", n)
	}
	indexes := map[int64]bool{}
	var cert string
	for i, g := range got {
		res := verifyBundle(t, ss.TrustedRoot(t), g.Bundle, true, issuer, san)
		if pt := res.Statement.GetPredicateType(); pt != g.PredicateType || g.PredicateType != []string{hallmark.PredicateSPDX, hallmark.PredicateSLSAProvenanceV1, hallmark.PredicateVulns}[i] {
			t.Errorf("bundle %d: predicate type %q, verified %q: out of order", i, g.PredicateType, pt)
		}
		indexes[g.LogIndex] = true
		var raw struct {
			VerificationMaterial struct {
				Certificate struct{ RawBytes string } `json:"certificate"`
			} `json:"verificationMaterial"`
		}
		if err := json.Unmarshal(g.Bundle, &raw); err != nil {
			t.Fatal(err)
		}
		if i > 0 && raw.VerificationMaterial.Certificate.RawBytes != cert {
			t.Errorf("bundle %d has another certificate", i)
		}
		cert = raw.VerificationMaterial.Certificate.RawBytes
		if g.Timings.Total <= 0 || g.Timings.Rekor <= 0 || g.Timings.TSA <= 0 {
			t.Errorf("bundle %d timings %+v: want the total, Rekor and TSA times", i, g.Timings)
		}
	}
	if len(indexes) != len(stmts) {
		t.Errorf("log indexes %v: want one entry per statement", indexes)
	}

	// One bad statement fails the call before anything is signed.
	before := ss.Requests(signtest.Fulcio)
	if _, err := s.SignAll(t.Context(), [][]byte{statement(t, hallmark.PredicateSPDX), []byte(`{}`)}); !errors.Is(err, hallmark.ErrInvalid) {
		t.Errorf("SignAll with a bad statement: %v, want ErrInvalid", err)
	}
	if n := ss.Requests(signtest.Fulcio); n != before {
		t.Errorf("a rejected SignAll made %d Fulcio requests", n-before)
	}
}
