package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/internal/devstack"
	"github.com/hallmark-dev/hallmark/registry"
	"github.com/hallmark-dev/hallmark/verify"
)

// verifyFlags are the flags of the commands that verify attestations: what
// to trust, whom to trust, and how to print.
type verifyFlags struct {
	trustedRoot    string
	identity       string
	identityRegexp string
	issuer         string
	issuerRegexp   string
	allowHTTP      bool
	platform       string
	output         string
	outputs        []string // accepted --output values
}

// verifyEnv is what a verifying command touches outside its flags; tests
// replace it.
type verifyEnv struct {
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
	stack     stackLoader
	// registry are extra registry client options, after the defaults.
	registry []registry.Option
}

func (e verifyEnv) getenv(k string) string {
	v, _ := e.lookupEnv(k)
	return v
}

// processVerifyEnv is the real environment of cmd.
func processVerifyEnv(cmd *cobra.Command) verifyEnv {
	return verifyEnv{
		stdout:    cmd.OutOrStdout(),
		stderr:    cmd.ErrOrStderr(),
		lookupEnv: os.LookupEnv,
		stack:     loadDevStack,
	}
}

// imageCommand completes cmd, a command of exactly one IMAGE that ends
// through verifyExit (verify, inspect, sbom): its RunE calls run with the
// image and envOf's environment, and a bad flag or argument count is a
// usage error.
func imageCommand(cmd *cobra.Command, envOf func(*cobra.Command) verifyEnv, run func(ctx context.Context, image string, env verifyEnv) error) *cobra.Command {
	name := cmd.Name()
	cmd.RunE = func(c *cobra.Command, args []string) error {
		env := envOf(c)
		return verifyExit.finish(c.Context(), env.stderr, name, run(c.Context(), args[0], env))
	}
	verifyExit.usage(cmd, name, exactlyOne("IMAGE"))
	return cmd
}

// register adds the flags to fl; outputs are the --output values, the
// first being the default.
func (f *verifyFlags) register(fl *pflag.FlagSet, outputs ...string) {
	f.outputs = outputs
	fl.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json to verify against (default $HALLMARK_TRUSTED_ROOT, else the dev stack's)")
	fl.StringVar(&f.identity, "certificate-identity", "", "signer's certificate subject alternative name, exactly (default $HALLMARK_SIGNER_IDENTITY, else the dev gateway's builder id)")
	fl.StringVar(&f.identityRegexp, "certificate-identity-regexp", "", "signer's certificate subject alternative name, as a regular expression matching all of it")
	fl.StringVar(&f.issuer, "certificate-oidc-issuer", "", "signer's certificate OIDC issuer, exactly (default $HALLMARK_SIGNER_ISSUER, else the dev stack's issuer)")
	fl.StringVar(&f.issuerRegexp, "certificate-oidc-issuer-regexp", "", "signer's certificate OIDC issuer, as a regular expression matching all of it")
	fl.BoolVar(&f.allowHTTP, "allow-http-registry", false, "speak plain HTTP to the image's registry (implied for localhost and loopback addresses)")
	fl.StringVar(&f.platform, "platform", "", "for a multi-platform image, the platform whose manifest to read, e.g. linux/arm64; for an image, the platform it must be")
	fl.StringVarP(&f.output, "output", "o", outputs[0], "output format: "+strings.Join(outputs, " or "))
}

// verifyConfig is what the flags, the environment and the dev stack say.
type verifyConfig struct {
	trustedRoot string
	identity    verify.Identity
}

// resolve applies the defaults: each setting comes from its flag, else its
// environment variable, else the running dev stack (read only if needed).
func (f *verifyFlags) resolve(env verifyEnv) (verifyConfig, error) {
	fromStack := newStackValue(env)
	var c verifyConfig
	var err error
	if !slices.Contains(f.outputs, f.output) {
		return c, fmt.Errorf("parse --output: unknown format %q, want %s", f.output, strings.Join(f.outputs, " or "))
	}
	if err := hallmark.ValidatePlatform(f.platform); err != nil {
		return c, fmt.Errorf("parse --platform: %w", err)
	}
	if c.trustedRoot, err = trustedRootPath(f.trustedRoot, env, fromStack); err != nil {
		return c, err
	}
	c.identity = verify.Identity{
		SubjectAlternativeName: f.identity, SANRegexp: f.identityRegexp,
		Issuer: f.issuer, IssuerRegexp: f.issuerRegexp,
	}
	if c.identity.SubjectAlternativeName == "" && c.identity.SANRegexp == "" {
		c.identity.SubjectAlternativeName = env.getenv("HALLMARK_SIGNER_IDENTITY")
		if c.identity.SubjectAlternativeName == "" {
			if c.identity.SubjectAlternativeName, err = fromStack("signer identity", "--certificate-identity", "HALLMARK_SIGNER_IDENTITY", func(devstack.State) string { return devstack.BuilderID }); err != nil {
				return c, err
			}
		}
	}
	if c.identity.Issuer == "" && c.identity.IssuerRegexp == "" {
		c.identity.Issuer = env.getenv("HALLMARK_SIGNER_ISSUER")
		if c.identity.Issuer == "" {
			if c.identity.Issuer, err = fromStack("signer issuer", "--certificate-oidc-issuer", "HALLMARK_SIGNER_ISSUER", func(s devstack.State) string { return s.Issuer }); err != nil {
				return c, err
			}
		}
	}
	return c, nil
}

// stackValue reads a setting from the running dev stack, with a hint
// naming the flag and environment variable that would set it.
type stackValue func(what, flag, envVar string, get func(devstack.State) string) (string, error)

// newStackValue returns a stackValue that reads the dev stack's state once,
// when first needed.
func newStackValue(env verifyEnv) stackValue {
	var (
		st      devstack.State
		stErr   error
		stFound bool
	)
	return func(what, flag, envVar string, get func(devstack.State) string) (string, error) {
		if !stFound {
			st, stErr = env.stack()
			stFound = true
		}
		if stErr == nil && get(st) != "" {
			return get(st), nil
		}
		hint := fmt.Sprintf("pass %s, set %s, or start a dev stack with `hallmark dev up`", flag, envVar)
		if stErr != nil && !errors.Is(stErr, devstack.ErrNotRunning) {
			return "", fmt.Errorf("find %s: %w (or %s)", what, stErr, hint)
		}
		return "", fmt.Errorf("find %s: %s", what, hint)
	}
}

// trustedRootPath is flag, else $HALLMARK_TRUSTED_ROOT, else the dev
// stack's trusted root.
func trustedRootPath(flag string, env verifyEnv, fromStack stackValue) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if p := env.getenv("HALLMARK_TRUSTED_ROOT"); p != "" {
		return p, nil
	}
	return fromStack("trusted root", "--trusted-root FILE", "HALLMARK_TRUSTED_ROOT", func(s devstack.State) string { return s.TrustedRoot })
}

// newVerifier returns a Verifier for image configured by the flags.
func (f *verifyFlags) newVerifier(image string, env verifyEnv) (*verify.Verifier, error) {
	c, err := f.resolve(env)
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRootFromPath(c.trustedRoot)
	if err != nil {
		return nil, fmt.Errorf("read trusted root %s: %w", c.trustedRoot, err)
	}
	rc, err := registryClient(image, f.allowHTTP, env)
	if err != nil {
		return nil, err
	}
	v, err := verify.New(tr, verify.WithRegistry(rc), verify.WithIdentities(c.identity))
	if err != nil {
		return nil, err
	}
	return v, nil
}

// resolveImage resolves image to a digest, once, and selects the manifest
// of --platform (verify.Verifier.Resolve); the Verifier returned verifies
// its attestations. Its errors mean the image could not be evaluated.
func (f *verifyFlags) resolveImage(ctx context.Context, image string, env verifyEnv) (*verify.Verifier, *verify.Resolved, error) {
	v, err := f.newVerifier(image, env)
	if err != nil {
		return nil, nil, err
	}
	r, err := v.Resolve(ctx, image, f.platform)
	if err != nil {
		return nil, nil, err
	}
	return v, r, nil
}

// registryClient is the client for reading image's registry: the docker
// keychain, and plain HTTP if allowHTTP.
func registryClient(image string, allowHTTP bool, env verifyEnv) (*registry.Client, error) {
	opts := []registry.Option{registry.WithKeychain(authn.DefaultKeychain), registry.WithUserAgent("hallmark")}
	if ref, err := name.ParseReference(image); err == nil && allowHTTP {
		opts = append(opts, registry.WithInsecureHosts(ref.Context().RegistryStr()))
	}
	return registry.New(append(opts, env.registry...)...)
}

// whyNone explains why res has no verified attestation of predicateType.
func whyNone(res *verify.ImageResult, predicateType string) string {
	if len(res.Attestations) == 0 {
		return fmt.Sprintf("no verified %s for %s: the image has no attestations (no Sigstore bundle referrers)", predicateType, res.Pinned)
	}
	var reasons []string
	for _, a := range res.Attestations {
		switch {
		case a.Verified:
			reasons = append(reasons, oneLine(fmt.Sprintf("%s verified, but is not %s", a.PredicateType, predicateType)))
		case a.PredicateType != "":
			reasons = append(reasons, oneLine(fmt.Sprintf("%s (%s): %s", a.PredicateType, a.Referrer.Digest, a.Failure)))
		default:
			reasons = append(reasons, oneLine(fmt.Sprintf("%s: %s", a.Referrer.Digest, a.Failure)))
		}
	}
	if len(reasons) > 5 {
		reasons = append(reasons[:5], fmt.Sprintf("and %d more", len(reasons)-5))
	}
	return fmt.Sprintf("no verified %s for %s: %d attestation(s), none verified as one:\n  %s",
		predicateType, res.Pinned, len(res.Attestations), strings.Join(reasons, "\n  "))
}

// printable replaces control characters (terminal escapes in registry
// data, say) except newlines and tabs.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// oneLine is printable for a single line or table cell: newlines and tabs
// become spaces, so that data cannot forge lines or columns.
func oneLine(s string) string {
	return printable(strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s))
}
