package sign

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/sign"
)

// credential is an ephemeral key with the Fulcio certificate for it.
type credential struct {
	keypair *sign.EphemeralKeypair
	der     []byte
	cert    *x509.Certificate
	issued  time.Time
}

// credentialCache holds at most one credential for reuse.
type credentialCache struct {
	maxAge time.Duration // 0: no reuse
	now    func() time.Time

	mu  sync.Mutex
	cur *credential
}

// fresh returns the cached credential if it may sign now.
func (c *credentialCache) fresh() *credential {
	if c.maxAge <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return nil
	}
	now := c.now()
	if now.Sub(c.cur.issued) >= c.maxAge || c.cur.cert.NotAfter.Sub(now) <= MinCertificateValidity || now.Before(c.cur.cert.NotBefore) {
		c.cur = nil
		return nil
	}
	return c.cur
}

// forget drops the cached credential if it holds kp.
func (c *credentialCache) forget(kp *sign.EphemeralKeypair) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && c.cur.keypair == kp {
		c.cur = nil
	}
}

func (c *credentialCache) store(cr *credential) {
	if c.maxAge <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = cr
}

// certificateProvider wraps sigstore-go's Fulcio client: it reads a token,
// asks Fulcio to certify a new key and, with reuse on, caches the result.
type certificateProvider struct {
	fulcio sign.CertificateProvider
	url    string
	tokens TokenSource
	cache  *credentialCache
	now    func() time.Time
	// token is the last token read, kept only to redact errors.
	token string
}

var _ sign.CertificateProvider = (*certificateProvider)(nil)

func (p *certificateProvider) GetCertificate(ctx context.Context, kp sign.Keypair, _ *sign.CertificateProviderOptions) ([]byte, error) {
	ek, ok := kp.(*sign.EphemeralKeypair)
	if !ok {
		return nil, fmt.Errorf("get certificate: unexpected keypair type %T", kp)
	}
	token, err := p.tokens.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("get token: %w", err)
	}
	p.token = token
	if _, err := checkToken(token, p.now()); err != nil {
		return nil, fmt.Errorf("check token: %w", err)
	}
	der, err := p.fulcio.GetCertificate(ctx, kp, &sign.CertificateProviderOptions{IDToken: token})
	if err != nil {
		return nil, fmt.Errorf("get certificate from fulcio %s: %w", p.url, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse fulcio certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(kp.GetPublicKey()) {
		return nil, fmt.Errorf("fulcio certificate %s certifies another key", cert.SerialNumber)
	}
	p.cache.store(&credential{keypair: ek, der: der, cert: cert, issued: p.now()})
	return der, nil
}

func parseCertificate(der []byte) (*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return cert, nil
}
