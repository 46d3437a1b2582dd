package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hallmark-dev/hallmark"
	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
	"github.com/hallmark-dev/hallmark/server/convert"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// verifyCmdFlags are the flags of `hallmark verify`.
type verifyCmdFlags struct {
	gateway     string
	tokenFile   string
	offline     bool
	trustedRoot string
	policy      string
	platform    string
	vsaFile     string
	output      string
	allowHTTP   bool
}

// newVerifyCmd returns `hallmark verify`.
func newVerifyCmd() *cobra.Command { return newVerifyCommand(processVerifyEnv) }

func newVerifyCommand(envOf func(*cobra.Command) verifyEnv) *cobra.Command {
	f := &verifyCmdFlags{}
	cmd := &cobra.Command{
		Use:   "verify [--gateway URL | --offline --trusted-root FILE] [--policy NAME|FILE] IMAGE",
		Short: "Decide whether an image may run under a policy, and say why",
		Long: `Resolve IMAGE to a digest once, verify every Sigstore bundle attached to it
against the policy's trusted root and signers, check that each statement is
about that digest, and evaluate the policy's rules.

By default the gateway decides (VerifyService.Verify): --gateway, else
$HALLMARK_GATEWAY, else the running dev stack; --policy names one of its
policies (default: the gateway's default). With --offline this machine
decides: --policy is then a policy file, and the trusted root is
--trusted-root, else $HALLMARK_TRUSTED_ROOT, else the dev stack's.

For a multi-platform image (an index), --platform os/arch[/variant] verifies
that platform's manifest: its own attestations and image config, plus the
index's own provenance. Without --platform every platform must pass, as in
admission, where the node's platform is unknown.

--vsa FILE asks the gateway for a signed SLSA Verification Summary
Attestation and writes its Sigstore bundle to FILE when the image is allowed.

Exit status: 0 allowed, 1 denied (the reasons are printed), 2 could not
evaluate (registry or gateway unreachable, image missing, bad flags).`,
	}
	fl := cmd.Flags()
	fl.StringVar(&f.gateway, "gateway", "", "gateway base URL (default $HALLMARK_GATEWAY, else the dev stack's)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the OIDC token for the gateway, re-read per call (default $HALLMARK_TOKEN, else a dev stack token)")
	fl.BoolVar(&f.offline, "offline", false, "verify on this machine instead of asking the gateway; --policy is then a file")
	fl.StringVar(&f.trustedRoot, "trusted-root", "", "with --offline: Sigstore trusted_root.json for policies that name none (default $HALLMARK_TRUSTED_ROOT, else the dev stack's)")
	fl.StringVar(&f.policy, "policy", "", "policy name (gateway) or policy file (--offline)")
	fl.StringVar(&f.platform, "platform", "", "for a multi-platform image, the platform to verify, e.g. linux/arm64 (default: every platform must pass)")
	fl.StringVar(&f.vsaFile, "vsa", "", "ask for a signed Verification Summary Attestation and write its bundle to this file (gateway only)")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	fl.BoolVar(&f.allowHTTP, "allow-http-registry", false, "with --offline: speak plain HTTP to the image's registry (implied for localhost and loopback)")
	return imageCommand(cmd, envOf, func(ctx context.Context, image string, env verifyEnv) error {
		return runVerify(ctx, f, image, env)
	})
}

func runVerify(ctx context.Context, f *verifyCmdFlags, image string, env verifyEnv) error {
	if f.output != "text" && f.output != "json" {
		return fmt.Errorf("parse --output: unknown format %q, want text or json", f.output)
	}
	if err := hallmark.ValidatePlatform(f.platform); err != nil {
		return fmt.Errorf("parse --platform: %w", err)
	}
	var (
		resp *hallmarkv1.VerifyResponse
		err  error
	)
	if f.offline {
		if f.vsaFile != "" {
			return errors.New("--vsa needs the gateway: only it signs verification summaries")
		}
		resp, err = verifyOffline(ctx, f, image, env)
	} else {
		if f.trustedRoot != "" || f.allowHTTP {
			return errors.New("--trusted-root and --allow-http-registry apply to --offline only; the gateway uses its own")
		}
		resp, err = verifyAtGateway(ctx, f, image, env)
	}
	if err != nil {
		return err
	}
	if err := writeVerdict(env.stdout, resp, f.output); err != nil {
		return fmt.Errorf("write verdict: %w", err)
	}
	if f.vsaFile != "" && len(resp.GetVsaBundle()) > 0 {
		if err := os.WriteFile(f.vsaFile, resp.GetVsaBundle(), 0o644); err != nil {
			return fmt.Errorf("write VSA: %w", err)
		}
	}
	if !resp.GetAllowed() {
		return notVerified{fmt.Sprintf("%s denied by policy %q:\n  %s", oneLine(resp.GetPinned()), oneLine(resp.GetPolicy()), strings.Join(reasonLines("", resp.GetReasons()), "\n  "))}
	}
	return nil
}

// verifyAtGateway asks the gateway, with HTTP GET unless a VSA is wanted
// (signing one is not free of side effects).
func verifyAtGateway(ctx context.Context, f *verifyCmdFlags, image string, env verifyEnv) (*hallmarkv1.VerifyResponse, error) {
	gw, err := resolveGateway(f.gateway, env.getenv, env.stack)
	if err != nil {
		return nil, err
	}
	tok, err := newTokenSource(f.tokenFile, env.getenv, env.stack)(ctx)
	if err != nil {
		return nil, err
	}
	var opts []connect.ClientOption
	if f.vsaFile == "" {
		opts = append(opts, connect.WithHTTPGet())
	}
	cl := hallmarkv1connect.NewVerifyServiceClient(newHTTPClient(gw), strings.TrimSuffix(gw, "/"), opts...)
	req := connect.NewRequest(&hallmarkv1.VerifyRequest{Image: image, Policy: f.policy, Vsa: f.vsaFile != "", Platform: f.platform})
	req.Header().Set("Authorization", bearer(tok))
	resp, err := cl.Verify(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("ask gateway %s: %w", gw, err)
	}
	return resp.Msg, nil
}

// verifyOffline decides on this machine, with the policy file.
func verifyOffline(ctx context.Context, f *verifyCmdFlags, image string, env verifyEnv) (*hallmarkv1.VerifyResponse, error) {
	if f.policy == "" {
		return nil, errors.New("--offline needs --policy FILE (see examples/policies)")
	}
	e, err := offlineEvaluator(f.policy, f.trustedRoot, f.allowHTTP, image, env)
	if err != nil {
		return nil, err
	}
	v, err := e.Verify(ctx, verify.Request{Ref: image, Platform: f.platform})
	if err != nil {
		return nil, err
	}
	return convert.Verdict(v), nil
}

// offlineEvaluator loads the policy file and the trusted root (unless the
// policy names its own) for verifying images on this machine.
func offlineEvaluator(policyFile, trustedRoot string, allowHTTP bool, image string, env verifyEnv) (*verify.Evaluator, error) {
	p, err := policy.LoadFile(policyFile)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	var trust *verify.Trust
	if p.TrustedRootPath() == "" {
		path, err := trustedRootPath(trustedRoot, env, newStackValue(env))
		if err != nil {
			return nil, err
		}
		if trust, err = verify.LoadTrust(path); err != nil {
			return nil, err
		}
	}
	rc, err := registryClient(image, allowHTTP, env)
	if err != nil {
		return nil, err
	}
	// The verdict is printed, nothing more: the image config is read only
	// for the rules that need it.
	return verify.NewEvaluator(trust, []*policy.Policy{p}, verify.WithRegistry(rc), verify.WithVerdictCacheSize(0), verify.WithConfigOnlyForRules())
}

// reasonLines are the reasons of a denial, each made one line and
// prefixed with indent.
func reasonLines(indent string, reasons []string) []string {
	out := make([]string, len(reasons))
	for i, r := range reasons {
		out[i] = indent + oneLine(r)
	}
	return out
}

// writeVerdict prints resp as text or as the API's JSON: the one way verify
// and policy test show a verdict.
func writeVerdict(w io.Writer, resp *hallmarkv1.VerifyResponse, format string) error {
	if format == "json" {
		data, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(resp)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	}
	verdict := "DENIED"
	if resp.GetAllowed() {
		verdict = "ALLOWED"
	}
	cached := ""
	if resp.GetCached() {
		cached = ", cached"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n  policy %s (%s%s)\n", verdict, oneLine(resp.GetPinned()), oneLine(resp.GetPolicy()), resp.GetPolicyHash(), cached)
	heading := ""
	if len(resp.GetPlatforms()) > 0 {
		heading = "index "
	}
	writeChecks(&b, "", heading, resp.GetAttestations(), resp.GetRules())
	for _, p := range resp.GetPlatforms() {
		mark := "✗"
		if p.GetAllowed() {
			mark = "✓"
		}
		fmt.Fprintf(&b, "platform %s %s %s\n", mark, oneLine(p.GetPlatform()), oneLine(p.GetPinned()))
		writeChecks(&b, "  ", "", p.GetAttestations(), p.GetRules())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeChecks prints attestations and rules, each heading indented and
// prefixed.
func writeChecks(b *strings.Builder, indent, prefix string, atts []*hallmarkv1.CheckedAttestation, rules []*hallmarkv1.RuleResult) {
	fmt.Fprintf(b, "%s%sattestations:\n", indent, prefix)
	if len(atts) == 0 {
		fmt.Fprintf(b, "%s  none\n", indent)
	}
	for _, a := range atts {
		if a.GetVerified() {
			when := ""
			if t := utcTime(a.GetTimestamp()); t != "" {
				when = " at " + t
			}
			fmt.Fprintf(b, "%s  ✓ %s signed by %s (%s), log index %d%s\n", indent, oneLine(a.GetPredicateType()),
				oneLine(a.GetSignerIdentity()), oneLine(a.GetSignerIssuer()), a.GetLogIndex(), when)
		} else {
			fmt.Fprintf(b, "%s  ✗ %s (%s): %s\n", indent, oneLine(a.GetPredicateType()), a.GetReferrerDigest(), oneLine(a.GetFailure()))
		}
	}
	fmt.Fprintf(b, "%s%srules:\n", indent, prefix)
	for _, r := range rules {
		if r.GetPassed() {
			fmt.Fprintf(b, "%s  ✓ %s\n", indent, oneLine(r.GetName()))
		} else {
			fmt.Fprintf(b, "%s  ✗ %s: %s\n", indent, oneLine(r.GetName()), oneLine(r.GetMessage()))
		}
	}
}
