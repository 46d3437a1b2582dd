package webhookcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"
)

var testNames = []string{"hallmarkd-webhook.hallmark-system.svc", "hallmarkd-webhook.hallmark-system.svc.cluster.local"}

func TestGeneratedCertificates(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	ca, caKey, err := newCA(now, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _, err := newServing(now, 90*24*time.Hour, testNames, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	short, _, err := newServing(now, 400*24*time.Hour, testNames, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"CA is a CA that may sign only leaves", ca.IsCA && ca.BasicConstraintsValid && ca.MaxPathLen == 0 && ca.MaxPathLenZero},
		{"CA key usage", ca.KeyUsage&x509.KeyUsageCertSign != 0 && ca.KeyUsage&x509.KeyUsageCRLSign != 0},
		{"CA is self-signed", ca.CheckSignatureFrom(ca) == nil},
		{"CA key is ECDSA P-256", caKey.Curve == elliptic.P256() && ca.PublicKeyAlgorithm == x509.ECDSA},
		{"CA valid for a year from now", ca.NotAfter.Equal(now.Add(365*24*time.Hour)) && ca.NotBefore.Equal(now.Add(-backdate))},
		{"leaf names are the service's", slices.Equal(leaf.DNSNames, testNames) && leaf.Subject.CommonName == testNames[0]},
		{"leaf is no CA", !leaf.IsCA},
		{"leaf key usage is digital signature, server auth", leaf.KeyUsage == x509.KeyUsageDigitalSignature && slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})},
		{"leaf key is ECDSA P-256", leaf.PublicKey.(*ecdsa.PublicKey).Curve == elliptic.P256()},
		{"leaf valid for 90 days", leaf.NotAfter.Equal(now.Add(90*24*time.Hour)) && leaf.NotBefore.Equal(now.Add(-backdate))},
		{"leaf never outlives its CA", short.NotAfter.Equal(ca.NotAfter)},
		{"leaf is signed by the CA", leaf.CheckSignatureFrom(ca) == nil},
		{"serial numbers differ", leaf.SerialNumber.Cmp(ca.SerialNumber) != 0 && leaf.SerialNumber.Cmp(short.SerialNumber) != 0},
	} {
		if !tt.ok {
			t.Errorf("%s: no", tt.name)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, name := range testNames {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, CurrentTime: now.Add(time.Hour)}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.hallmark-system.svc", Roots: pool, CurrentTime: now}); err == nil {
		t.Error("the leaf verifies for another service")
	}
}

func TestSecretRoundTrip(t *testing.T) {
	now := time.Now()
	b := testBundle(t, now, 365*24*time.Hour, 90*24*time.Hour)
	data, err := b.data()
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if !got.cas[0].Equal(b.cas[0]) || !got.leaf.Equal(b.leaf) || !got.caKey.Equal(b.caKey) || !got.leafKey.Equal(b.leafKey) {
		t.Error("the bundle changed through the secret")
	}
	other := testBundle(t, now, 365*24*time.Hour, 90*24*time.Hour)
	otherData, err := other.data()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		edit func(map[string][]byte)
		want string
	}{
		{"no CA", func(d map[string][]byte) { delete(d, keyCACert) }, "ca.crt: no certificate"},
		{"CA key of another CA", func(d map[string][]byte) { d[keyCAKey] = otherData[keyCAKey] }, "ca.key does not match"},
		{"serving key of another certificate", func(d map[string][]byte) { d[keyTLSKey] = otherData[keyTLSKey] }, "tls.key does not match"},
		{"garbage key", func(d map[string][]byte) {
			d[keyCAKey] = []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
		}, "ca.key: not a PKCS #8 key"},
		{"leaf in ca.crt", func(d map[string][]byte) { d[keyCACert] = d[keyTLSCert] }, "is not a CA"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := map[string][]byte{}
			for k, v := range data {
				d[k] = v
			}
			tt.edit(d)
			_, err := parseBundle(d)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseBundle = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(data[keyCAKey][30:60])) {
				t.Errorf("the error holds key material: %v", err)
			}
		})
	}
	delete(data, keyTLSCert)
	delete(data, keyTLSKey)
	if got, err := parseBundle(data); err != nil || got.leaf != nil {
		t.Errorf("a secret without a serving certificate: %v, leaf %v", err, got.leaf)
	}
}

// testBundle is a CA issued at now and a serving certificate issued by it.
func testBundle(t *testing.T, now time.Time, caLife, servingLife time.Duration) *bundle {
	t.Helper()
	ca, caKey, err := newCA(now, caLife)
	if err != nil {
		t.Fatal(err)
	}
	leaf, leafKey, err := newServing(now, servingLife, testNames, ca, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{cas: []*x509.Certificate{ca}, caKey: caKey, leaf: leaf, leafKey: leafKey}
}
