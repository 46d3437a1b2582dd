package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/internal/kube"
	"github.com/hallmark-dev/hallmark/verify/admission/webhookcert"
)

// newWebhookCertManager returns the manager of the webhook's certificate
// that admission.tls.generate configures, reaching the API server through
// its kubeconfig or, without one, the Pod's service account.
func newWebhookCertManager(g config.GenerateTLSConfig, log *slog.Logger) (*webhookcert.Manager, error) {
	var (
		kc  *kube.Client
		err error
	)
	if g.Kubeconfig != "" {
		kc, err = kube.NewFromKubeconfig(g.Kubeconfig)
	} else {
		kc, err = kube.NewInCluster()
	}
	if err != nil {
		return nil, fmt.Errorf("admission.tls.generate: %w", err)
	}
	ns, name, _ := strings.Cut(g.Secret, "/")
	interval := time.Duration(g.Interval)
	if interval == 0 {
		interval = time.Hour
	}
	m, err := webhookcert.New(kc, ns, name, g.Service,
		webhookcert.WithLogger(log),
		webhookcert.WithInterval(interval),
		webhookcert.WithValidatingWebhookConfigurations(g.ValidatingWebhookConfigurations...),
		webhookcert.WithMutatingWebhookConfigurations(g.MutatingWebhookConfigurations...))
	if err != nil {
		return nil, fmt.Errorf("admission.tls.generate: %w", err)
	}
	return m, nil
}
