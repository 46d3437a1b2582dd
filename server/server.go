package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	hallmark "github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/vuln"
)

// Server serves Hallmark's API.
type Server struct {
	builder      Builder
	attester     Attester
	base         BaseBuilder
	verifier     Verifier
	contexts     ContextStore
	store        Store
	tags         *tagCache
	decisions    DecisionRecorder
	vulns        VulnSource
	vulnPolicy   *vuln.Policy
	vulndb       *VulnLoader
	rescanEvery  time.Duration
	watch        *vulnWatch
	authn        *Authenticator
	authz        *Authorizer
	log          *slog.Logger
	metrics      *Metrics
	gatherer     prometheus.Gatherer
	metricsToken string
	// registryEvents, when set, serves POST /registry/events.
	registryEvents *registryEventsEndpoint
	maxMsg         int
	timeout        time.Duration
}

// Option configures a Server.
type Option func(*Server) error

// WithLogger sets the logger; records logged during a request carry its
// request_id. nil is an error (hallmark.ErrInvalid). The default discards
// logs.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) error {
		if l == nil {
			return fmt.Errorf("%w: logger is nil", hallmark.ErrInvalid)
		}
		s.log = slog.New(requestIDHandler{l.Handler()})
		return nil
	}
}

// WithMetrics sets the metrics and the gatherer served at /metrics. The
// default is a private registry.
func WithMetrics(m *Metrics, g prometheus.Gatherer) Option {
	return func(s *Server) error { s.metrics, s.gatherer = m, g; return nil }
}

// WithMetricsToken makes /metrics require "Authorization: Bearer <token>"
// (compared in constant time); other requests get 401. The default is no
// token: anyone who reaches the listener may scrape.
func WithMetricsToken(token string) Option {
	return func(s *Server) error {
		if !isB64Token(token) {
			return fmt.Errorf("%w: metrics token is empty or not an RFC 6750 bearer token (letters, digits, -._~+/ and trailing =)", hallmark.ErrInvalid)
		}
		s.metricsToken = token
		return nil
	}
}

// WithMaxMessageBytes bounds every request message. The default is 4 MiB,
// enough for a 1 MiB inline Dockerfile plus secrets and upload chunks.
func WithMaxMessageBytes(n int) Option {
	return func(s *Server) error {
		if n < 1<<20 {
			return errors.New("max message bytes must be at least 1 MiB")
		}
		s.maxMsg = n
		return nil
	}
}

// WithAttester sets the attester that signs and publishes each image's
// attestations before its tags move. The default is none: images are
// published unattested, which only tests and the bare builder should do.
func WithAttester(a Attester) Option {
	return func(s *Server) error { s.attester = a; return nil }
}

// WithBuildTimeout bounds one build, queue time included. The default is 1h.
func WithBuildTimeout(d time.Duration) Option {
	return func(s *Server) error {
		if d <= 0 {
			return errors.New("build timeout must be positive")
		}
		s.timeout = d
		return nil
	}
}

// New returns a Server.
func New(b Builder, contexts ContextStore, authn *Authenticator, authz *Authorizer, opts ...Option) (*Server, error) {
	if b == nil || contexts == nil || authn == nil || authz == nil {
		return nil, errors.New("builder, context store, authenticator and authorizer are required")
	}
	s := &Server{builder: b, contexts: contexts, authn: authn, authz: authz, log: slog.New(slog.DiscardHandler), maxMsg: 4 << 20, timeout: time.Hour,
		rescanEvery: defaultRescanEvery}
	for _, opt := range opts {
		if err := opt(s); err != nil {
			return nil, err
		}
	}
	if s.registryEvents != nil && s.store == nil {
		return nil, errors.New("registry events need a store (WithStore) to record them in")
	}
	if _, ok := s.attester.(BaseAttester); s.base != nil && s.attester != nil && !ok {
		return nil, errors.New("the attester does not implement BaseAttester, which base builds need")
	}
	if _, ok := s.attester.(PredicateAttester); s.vulnPolicy != nil && s.attester != nil && !ok {
		return nil, errors.New("the attester does not implement PredicateAttester, which vulnerability scans need")
	}
	if s.metrics == nil {
		reg := prometheus.NewRegistry()
		m, err := NewMetrics(reg)
		if err != nil {
			return nil, err
		}
		s.metrics, s.gatherer = m, reg
	}
	s.watch = newVulnWatch(s)
	return s, nil
}

// compressMinBytes is the smallest response the API compresses, for
// callers that accept compression.
const compressMinBytes = 16 << 10

// Handler returns the HTTP handler: the Connect/gRPC/gRPC-Web API, gRPC
// health (grpc.health.v1) and server reflection (v1 and v1alpha),
// Prometheus metrics at /metrics and, with WithRegistryEvents, a
// registry's notifications at POST /registry/events. Serve it over HTTP/2
// (TLS or h2c), and HTTP/1.1 for registries.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	opts := []connect.HandlerOption{
		connect.WithInterceptors(s.authn.Interceptor()),
		connect.WithReadMaxBytes(s.maxMsg),
		// A verdict or a page of a list is a few KiB: compressing it costs
		// more time than sending it (a sixth of a cached Verify's server
		// time); SBOMs, finding lists and large pages are still compressed.
		connect.WithCompressMinBytes(compressMinBytes),
	}
	mux.Handle(hallmarkv1connect.NewBuildServiceHandler(&buildService{s: s}, opts...))
	services := []string{hallmarkv1connect.BuildServiceName}
	if s.verifier != nil {
		mux.Handle(hallmarkv1connect.NewVerifyServiceHandler(&verifyService{s: s}, opts...))
		services = append(services, hallmarkv1connect.VerifyServiceName)
	}
	if s.store != nil {
		mux.Handle(hallmarkv1connect.NewQueryServiceHandler(&queryService{s: s}, append(opts, queryCodecs()...)...))
		services = append(services, hallmarkv1connect.QueryServiceName)
	}
	if s.store != nil && s.verifier != nil {
		mux.Handle(hallmarkv1connect.NewStoreServiceHandler(&storeService{s: s}, append(opts, queryCodecs()...)...))
		services = append(services, hallmarkv1connect.StoreServiceName)
	}
	if s.vulndb != nil {
		mux.Handle(hallmarkv1connect.NewVulnDBServiceHandler(&vulnDBService{s: s}, opts...))
		services = append(services, hallmarkv1connect.VulnDBServiceName)
	}
	checker := grpchealth.NewStaticChecker(services...)
	mux.Handle(grpchealth.NewHandler(checker))
	reflector := grpcreflect.NewStaticReflector(services...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	if s.registryEvents != nil {
		mux.HandleFunc("POST "+RegistryEventsPath, s.serveRegistryEvents)
	}
	mux.Handle("/metrics", requireBearer(s.metricsToken, promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})))
	return withRequestID(mux)
}
