package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// imagesFlags are the flags of `hallmark images`.
type imagesFlags struct {
	queryFlags
	repository string
	base       string
	pkg        string
	stale      bool
}

// newImagesCmd returns `hallmark images`.
func newImagesCmd() *cobra.Command {
	f := &imagesFlags{}
	cmd := &cobra.Command{
		Use:   "images [--base REF|DIGEST] [--package PURL|NAME[@VERSION]] [--stale] [--repository R]",
		Short: "List the images the gateway built, by base, package or staleness",
		Long: `List the images the gateway recorded (QueryService.ListImages), oldest
first, with the tags that point at them now. Only images of repositories the
caller may read are listed. Filters combine:

  --base REF|DIGEST   built on that base, directly or through a base of a base
  --package P         whose signed SBOM lists P: a package URL, or NAME[@VERSION]
  --stale             whose base tag now points at a newer digest: the rebuild list
  --repository R      of one repository

The gateway is --gateway, else $HALLMARK_GATEWAY, else the running dev stack;
the token --token-file, else $HALLMARK_TOKEN, else the dev stack's.

Exit status: 0 listed (even none), 2 could not ask (gateway unreachable, bad
flags, a filter the gateway refuses).`,
	}
	fl := cmd.Flags()
	f.register(fl, true, "table", "json")
	fl.StringVar(&f.repository, "repository", "", `only images of this repository, "registry/repository"`)
	fl.StringVar(&f.base, "base", "", "only images built on this base: a reference (registry/repository:tag) or a digest")
	fl.StringVar(&f.pkg, "package", "", "only images containing this package: a package URL (pkg:deb/debian/openssl@3.0.11) or NAME[@VERSION]")
	fl.BoolVar(&f.stale, "stale", false, "only images whose base tag now points at a different digest than they were built from")
	return queryCommand("images", cmd, &f.queryFlags, noArgs, func(ctx context.Context, _ []string, env verifyEnv) error {
		return runImages(ctx, f, env)
	})
}

func runImages(ctx context.Context, f *imagesFlags, env verifyEnv) error {
	cl, gw, err := f.dial(env)
	if err != nil {
		return err
	}
	all := &hallmarkv1.ListImagesResponse{}
	next, err := eachPage(ctx, f.limit, func(ctx context.Context, size int32, token string) ([]*hallmarkv1.Image, string, error) {
		resp, err := cl.ListImages(ctx, connect.NewRequest(&hallmarkv1.ListImagesRequest{
			Repository: f.repository, Base: f.base, Package: f.pkg, Stale: f.stale, PageSize: size, PageToken: token,
		}))
		if err != nil {
			return nil, "", fmt.Errorf("ask gateway %s: %w", gw, err)
		}
		if token == "" {
			all.UnresolvedBases = resp.Msg.GetUnresolvedBases()
		}
		return resp.Msg.GetImages(), resp.Msg.GetNextPageToken(), nil
	}, func(images []*hallmarkv1.Image) error {
		all.Images = append(all.Images, images...)
		return nil
	})
	if err != nil {
		return err
	}
	all.NextPageToken = next
	if f.output == "json" {
		return writeJSON(env.stdout, all, true)
	}
	for _, u := range all.GetUnresolvedBases() {
		fmt.Fprintf(env.stderr, "hallmark images: base not checked: %s\n", oneLine(u))
	}
	if err := writeImagesTable(env.stdout, all.GetImages()); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(env.stderr, "hallmark images: more images than --limit %d; raise it (0 for all) to see them\n", f.limit)
	}
	return nil
}

// writeImagesTable prints images, one per line.
func writeImagesTable(w io.Writer, images []*hallmarkv1.Image) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tDIGEST\tTAGS\tBASE\tCREATED")
	for _, im := range images {
		base := ""
		if bs := im.GetBases(); len(bs) > 0 {
			base = bs[0].GetRef() // the runtime base comes first
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(im.GetRepository()), shortDigest(im.GetDigest()),
			cell(strings.Join(im.GetTags(), ",")), cell(base), tableTime(im.GetCreated()))
	}
	return tw.Flush()
}

// newImageCmd returns `hallmark image`.
func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "image",
		Short:         "Show what the gateway recorded about an image",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(newImageShowCmd())
	return cmd
}

// newImageShowCmd returns `hallmark image show`.
func newImageShowCmd() *cobra.Command {
	f := &queryFlags{}
	cmd := &cobra.Command{
		Use:   "show IMAGE",
		Short: "Show everything the gateway recorded about one image",
		Long: `Show everything the gateway recorded about one image
(QueryService.GetImage): its tags now, its bases, the builds that produced it,
its attestations and its newest audit records (tag moves, verification and
admission decisions). IMAGE is registry/repository@sha256:<hex>, or
registry/repository:tag as the gateway last recorded the tag.

Exit status: 0 shown, 2 could not ask (not found, gateway unreachable, bad
flags). An image of a repository the caller may not read is not found.`,
	}
	f.register(cmd.Flags(), false, "table", "json")
	return queryCommand("image show", cmd, f, exactlyOne("IMAGE"), func(ctx context.Context, args []string, env verifyEnv) error {
		cl, gw, err := f.dial(env)
		if err != nil {
			return err
		}
		resp, err := cl.GetImage(ctx, connect.NewRequest(&hallmarkv1.GetImageRequest{Image: args[0]}))
		if err != nil {
			return fmt.Errorf("ask gateway %s: %w", gw, err)
		}
		if f.output == "json" {
			return writeJSON(env.stdout, resp.Msg, true)
		}
		return writeImageRecord(env.stdout, resp.Msg)
	})
}

// writeImageRecord prints what GetImage returned.
func writeImageRecord(w io.Writer, r *hallmarkv1.GetImageResponse) error {
	p := &textPrinter{w: w}
	im := r.GetImage()
	p.line(0, "image", im.GetRepository()+"@"+im.GetDigest())
	p.line(0, "tags", cell(strings.Join(im.GetTags(), ", ")))
	p.line(0, "created", tableTime(im.GetCreated()))
	p.line(0, "first build", cell(im.GetBuildId()))
	p.heading(fmt.Sprintf("Bases: %d", len(im.GetBases())))
	for _, b := range im.GetBases() {
		writeBase(p, b)
	}
	p.heading(fmt.Sprintf("Builds: %d", len(r.GetBuilds())))
	if p.err == nil {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, b := range r.GetBuilds() {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", cell(b.GetId()), cell(b.GetOutcome()), tableTime(b.GetStarted()), cell(b.GetRequester().GetSubject()))
		}
		p.err = tw.Flush()
	}
	p.heading(fmt.Sprintf("Attestations: %d", len(r.GetAttestations())))
	for _, a := range r.GetAttestations() {
		writeRecordedAttestation(p, a)
	}
	p.heading(fmt.Sprintf("History: %d records, newest first", len(r.GetEvents())))
	if p.err == nil && len(r.GetEvents()) > 0 {
		p.err = writeEventsTable(w, r.GetEvents(), "  ", true)
	}
	return p.err
}

// writeBase prints one base image.
func writeBase(p *textPrinter, b *hallmarkv1.ImageBase) {
	ref := b.GetRef()
	if b.GetRuntime() {
		ref += " (runtime)"
	}
	p.line(1, ref, b.GetDigest())
}

// writeRecordedAttestation prints one attestation.
func writeRecordedAttestation(p *textPrinter, a *hallmarkv1.RecordedAttestation) {
	p.line(1, "attestation", a.GetPredicateType())
	p.line(2, "referrer", a.GetReferrerDigest())
	if a.GetSignerIdentity() != "" {
		p.line(2, "signer", a.GetSignerIdentity()+" ("+a.GetSignerIssuer()+")")
	}
	if a.GetLogIndex() >= 0 {
		p.line(2, "log index", fmt.Sprint(a.GetLogIndex()))
	}
	if t := utcTime(a.GetSignedAt()); t != "" {
		p.line(2, "signed at", t)
	}
}
