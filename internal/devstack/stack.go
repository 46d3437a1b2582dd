package devstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hallmark-dev/hallmark/internal/config"
)

// Config says where and how to start a stack.
type Config struct {
	// Dir holds the stack's data: registry storage, BuildKit's cache, logs,
	// and the state file. Reusing a Dir keeps caches warm.
	Dir string
	// GatewayAddr, RegistryAddr and IssuerAddr are loopback "host:port"
	// addresses; port 0 picks a free one (e2e tests).
	GatewayAddr, RegistryAddr, IssuerAddr string
	// Hallmarkd is the gateway binary to run.
	Hallmarkd string
	// Repo is the Hallmark checkout whose tools/ modules pin the tools.
	Repo string
	// Progress receives one line per slow step. Nil discards.
	Progress io.Writer
	// BuildKitRoot is BuildKit's state and cache directory. The default is
	// Dir/buildkit; tests point several stacks at one warm cache.
	BuildKitRoot string
	// MaxContextBytes is the gateway's context size limit. The default is
	// the gateway's own.
	MaxContextBytes int64
	// Kubernetes also starts etcd and a kube-apiserver that sends Pods and
	// workloads in namespaces labelled hallmark.dev/verify=enabled to the
	// gateway's admission webhook.
	Kubernetes bool
	// PprofAddr, if set, makes the gateway serve Go's profiles there
	// (debug.pprofListen), for profiling benchmarks.
	PprofAddr string
	// LogLevel is the gateway's log level. The default is debug.
	LogLevel string
	// Workers is how many buildkitd processes to start, each with its own
	// root and socket; the gateway places builds on them as on any worker
	// pool (buildkit.workers). The first uses BuildKitRoot, worker i
	// BuildKitRoot-i. The default is 1.
	Workers int
	// Postgres also starts PostgreSQL (see StartPostgres) with its cluster
	// in Dir/postgres, kept across restarts, and records the DSN of its
	// database in State.Postgres; the gateway's store uses it instead of
	// SQLite.
	Postgres bool
}

// Stack is a running dev stack. Close stops it.
type Stack struct {
	State
	cfg    Config
	issuer *Issuer
	pg     *Postgres
	procs  []*proc
	closed sync.Once
	stopIs func()
	done   chan struct{}
	// gatewayAddr is chosen before the registry starts, which sends its
	// notifications there with eventsToken (also in eventsTokenFile).
	gatewayAddr                  string
	eventsToken, eventsTokenFile string
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	// stopSig asks the process to stop; zero means SIGTERM.
	stopSig syscall.Signal
	done    chan struct{}
	err     error
}

// Start builds what is missing, starts every component and waits until each
// answers. On error everything started so far is stopped.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	for _, sub := range []string{"logs", "registry"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("create stack dir: %w", err)
		}
	}
	if cfg.BuildKitRoot == "" {
		cfg.BuildKitRoot = filepath.Join(cfg.Dir, "buildkit")
	}
	cfg.Workers = max(cfg.Workers, 1)
	s := &Stack{cfg: cfg, State: State{PID: os.Getpid(), Dir: cfg.Dir}, done: make(chan struct{})}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := EnsurePackages(ctx, cfg.Progress); err != nil {
		return nil, err
	}
	buildkitd, err := Tool(ctx, cfg.Repo, "buildkit", "buildkitd", cfg.Progress)
	if err != nil {
		return nil, err
	}
	if err := s.startIssuer(ctx); err != nil {
		return nil, err
	}
	if s.gatewayAddr, err = freeAddr(cfg.GatewayAddr); err != nil {
		return nil, err
	}
	if err := s.newRegistryEventsToken(); err != nil {
		return nil, err
	}
	if err := s.startRegistry(ctx); err != nil {
		return nil, err
	}
	if err := s.startBuildKit(ctx, buildkitd); err != nil {
		return nil, err
	}
	if err := s.startSigstore(ctx); err != nil {
		return nil, err
	}
	if err := s.refreshSigningToken(ctx); err != nil {
		return nil, err
	}
	if err := s.pushImages(ctx); err != nil {
		return nil, err
	}
	if cfg.Postgres {
		if err := s.startPostgres(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.startGateway(ctx); err != nil {
		return nil, err
	}
	if err := s.buildBases(ctx); err != nil {
		return nil, err
	}
	if cfg.Kubernetes {
		if err := s.startKubernetes(ctx); err != nil {
			return nil, err
		}
	}
	if err := writeState(cfg.Dir, s.State); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops every component, newest first, and removes the state file.
func (s *Stack) Close() error {
	var errs []error
	s.closed.Do(func() {
		close(s.done)
		for i := len(s.procs) - 1; i >= 0; i-- {
			if err := s.procs[i].stop(15 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
		if s.stopIs != nil {
			s.stopIs()
		}
		if st, err := LoadState(s.cfg.Dir); err == nil && st.PID == os.Getpid() || errors.Is(err, ErrNotRunning) {
			os.Remove(StatePath(s.cfg.Dir))
		}
	})
	return errors.Join(errs...)
}

// OIDC is the stack's OIDC issuer, for minting tokens in tests.
func (s *Stack) OIDC() *Issuer { return s.issuer }

// Exited returns a channel that receives the first component that exits.
func (s *Stack) Exited() <-chan string {
	ch := make(chan string, 1)
	for _, p := range s.procs {
		go func() {
			<-p.done
			select {
			case ch <- p.name:
			default:
			}
		}()
	}
	return ch
}

func (s *Stack) startIssuer(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.IssuerAddr)
	if err != nil {
		return fmt.Errorf("listen for the OIDC issuer on %s: %w", s.cfg.IssuerAddr, err)
	}
	is, err := NewIssuer(WithURL("http://" + ln.Addr().String()))
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: is.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.issuer, s.Issuer = is, is.URL()
	s.stopIs = func() { srv.Close() }
	return nil
}

// freeAddr resolves port 0 to a free port, for programs that cannot report
// the port they bound.
func freeAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (s *Stack) startRegistry(ctx context.Context) error {
	addr, err := freeAddr(s.cfg.RegistryAddr)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(s.cfg.Dir, "registry.yml")
	conf := fmt.Sprintf("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\nlog:\n  level: warn\n",
		filepath.Join(s.cfg.Dir, "registry"), addr) + registryNotifications(s.gatewayAddr, s.eventsToken)
	if err := os.WriteFile(cfgPath, append([]byte("# Written by the dev stack (hallmark dev up).\n"), conf...), 0o600); err != nil {
		return err
	}
	if err := s.spawn(ctx, "registry", "docker-registry", "serve", cfgPath); err != nil {
		return err
	}
	s.Registry = addr
	return s.waitHTTP(ctx, "registry", "http://"+addr+"/v2/")
}

// startBuildKit starts the stack's buildkitd workers, one after the
// other: the first at Dir/buildkitd.sock on BuildKitRoot, worker i at
// Dir/buildkitd-i.sock on BuildKitRoot-i.
func (s *Stack) startBuildKit(ctx context.Context, bin string) error {
	conf := fmt.Sprintf("[worker.oci]\n  enabled = true\n  snapshotter = \"overlayfs\"\n  gc = true\n  gckeepstorage = \"10GB\"\n[worker.containerd]\n  enabled = false\n[registry.%q]\n  http = true\n  insecure = true\n", s.Registry)
	cfgPath := filepath.Join(s.cfg.Dir, "buildkitd.toml")
	if err := os.WriteFile(cfgPath, append([]byte("# Written by the dev stack (hallmark dev up).\n"), conf...), 0o600); err != nil {
		return err
	}
	for i := range s.cfg.Workers {
		name, root := "buildkitd", s.cfg.BuildKitRoot
		if i > 0 {
			name, root = fmt.Sprintf("buildkitd-%d", i), fmt.Sprintf("%s-%d", s.cfg.BuildKitRoot, i)
		}
		sock := filepath.Join(s.cfg.Dir, name+".sock")
		os.Remove(sock)
		if err := s.spawn(ctx, name, bin, "--root", root, "--addr", "unix://"+sock,
			"--config", cfgPath, "--oci-worker-net=host", "--group", strconv.Itoa(os.Getgid())); err != nil {
			return err
		}
		addr := "unix://" + sock
		if err := s.waitFor(ctx, name, func(ctx context.Context) error { return pingBuildKit(ctx, addr) }); err != nil {
			return err
		}
		s.Workers = append(s.Workers, addr)
	}
	s.BuildKit = s.Workers[0]
	return nil
}

func (s *Stack) startGateway(ctx context.Context) error {
	addr := s.gatewayAddr
	admissionAddr, err := freeAddr("127.0.0.1:0")
	if err != nil {
		return err
	}
	tlsRoot, cert, key, err := s.servingTLS(filepath.Join(s.cfg.Dir, "pki"))
	if err != nil {
		return fmt.Errorf("make serving certificate: %w", err)
	}
	s.TLSRoot, s.ServingCert, s.ServingKey = tlsRoot, cert, key
	if err := s.writePolicy(); err != nil {
		return err
	}
	debs, err := DebCacheDir()
	if err != nil {
		return err
	}
	c := config.Default()
	c.Listen = addr
	c.BuildKit.Address = ""
	c.BuildKit.Workers = s.Workers
	c.Registries = []config.RegistryConfig{{Host: s.Registry, Insecure: true}}
	c.Auth = config.AuthConfig{
		Issuers: []config.Issuer{{URL: s.Issuer, Audience: Audience}},
		// Any subject pushes to the dev registry; the dev token's
		// subject administers (imports advisories), others do not.
		Rules: []config.Rule{
			{Issuer: s.Issuer, Repositories: []string{s.Registry + "/**"}},
			{Issuer: s.Issuer, Subject: config.DevAdminSubject, Admin: true},
		},
	}
	c.Signing = config.SigningConfig{
		TrustedRoot: s.TrustedRoot, SigningConfig: s.SigningConfig, TokenFile: s.SigningToken, BuilderID: BuilderID,
		Identity: config.IdentityConfig{Issuer: s.Issuer, SubjectAlternativeName: BuilderID},
	}
	c.RegistryEvents = config.RegistryEventsConfig{Registry: s.Registry, TokenFile: s.eventsTokenFile}
	c.Verify.Policies = []string{s.Policy}
	// The dev stack's build policy fails on critical findings.
	c.Policy.Vulnerabilities.FailOn = "critical"
	c.Admission.Listen = admissionAddr
	c.Admission.TLS = config.AdmissionTLSConfig{CertFile: cert, KeyFile: key}
	c.DataDir = filepath.Join(s.cfg.Dir, "gateway")
	if s.pg != nil {
		c.Store = s.pg.GatewayStore()
	}
	c.Log.Level = cmp.Or(s.cfg.LogLevel, "debug")
	c.Debug.PprofListen = s.cfg.PprofAddr
	c.Debian.CacheDir = debs
	// The web view, with sign-in through the dev issuer as any subject.
	c.UI = config.UIConfig{Enabled: true, Login: config.UILoginConfig{
		Issuer: s.Issuer, ClientID: Audience, RedirectURL: "http://" + addr + "/ui/callback",
		SessionTTL: config.Duration(config.DefaultUISessionTTL),
	}}
	if s.cfg.MaxContextBytes > 0 {
		c.Limits.MaxContextBytes = s.cfg.MaxContextBytes
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("gateway config: %w", err)
	}
	conf, err := c.Marshal()
	if err != nil {
		return fmt.Errorf("encode gateway config: %w", err)
	}
	cfgPath := filepath.Join(s.cfg.Dir, "hallmarkd.yaml")
	if err := os.WriteFile(cfgPath, append([]byte("# Written by the dev stack (hallmark dev up).\n"), conf...), 0o600); err != nil {
		return err
	}
	if err := s.spawn(ctx, "hallmarkd", s.cfg.Hallmarkd, "--config", cfgPath); err != nil {
		return err
	}
	s.Gateway = "http://" + addr
	s.UI = s.Gateway + "/ui/"
	s.Admission = "https://" + admissionAddr
	return s.waitHTTP(ctx, "hallmarkd", s.Gateway+"/metrics")
}

// PolicyName is the dev stack's verification policy.
const PolicyName = "gateway-built"

// writePolicy writes the dev stack's verification policy: images built and
// signed by this stack's gateway, with provenance and SBOM.
func (s *Stack) writePolicy() error {
	s.Policy = filepath.Join(s.cfg.Dir, "policy-gateway-built.yaml")
	doc := fmt.Sprintf(`# Written by the dev stack: only images built and attested by this stack's gateway.
apiVersion: hallmark.dev/v1
kind: Policy
metadata:
  name: %s
spec:
  signers:
    - issuer: %q
      subject: %q
  builders: [%q]
  requirePredicateTypes:
    - https://slsa.dev/provenance/v1
    - https://spdx.dev/Document
`, PolicyName, s.Issuer, BuilderID, BuilderID)
	return os.WriteFile(s.Policy, []byte(doc), 0o644)
}

// spawn starts a component with its output in logs/<name>.log. Components
// get SIGTERM if this process dies.
func (s *Stack) spawn(ctx context.Context, name, bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = componentProcAttr()
	p, err := startProc(name, cmd, filepath.Join(s.cfg.Dir, "logs", name+".log"), s.cfg.Progress)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	return nil
}

// startProc starts cmd with its output appended to logPath and reports it
// to progress.
func startProc(name string, cmd *exec.Cmd, logPath string, progress io.Writer) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	fmt.Fprintf(progress, "devstack: started %s (pid %d, log %s)\n", name, cmd.Process.Pid, logPath)
	return p, nil
}

func (p *proc) stop(grace time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(cmp.Or(p.stopSig, syscall.SIGTERM))
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s; killed", p.name, grace)
	}
}

func (s *Stack) waitHTTP(ctx context.Context, name, url string) error {
	return s.waitFor(ctx, name, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return nil
	})
}

// waitFor polls ready until it succeeds, the newest component (name)
// exits, or 60s pass.
func (s *Stack) waitFor(ctx context.Context, name string, ready func(context.Context) error) error {
	return waitReady(ctx, s.procs[len(s.procs)-1], ready)
}

// waitReady polls ready until it succeeds, p exits, or 60s pass. Its errors
// end with the tail of p's log.
func waitReady(ctx context.Context, p *proc, ready func(context.Context) error) error {
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := ready(rctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%w); the end of %s:\n%s", p.name, p.err, p.log, tail(p.log, 15))
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after 60s: %w; the end of %s:\n%s", p.name, err, p.log, tail(p.log, 15))
		}
	}
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return lastLines(string(data), n)
}
