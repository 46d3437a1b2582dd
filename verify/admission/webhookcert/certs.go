package webhookcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// backdate is how far before their issue a certificate's NotBefore lies:
// clocks of API servers and nodes differ a little.
const backdate = 5 * time.Minute

// The Secret's keys.
const (
	keyCACert  = "ca.crt"
	keyCAKey   = "ca.key"
	keyTLSCert = corev1.TLSCertKey
	keyTLSKey  = corev1.TLSPrivateKeyKey
)

// bundle is what the Secret holds, parsed.
type bundle struct {
	cas     []*x509.Certificate // newest first; cas[0] signs
	caKey   *ecdsa.PrivateKey   // the key of cas[0]
	leaf    *x509.Certificate   // the serving certificate, if any
	leafKey *ecdsa.PrivateKey
}

// issued is when c was issued: NotBefore is backdated.
func issued(c *x509.Certificate) time.Time { return c.NotBefore.Add(backdate) }

// newCA makes a CA valid from now for lifetime.
func newCA(now time.Time, lifetime time.Duration) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "hallmark webhook CA " + now.UTC().Format(time.RFC3339)},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(lifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return cert, key, nil
}

// newServing makes a serving certificate for dnsNames, signed by ca, valid
// from now for lifetime but never past the CA.
func newServing(now time.Time, lifetime time.Duration, dnsNames []string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate serving key: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(lifetime)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     slices.Clone(dnsNames),
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create serving certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse serving certificate: %w", err)
	}
	return cert, key, nil
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// caBundle is the PEM of the bundle's CAs, newest first: what the webhook
// configurations' caBundle holds.
func (b *bundle) caBundle() []byte {
	var out []byte
	for _, c := range b.cas {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// data is the Secret's data for b.
func (b *bundle) data() (map[string][]byte, error) {
	caKey, err := keyPEM(b.caKey)
	if err != nil {
		return nil, err
	}
	leafKey, err := keyPEM(b.leafKey)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		keyCACert:  b.caBundle(),
		keyCAKey:   caKey,
		keyTLSCert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b.leaf.Raw}),
		keyTLSKey:  leafKey,
	}, nil
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// tlsCertificate is the serving certificate for a tls.Config.
func (b *bundle) tlsCertificate() *tls.Certificate {
	return &tls.Certificate{Certificate: [][]byte{b.leaf.Raw}, PrivateKey: b.leafKey, Leaf: b.leaf}
}

// parseBundle reads the Secret's data. A missing serving certificate is no
// error (leaf is nil); a missing or broken CA, or a CA key that does not
// match the newest CA, is. Errors never hold key material.
func parseBundle(data map[string][]byte) (*bundle, error) {
	b := &bundle{}
	rest := data[keyCACert]
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%s: a PEM block of type %q", keyCACert, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyCACert, err)
		}
		if !c.IsCA {
			return nil, fmt.Errorf("%s: %q is not a CA", keyCACert, c.Subject.CommonName)
		}
		b.cas = append(b.cas, c)
	}
	if len(b.cas) == 0 {
		return nil, fmt.Errorf("%s: no certificate", keyCACert)
	}
	var err error
	if b.caKey, err = parseKey(data[keyCAKey]); err != nil {
		return nil, fmt.Errorf("%s: %w", keyCAKey, err)
	}
	if !b.caKey.PublicKey.Equal(b.cas[0].PublicKey) {
		return nil, fmt.Errorf("%s does not match the newest CA of %s", keyCAKey, keyCACert)
	}
	if len(data[keyTLSCert]) == 0 && len(data[keyTLSKey]) == 0 {
		return b, nil
	}
	blk, _ := pem.Decode(data[keyTLSCert])
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", keyTLSCert)
	}
	if b.leaf, err = x509.ParseCertificate(blk.Bytes); err != nil {
		return nil, fmt.Errorf("%s: %w", keyTLSCert, err)
	}
	if b.leafKey, err = parseKey(data[keyTLSKey]); err != nil {
		return nil, fmt.Errorf("%s: %w", keyTLSKey, err)
	}
	if !b.leafKey.PublicKey.Equal(b.leaf.PublicKey) {
		return nil, fmt.Errorf("%s does not match %s", keyTLSKey, keyTLSCert)
	}
	return b, nil
}

func parseKey(p []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(p)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("no PKCS #8 PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("not a PKCS #8 key")
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an ECDSA key")
	}
	return ek, nil
}

// issuerOf returns the index of the CA of b that signed c, or -1.
func (b *bundle) issuerOf(c *x509.Certificate) int {
	for i, ca := range b.cas {
		if c.CheckSignatureFrom(ca) == nil {
			return i
		}
	}
	return -1
}
