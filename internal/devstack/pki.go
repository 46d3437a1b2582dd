package devstack

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// pki is the dev stack's long-lived signing material: the Fulcio root CA,
// the TSA chain and the Rekor log key. It is made once per stack directory
// and reused, so that images signed by an earlier run still verify.
type pki struct {
	dir string

	fulcioCert *x509.Certificate
	tsaChain   []*x509.Certificate // leaf, root
	rekorKey   *ecdsa.PrivateKey
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }

// loadPKI reads the material in dir, creating what is missing.
func loadPKI(dir string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pki dir: %w", err)
	}
	p := &pki{dir: dir}
	if _, err := os.Stat(p.path("fulcio-root.pem")); errors.Is(err, os.ErrNotExist) {
		if err := p.create(); err != nil {
			return nil, fmt.Errorf("create dev pki: %w", err)
		}
	}
	var err error
	if p.fulcioCert, err = readCert(p.path("fulcio-root.pem")); err != nil {
		return nil, err
	}
	leaf, err := readCert(p.path("tsa-leaf.pem"))
	if err != nil {
		return nil, err
	}
	root, err := readCert(p.path("tsa-root.pem"))
	if err != nil {
		return nil, err
	}
	p.tsaChain = []*x509.Certificate{leaf, root}
	key, err := readKey(p.path("rekor-key.pem"))
	if err != nil {
		return nil, err
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("rekor key is not ECDSA")
	}
	p.rekorKey = ek
	return p, nil
}

func (p *pki) create() error {
	now := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	// Fulcio: a self-signed root that issues code-signing certificates.
	fkey, fcert, err := newRoot("hallmark dev fulcio root", now)
	if err != nil {
		return err
	}
	// TSA: a root and a leaf whose timeStamping EKU is critical, as RFC 3161
	// (2.3) requires; x509 writes ExtKeyUsage non-critical, so the extension
	// is given as is.
	troot, trootCert, err := newRoot("hallmark dev tsa root", now)
	if err != nil {
		return err
	}
	tleaf, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}}) // id-kp-timeStamping
	if err != nil {
		return err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"hallmark-dev"}, CommonName: "hallmark dev tsa"},
		NotBefore:             now,
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
		BasicConstraintsValid: true,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, trootCert, &tleaf.PublicKey, troot)
	if err != nil {
		return err
	}
	rkey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"fulcio-root.pem": pemCert(fcert.Raw),
		"tsa-root.pem":    pemCert(trootCert.Raw),
		"tsa-leaf.pem":    pemCert(leafDER),
		"tsa-chain.pem":   append(pemCert(leafDER), pemCert(trootCert.Raw)...),
	} {
		if err := os.WriteFile(p.path(name), data, 0o644); err != nil {
			return err
		}
	}
	for name, key := range map[string]crypto.PrivateKey{"fulcio-key.pem": fkey, "tsa-key.pem": tleaf, "rekor-key.pem": rkey} {
		if err := writeKey(p.path(name), key); err != nil {
			return err
		}
	}
	return nil
}

// newRoot makes a self-signed CA certificate valid for ten years.
func newRoot(commonName string, notBefore time.Time) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"hallmark-dev"}, CommonName: commonName},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func readCert(path string) (*x509.Certificate, error) {
	der, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func readKey(path string) (crypto.PrivateKey, error) {
	der, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	return x509.ParsePKCS8PrivateKey(der)
}

// readPEM returns the content of the first PEM block of the file at path.
func readPEM(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dev pki: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("read dev pki %s: no PEM block", path)
	}
	return b.Bytes, nil
}
