package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/internal/kube"
	"github.com/hallmark-dev/hallmark/internal/kube/kubetest"
)

// TestAdmissionGeneratedCertificate: with admission.tls.generate the
// webhook listener serves the certificate the manager keeps in the Secret,
// for the Service's names, signed by the CA it patched into the caBundle.
func TestAdmissionGeneratedCertificate(t *testing.T) {
	api, _ := kubetest.NewServer(t)
	api.AddWebhooks(kube.Validating, "hallmark", "verify.hallmark.dev")
	api.AddWebhooks(kube.Mutating, "hallmark", "verify.hallmark.dev")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var cfg config.Config
	cfg.Admission.Listen = addr
	cfg.Admission.TLS.Generate = &config.GenerateTLSConfig{
		Secret: "hallmark-system/hallmark-webhook-certs", Service: "hallmarkd-webhook",
		ValidatingWebhookConfigurations: []string{"hallmark"}, MutatingWebhookConfigurations: []string{"hallmark"},
		Kubeconfig: api.Kubeconfig(t),
	}
	ctx := t.Context()
	errc := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	go func() { errc <- serveAdmission(ctx, cfg, slog.New(slog.NewTextHandler(t.Output(), nil)), h) }()

	// The first sync runs beside the listener: wait for the caBundle.
	var caBundle []byte
	deadline := time.Now().Add(20 * time.Second)
	for len(caBundle) == 0 {
		select {
		case err := <-errc:
			t.Fatalf("serveAdmission: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no caBundle was published within 20s")
		}
		caBundle = api.CABundles(kube.Mutating, "hallmark")["verify.hallmark.dev"]
		time.Sleep(10 * time.Millisecond)
	}
	if v := api.CABundles(kube.Validating, "hallmark")["verify.hallmark.dev"]; !bytes.Equal(v, caBundle) {
		t.Error("the validating webhook's caBundle differs from the mutating one's")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caBundle) {
		t.Fatal("the caBundle holds no certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "hallmarkd-webhook.hallmark-system.svc", MinVersion: tls.VersionTLS12}}}
	resp, err := c.Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("GET with the caBundle as root: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	leaf := resp.TLS.PeerCertificates[0]
	if string(body) != "ok" || !slices.Equal(leaf.DNSNames, []string{"hallmarkd-webhook.hallmark-system.svc", "hallmarkd-webhook.hallmark-system.svc.cluster.local"}) {
		t.Errorf("served %q with a certificate for %v", body, leaf.DNSNames)
	}
	if s := api.Secret("hallmark-system", "hallmark-webhook-certs"); s == nil || !bytes.Equal(s.Data["ca.crt"], caBundle) {
		t.Error("the Secret's ca.crt is not the published caBundle")
	}
}
