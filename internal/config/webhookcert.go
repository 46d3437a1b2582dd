package config

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

var dnsLabelRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`) })

// isDNSLabel reports whether s is a Kubernetes name of the RFC 1123 label
// kind (namespaces, Services).
func isDNSLabel(s string) bool { return dnsLabelRE().MatchString(s) }

// isDNSSubdomain reports whether s is a Kubernetes name of the RFC 1123
// subdomain kind (Secrets, webhook configurations).
func isDNSSubdomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !isDNSLabel(l) {
			return false
		}
	}
	return true
}

func validateGenerate(v *validation, g GenerateTLSConfig) {
	const f = "admission.tls.generate"
	ns, name, ok := strings.Cut(g.Secret, "/")
	if !ok || !isDNSLabel(ns) || !isDNSSubdomain(name) {
		v.bad(f+".secret", "%q is not namespace/name", g.Secret)
	}
	if !isDNSLabel(g.Service) {
		v.bad(f+".service", "%q is not a Service name", g.Service)
	}
	for _, l := range []struct {
		field string
		names []string
	}{{"validatingWebhookConfigurations", g.ValidatingWebhookConfigurations}, {"mutatingWebhookConfigurations", g.MutatingWebhookConfigurations}} {
		for i, n := range l.names {
			if !isDNSSubdomain(n) {
				v.bad(fmt.Sprintf("%s.%s[%d]", f, l.field, i), "%q is not a Kubernetes name", n)
			}
		}
	}
	if len(g.ValidatingWebhookConfigurations)+len(g.MutatingWebhookConfigurations) == 0 {
		v.bad(f, "names no webhook configuration: the CA would reach no caBundle")
	}
	if d := time.Duration(g.Interval); d != 0 && (d < time.Minute || d > 24*time.Hour) {
		v.bad(f+".interval", "%s is not between 1m and 24h", d)
	}
}
