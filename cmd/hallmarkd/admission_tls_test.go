package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAdmissionClientCertificates: with admission.clientCAFile the webhook
// serves only callers with a client certificate from that CA.
func TestAdmissionClientCertificates(t *testing.T) {
	caKey, caCert := selfSigned(t, "api server client CA", nil, nil)
	otherKey, otherCA := selfSigned(t, "another CA", nil, nil)
	clientKey, clientCert := selfSigned(t, "kube-apiserver", caCert, caKey)
	strangerKey, strangerCert := selfSigned(t, "stranger", otherCA, otherKey)

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := admissionTLS(caFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("reviewed")) }))
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)

	for _, tt := range []struct {
		name string
		cert *tls.Certificate
		ok   bool
	}{
		{name: "no client certificate"},
		{name: "certificate of another CA", cert: &tls.Certificate{Certificate: [][]byte{strangerCert.Raw}, PrivateKey: strangerKey}},
		{name: "certificate of the client CA", cert: &tls.Certificate{Certificate: [][]byte{clientCert.Raw}, PrivateKey: clientKey}, ok: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := srv.Client()
			tr := c.Transport.(*http.Transport).Clone()
			if tt.cert != nil {
				tr.TLSClientConfig.Certificates = []tls.Certificate{*tt.cert}
			}
			c.Transport = tr
			resp, err := c.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
			if (err == nil) != tt.ok {
				t.Errorf("GET = %v, want success %v", err, tt.ok)
			}
		})
	}

	if _, err := admissionTLS(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("a missing client CA file is accepted")
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := admissionTLS(empty); err == nil {
		t.Error("a client CA file without certificates is accepted")
	}
	if c, err := admissionTLS(""); err != nil || c.ClientAuth != tls.NoClientCert {
		t.Errorf("admissionTLS(\"\") = %v, %v; want no client certificates", c, err)
	}
}

// selfSigned makes a certificate for cn, signed by parent (self-signed,
// and a CA, when parent is nil).
func selfSigned(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	signer, signerKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}
