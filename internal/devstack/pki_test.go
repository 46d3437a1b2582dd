package devstack

import (
	"crypto/x509"
	"testing"
)

func TestLoadPKICreatesTimestampingChain(t *testing.T) {
	p, err := loadPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	leaf := p.tsaChain[0]
	var critical bool
	for _, e := range leaf.Extensions {
		if e.Id.String() == "2.5.29.37" {
			critical = e.Critical
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.tsaChain[1])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil || !critical {
		t.Fatalf("tsa leaf: verify %v, critical EKU %v", err, critical)
	}
	if !p.fulcioCert.IsCA {
		t.Fatal("fulcio root is not a CA")
	}
}
