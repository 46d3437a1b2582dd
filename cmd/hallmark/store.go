package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// maxImportBatch is the most images one StoreService.ImportImages call
// takes; the CLI sends more in several calls.
const maxImportBatch = 100

// newStoreCmd returns `hallmark store`.
func newStoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "store",
		Short:         "Write to the gateway's store what it did not record itself",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(newStoreImportCmd())
	return cmd
}

// storeImportFlags are the flags of `hallmark store import`.
type storeImportFlags struct {
	queryFlags
	policy string
}

// newStoreImportCmd returns `hallmark store import`.
func newStoreImportCmd() *cobra.Command {
	f := &storeImportFlags{}
	cmd := &cobra.Command{
		Use:   "import IMAGE... [--policy NAME]",
		Short: "Verify images already in a registry and record those that verify",
		Long: `Verify each IMAGE at the gateway, as hallmark verify does, and record in the
gateway's store each one the policy allows (StoreService.ImportImages): its
tag, its bases, requester and source from its verified provenance, the
packages of its verified SBOM and its verified attestations. The queries
(images, image show, builds, audit) then find it like an image the gateway
built: a store can be rebuilt from the registry. An image the store already
has is not imported again.

IMAGE is registry/repository@sha256:<hex>, or registry/repository:tag, which
is resolved once and recorded as pointing at the digest. The caller must be
allowed to push to every IMAGE's repository. --policy names one of the
gateway's policies (default: the gateway's default).

One line per image, as each is done: imported, already_recorded,
not_verified (with the policy's reasons) or error. --output json prints one
ImportImagesResponse per line instead.

Exit status: 0 every image imported or already recorded, 1 some image did
not verify, 2 some image could not be verified or recorded (registry or
gateway unreachable, image missing, bad flags, no right to push).`,
	}
	fl := cmd.Flags()
	f.register(fl, false, "table", "json")
	fl.StringVar(&f.policy, "policy", "", "the gateway's verification policy, by name (default: the gateway's default)")
	return queryCommand("store import", cmd, &f.queryFlags, cobra.MinimumNArgs(1), func(ctx context.Context, args []string, env verifyEnv) error {
		return runStoreImport(ctx, f, args, env)
	})
}

func runStoreImport(ctx context.Context, f *storeImportFlags, images []string, env verifyEnv) error {
	gw, err := resolveGateway(f.gateway, env.getenv, env.stack)
	if err != nil {
		return err
	}
	tokens := newTokenSource(f.tokenFile, env.getenv, env.stack)
	cl := hallmarkv1connect.NewStoreServiceClient(newHTTPClient(gw), strings.TrimSuffix(gw, "/"))
	var tally importTally
	for start := 0; start < len(images); start += maxImportBatch {
		batch := images[start:min(start+maxImportBatch, len(images))]
		tok, err := tokens(ctx)
		if err != nil {
			return err
		}
		req := connect.NewRequest(&hallmarkv1.ImportImagesRequest{Images: batch, Policy: f.policy})
		req.Header().Set("Authorization", bearer(tok))
		if err := importBatch(ctx, cl, req, func(r *hallmarkv1.ImportImagesResponse) error {
			if f.output == "json" {
				tally.add(r.GetOutcome())
				return writeJSON(env.stdout, r, false)
			}
			if tally.n() == 0 {
				fmt.Fprintf(env.stdout, importLine, "OUTCOME", "DIGEST", "RECORD", "IMAGE")
			}
			tally.add(r.GetOutcome())
			return writeImportLine(env.stdout, r)
		}); err != nil {
			return fmt.Errorf("ask gateway %s: %w", gw, err)
		}
	}
	return tally.err(len(images))
}

// importBatch makes one ImportImages call and hands each result to emit.
func importBatch(ctx context.Context, cl hallmarkv1connect.StoreServiceClient, req *connect.Request[hallmarkv1.ImportImagesRequest], emit func(*hallmarkv1.ImportImagesResponse) error) error {
	stream, err := cl.ImportImages(ctx, req)
	if err != nil {
		return err
	}
	defer stream.Close()
	n := 0
	for stream.Receive() {
		n++
		if err := emit(stream.Msg()); err != nil {
			return err
		}
	}
	if err := stream.Err(); err != nil {
		return err
	}
	if n != len(req.Msg.GetImages()) {
		return fmt.Errorf("the gateway answered for %d of %d images", n, len(req.Msg.GetImages()))
	}
	return nil
}

// importLine is the layout of a table line: outcome, digest, record, and
// the image with what else there is to say.
const importLine = "%-16s  %-19s  %-28s  %s\n"

// writeImportLine prints one result on one line.
func writeImportLine(w io.Writer, r *hallmarkv1.ImportImagesResponse) error {
	image := oneLine(r.GetImage())
	switch r.GetOutcome() {
	case hallmarkv1.ImportOutcome_IMPORT_OUTCOME_IMPORTED:
		image += fmt.Sprintf(" (%d bases, %d packages, requester from %s)", r.GetBases(), r.GetPackages(), oneLine(r.GetRequesterFrom()))
	case hallmarkv1.ImportOutcome_IMPORT_OUTCOME_NOT_VERIFIED:
		image += ": " + strings.Join(reasonLines("", r.GetReasons()), "; ")
	case hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ERROR:
		image += ": " + oneLine(r.GetErrorCode()) + ": " + oneLine(r.GetError())
	}
	_, err := fmt.Fprintf(w, importLine, outcomeName(r.GetOutcome()), cell(shortDigest(r.GetDigest())), cell(r.GetRecordId()), image)
	return err
}

// outcomeName is "imported", "already_recorded", "not_verified" or
// "error".
func outcomeName(o hallmarkv1.ImportOutcome) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "IMPORT_OUTCOME_"))
}

// importTally counts the results, and the images not imported.
type importTally struct{ recorded, notVerified, failed int }

func (t *importTally) n() int { return t.recorded + t.notVerified + t.failed }

func (t *importTally) add(o hallmarkv1.ImportOutcome) {
	switch o {
	case hallmarkv1.ImportOutcome_IMPORT_OUTCOME_IMPORTED, hallmarkv1.ImportOutcome_IMPORT_OUTCOME_ALREADY_RECORDED:
		t.recorded++
	case hallmarkv1.ImportOutcome_IMPORT_OUTCOME_NOT_VERIFIED:
		t.notVerified++
	default:
		t.failed++
	}
}

// err is nil when every one of n images is recorded; an error (exit 2)
// when some could not be verified or recorded; notVerified (exit 1) when
// the rest did not verify.
func (t *importTally) err(n int) error {
	msg := fmt.Sprintf("%d of %d images not imported: %d not verified, %d could not be verified or recorded", t.notVerified+t.failed, n, t.notVerified, t.failed)
	switch {
	case t.failed > 0:
		return errors.New(msg)
	case t.notVerified > 0:
		return notVerified{msg}
	}
	return nil
}
