package devstack

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// servingTLS makes the stack's HTTPS serving certificate (for 127.0.0.1 and
// localhost: the admission webhook and the Kubernetes API server), signed
// by the dev TLS root in pki/, which is created once and reused so that
// kubeconfigs and caBundles stay valid across restarts. It returns the
// paths of the root, the certificate and the key.
func (s *Stack) servingTLS(pkiDir string) (rootPath, certPath, keyPath string, err error) {
	rootPath = pkiDir + "/tls-root.pem"
	rootKeyPath := pkiDir + "/tls-root-key.pem"
	if _, err := os.Stat(rootPath); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(pkiDir, 0o700); err != nil {
			return "", "", "", err
		}
		key, cert, err := newRoot("hallmark dev tls root", time.Now().Add(-time.Hour).UTC().Truncate(time.Second))
		if err != nil {
			return "", "", "", err
		}
		if err := writeKey(rootKeyPath, key); err != nil {
			return "", "", "", err
		}
		if err := os.WriteFile(rootPath, pemCert(cert.Raw), 0o644); err != nil {
			return "", "", "", err
		}
	}
	rootCert, err := readCert(rootPath)
	if err != nil {
		return "", "", "", err
	}
	rootKey, err := readKey(rootKeyPath)
	if err != nil {
		return "", "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	now := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"hallmark-dev"}, CommonName: "127.0.0.1"},
		NotBefore:    now,
		NotAfter:     now.AddDate(0, 0, 30),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, rootCert, &key.PublicKey, rootKey)
	if err != nil {
		return "", "", "", fmt.Errorf("issue serving certificate: %w", err)
	}
	certPath, keyPath = s.cfg.Dir+"/serving.pem", s.cfg.Dir+"/serving-key.pem"
	if err := os.WriteFile(certPath, pemCert(der), 0o644); err != nil {
		return "", "", "", err
	}
	return rootPath, certPath, keyPath, writeKey(keyPath, key)
}

func writeKey(path string, key any) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}
