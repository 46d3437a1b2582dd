package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hallmark-dev/hallmark/server/convert"
	"github.com/hallmark-dev/hallmark/verify"
	"github.com/hallmark-dev/hallmark/verify/policy"
)

// newPolicyCmd returns `hallmark policy`.
func newPolicyCmd() *cobra.Command { return newPolicyCommand(processVerifyEnv) }

func newPolicyCommand(envOf func(*cobra.Command) verifyEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check policy files and test them against images",
	}
	cmd.AddCommand(newPolicyCheckCommand(envOf), newPolicyTestCommand(envOf))
	return cmd
}

func newPolicyCheckCommand(envOf func(*cobra.Command) verifyEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check POLICY_FILE...",
		Short: "Validate policy files: schema, signers, CEL rules (with positions)",
		Long: `Load each policy file as the gateway would and print its name and hash,
or the first error with the field (and, for CEL rules, the line and column).

Exit status: 0 if every file is valid, 2 otherwise.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			env := envOf(cmd)
			var errs []error
			for _, f := range args {
				p, err := policy.LoadFile(f)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", f, err))
					continue
				}
				fmt.Fprintf(env.stdout, "%s: policy %q %s\n", f, p.Name(), p.Hash())
			}
			return verifyExit.finish(cmd.Context(), env.stderr, "policy check", errors.Join(errs...))
		},
	}
	verifyExit.usage(cmd, "policy check", cobra.MinimumNArgs(1))
	return cmd
}

func newPolicyTestCommand(envOf func(*cobra.Command) verifyEnv) *cobra.Command {
	var (
		trustedRoot string
		output      string
		allowHTTP   bool
	)
	cmd := &cobra.Command{
		Use:   "test POLICY_FILE IMAGE...",
		Short: "Evaluate a policy file against images, on this machine",
		Long: `Verify each IMAGE under POLICY_FILE exactly as the gateway would, without
the gateway: resolve it to a digest, verify its Sigstore bundles against the
policy's trusted root (or --trusted-root, $HALLMARK_TRUSTED_ROOT, the dev
stack's) and signers, and evaluate the rules. Prints one verdict per image.

Exit status: 0 if every image is allowed, 1 if any is denied, 2 if any
could not be evaluated.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			env := envOf(cmd)
			err := runPolicyTest(cmd.Context(), args[0], args[1:], trustedRoot, output, allowHTTP, env)
			return verifyExit.finish(cmd.Context(), env.stderr, "policy test", err)
		},
	}
	cmd.Flags().StringVar(&trustedRoot, "trusted-root", "", "Sigstore trusted_root.json for a policy that names none (default $HALLMARK_TRUSTED_ROOT, else the dev stack's)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&allowHTTP, "allow-http-registry", false, "speak plain HTTP to the images' registries (implied for localhost and loopback)")
	verifyExit.usage(cmd, "policy test", cobra.MinimumNArgs(2))
	return cmd
}

func runPolicyTest(ctx context.Context, file string, images []string, trustedRoot, output string, allowHTTP bool, env verifyEnv) error {
	if output != "text" && output != "json" {
		return fmt.Errorf("parse --output: unknown format %q, want text or json", output)
	}
	var denied, failed []string
	for _, image := range images {
		e, err := offlineEvaluator(file, trustedRoot, allowHTTP, image, env)
		if err != nil {
			return err
		}
		v, err := e.Verify(ctx, verify.Request{Ref: image})
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", image, err))
			continue
		}
		if err := writeVerdict(env.stdout, convert.Verdict(v), output); err != nil {
			return fmt.Errorf("write verdict: %w", err)
		}
		if !v.Allowed {
			denied = append(denied, strings.Join(append([]string{oneLine(v.Pinned) + ":"}, reasonLines("    ", v.Reasons)...), "\n"))
		}
	}
	switch {
	case len(failed) > 0:
		return fmt.Errorf("could not evaluate %d of %d images:\n  %s", len(failed), len(images), oneLine(fmt.Sprint(failed)))
	case len(denied) > 0:
		return notVerified{fmt.Sprintf("%d of %d images denied:\n  %s", len(denied), len(images), strings.Join(denied, "\n  "))}
	}
	return nil
}
