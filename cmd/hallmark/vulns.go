package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// vulnsFlags are the flags of `hallmark vulns`.
type vulnsFlags struct {
	queryFlags
	advisory string
	resolved bool
	failOn   string
	offline  bool
	sbom     string
	local    localFlags
}

// severityRank orders severities for --fail-on and the table; unknown
// ranks lowest, as in the build policy.
var severityRank = map[string]int{"critical": 5, "high": 4, "medium": 3, "low": 2, "unknown": 1}

// newVulnsCmd returns `hallmark vulns`.
func newVulnsCmd() *cobra.Command {
	f := &vulnsFlags{}
	cmd := &cobra.Command{
		Use:   "vulns [IMAGE] [--advisory ID] [--fail-on LEVEL] [--resolved]",
		Short: "Show the vulnerability findings on an image, or the images an advisory affects",
		Long: `Show the vulnerability findings the gateway recorded (QueryService.ListFindings):
those of IMAGE (registry/repository@sha256:<hex>, or registry/repository:tag as
the gateway last recorded the tag), those of one advisory (--advisory, by id or
alias: the images it affects), or, with neither, every finding on the images the
caller may read. The gateway re-matches the packages of every image's signed SBOM
whenever its advisories change and whenever an image is recorded: an advisory
imported after an image shipped shows here without a rebuild.

  --advisory ID   only this advisory (CVE-2024-45337, GO-2024-3321, GHSA-…)
  --fail-on L     the lowest severity that makes the exit status 1: critical,
                  high, medium, low, or any (the default; unknown too), none
  --resolved      also list findings a later re-scan no longer found

Findings an exception of the build policy (or a VEX statement) accepts are
listed with its reason and never fail.

  --offline --sbom FILE   no gateway: match the packages of an SBOM (SPDX 2
                          JSON, as hallmark sbom prints it after verifying it,
                          or CycloneDX JSON; - for stdin) against the local
                          advisory database (hallmark vulndb import --local;
                          --db DIR), e.g. hallmark sbom IMAGE | hallmark vulns
                          --offline --sbom -

Exit status: 0 no open finding at or above --fail-on, 1 at least one, 2 could
not tell (gateway unreachable, bad flags, image not found, or the gateway has
no advisories loaded or has not scanned yet).`,
	}
	fl := cmd.Flags()
	f.register(fl, true, "table", "json")
	f.limit = 0
	fl.Lookup("limit").DefValue = "0"
	fl.StringVar(&f.advisory, "advisory", "", "only the findings of this advisory, by id or alias")
	fl.BoolVar(&f.resolved, "resolved", false, "also list resolved findings")
	fl.StringVar(&f.failOn, "fail-on", "any", "lowest severity that makes the exit status 1: critical, high, medium, low, any, none")
	fl.BoolVar(&f.offline, "offline", false, "match --sbom against the local advisory database instead of asking the gateway")
	fl.StringVar(&f.sbom, "sbom", "", "with --offline: the SBOM to scan (SPDX 2 or CycloneDX JSON; - for stdin)")
	fl.StringVar(&f.local.db, "db", "", "with --offline: directory of the local advisory database (default $HALLMARK_VULNDB_DIR, else $XDG_DATA_HOME/hallmark/vulndb, else ~/.local/share/hallmark/vulndb)")
	return queryCommand("vulns", cmd, &f.queryFlags, cobra.MaximumNArgs(1), func(ctx context.Context, args []string, env verifyEnv) error {
		return runVulns(ctx, f, args, env, cmd.InOrStdin())
	})
}

// failRank is the rank of --fail-on: 0 fails on any finding, -1 on none.
func (f *vulnsFlags) failRank() (int, error) {
	switch f.failOn {
	case "any":
		return 0, nil
	case "none":
		return -1, nil
	}
	if r, ok := severityRank[f.failOn]; ok && f.failOn != "unknown" {
		return r, nil
	}
	return 0, usageError(fmt.Sprintf("parse --fail-on: %q is not critical, high, medium, low, any or none", oneLine(f.failOn)))
}

func runVulns(ctx context.Context, f *vulnsFlags, args []string, env verifyEnv, stdin io.Reader) error {
	rank, err := f.failRank()
	if err != nil {
		return err
	}
	image := ""
	if len(args) == 1 {
		image = args[0]
	}
	switch {
	case f.offline && (image != "" || f.sbom == "" || f.resolved):
		return usageError("--offline scans --sbom FILE (not an IMAGE, and without --resolved): hallmark sbom IMAGE | hallmark vulns --offline --sbom -")
	case !f.offline && (f.sbom != "" || f.local.db != ""):
		return usageError("--sbom and --db go with --offline")
	}
	var (
		all  = &hallmarkv1.ListFindingsResponse{}
		next string
	)
	if f.offline {
		if all, err = runVulnsOffline(ctx, f, env, stdin); err != nil {
			return err
		}
	} else if all, next, err = f.ask(ctx, image, env); err != nil {
		return err
	}
	if f.output == "json" {
		if err := writeJSON(env.stdout, all, true); err != nil {
			return err
		}
	} else {
		if err := writeFindingsTable(env.stdout, all.GetFindings(), image == "" && !f.offline); err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "hallmark vulns: %d advisories loaded (newest modified %s), findings as of %s\n",
			all.GetAdvisories(), tableTime(all.GetDatabaseUpdated()), tableTime(all.GetScannedAt()))
	}
	if next != "" {
		fmt.Fprintf(env.stderr, "hallmark vulns: more findings than --limit %d; raise it (0 for all) to see them\n", f.limit)
	}
	return vulnsVerdict(all, rank, next != "")
}

// ask lists the gateway's findings, following pages up to --limit.
func (f *vulnsFlags) ask(ctx context.Context, image string, env verifyEnv) (*hallmarkv1.ListFindingsResponse, string, error) {
	cl, gw, err := f.dial(env)
	if err != nil {
		return nil, "", err
	}
	all := &hallmarkv1.ListFindingsResponse{}
	next, err := eachPage(ctx, f.limit, func(ctx context.Context, size int32, token string) ([]*hallmarkv1.Finding, string, error) {
		resp, err := cl.ListFindings(ctx, connect.NewRequest(&hallmarkv1.ListFindingsRequest{
			Image: image, Advisory: f.advisory, IncludeResolved: f.resolved, PageSize: size, PageToken: token,
		}))
		if err != nil {
			return nil, "", fmt.Errorf("ask gateway %s: %w", gw, err)
		}
		if token == "" {
			all.Advisories, all.DatabaseUpdated, all.ScannedAt = resp.Msg.GetAdvisories(), resp.Msg.GetDatabaseUpdated(), resp.Msg.GetScannedAt()
		}
		return resp.Msg.GetFindings(), resp.Msg.GetNextPageToken(), nil
	}, func(fs []*hallmarkv1.Finding) error {
		all.Findings = append(all.Findings, fs...)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	all.NextPageToken = next
	return all, next, nil
}

// vulnsVerdict is the command's outcome: nil when no open finding that no
// exception accepts is at or above rank, notVerified when one is, and an
// error that exits 2 when the answer says nothing (no advisories, no scan
// yet, or a list cut short by --limit that holds no failing finding).
func vulnsVerdict(all *hallmarkv1.ListFindingsResponse, rank int, cut bool) error {
	if all.GetAdvisories() == 0 {
		return fmt.Errorf("the gateway has no vulnerability advisories loaded, so no image was scanned: import some with hallmark vulndb import")
	}
	if all.GetScannedAt() == nil {
		return fmt.Errorf("the gateway has not scanned its images yet (it scans at start and after every import): ask again shortly")
	}
	if rank < 0 {
		return nil
	}
	failing := map[string]int{}
	n := 0
	for _, fd := range all.GetFindings() {
		if fd.GetResolved() != nil || fd.GetExcepted() != nil || severityRank[fd.GetSeverity()] < rank {
			continue
		}
		failing[fd.GetSeverity()]++
		n++
	}
	if n == 0 {
		if cut {
			return fmt.Errorf("the findings were cut short by --limit: raise it (0 for all) to decide")
		}
		return nil
	}
	var parts []string
	for _, s := range []string{"critical", "high", "medium", "low", "unknown"} {
		if failing[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", failing[s], s))
		}
	}
	return notVerified{msg: fmt.Sprintf("%d open findings at or above --fail-on (%s)", n, strings.Join(parts, ", "))}
}

// writeFindingsTable prints findings, most severe first; withImage adds
// the image column.
func writeFindingsTable(w io.Writer, fs []*hallmarkv1.Finding, withImage bool) error {
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b *hallmarkv1.Finding) int {
		return cmp.Or(cmp.Compare(severityRank[b.GetSeverity()], severityRank[a.GetSeverity()]),
			cmp.Compare(a.GetAdvisory(), b.GetAdvisory()), cmp.Compare(a.GetPackage(), b.GetPackage()))
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "SEVERITY\tADVISORY\tALIASES\tPACKAGE\tINSTALLED\tFIXED\tFIRST SEEN\tSTATUS"
	if withImage {
		head = "IMAGE\t" + head
	}
	fmt.Fprintln(tw, head)
	for _, fd := range fs {
		status := "open"
		switch {
		case fd.GetResolved() != nil:
			status = "resolved " + utcTime(fd.GetResolved())
		case fd.GetExcepted() != nil:
			status = "excepted: " + fd.GetExcepted().GetReason()
			if e := fd.GetExcepted().GetExpires(); e != nil {
				status += " (until " + utcTime(e) + ")"
			}
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", cell(fd.GetSeverity()), cell(fd.GetAdvisory()), cell(strings.Join(fd.GetAliases(), ",")),
			cell(fd.GetPackage()), cell(fd.GetInstalled()), cell(strings.Join(fd.GetFixed(), ",")), tableTime(fd.GetFirstSeen()), cell(status))
		if withImage {
			image := fd.GetRepository() + "@" + shortDigest(fd.GetDigest())
			if tags := fd.GetTags(); len(tags) > 0 {
				image += " (" + strings.Join(tags, ",") + ")"
			}
			row = cell(image) + "\t" + row
		}
		fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}
