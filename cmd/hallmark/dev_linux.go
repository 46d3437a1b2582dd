package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hallmark-dev/hallmark/internal/devstack"
)

type devFlags struct {
	dir        string
	detach     bool
	noExample  bool
	kubernetes bool
	postgres   bool
	workers    int
}

func newDevCmd() *cobra.Command {
	f := &devFlags{}
	dev := &cobra.Command{
		Use:   "dev",
		Short: "Run the local dev stack: BuildKit, a registry, an OIDC issuer and hallmarkd",
	}
	dev.PersistentFlags().StringVar(&f.dir, "dir", "", "data directory of the stack (default ${XDG_CACHE_HOME:-~/.cache}/hallmark/dev)")
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the stack (building its tools once), build the example, and serve until Ctrl-C",
		Long: `Start the dev stack and build examples/hello through it.

Without --detach it serves until Ctrl-C. With --detach it leaves the stack
running in the background and prints export lines on stdout, so that
  eval "$(hallmark dev up --detach)"
sets HALLMARK_GATEWAY, HALLMARK_REGISTRY, HALLMARK_BASE_IMAGE and more.
Running it again reuses the stack that is already running, and imports the
files of HALLMARK_VULNDB into it; asking for a component it does not run
(--kubernetes, --postgres, more --workers) is an error: stop it first
(hallmark dev down).

With --workers N it runs N buildkitd processes (each with its own root
under DIR and its own socket) and the gateway places builds on them as on
any pool of workers (buildkit.workers): by a hash of the repository.

With --postgres it also runs PostgreSQL 15 (Debian's, as the postgres user
when run as root) on a free loopback port, its cluster kept in DIR/postgres
across restarts, and exports HALLMARK_POSTGRES_DSN. That DSN, which it also
prints, holds the generated password of the local dev superuser.

HALLMARK_VULNDB, a colon-separated list of OSV files and directories (as
hallmark vulndb import takes them), is imported into the gateway once it
has started, one line per file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return devUp(cmd.Context(), f) },
	}
	up.Flags().BoolVarP(&f.detach, "detach", "d", false, "run in the background and print export lines")
	up.Flags().BoolVar(&f.noExample, "no-example", false, "do not build and verify examples/hello")
	up.Flags().BoolVar(&f.kubernetes, "kubernetes", false, "also run etcd and a kube-apiserver whose admission webhook is the gateway's (exports HALLMARK_KUBECONFIG)")
	up.Flags().BoolVar(&f.postgres, "postgres", false, "also run PostgreSQL, data in DIR/postgres (exports HALLMARK_POSTGRES_DSN, which holds its dev password)")
	up.Flags().IntVar(&f.workers, "workers", 1, "how many buildkitd workers to run (the gateway's buildkit.workers)")
	serve := &cobra.Command{
		Use:    "serve",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   func(cmd *cobra.Command, _ []string) error { return devServe(cmd.Context(), f) },
	}
	serve.Flags().BoolVar(&f.kubernetes, "kubernetes", false, "also run Kubernetes")
	serve.Flags().BoolVar(&f.postgres, "postgres", false, "also run PostgreSQL")
	serve.Flags().IntVar(&f.workers, "workers", 1, "how many buildkitd workers to run")
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the stack started with dev up --detach",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return devDown(f) },
	}
	env := &cobra.Command{
		Use:   "env",
		Short: "Print export lines for the running stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := devstack.LoadState(f.stackDir())
			if err != nil {
				return err
			}
			printEnv(os.Stdout, st)
			return nil
		},
	}
	deps := &cobra.Command{
		Use:   "deps",
		Short: "Install the Debian packages the stack and tests need (runc, docker-registry, busybox-static, postgresql-15, chromium) if missing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return devstack.EnsureTestPackages(cmd.Context(), os.Stderr)
		},
	}
	dev.AddCommand(up, serve, down, env, deps, newDevTokenCmd(f))
	return dev
}

func newDevTokenCmd(f *devFlags) *cobra.Command {
	var subject string
	var claims []string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a CI token from the dev stack's OIDC issuer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := devstack.LoadState(f.stackDir())
			if err != nil {
				return err
			}
			m := map[string]string{}
			for _, c := range claims {
				k, v, ok := strings.Cut(c, "=")
				if !ok || k == "" {
					return fmt.Errorf("--claim %q is not name=value", c)
				}
				m[k] = v
			}
			tok, err := devstack.FetchToken(cmd.Context(), st.Issuer, subject, m)
			if err != nil {
				return err
			}
			fmt.Println(tok)
			return nil
		},
	}
	cmd.Flags().StringVar(&subject, "subject", "dev-ci", "the token's subject (sub claim)")
	cmd.Flags().StringArrayVar(&claims, "claim", nil, "an extra string claim, name=value (repeatable)")
	return cmd
}

func (f *devFlags) stackDir() string {
	if f.dir != "" {
		return f.dir
	}
	d, err := devstack.DefaultDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "hallmark-dev")
	}
	return d
}

func printEnv(w io.Writer, st devstack.State) {
	for _, kv := range st.Env() {
		fmt.Fprintf(w, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func startStack(ctx context.Context, f *devFlags, progress io.Writer) (*devstack.Stack, error) {
	repo, err := devstack.RepoRoot()
	if err != nil {
		return nil, err
	}
	hallmarkd, err := siblingBinary("hallmarkd")
	if err != nil {
		return nil, err
	}
	return devstack.Start(ctx, devstack.Config{
		Dir:          f.stackDir(),
		GatewayAddr:  devstack.DefaultGatewayAddr,
		RegistryAddr: devstack.DefaultRegistryAddr,
		IssuerAddr:   devstack.DefaultIssuerAddr,
		Hallmarkd:    hallmarkd,
		Repo:         repo,
		Progress:     progress,
		Kubernetes:   f.kubernetes,
		Postgres:     f.postgres,
		Workers:      f.workers,
	})
}

// maxDevWorkers bounds dev up --workers: each buildkitd is a daemon with
// its own cache.
const maxDevWorkers = 8

// missingComponents names what the flags ask for that the running stack
// st does not run.
func missingComponents(f *devFlags, st devstack.State) []string {
	var missing []string
	if f.kubernetes && st.Kubeconfig == "" {
		missing = append(missing, "Kubernetes (--kubernetes)")
	}
	if f.postgres && st.Postgres == "" {
		missing = append(missing, "PostgreSQL (--postgres)")
	}
	if have := st.WorkerCount(); f.workers > have {
		missing = append(missing, fmt.Sprintf("%d BuildKit workers (--workers %d; it runs %d)", f.workers, f.workers, have))
	}
	return missing
}

// siblingBinary finds a binary next to this one, then on PATH.
func siblingBinary(name string) (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("find %s: build it next to hallmark (make build puts both in bin/)", name)
}

func devUp(ctx context.Context, f *devFlags) error {
	if f.workers < 1 || f.workers > maxDevWorkers {
		return fmt.Errorf("--workers %d is not between 1 and %d", f.workers, maxDevWorkers)
	}
	if st, err := devstack.LoadState(f.stackDir()); err == nil {
		if missing := missingComponents(f, st); len(missing) > 0 {
			return fmt.Errorf("a dev stack is already running (pid %d) without %s: stop it first (hallmark dev down), then start it with the flags again",
				st.PID, strings.Join(missing, " and "))
		}
		fmt.Fprintf(os.Stderr, "hallmark: dev stack already running (pid %d); reusing it\n", st.PID)
		if err := importDevVulnDB(ctx, st, os.Getenv("HALLMARK_VULNDB"), os.Stderr); err != nil {
			return err
		}
		if !f.detach {
			printHowTo(os.Stderr, st, "")
			return nil
		}
		printEnv(os.Stdout, st)
		return nil
	}
	if f.detach {
		return devUpDetached(ctx, f)
	}
	stack, err := startStack(ctx, f, os.Stderr)
	if err != nil {
		return err
	}
	defer stack.Close()
	if err := importDevVulnDB(ctx, stack.State, os.Getenv("HALLMARK_VULNDB"), os.Stderr); err != nil {
		return err
	}
	example := ""
	if !f.noExample {
		if example, err = buildAndVerifyExample(ctx, stack.State); err != nil {
			return err
		}
		fmt.Println(example)
	}
	printHowTo(os.Stderr, stack.State, example)
	fmt.Fprintln(os.Stderr, "Serving until Ctrl-C.")
	select {
	case <-ctx.Done():
	case name := <-stack.Exited():
		return fmt.Errorf("%s exited; see %s", name, filepath.Join(stack.Dir, "logs", name+".log"))
	}
	fmt.Fprintln(os.Stderr, "hallmark: stopping the dev stack")
	return stack.Close()
}

// devUpDetached starts `hallmark dev serve` in its own session, relays its
// progress to stderr until the stack is ready, then prints export lines.
func devUpDetached(ctx context.Context, f *devFlags) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir := f.stackDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "logs", "supervisor.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(self, f.serveArgs(dir)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start dev stack supervisor: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tail, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer tail.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		_, _ = io.Copy(os.Stderr, tail)
		if st, err := devstack.LoadState(dir); err == nil && st.PID == cmd.Process.Pid {
			if err := importDevVulnDB(ctx, st, os.Getenv("HALLMARK_VULNDB"), os.Stderr); err != nil {
				return err
			}
			if !f.noExample {
				if _, err := buildAndVerifyExample(ctx, st); err != nil {
					return err
				}
			}
			printEnv(os.Stdout, st)
			return nil
		}
		select {
		case err := <-exited:
			_, _ = io.Copy(os.Stderr, tail)
			return fmt.Errorf("dev stack did not start (%w); see %s", err, logPath)
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// serveArgs are the arguments of the `dev serve` that `dev up --detach`
// starts: the same stack.
func (f *devFlags) serveArgs(dir string) []string {
	args := []string{"dev", "serve", "--dir", dir}
	if f.kubernetes {
		args = append(args, "--kubernetes")
	}
	if f.postgres {
		args = append(args, "--postgres")
	}
	if f.workers > 1 {
		args = append(args, "--workers", strconv.Itoa(f.workers))
	}
	return args
}

func devServe(ctx context.Context, f *devFlags) error {
	stack, err := startStack(ctx, f, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "devstack: ready: gateway %s, registry %s\n", stack.Gateway, stack.Registry)
	select {
	case <-ctx.Done():
	case name := <-stack.Exited():
		stack.Close()
		return fmt.Errorf("%s exited; stopping the stack", name)
	}
	return stack.Close()
}

func devDown(f *devFlags) error {
	st, err := devstack.LoadState(f.stackDir())
	if errors.Is(err, devstack.ErrNotRunning) {
		fmt.Fprintln(os.Stderr, "hallmark: no dev stack is running")
		return nil
	}
	if err != nil {
		return err
	}
	p, err := os.FindProcess(st.PID)
	if err != nil {
		return err
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop dev stack (pid %d): %w", st.PID, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := devstack.LoadState(f.stackDir()); errors.Is(err, devstack.ErrNotRunning) {
			fmt.Fprintln(os.Stderr, "hallmark: dev stack stopped")
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("dev stack (pid %d) still running after 60s", st.PID)
}

// buildAndVerifyExample builds examples/hello through the gateway, then
// has the gateway verify it under its default policy, printing the verdict.
func buildAndVerifyExample(ctx context.Context, st devstack.State) (string, error) {
	ref, err := buildExample(ctx, st)
	if err != nil {
		return "", err
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, self, "verify", "--gateway", st.Gateway, ref)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = append(os.Environ(), "HALLMARK_DEV_DIR="+st.Dir)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("verify the example: %w", err)
	}
	return ref, nil
}

// buildExample builds examples/hello through the gateway with the real CLI
// and returns the pinned image reference it printed.
func buildExample(ctx context.Context, st devstack.State) (string, error) {
	repo, err := devstack.RepoRoot()
	if err != nil {
		return "", err
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, self, "build",
		"--gateway", st.Gateway,
		"-t", st.Registry+"/examples/hello:dev",
		"--build-arg", "GOLANG_IMAGE="+st.GolangImage,
		"--build-arg", "BASE_IMAGE="+st.BaseImage,
		"--progress", "plain",
		filepath.Join(repo, "examples", "hello"))
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), "HALLMARK_DEV_DIR="+st.Dir)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build the example: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func printHowTo(w io.Writer, st devstack.State, example string) {
	fmt.Fprintf(w, `
Hallmark dev stack is up.
  gateway   %s   (grpcurl -plaintext %s list)
  web view  %s   (sign in as any subject through the dev issuer)
  registry  %s
  base      %s
  golang    %s
`, st.Gateway, strings.TrimPrefix(st.Gateway, "http://"), st.UI, st.Registry, st.BaseImage, st.GolangImage)
	if len(st.Workers) > 1 {
		fmt.Fprintf(w, "  workers   %s\n", strings.Join(st.Workers, " "))
	}
	if st.Postgres != "" {
		fmt.Fprintf(w, "  postgres  %s   (psql \"$HALLMARK_POSTGRES_DSN\"; local dev password)\n", st.Postgres)
	}
	if example != "" {
		fmt.Fprintf(w, "  example   %s\n", example)
	}
	fmt.Fprintf(w, `
Build through it from another shell:
  eval "$(hallmark dev env)"
  hallmark build -t $HALLMARK_REGISTRY/me/hello:v1 \
    --build-arg GOLANG_IMAGE=$HALLMARK_GOLANG_IMAGE --build-arg BASE_IMAGE=$HALLMARK_BASE_IMAGE examples/hello
  hallmark verify $HALLMARK_REGISTRY/examples/hello:dev    # may it run? (the gateway's policy)
  hallmark verify --offline --policy $HALLMARK_POLICY $HALLMARK_REGISTRY/examples/hello:dev
  hallmark inspect $HALLMARK_REGISTRY/examples/hello:dev   # who built it, from what; verified
  hallmark sbom $HALLMARK_REGISTRY/examples/hello:dev      # its verified SPDX SBOM
  hallmark images --package openssl; hallmark audit       # what the gateway recorded
  hallmark vulndb import Go-all.zip   # OSV advisories (osv.dev's all.zip); builds then fail on critical findings
  hallmark vulns $HALLMARK_REGISTRY/examples/hello:dev     # its findings now, re-matched when advisories change
  hallmark dev token --subject me   # a CI token for direct API calls
`)
	if st.Kubeconfig != "" {
		fmt.Fprintf(w, `
Kubernetes (admission webhook %s/admission/validate, namespaces labelled %s=enabled):
  export KUBECONFIG=$HALLMARK_KUBECONFIG; alias kubectl=$HALLMARK_KUBECTL
  kubectl create namespace demo && kubectl label namespace demo %s=enabled
  kubectl -n demo run hello --image %s/examples/hello:dev   # hygiene rules apply: see docs/admission.md
`, st.Admission, devstack.VerifyLabel, devstack.VerifyLabel, st.Registry)
	}
	fmt.Fprintln(w)
}
