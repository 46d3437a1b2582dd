package devstack

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hallmark-dev/hallmark/internal/config"
)

// Signing identity of the dev gateway: the dev issuer mints its tokens with
// this subject and builder_id claim, and Fulcio's ci-provider template puts
// the builder id into the certificate's SAN.
const (
	// SigningAudience is the audience Fulcio expects (its client id).
	SigningAudience = "sigstore"
	// GatewaySubject is the subject of the gateway's signing tokens.
	GatewaySubject = "hallmark-gateway"
	// BuilderID is the dev gateway's SLSA builder id and certificate SAN.
	BuilderID = config.DevBuilderID
)

// startSigstore starts Fulcio, Rekor v2 and the timestamp authority, and
// writes trusted_root.json and signing_config.json describing exactly them.
func (s *Stack) startSigstore(ctx context.Context) error {
	p, err := loadPKI(filepath.Join(s.cfg.Dir, "pki"))
	if err != nil {
		return err
	}
	bins := map[string]string{}
	for mod, name := range map[string]string{"fulcio": "fulcio", "rekor": "posix", "tsa": "hallmark-tsa"} {
		if bins[mod], err = Tool(ctx, s.cfg.Repo, mod, name, s.cfg.Progress); err != nil {
			return err
		}
	}
	if err := s.startTSA(ctx, bins["tsa"], p); err != nil {
		return err
	}
	if err := s.startRekor(ctx, bins["rekor"], p); err != nil {
		return err
	}
	if err := s.startFulcio(ctx, bins["fulcio"], p); err != nil {
		return err
	}
	return s.writeSigstoreFiles(p)
}

func (s *Stack) startTSA(ctx context.Context, bin string, p *pki) error {
	addr, err := freeAddr("127.0.0.1:0")
	if err != nil {
		return err
	}
	host, port := splitAddr(addr)
	// hallmark-tsa is timestamp-server's API without its fixed :2112 metrics
	// listener (see tools/tsa/cmd/hallmark-tsa).
	if err := s.spawn(ctx, "tsa", bin, "--host", host, "--port", port,
		"--file-signer-key-path", p.path("tsa-key.pem"), "--certificate-chain-path", p.path("tsa-chain.pem")); err != nil {
		return err
	}
	s.TSA = "http://" + addr
	return s.waitHTTP(ctx, "tsa", s.TSA+"/ping")
}

func (s *Stack) startRekor(ctx context.Context, bin string, p *pki) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	addr, grpcAddr, metrics := ports[0], ports[1], ports[2]
	storage := filepath.Join(s.cfg.Dir, "rekor")
	// A fresh log per run: Rekor v2 on POSIX keeps no database.
	if err := os.RemoveAll(storage); err != nil {
		return err
	}
	host, port := splitAddr(addr)
	_, gport := splitAddr(grpcAddr)
	_, mport := splitAddr(metrics)
	if err := s.spawn(ctx, "rekor", bin, "serve", "--hostname", host,
		"--http-address", host, "--http-port", port, "--grpc-address", host, "--grpc-port", gport,
		"--http-metrics-port", mport, "--storage-dir", storage, "--signer-filepath", p.path("rekor-key.pem"),
		"--checkpoint-interval", "100ms", "--batch-max-age", "20ms"); err != nil {
		return err
	}
	s.Rekor = "http://" + addr
	return s.waitHTTP(ctx, "rekor", s.Rekor+"/healthz")
}

func (s *Stack) startFulcio(ctx context.Context, bin string, p *pki) error {
	conf := map[string]any{
		"OIDCIssuers": map[string]any{
			s.Issuer: map[string]any{
				"IssuerURL":  s.Issuer,
				"ClientID":   SigningAudience,
				"Type":       "ci-provider",
				"CIProvider": "hallmark",
			},
		},
		"CIIssuerMetadata": map[string]any{
			"hallmark": map[string]any{
				"SubjectAlternativeNameTemplate": "{{ .builder_id }}",
				"ExtensionTemplates": map[string]any{
					"BuildSignerURI":    "builder_id",
					"RunnerEnvironment": "runner_environment",
				},
				"DefaultTemplateValues": map[string]string{"runner_environment": "hallmark-dev"},
			},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(s.cfg.Dir, "fulcio.json")
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		return err
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	addr, grpcAddr, metrics := ports[0], ports[1], ports[2]
	host, port := splitAddr(addr)
	_, gport := splitAddr(grpcAddr)
	_, mport := splitAddr(metrics)
	// Fulcio leaves its socket behind when stopped; a stale one blocks the
	// next start.
	sock := filepath.Join(s.cfg.Dir, "fulcio-legacy.sock")
	if err := os.Remove(sock); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove stale fulcio socket: %w", err)
	}
	if err := s.spawn(ctx, "fulcio", bin, "serve", "--host", host, "--port", port,
		"--grpc-host", host, "--grpc-port", gport, "--metrics-port", mport,
		"--legacy-unix-domain-socket", sock,
		"--ca", "fileca", "--fileca-cert", p.path("fulcio-root.pem"), "--fileca-key", p.path("fulcio-key.pem"),
		"--fileca-key-passwd", "unused", "--fileca-watch=false",
		"--ct-log-url", "", "--config-path", cfgPath); err != nil {
		return err
	}
	s.Fulcio = "http://" + addr
	return s.waitHTTP(ctx, "fulcio", s.Fulcio+"/api/v2/trustBundle")
}

// writeSigstoreFiles writes trusted_root.json and signing_config.json for
// this stack's instances and checks that sigstore-go reads them.
func (s *Stack) writeSigstoreFiles(p *pki) error {
	rekorDER, err := x509.MarshalPKIXPublicKey(&p.rekorKey.PublicKey)
	if err != nil {
		return err
	}
	logID := sha256.Sum256(rekorDER)
	since := timestamppb.New(p.fulcioCert.NotBefore)
	chain := func(certs ...*x509.Certificate) *protocommon.X509CertificateChain {
		c := &protocommon.X509CertificateChain{}
		for _, cert := range certs {
			c.Certificates = append(c.Certificates, &protocommon.X509Certificate{RawBytes: cert.Raw})
		}
		return c
	}
	tr := &prototrustroot.TrustedRoot{
		MediaType: root.TrustedRootMediaType01,
		Tlogs: []*prototrustroot.TransparencyLogInstance{{
			BaseUrl:       s.Rekor,
			HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
			PublicKey: &protocommon.PublicKey{
				RawBytes:   rekorDER,
				KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
				ValidFor:   &protocommon.TimeRange{Start: since},
			},
			LogId:           &protocommon.LogId{KeyId: logID[:]},
			CheckpointKeyId: &protocommon.LogId{KeyId: logID[:]},
		}},
		CertificateAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject:   &protocommon.DistinguishedName{Organization: "hallmark-dev", CommonName: p.fulcioCert.Subject.CommonName},
			Uri:       s.Fulcio,
			CertChain: chain(p.fulcioCert),
			ValidFor:  &protocommon.TimeRange{Start: since},
		}},
		TimestampAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject:   &protocommon.DistinguishedName{Organization: "hallmark-dev", CommonName: p.tsaChain[0].Subject.CommonName},
			Uri:       s.TSA,
			CertChain: chain(p.tsaChain...),
			ValidFor:  &protocommon.TimeRange{Start: timestamppb.New(p.tsaChain[0].NotBefore)},
		}},
	}
	service := func(url string, major uint32) *prototrustroot.Service {
		return &prototrustroot.Service{Url: url, MajorApiVersion: major, ValidFor: &protocommon.TimeRange{Start: since}, Operator: "hallmark.dev"}
	}
	sc := &prototrustroot.SigningConfig{
		MediaType:       root.SigningConfigMediaType02,
		CaUrls:          []*prototrustroot.Service{service(s.Fulcio, 1)},
		OidcUrls:        []*prototrustroot.Service{service(s.Issuer, 1)},
		RekorTlogUrls:   []*prototrustroot.Service{service(s.Rekor, 2)},
		RekorTlogConfig: &prototrustroot.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		TsaUrls:         []*prototrustroot.Service{service(s.TSA+"/api/v1/timestamp", 1)},
		TsaConfig:       &prototrustroot.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
	}
	opts := protojson.MarshalOptions{Multiline: true, Indent: "  "}
	trJSON, err := opts.Marshal(tr)
	if err != nil {
		return err
	}
	scJSON, err := opts.Marshal(sc)
	if err != nil {
		return err
	}
	if _, err := root.NewTrustedRootFromJSON(trJSON); err != nil {
		return fmt.Errorf("check trusted_root.json: %w", err)
	}
	if _, err := root.NewSigningConfigFromJSON(scJSON); err != nil {
		return fmt.Errorf("check signing_config.json: %w", err)
	}
	s.TrustedRoot = filepath.Join(s.cfg.Dir, "trusted_root.json")
	s.SigningConfig = filepath.Join(s.cfg.Dir, "signing_config.json")
	if err := os.WriteFile(s.TrustedRoot, trJSON, 0o644); err != nil {
		return err
	}
	return os.WriteFile(s.SigningConfig, scJSON, 0o644)
}

// refreshSigningToken keeps the gateway's signing token file fresh, the way
// a Kubernetes projected service-account token is: hallmarkd re-reads it
// before each signing.
func (s *Stack) refreshSigningToken(ctx context.Context) error {
	s.SigningToken = filepath.Join(s.cfg.Dir, "signing-token")
	write := func() error {
		tok, err := s.issuer.Mint(GatewaySubject, SigningAudience, time.Hour, map[string]any{"builder_id": BuilderID})
		if err != nil {
			return err
		}
		tmp := s.SigningToken + ".tmp"
		if err := os.WriteFile(tmp, []byte(tok), 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, s.SigningToken)
	}
	if err := write(); err != nil {
		return fmt.Errorf("write signing token: %w", err)
	}
	go func() {
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				_ = write()
			}
		}
	}()
	return nil
}

func splitAddr(addr string) (host, port string) {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == ':' {
			return addr[:i], addr[i+1:]
		}
	}
	return addr, strconv.Itoa(0)
}

// freePorts returns n distinct free loopback addresses, for a server that
// listens on several ports.
func freePorts(n int) ([]string, error) {
	out := make([]string, 0, n)
	for len(out) < n {
		a, err := freeAddr("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}
