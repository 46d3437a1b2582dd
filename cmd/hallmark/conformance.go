package main

import (
	"context"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/spf13/cobra"

	"github.com/hallmark-dev/hallmark"
	"github.com/hallmark-dev/hallmark/verify"
)

// publicGoodTrustedRoot is a snapshot of the trusted root of Sigstore's
// public-good instance, used when --trusted-root is not given: TUF cannot be
// reached from where this runs, so the snapshot is not refreshed. It is the
// TUF target trusted_root.json as of 2025-10-06 (vendored by
// github.com/moby/policy-helpers, roots/tuf-root), newer than the copy in the
// conformance suite's test data. Keys it lacks (a newer Rekor or TSA key,
// say) make newer bundles fail; pass --trusted-root then.
//
//go:embed public_good_trusted_root.json
var publicGoodTrustedRoot []byte

// maxConformanceFile bounds the files the conformance commands read:
// artifacts, statements, keys, trusted roots and signing configs.
const maxConformanceFile = 64 << 20

// errStaging is the answer to --staging without explicit trust material.
var errStaging = errors.New("staging is not supported: pass --trusted-root (and, to sign, --signing-config) for the staging instance")

// newConformanceCmd returns `hallmark conformance`, the client shim of the
// sigstore-conformance suite. It is hidden: it exists for the suite, not
// for people.
func newConformanceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Sigstore client conformance shim (for the sigstore-conformance suite)",
		Long: `Commands that follow the CLI protocol of the sigstore-conformance suite
(https://github.com/sigstore/sigstore-conformance, docs/cli_protocol.md), so
that the suite can test Hallmark's Sigstore signing and verification:

  hallmark conformance sign-bundle [--staging] [--in-toto] --identity-token TOKEN --bundle FILE [--trusted-root FILE] [--signing-config FILE] FILE
  hallmark conformance verify-bundle [--staging] --bundle FILE --certificate-identity IDENTITY --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST
  hallmark conformance verify-bundle [--staging] --bundle FILE --key PATH_TO_KEY [--trusted-root FILE] FILE_OR_DIGEST

They exit 0 on success, 1 when a bundle does not verify or signing failed,
and 2 for bad arguments or unreadable input, with a one-line error on
stderr. See docs/conformance.md.`,
		Hidden:        true,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(newConformanceVerifyCmd(), newConformanceSignCmd())
	return cmd
}

// conformanceVerifyFlags are the flags of verify-bundle.
type conformanceVerifyFlags struct {
	staging     bool
	bundle      string
	identity    string
	issuer      string
	key         string
	trustedRoot string
}

func newConformanceVerifyCmd() *cobra.Command {
	f := &conformanceVerifyFlags{}
	cmd := &cobra.Command{
		Use:   "verify-bundle [--staging] --bundle FILE (--certificate-identity IDENTITY --certificate-oidc-issuer URL | --key PATH_TO_KEY) [--trusted-root FILE] FILE_OR_DIGEST",
		Short: "Verify a Sigstore bundle for a file or a sha256 digest",
		Long: `Verify the Sigstore bundle --bundle for FILE_OR_DIGEST, signed either with a
Fulcio certificate for exactly --certificate-identity (subject alternative
name) and --certificate-oidc-issuer, or with the PEM public key --key.

FILE_OR_DIGEST is a digest if it starts with "sha256:", is followed by 64
hexadecimal digits and is not a path on disk; otherwise it is the path of
the artifact. For a DSSE bundle, the artifact must be a subject of its
in-toto statement.

Without --trusted-root the bundle is verified against a built-in snapshot of
the public-good Sigstore trusted root.`,
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.staging, "staging", false, "use Sigstore's staging instance (needs --trusted-root)")
	fl.StringVar(&f.bundle, "bundle", "", "the Sigstore bundle to verify")
	fl.StringVar(&f.identity, "certificate-identity", "", "the signing certificate's subject alternative name, exactly")
	fl.StringVar(&f.issuer, "certificate-oidc-issuer", "", "the signing certificate's OIDC issuer, exactly")
	fl.StringVar(&f.key, "key", "", "PEM public key the bundle is signed with (instead of a certificate identity)")
	fl.StringVar(&f.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json (default: the built-in public-good snapshot)")
	return conformanceCommand(cmd, "FILE_OR_DIGEST", func(ctx context.Context, fileOrDigest string) error {
		return runConformanceVerify(ctx, f, fileOrDigest)
	})
}

func runConformanceVerify(ctx context.Context, f *conformanceVerifyFlags, fileOrDigest string) error {
	switch {
	case f.bundle == "":
		return usageError("--bundle is required")
	case f.key != "" && (f.identity != "" || f.issuer != ""):
		return usageError("--key excludes --certificate-identity and --certificate-oidc-issuer")
	case f.key == "" && (f.identity == "" || f.issuer == ""):
		return usageError("give --certificate-identity and --certificate-oidc-issuer, or --key")
	}
	tr, err := conformanceTrustedRoot(f.trustedRoot, f.staging)
	if err != nil {
		return err
	}
	var signer verify.BundleOption
	if f.key != "" {
		pem, err := readConformanceFile(f.key, "key")
		if err != nil {
			return err
		}
		pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem)
		if err != nil {
			return fmt.Errorf("read key %s: %w", f.key, err)
		}
		signer = verify.WithBundleKey(pub)
	} else {
		signer = verify.WithIdentities(verify.Identity{Issuer: f.issuer, SubjectAlternativeName: f.identity})
	}
	artifact, err := conformanceArtifact(fileOrDigest)
	if err != nil {
		return err
	}
	data, err := readConformanceFile(f.bundle, "bundle")
	if err != nil {
		return err
	}
	if _, err := verify.VerifyBundle(ctx, tr, data, artifact, signer); err != nil {
		var be *verify.BundleError
		if errors.As(err, &be) {
			return notVerified{msg: fmt.Sprintf("%s does not verify: %s", f.bundle, be.Reason)}
		}
		return err
	}
	return nil
}

// conformanceArtifact reads FILE_OR_DIGEST as the protocol says: a digest
// if it is "sha256:" and 64 hex digits and no such path exists, else a file.
func conformanceArtifact(arg string) (verify.Artifact, error) {
	if d, ok := digestArgument(arg); ok {
		return verify.ArtifactDigest(d), nil
	}
	data, err := readConformanceFile(arg, "artifact")
	if err != nil {
		return verify.Artifact{}, err
	}
	return verify.ArtifactBytes(data), nil
}

func digestArgument(arg string) (hallmark.Digest, bool) {
	h, ok := strings.CutPrefix(arg, "sha256:")
	if !ok || len(h) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", false
	}
	if _, err := os.Lstat(arg); !errors.Is(err, fs.ErrNotExist) {
		return "", false // a path on disk (or one that cannot be ruled out)
	}
	return hallmark.Digest("sha256:" + strings.ToLower(h)), true
}

// conformanceTrustedRoot reads the trusted root at path, or returns the
// public-good snapshot when path is empty (and not staging).
func conformanceTrustedRoot(path string, staging bool) (*root.TrustedRoot, error) {
	if path == "" {
		if staging {
			return nil, errStaging
		}
		tr, err := root.NewTrustedRootFromJSON(publicGoodTrustedRoot)
		if err != nil {
			return nil, fmt.Errorf("read built-in public-good trusted root: %w", err)
		}
		return tr, nil
	}
	data, err := readConformanceFile(path, "trusted root")
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("read trusted root %s: %w", path, err)
	}
	return tr, nil
}

// readConformanceFile reads the file at path, what it is, up to
// maxConformanceFile bytes.
func readConformanceFile(path, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConformanceFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	if len(data) > maxConformanceFile {
		return nil, fmt.Errorf("read %s %s: %w: over %d bytes", what, path, hallmark.ErrTooLarge, maxConformanceFile)
	}
	return data, nil
}

// conformanceCommand completes cmd, a conformance command of exactly one
// argument (described by arg): its RunE calls run with the argument and ends
// through conformanceExit (see commandExit.finish), and flag errors and a
// wrong number of arguments end it like any other bad argument, with one
// line on stderr.
func conformanceCommand(cmd *cobra.Command, arg string, run func(ctx context.Context, arg string) error) *cobra.Command {
	name := "conformance " + cmd.Name()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.RunE = func(c *cobra.Command, args []string) error {
		return conformanceExit.finish(c.Context(), c.ErrOrStderr(), name, run(c.Context(), args[0]))
	}
	conformanceExit.usage(cmd, name, exactlyOne(arg))
	return cmd
}
