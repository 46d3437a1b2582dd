package webhookcert

import (
	"crypto/x509"
	"slices"
	"time"
)

// lifetimes are what the renew decisions depend on.
type lifetimes struct {
	ca, serving time.Duration
	// propagation is how long a new CA stays in the caBundle before it signs
	// the serving certificate, and how long a new serving certificate is
	// in the Secret before the old CA leaves the bundle.
	propagation time.Duration
}

// plan is what one sync changes.
type plan struct {
	// fresh: a new CA replaces every CA, and a new serving certificate.
	fresh bool
	// newCA: a new CA joins the bundle as the newest.
	newCA bool
	// newServing: the newest CA issues a new serving certificate.
	newServing bool
	// drop: indexes (into the CAs before newCA) leaving the bundle.
	drop []int
	// why says what is due, for the log.
	why string
}

func (p plan) changes() bool { return p.fresh || p.newCA || p.newServing || len(p.drop) > 0 }

// renewDue reports whether a third or less of c's lifetime is left at now.
func renewDue(now, notBefore, notAfter time.Time) bool {
	return !now.Before(notAfter.Add(-notAfter.Sub(notBefore) / 3))
}

// decide is the renew decision for bundle b (nil when the Secret is absent
// or does not parse) at now, for a serving certificate of dnsNames.
func decide(now time.Time, b *bundle, lt lifetimes, dnsNames []string) plan {
	if b == nil {
		return plan{fresh: true, why: "no usable certificate in the secret"}
	}
	newest := b.cas[0]
	if !now.Before(newest.NotAfter) {
		return plan{fresh: true, why: "the CA has expired"}
	}
	var p plan
	caDue := renewDue(now, issued(newest), newest.NotAfter)
	if caDue {
		// Step 1: the new CA joins the bundle; the serving certificate
		// stays as it is unless it cannot be served at all.
		p.newCA, p.why = true, "the CA is within a third of its lifetime of expiry"
	}
	leafOK := b.leaf != nil && now.Before(b.leaf.NotAfter) && b.issuerOf(b.leaf) >= 0 &&
		slices.Equal(b.leaf.DNSNames, dnsNames)
	fromNewest := leafOK && b.issuerOf(b.leaf) == 0
	newestSettled := !now.Before(issued(newest).Add(lt.propagation))
	switch {
	case !leafOK:
		p.newServing, p.why = true, join(p.why, "the serving certificate is missing, expired, for other names or of an unknown CA")
	case caDue:
		// The serving certificate waits for the new CA to settle.
	case !fromNewest && newestSettled:
		// Step 2: the newest CA has been in the caBundle long enough.
		p.newServing, p.why = true, "the newest CA has been published for the propagation delay"
	case renewDue(now, issued(b.leaf), b.leaf.NotAfter):
		// Renew from the newest CA; while it is not settled, wait, unless
		// the certificate would expire first.
		if fromNewest || !b.leaf.NotAfter.After(issued(newest).Add(lt.propagation)) {
			p.newServing, p.why = true, "the serving certificate is within a third of its lifetime of expiry"
		}
	}
	// Step 3: older CAs leave once the newest CA's serving certificate has
	// been in the Secret for the delay (every replica serves it); expired
	// ones leave anyway.
	settled := fromNewest && !p.newServing && !now.Before(issued(b.leaf).Add(lt.propagation))
	for i, ca := range b.cas[1:] {
		if settled || !now.Before(ca.NotAfter) {
			p.drop = append(p.drop, i+1)
		}
	}
	if len(p.drop) > 0 {
		p.why = join(p.why, "an older CA is no longer needed")
	}
	return p
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// apply returns the bundle after p, generating what p asks for.
func apply(now time.Time, b *bundle, p plan, lt lifetimes, dnsNames []string) (*bundle, error) {
	out := &bundle{}
	if b != nil && !p.fresh {
		*out = *b
		out.cas = nil
		for i, ca := range b.cas {
			if !slices.Contains(p.drop, i) {
				out.cas = append(out.cas, ca)
			}
		}
	}
	if p.fresh || p.newCA {
		ca, key, err := newCA(now, lt.ca)
		if err != nil {
			return nil, err
		}
		out.cas, out.caKey = append([]*x509.Certificate{ca}, out.cas...), key
	}
	if p.fresh || p.newServing {
		leaf, key, err := newServing(now, lt.serving, dnsNames, out.cas[0], out.caKey)
		if err != nil {
			return nil, err
		}
		out.leaf, out.leafKey = leaf, key
	}
	return out, nil
}
