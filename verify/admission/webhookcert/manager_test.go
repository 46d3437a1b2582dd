package webhookcert

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/kube"
	"github.com/hallmark-dev/hallmark/internal/kube/kubetest"
)

const (
	testNS     = "hallmark-system"
	testSecret = "hallmark-webhook-certs"
	testSvc    = "hallmarkd-webhook"
)

// clock is a settable time for Managers and TLS clients.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newManager(t *testing.T, api API, opts ...Option) *Manager {
	t.Helper()
	opts = append([]Option{
		WithValidatingWebhookConfigurations("hallmark"), WithMutatingWebhookConfigurations("hallmark"),
		WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))),
	}, opts...)
	m, err := New(api, testNS, testSecret, testSvc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func served(t *testing.T, m *Manager) []byte {
	t.Helper()
	c, err := m.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Certificate[0]
}

// syncAll syncs the managers at once, each in its goroutine.
func syncAll(t *testing.T, ms ...*Manager) {
	t.Helper()
	errs := make([]error, len(ms))
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() { errs[i] = m.Sync(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("manager %d: %v", i, err)
		}
	}
}

// checkConverged fails unless every manager serves the Secret's
// certificate and every webhook's caBundle is the Secret's ca.crt.
func checkConverged(t *testing.T, f *kubetest.Server, ms ...*Manager) {
	t.Helper()
	s := f.Secret(testNS, testSecret)
	if s == nil {
		t.Fatal("no secret")
	}
	b, err := parseBundle(s.Data)
	if err != nil {
		t.Fatalf("the secret does not parse: %v", err)
	}
	for i, m := range ms {
		if !bytes.Equal(served(t, m), b.leaf.Raw) {
			t.Errorf("manager %d serves another certificate than the secret's", i)
		}
		if !bytes.Equal(m.CABundle(), s.Data[keyCACert]) {
			t.Errorf("manager %d has another CA bundle than the secret's", i)
		}
	}
	for _, kind := range []kube.WebhookKind{kube.Validating, kube.Mutating} {
		got := f.CABundles(kind, "hallmark")
		if len(got) != 2 {
			t.Errorf("%s: %d webhooks have a caBundle, want 2", kind, len(got))
		}
		for name, ca := range got {
			if !bytes.Equal(ca, s.Data[keyCACert]) {
				t.Errorf("%s hallmark webhook %s: caBundle is not the secret's ca.crt", kind, name)
			}
		}
	}
}

func fakeWithWebhooks(t *testing.T) (*kubetest.Server, *kube.Client) {
	t.Helper()
	f, c := kubetest.NewServer(t)
	f.AddWebhooks(kube.Validating, "hallmark", "verify.hallmark.dev", "hygiene.hallmark.dev")
	f.AddWebhooks(kube.Mutating, "hallmark", "verify.hallmark.dev", "pin.hallmark.dev")
	return f, c
}

// TestConcurrentCreate: two managers find no Secret at the same moment and
// both create one; one create wins, the other gets 409 AlreadyExists and
// adopts the winner's.
func TestConcurrentCreate(t *testing.T) {
	f, c := fakeWithWebhooks(t)
	a, b := newManager(t, c), newManager(t, c)
	f.HoldSecretReads(2)
	syncAll(t, a, b)
	if n := f.Count("POST secrets"); n != 2 {
		t.Errorf("%d creates, want 2 (both saw no secret)", n)
	}
	if n := f.Count("PUT secrets"); n != 0 {
		t.Errorf("%d updates, want none (the loser adopts)", n)
	}
	if !bytes.Equal(served(t, a), served(t, b)) {
		t.Error("the two managers serve different certificates")
	}
	checkConverged(t, f, a, b)

	// A second sync changes nothing: no write, no patch.
	patches := f.Count("PATCH webhooks")
	syncAll(t, a, b)
	if f.Count("POST secrets") != 2 || f.Count("PUT secrets") != 0 || f.Count("PATCH webhooks") != patches {
		t.Errorf("a sync with nothing due wrote: %d creates, %d updates, %d patches", f.Count("POST secrets"), f.Count("PUT secrets"), f.Count("PATCH webhooks")-patches)
	}
}

// TestConcurrentRenew: two managers find the serving certificate due at
// the same moment and both renew it; one update wins, the other gets 409
// Conflict, reads again and adopts the winner's certificate.
func TestConcurrentRenew(t *testing.T) {
	f, c := fakeWithWebhooks(t)
	clk := &clock{now: time.Now()}
	a, b := newManager(t, c, WithClock(clk.Now)), newManager(t, c, WithClock(clk.Now))
	if err := a.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := served(t, a)
	clk.Advance(61 * 24 * time.Hour)
	f.HoldSecretReads(2)
	syncAll(t, a, b)
	if n := f.Count("PUT secrets"); n != 2 {
		t.Errorf("%d updates, want 2 (both renewed)", n)
	}
	if bytes.Equal(served(t, a), first) {
		t.Error("the serving certificate was not renewed")
	}
	checkConverged(t, f, a, b)
}

// TestRotationServed steps a manager through a serving renewal and a CA
// rotation: a TLS server taking its certificate from GetCertificate
// serves each new certificate without a restart, and a client trusting
// the webhooks' caBundle connects at every step.
func TestRotationServed(t *testing.T) {
	f, c := fakeWithWebhooks(t)
	clk := &clock{now: time.Now()}
	m := newManager(t, c, WithClock(clk.Now), WithInterval(time.Hour))
	if _, err := m.GetCertificate(nil); err == nil {
		t.Error("GetCertificate before the first sync returned a certificate")
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	srv.TLS = &tls.Config{GetCertificate: m.GetCertificate, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// connect returns the serial of the certificate served, trusting what
	// the validating webhook's caBundle holds.
	connect := func(step string) string {
		t.Helper()
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(f.CABundles(kube.Validating, "hallmark")["verify.hallmark.dev"]) {
			t.Fatalf("%s: the caBundle holds no certificate", step)
		}
		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pool, ServerName: m.DNSNames()[0], Time: clk.Now, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	sync := func() {
		t.Helper()
		if err := m.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		checkConverged(t, f, m)
	}
	casIn := func() int { return strings.Count(string(m.CABundle()), "BEGIN CERTIFICATE") }

	sync()
	s0 := connect("first certificate")
	clk.Advance(61 * 24 * time.Hour)
	sync()
	s1 := connect("renewed certificate")
	if s1 == s0 {
		t.Error("the renewed certificate is not served")
	}
	// Up to the CA's renewal (244 days after it was issued): two more
	// serving renewals on the way, still one CA.
	for range 2 {
		clk.Advance(61 * 24 * time.Hour)
		sync()
	}
	s2 := connect("renewed again")
	if s2 == s1 || casIn() != 1 {
		t.Errorf("day 183: serial changed %v, %d CAs; want a new certificate and one CA", s2 != s1, casIn())
	}
	clk.Advance(61 * 24 * time.Hour)
	sync()
	if casIn() != 2 {
		t.Fatalf("after the CA's renewal %d CAs in the bundle, want 2", casIn())
	}
	if s := connect("new CA published"); s != s2 {
		t.Error("the serving certificate changed before the new CA propagated")
	}
	clk.Advance(2 * time.Hour)
	sync()
	s3 := connect("certificate of the new CA")
	if s3 == s2 || casIn() != 2 {
		t.Errorf("after the propagation delay: serial changed %v, %d CAs; want a new certificate and both CAs", s3 != s2, casIn())
	}
	clk.Advance(2 * time.Hour)
	sync()
	if s := connect("old CA retired"); s != s3 || casIn() != 1 {
		t.Errorf("after the second delay: serial changed %v, %d CAs; want the same certificate and one CA", s != s3, casIn())
	}
}

// TestPublishRetriesConflicts: a webhook configuration that changes
// between the read and the patch gets 409 Conflict; the manager reads it
// again and patches.
func TestPublishRetriesConflicts(t *testing.T) {
	f, c := fakeWithWebhooks(t)
	f.ChangeAfterNextRead(kube.Mutating, "hallmark")
	m := newManager(t, c)
	if err := m.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := f.Count("PATCH webhooks"); n != 3 {
		t.Errorf("%d patches, want 3 (validating; mutating, conflicting, then again)", n)
	}
	checkConverged(t, f, m)
}

// TestPublishNeedsTheConfigurations: a named configuration that does not
// exist fails the sync (after the certificate is served), rather than
// leaving a caBundle unset in silence.
func TestPublishNeedsTheConfigurations(t *testing.T) {
	f, c := kubetest.NewServer(t)
	f.AddWebhooks(kube.Validating, "hallmark", "verify.hallmark.dev")
	m := newManager(t, c)
	err := m.Sync(t.Context())
	if err == nil || !strings.Contains(err.Error(), "mutatingwebhookconfigurations hallmark") || !kube.IsNotFound(err) {
		t.Errorf("Sync = %v, want a not-found error naming the mutating configuration", err)
	}
	if _, err := m.GetCertificate(nil); err != nil {
		t.Errorf("the certificate is not served: %v", err)
	}
	if len(f.CABundles(kube.Validating, "hallmark")["verify.hallmark.dev"]) == 0 {
		t.Error("the existing configuration was not patched")
	}
}

// TestRun: Run syncs at once and returns when its context ends.
func TestRun(t *testing.T) {
	f, c := fakeWithWebhooks(t)
	m := newManager(t, c)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(f.CABundles(kube.Mutating, "hallmark")["pin.hallmark.dev"]) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not sync within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	checkConverged(t, f, m)
}

func TestNewRejects(t *testing.T) {
	_, c := kubetest.NewServer(t)
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"serving longer than a third of the CA", []Option{WithLifetimes(100*time.Hour, 40*time.Hour)}},
		{"propagation delay too long", []Option{WithPropagationDelay(31 * 24 * time.Hour)}},
		{"interval too long for the default delay", []Option{WithInterval(20 * 24 * time.Hour)}},
		{"zero interval", []Option{WithInterval(0)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(c, testNS, testSecret, testSvc, tt.opts...); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := New(c, testNS, "", testSvc); err == nil {
		t.Error("a manager without a secret name was accepted")
	}
}
