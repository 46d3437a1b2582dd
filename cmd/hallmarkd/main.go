// Command hallmarkd is the Hallmark gateway: it serves the build API over
// HTTP/2, runs builds on BuildKit and pushes the images to their registry.
//
//	hallmarkd [--config hallmarkd.yaml]
//	hallmarkd --version
//
// Without a config file it runs against the dev stack (`hallmark dev up`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/hallmark-dev/hallmark/attest"
	"github.com/hallmark-dev/hallmark/attest/sign"
	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/builder/basebuild"
	"github.com/hallmark-dev/hallmark/builder/contextshare"
	"github.com/hallmark-dev/hallmark/builder/contextstore"
	"github.com/hallmark-dev/hallmark/builder/pool"
	"github.com/hallmark-dev/hallmark/internal/config"
	"github.com/hallmark-dev/hallmark/internal/version"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/server"
	"github.com/hallmark-dev/hallmark/ui"
	"github.com/hallmark-dev/hallmark/verify"
)

// discoverEvery is how often buildkit.discover looks the workers up again.
const discoverEvery = 30 * time.Second

func main() {
	tuneGC(os.Getenv, os.ReadFile)
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hallmarkd:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("hallmarkd", flag.ContinueOnError)
	configPath := fs.String("config", os.Getenv("HALLMARKD_CONFIG"), "path of the YAML config file (default: built-in dev stack settings)")
	printVersion := fs.Bool("version", false, "print the version, VCS revision, Go version and BuildKit client version, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	build := version.Get()
	if *printVersion {
		_, err := fmt.Fprintln(stdout, "hallmarkd", build)
		return err
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log)
	log.Info("hallmarkd starting", "build", build)
	if *configPath == "" {
		log.Warn("no config file given: running with the built-in dev stack settings", "listen", cfg.Listen, "buildkit", cfg.BuildKit.WorkerAddresses())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Debug.PprofListen != "" {
		if err := servePprof(ctx, cfg.Debug.PprofListen, log); err != nil {
			return err
		}
	}
	h, admission, mem, err := wire(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer mem.close(log)
	if admission == nil {
		return serve(ctx, cfg, log, h)
	}
	errc := make(chan error, 1)
	go func() { errc <- serveAdmission(ctx, cfg, log, admission) }()
	err = serve(ctx, cfg, log, h)
	stop()
	return errors.Join(err, <-errc)
}

func newLogger(c config.LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// wire builds the gateway from its config: the API handler and, when
// configured, the admission webhook's.
func wire(ctx context.Context, cfg config.Config, log *slog.Logger) (api, admission http.Handler, mem *memory, err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := server.NewMetrics(reg)
	if err != nil {
		return nil, nil, nil, err
	}
	rc, err := newRegistry(cfg.Registries)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := openStore(ctx, cfg, log, metrics)
	if err != nil {
		return nil, nil, nil, err
	}
	defer func() {
		if err != nil {
			m.close(log)
		}
	}()
	contexts, err := newContextStore(ctx, cfg, log, metrics, rc)
	if err != nil {
		return nil, nil, nil, err
	}
	authn, err := server.NewAuthenticator(ctx, cfg.Auth.Issuers)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("auth.issuers: %w", err)
	}
	// A rule without pull patterns reads the base-image allowlist too.
	authz, err := server.NewAuthorizer(cfg.Auth.Rules, server.WithBaseImageAllowlist(cfg.Policy.BaseImages.Allow...))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("auth: %w", err)
	}
	for i, r := range cfg.Auth.Rules {
		if r.AllowRootUnsafe {
			log.Warn(fmt.Sprintf("auth.rules[%d].allowRootUnsafe is set: builds it authorizes may produce images that run as root", i))
		}
	}
	tags, err := builder.NewResolver(rc)
	if err != nil {
		return nil, nil, nil, err
	}
	vulns, err := newVulnLoader(ctx, cfg, log, m.db)
	if err != nil {
		return nil, nil, nil, err
	}
	srvOpts := []server.Option{
		server.WithLogger(log),
		server.WithStore(m.db), server.WithDecisionRecorder(m.recorder), server.WithTagResolver(server.BuilderTagResolver{Resolver: tags}),
		server.WithVulnDB(vulns),
	}
	if f := cfg.Metrics.TokenFile; f != "" {
		token, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("metrics.tokenFile: %w", err)
		}
		srvOpts = append(srvOpts, server.WithMetricsToken(strings.TrimSpace(string(token))))
	}
	if re := cfg.RegistryEvents; re.Registry != "" {
		token, err := os.ReadFile(re.TokenFile)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("registryEvents.tokenFile: %w", err)
		}
		srvOpts = append(srvOpts, server.WithRegistryEvents(strings.TrimSpace(string(token)), re.Registry))
		log.Info("taking registry events", "registry", re.Registry, "path", server.RegistryEventsPath)
	}
	if cfg.AllowInsecure && cfg.TLS.CertFile == "" {
		log.Warn("allowInsecure is set: the API is served without TLS on " + cfg.Listen + "; callers' tokens cross the network in clear text unless a proxy terminates TLS")
	}
	vp, err := vulnPolicy(ctx, cfg.Policy.Vulnerabilities, func() (root.TrustedMaterial, error) {
		return root.NewTrustedRootFromPath(cfg.Signing.TrustedRoot)
	}, log)
	if err != nil {
		return nil, nil, nil, err
	}
	srvOpts = append(srvOpts, server.WithVulnPolicy(vp))
	var signer *sign.Signer
	if cfg.Signing.Disabled {
		log.Warn("signing.disabledUnsafe is set: images are published without attestations (and not scanned for vulnerabilities)")
	} else {
		a, sgn, err := newAttester(cfg, log, rc)
		if err != nil {
			return nil, nil, nil, err
		}
		srvOpts = append(srvOpts, server.WithAttester(a))
		signer = sgn
	}
	e, err := newEvaluator(cfg, log, rc, signer, metrics.ObserveVerifications)
	if err != nil {
		return nil, nil, nil, err
	}
	if e != nil {
		srvOpts = append(srvOpts, server.WithVerifier(e))
		if cfg.Admission.Listen != "" {
			if admission, err = admissionHandler(cfg, log, e, m.recorder); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	bopts := []builder.Option{
		builder.WithLogger(log),
		builder.WithMaxParallel(cfg.BuildKit.MaxParallel),
		builder.WithMaxQueued(cfg.BuildKit.MaxQueued),
		builder.WithWorkDir(filepath.Join(cfg.DataDir, "work")),
		builder.WithRegistry(rc),
		builder.WithQueueObserver(metrics.ObserveQueue),
		builder.WithWorkerObserver(metrics.ObserveWorker),
	}
	if cfg.BuildKit.Discover != "" {
		host, port, err := cfg.BuildKit.DiscoverHostPort()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("buildkit.discover: %w", err)
		}
		lookup := pool.DNS(net.DefaultResolver, host, port)
		if port == "" {
			lookup = pool.SRV(net.DefaultResolver, host)
		}
		bopts = append(bopts, builder.WithDiscovery(lookup, discoverEvery))
	}
	bopts = append(bopts, policyOptions(cfg.Policy, log)...)
	if name := cfg.Policy.BaseImages.RequireAttestation; name != "" {
		bv, err := newBaseVerifier(e, name)
		if err != nil {
			return nil, nil, nil, err
		}
		bopts = append(bopts, builder.WithBaseVerifier(bv))
	}
	b, err := builder.New(cfg.BuildKit.WorkerAddresses(), contexts, bopts...)
	if err != nil {
		return nil, nil, nil, err
	}
	base, err := newBaseBuilder(cfg, log, rc)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := server.New(b, contexts, authn, authz, append(srvOpts,
		server.WithBaseBuilder(base),
		server.WithMetrics(metrics, reg),
		server.WithMaxMessageBytes(cfg.Limits.MaxMessageBytes),
		server.WithBuildTimeout(time.Duration(cfg.Limits.BuildTimeout)),
		server.WithVulnRescan(time.Duration(cfg.VulnDB.Refresh)),
	)...)
	if err != nil {
		return nil, nil, nil, err
	}
	go s.WatchVulnerabilities(ctx)
	go s.EndAbandonedBuilds(ctx, abandonedSweep)
	api, err = withUI(cfg, log, s.Handler(), ui.Deps{
		Authenticate: authn.Authenticate,
		Reader:       readScope(authz),
		Store:        m.db,
		Reverify:     reverifier(e, m.recorder),
		Bundle:       bundleReader(rc, cfg.Verify.Limits.MaxBundleBytes),
		Stale:        s.StaleBases,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("ui: %w", err)
	}
	return api, admission, m, nil
}

// newContextStore opens the store of uploaded contexts and starts its
// garbage collection, which runs until ctx ends.
func newContextStore(ctx context.Context, cfg config.Config, log *slog.Logger, metrics *server.Metrics, rc *registry.Client) (*contextstore.Store, error) {
	ttl := time.Duration(cfg.Limits.ContextTTL)
	opts := []contextstore.Option{
		contextstore.WithMaxArchiveBytes(cfg.Limits.MaxContextBytes),
		contextstore.WithQuotaBytes(cfg.Limits.ContextQuotaBytes),
		contextstore.WithTTL(ttl),
		contextstore.WithLogger(log),
		contextstore.WithCollectObserver(func(c contextstore.Collected) { metrics.ObserveContextsCollected(c.Bytes) }),
	}
	// Often enough that an expired context outlives its TTL by a small part.
	every := min(max(ttl/24, time.Minute), 10*time.Minute)
	if repo := cfg.Contexts.SharedRepository; repo != "" {
		sh, err := contextshare.New(rc, repo)
		if err != nil {
			return nil, fmt.Errorf("contexts.sharedRepository: %w", err)
		}
		opts = append(opts, contextstore.WithShared(sh))
		go sweepSharedContexts(ctx, sh, every, log)
	}
	contexts, err := contextstore.New(filepath.Join(cfg.DataDir, "contexts"), opts...)
	if err != nil {
		return nil, fmt.Errorf("dataDir: %w", err)
	}
	go func() { _ = contexts.Run(ctx, every) }()
	return contexts, nil
}

// sweepSharedContexts deletes expired holds of the shared contexts every
// interval until ctx ends. Every replica sweeps; deleting twice is harmless.
func sweepSharedContexts(ctx context.Context, sh *contextshare.Share, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := sh.Sweep(ctx, maxSweptHolds)
		if err != nil {
			log.WarnContext(ctx, "shared contexts not swept", "error", err)
			continue
		}
		if n > 0 {
			log.InfoContext(ctx, "shared contexts swept", "expired_holds", n)
		}
	}
}

// abandonedSweep is how often the gateway looks for builds recorded as
// running whose replica stopped.
const abandonedSweep = time.Minute

// maxSweptHolds bounds the holds one sweep reads.
const maxSweptHolds = 10_000

// newBaseBuilder returns the builder of base images: it shares the work
// directory of BuildKit builds and pushes with the gateway's registry
// client.
func newBaseBuilder(cfg config.Config, log *slog.Logger, rc *registry.Client) (*basebuild.Builder, error) {
	opts := []basebuild.Option{
		basebuild.WithLogger(log),
		basebuild.WithWorkDir(filepath.Join(cfg.DataDir, "work")),
	}
	if cfg.Debian.CacheDir != "" {
		opts = append(opts, basebuild.WithDebianCache(cfg.Debian.CacheDir))
	}
	return basebuild.New(rc, opts...)
}

// newRegistry returns the one registry client of the gateway, for the
// builder, the attester and the verifier: the credentials and plain-HTTP
// hosts of the registries config.
func newRegistry(regs []config.RegistryConfig) (*registry.Client, error) {
	kc := registry.Keychain{}
	var insecure []string
	for i, r := range regs {
		if r.Insecure {
			insecure = append(insecure, r.Host)
		}
		if r.Username != "" {
			pw, err := os.ReadFile(r.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("registries[%d].passwordFile: %w", i, err)
			}
			kc[r.Host] = registry.Credential{Username: r.Username, Password: strings.TrimSpace(string(pw))}
		}
	}
	rc, err := registry.New(registry.WithKeychain(kc), registry.WithInsecureHosts(insecure...))
	if err != nil {
		return nil, fmt.Errorf("registries: %w", err)
	}
	return rc, nil
}

// newAttester builds the signer and attester from the signing config; the
// signer also signs Verification Summary Attestations.
func newAttester(cfg config.Config, log *slog.Logger, rc *registry.Client) (*attest.Attester, *sign.Signer, error) {
	sc, err := root.NewSigningConfigFromPath(cfg.Signing.SigningConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("signing.signingConfig: %w", err)
	}
	tr, err := root.NewTrustedRootFromPath(cfg.Signing.TrustedRoot)
	if err != nil {
		return nil, nil, fmt.Errorf("signing.trustedRoot: %w", err)
	}
	signOpts := []sign.Option{sign.WithLogger(log)}
	if d := time.Duration(cfg.Signing.ReuseCertificate); d > 0 {
		signOpts = append(signOpts, sign.WithCertificateReuse(d))
	}
	attOpts := []attest.Option{}
	if id := cfg.Signing.Identity; id.Issuer != "" {
		signOpts = append(signOpts, sign.WithExpectedIdentity(id.Issuer, id.SubjectAlternativeName))
		v, err := verify.New(tr,
			verify.WithIdentities(verify.Identity{Issuer: id.Issuer, SubjectAlternativeName: id.SubjectAlternativeName}),
			verify.WithRegistry(rc),
			verify.WithLogger(log))
		if err != nil {
			return nil, nil, fmt.Errorf("signing.identity: %w", err)
		}
		attOpts = append(attOpts, attest.WithBaseSBOMs(v))
	}
	signer, err := sign.New(sc, tr, sign.FileTokenSource(cfg.Signing.TokenFile), signOpts...)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	a, err := attest.New(signer, append(attOpts,
		attest.WithBuilderID(cfg.Signing.BuilderID),
		attest.WithHallmarkVersion(version.Get().Version),
		attest.WithLogger(log),
		attest.WithRegistry(rc),
	)...)
	return a, signer, err
}

// receiveWindows are the API server's HTTP/2 flow-control windows. Go's
// default of 1 MiB per stream holds one 1 MiB chunk of a context upload
// (the CLI's size), so the client could send the next only after the
// gateway had stored the last: sending and storing took turns. Windows of
// a few chunks let them overlap, for at most this much memory per
// connection.
var receiveWindows = &http.HTTP2Config{
	MaxReceiveBufferPerStream:     4<<20 - 1,
	MaxReceiveBufferPerConnection: 4<<20 - 1,
}

// serve runs the HTTP/2 server until ctx ends, then drains for up to 30s.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, h http.Handler) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		Protocols:         new(http.Protocols),
		HTTP2:             receiveWindows,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	errc := make(chan error, 1)
	if cfg.TLS.CertFile != "" {
		log.Info("serving", "addr", ln.Addr().String(), "tls", true)
		go func() { errc <- srv.ServeTLS(ln, cfg.TLS.CertFile, cfg.TLS.KeyFile) }()
	} else {
		srv.Protocols.SetUnencryptedHTTP2(true)
		log.Info("serving", "addr", ln.Addr().String(), "tls", false, "h2c", true)
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
