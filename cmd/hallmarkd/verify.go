package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/attest/sign"
	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/store"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/admission"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// newEvaluator loads the policies of cfg.Verify and returns the evaluator
// behind VerifyService and the admission webhook, or nil when no policy is
// configured. signer, if not nil, signs Verification Summary Attestations;
// observe, if not nil, sees the waiting and running verifications.
func newEvaluator(cfg config.Config, log *slog.Logger, rc *registry.Client, signer *sign.Signer, observe func(waiting, running int64)) (*verify.Evaluator, error) {
	vc := cfg.Verify
	if len(vc.Policies) == 0 {
		return nil, nil
	}
	var pols []*policy.Policy
	for i, path := range vc.Policies {
		p, err := policy.LoadFile(path)
		if err != nil {
			return nil, fmt.Errorf("verify.policies[%d]: %w", i, err)
		}
		pols = append(pols, p)
	}
	rootPath := vc.TrustedRoot
	if rootPath == "" {
		rootPath = cfg.Signing.TrustedRoot
	}
	var trust *verify.Trust
	if rootPath != "" {
		t, err := verify.LoadTrust(rootPath)
		if err != nil {
			return nil, fmt.Errorf("verify.trustedRoot: %w", err)
		}
		trust = t
	}
	opts := []verify.EvaluatorOption{
		verify.WithLogger(log),
		verify.WithRegistry(rc),
		verify.WithDefaultPolicy(vc.DefaultPolicy),
		verify.WithMaxConcurrent(vc.MaxConcurrent),
		verify.WithMaxManifestSize(vc.Limits.MaxManifestBytes),
		verify.WithMaxReferrers(vc.Limits.MaxReferrers),
		verify.WithMaxBundles(vc.Limits.MaxBundles),
		verify.WithMaxBundleSize(vc.Limits.MaxBundleBytes),
		verify.WithMaxConfigSize(vc.Limits.MaxConfigBytes),
	}
	if observe != nil {
		opts = append(opts, verify.WithConcurrencyObserver(observe))
	}
	allow, deny := verify.DefaultAllowTTL, verify.DefaultDenyTTL
	if vc.AllowTTL != nil {
		allow = time.Duration(*vc.AllowTTL)
	}
	if vc.DenyTTL != nil {
		deny = time.Duration(*vc.DenyTTL)
	}
	opts = append(opts, verify.WithVerdictTTL(allow, deny))
	if vc.CacheSize != nil {
		opts = append(opts, verify.WithVerdictCacheSize(*vc.CacheSize))
	}
	if signer != nil {
		id := vc.VerifierID
		if id == "" {
			id = strings.Replace(cfg.Signing.BuilderID, "/builders/", "/verifiers/", 1)
		}
		opts = append(opts, verify.WithVSASigner(vsaSigner{signer}, id))
	}
	e, err := verify.NewEvaluator(trust, pols, opts...)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	names, def := e.Policies()
	log.Info("verification policies loaded", "policies", names, "default", def)
	return e, nil
}

// vsaSigner signs VSAs with the gateway's signer.
type vsaSigner struct{ s *sign.Signer }

func (v vsaSigner) SignStatement(ctx context.Context, statement []byte) (*verify.SignedStatement, error) {
	signed, err := v.s.Sign(ctx, statement)
	if err != nil {
		return nil, err
	}
	return &verify.SignedStatement{Bundle: signed.Bundle, SignerIdentity: signed.SignerIdentity,
		SignerIssuer: signed.SignerIssuer, LogIndex: signed.LogIndex}, nil
}

// policyVerifier verifies images under one policy of the evaluator: for the
// webhook (Verify) and for the builder's attested-base check (VerifyBase).
type policyVerifier struct {
	e      *verify.Evaluator
	policy string
}

func (v policyVerifier) Verify(ctx context.Context, ref string) (*verify.Verdict, error) {
	return v.e.Verify(ctx, verify.Request{Ref: ref, Policy: v.policy})
}

func (v policyVerifier) VerifyBase(ctx context.Context, pinned string) (builder.BaseVerdict, error) {
	vd, err := v.Verify(ctx, pinned)
	if err != nil {
		return builder.BaseVerdict{}, err
	}
	return builder.BaseVerdict{Allowed: vd.Allowed, Policy: vd.Policy, Reasons: vd.Reasons}, nil
}

// newBaseVerifier returns the builder's base verifier for the verify policy
// named name.
func newBaseVerifier(e *verify.Evaluator, name string) (policyVerifier, error) {
	if e == nil {
		return policyVerifier{}, fmt.Errorf("policy.baseImages.requireAttestation: %q: no verification policies are loaded", name)
	}
	if _, err := e.Policy(name); err != nil {
		return policyVerifier{}, fmt.Errorf("policy.baseImages.requireAttestation: %w", err)
	}
	return policyVerifier{e: e, policy: name}, nil
}

// admissionHandler returns the webhook's handler: /admission/validate and
// /admission/mutate, plus /healthz.
func admissionHandler(cfg config.Config, log *slog.Logger, e *verify.Evaluator, rec *store.Recorder) (http.Handler, error) {
	name := cfg.Admission.Policy
	p, err := e.Policy(name)
	if err != nil {
		return nil, fmt.Errorf("admission.policy: %w", err)
	}
	wh, err := admission.New(policyVerifier{e: e, policy: p.Name()}, p,
		admission.WithLogger(log), admission.WithTimeout(time.Duration(cfg.Admission.Timeout)),
		admission.WithDecisions(func(d admission.Decision) { rec.Record(admissionDecision(d)) }))
	if err != nil {
		return nil, fmt.Errorf("admission: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admission/validate", wh.Validate())
	mux.Handle("/admission/mutate", wh.Mutate())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux, nil
}

// serveAdmission serves the webhook over HTTPS until ctx ends.
func serveAdmission(ctx context.Context, cfg config.Config, log *slog.Logger, h http.Handler) error {
	ln, err := net.Listen("tcp", cfg.Admission.Listen)
	if err != nil {
		return fmt.Errorf("admission.listen: %w", err)
	}
	tlsConfig, err := admissionTLS(cfg.Admission.ClientCAFile)
	if err != nil {
		ln.Close()
		return err
	}
	certFile, keyFile := cfg.Admission.TLS.CertFile, cfg.Admission.TLS.KeyFile
	if g := cfg.Admission.TLS.Generate; g != nil {
		// The certificate comes from the Secret the manager keeps, and a
		// rotated one is served from the next handshake on.
		m, err := newWebhookCertManager(*g, log)
		if err != nil {
			ln.Close()
			return err
		}
		tlsConfig.GetCertificate = m.GetCertificate
		certFile, keyFile = "", ""
		go func() { _ = m.Run(ctx) }()
		log.Info("webhook certificate from secret", "secret", g.Secret, "dns_names", m.DNSNames())
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	errc := make(chan error, 1)
	log.Info("serving admission webhook", "addr", ln.Addr().String(), "client_certificates", tlsConfig.ClientAuth == tls.RequireAndVerifyClientCert)
	go func() { errc <- srv.ServeTLS(ln, certFile, keyFile) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admission webhook: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// admissionTLS is the webhook's TLS configuration: with a client CA file,
// only callers with a client certificate from those CAs are served.
func admissionTLS(clientCAFile string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if clientCAFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(clientCAFile)
	if err != nil {
		return nil, fmt.Errorf("admission.clientCAFile: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("admission.clientCAFile: %s holds no PEM certificate", clientCAFile)
	}
	c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	return c, nil
}
