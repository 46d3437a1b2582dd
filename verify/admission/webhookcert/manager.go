package webhookcert

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/big"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/hallmark-dev/hallmark/internal/kube"
)

// API is the part of the Kubernetes API a Manager calls; *kube.Client is
// one. Errors are recognised with kube.IsNotFound, kube.IsAlreadyExists and
// kube.IsConflict.
type API interface {
	GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	CreateSecret(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error)
	UpdateSecret(ctx context.Context, s *corev1.Secret) (*corev1.Secret, error)
	GetWebhookCABundles(ctx context.Context, kind kube.WebhookKind, name string) (*kube.WebhookCABundles, error)
	PatchWebhookCABundles(ctx context.Context, kind kube.WebhookKind, name, resourceVersion string, webhooks []string, caBundle []byte) error
}

var _ API = (*kube.Client)(nil)

// Manager keeps the webhook's certificate in one Secret and publishes its
// CA; see the package documentation.
type Manager struct {
	api               API
	namespace, secret string
	dnsNames          []string
	o                 options
	current           atomic.Pointer[tls.Certificate]
	caBundle          atomic.Pointer[[]byte]
	servingSerial     *big.Int // of the certificate last adopted; Sync only
}

// New returns a Manager of the Secret namespace/secret, whose serving
// certificate is for the Service service in the same namespace
// (service.namespace.svc and service.namespace.svc.cluster.local).
func New(api API, namespace, secret, service string, opts ...Option) (*Manager, error) {
	if api == nil {
		return nil, errors.New("nil kubernetes api")
	}
	if namespace == "" || secret == "" || service == "" {
		return nil, errors.New("the secret's namespace and name and the service are required")
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.lt.propagation == 0 {
		o.lt.propagation = 2 * o.interval
	}
	if o.lt.propagation >= o.lt.serving/3 {
		return nil, fmt.Errorf("propagation delay %s is not below a third of the serving certificate's lifetime %s", o.lt.propagation, o.lt.serving)
	}
	host := service + "." + namespace + ".svc"
	return &Manager{api: api, namespace: namespace, secret: secret, dnsNames: []string{host, host + ".cluster.local"}, o: o}, nil
}

// DNSNames are the names of the serving certificate.
func (m *Manager) DNSNames() []string { return append([]string(nil), m.dnsNames...) }

// GetCertificate is a tls.Config's GetCertificate: the serving certificate
// of the last sync. It fails until a sync has succeeded.
func (m *Manager) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := m.current.Load()
	if c == nil {
		return nil, errors.New("no webhook certificate yet")
	}
	return c, nil
}

// CABundle is the PEM of the CAs of the last sync, newest first: what the
// webhook configurations' caBundle holds. Nil before the first sync.
func (m *Manager) CABundle() []byte {
	if p := m.caBundle.Load(); p != nil {
		return append([]byte(nil), *p...)
	}
	return nil
}

// Run syncs now and then every interval until ctx ends; a failed sync is
// logged and retried sooner (5s, doubling up to the interval). It returns
// ctx's error.
func (m *Manager) Run(ctx context.Context) error {
	retry := 5 * time.Second
	for {
		wait := m.o.interval
		if err := m.Sync(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.o.log.Warn("webhook certificate sync failed", "secret", m.namespace+"/"+m.secret, "err", err, "retry_in", retry)
			wait, retry = retry, min(2*retry, m.o.interval)
		} else {
			retry = 5 * time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Sync reads the Secret, creates or renews what is due, serves the
// Secret's certificate and patches the webhook configurations' caBundle.
// Concurrent Syncs of one Manager are not allowed; Managers of several
// replicas may sync at once.
func (m *Manager) Sync(ctx context.Context) error {
	b, err := m.syncSecret(ctx)
	if err != nil {
		return err
	}
	m.adopt(b)
	return m.publish(ctx, b.caBundle())
}

// syncSecret brings the Secret up to date and returns its contents.
func (m *Manager) syncSecret(ctx context.Context) (*bundle, error) {
	name := m.namespace + "/" + m.secret
	for range m.o.maxAttempts {
		s, err := m.api.GetSecret(ctx, m.namespace, m.secret)
		if err != nil && !kube.IsNotFound(err) {
			return nil, fmt.Errorf("read secret %s: %w", name, err)
		}
		var b *bundle
		if s != nil {
			if b, err = parseBundle(s.Data); err != nil {
				m.o.log.Warn("webhook certificate secret is unusable; replacing it", "secret", name, "err", err)
				b = nil
			}
		}
		now := m.o.now()
		p := decide(now, b, m.o.lt, m.dnsNames)
		if !p.changes() {
			return b, nil
		}
		next, err := apply(now, b, p, m.o.lt, m.dnsNames)
		if err != nil {
			return nil, err
		}
		data, err := next.data()
		if err != nil {
			return nil, err
		}
		if s == nil {
			_, err = m.api.CreateSecret(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: m.namespace, Name: m.secret,
					Labels: map[string]string{"app.kubernetes.io/managed-by": "hallmarkd"}},
				Type: corev1.SecretTypeTLS,
				Data: data,
			})
			if kube.IsAlreadyExists(err) {
				m.o.log.Debug("another replica created the webhook certificate secret first", "secret", name)
				continue
			}
		} else {
			s.Data = data
			_, err = m.api.UpdateSecret(ctx, s)
			if kube.IsConflict(err) {
				m.o.log.Debug("the webhook certificate secret changed while renewing; reading it again", "secret", name)
				continue
			}
		}
		if err != nil {
			return nil, fmt.Errorf("write secret %s: %w", name, err)
		}
		m.logRotation(name, b, next, p)
		return next, nil
	}
	return nil, fmt.Errorf("sync secret %s: still conflicting after %d attempts", name, m.o.maxAttempts)
}

func (m *Manager) logRotation(name string, before, after *bundle, p plan) {
	if p.fresh || p.newCA {
		m.o.log.Info("webhook CA created", "secret", name, "expires", after.cas[0].NotAfter, "serial", after.cas[0].SerialNumber.Text(16), "cas", len(after.cas), "why", p.why)
	}
	if p.fresh || p.newServing {
		m.o.log.Info("webhook serving certificate issued", "secret", name, "expires", after.leaf.NotAfter, "serial", after.leaf.SerialNumber.Text(16), "dns_names", after.leaf.DNSNames, "why", p.why)
	}
	if before != nil && !p.fresh {
		for _, i := range p.drop {
			m.o.log.Info("webhook CA retired", "secret", name, "expires", before.cas[i].NotAfter, "serial", before.cas[i].SerialNumber.Text(16), "cas", len(after.cas))
		}
	}
}

// adopt serves b's certificate.
func (m *Manager) adopt(b *bundle) {
	ca := b.caBundle()
	m.caBundle.Store(&ca)
	m.current.Store(b.tlsCertificate())
	if m.servingSerial == nil || m.servingSerial.Cmp(b.leaf.SerialNumber) != 0 {
		m.servingSerial = b.leaf.SerialNumber
		m.o.log.Info("serving webhook certificate", "secret", m.namespace+"/"+m.secret, "expires", b.leaf.NotAfter, "serial", b.leaf.SerialNumber.Text(16))
	}
}
