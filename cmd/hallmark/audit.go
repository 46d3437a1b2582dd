package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// auditFlags are the flags of `hallmark audit`.
type auditFlags struct {
	queryFlags
	since      string
	until      string
	kinds      []string
	repository string
	digest     string
	unattested bool
}

// newAuditCmd returns `hallmark audit`.
func newAuditCmd() *cobra.Command {
	f := &auditFlags{}
	cmd := &cobra.Command{
		Use:   "audit [--since T] [--until T] [--kind K]... [--repository R] [--digest D] [--unattested-pushes]",
		Short: "List or export the gateway's audit log, or check it (audit verify)",
		Long: `List the gateway's audit log (QueryService.ListAudit), oldest first: builds,
tag moves, verification and admission decisions, and the registry's pushes,
pulls and deletions when it sends its events to the gateway. Only records of
repositories the caller may read are listed. Filters combine:

  --since T, --until T  at or after T, before T: an RFC 3339 time, or a
                        duration before now (90m, 24h, 7d)
  --kind K              of these kinds (repeated or comma-separated): build,
                        base, verify, admission, tag, push, pull, delete, import
  --repository R        of one repository, "registry/repository"
  --digest D            of one image, sha256:<hex>
  --unattested-pushes   only tags pushed to the registry around the gateway:
                        their digest is no image the gateway built or
                        imported (nor an attestation of one), so admission
                        will deny it

--output jsonl exports every record, one JSON object per line, following
pages until the last (unless --limit is given).

Exit status: 0 listed (even none), 2 could not ask.`,
	}
	fl := cmd.Flags()
	f.register(fl, true, "table", "json", "jsonl")
	fl.StringVar(&f.since, "since", "", "only records at or after this time: RFC 3339, or a duration before now (24h, 7d)")
	fl.StringVar(&f.until, "until", "", "only records before this time: RFC 3339, or a duration before now")
	fl.StringSliceVar(&f.kinds, "kind", nil, "only records of these kinds: build, base, verify, admission, tag, push, pull, delete, import")
	fl.StringVar(&f.repository, "repository", "", `only records of this repository, "registry/repository"`)
	fl.StringVar(&f.digest, "digest", "", "only records of this image digest, sha256:<hex>")
	fl.BoolVar(&f.unattested, "unattested-pushes", false, "only tags pushed to the registry around the gateway (from the registry's events): images admission will deny")
	cmd.AddCommand(newAuditVerifyCmd())
	return queryCommand("audit", cmd, &f.queryFlags, noArgs, func(ctx context.Context, _ []string, env verifyEnv) error {
		return runAudit(ctx, f, listLimit(cmd, &f.queryFlags), env, time.Now())
	})
}

func runAudit(ctx context.Context, f *auditFlags, limit int, env verifyEnv, now time.Time) error {
	since, err := parseTimeFlag("since", f.since, now)
	if err != nil {
		return err
	}
	until, err := parseTimeFlag("until", f.until, now)
	if err != nil {
		return err
	}
	cl, gw, err := f.dial(env)
	if err != nil {
		return err
	}
	fetch := func(ctx context.Context, size int32, token string) ([]*hallmarkv1.AuditEvent, string, error) {
		resp, err := cl.ListAudit(ctx, connect.NewRequest(&hallmarkv1.ListAuditRequest{
			Kinds: f.kinds, Since: since, Until: until, Repository: f.repository, Digest: f.digest, UnattestedPushes: f.unattested,
			PageSize: size, PageToken: token,
		}))
		if err != nil {
			return nil, "", fmt.Errorf("ask gateway %s: %w", gw, err)
		}
		return resp.Msg.GetEvents(), resp.Msg.GetNextPageToken(), nil
	}
	if f.output == "jsonl" {
		// Each page is written as it comes: an export may be large.
		_, err := eachPage(ctx, limit, fetch, func(events []*hallmarkv1.AuditEvent) error {
			for _, e := range events {
				if err := writeJSON(env.stdout, e, false); err != nil {
					return fmt.Errorf("write audit record: %w", err)
				}
			}
			return nil
		})
		return err
	}
	all := &hallmarkv1.ListAuditResponse{}
	all.NextPageToken, err = eachPage(ctx, limit, fetch, func(events []*hallmarkv1.AuditEvent) error {
		all.Events = append(all.Events, events...)
		return nil
	})
	if err != nil {
		return err
	}
	if f.output == "json" {
		return writeJSON(env.stdout, all, true)
	}
	write := func(w io.Writer, events []*hallmarkv1.AuditEvent) error {
		return writeEventsTable(w, events, "", false)
	}
	if f.unattested {
		write = writePushesTable
	}
	if err := write(env.stdout, all.GetEvents()); err != nil {
		return err
	}
	if all.GetNextPageToken() != "" {
		fmt.Fprintf(env.stderr, "hallmark audit: more records than --limit %d; raise it (0 for all) or export them with --output jsonl\n", limit)
	}
	return nil
}

// writeEventsTable prints audit records, one per line, each line
// indented; the records of one image (image show) leave out its name.
func writeEventsTable(w io.Writer, events []*hallmarkv1.AuditEvent, indent string, oneImage bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	image, imageHeader := func(*hallmarkv1.AuditEvent) string { return "" }, ""
	if !oneImage {
		image = func(e *hallmarkv1.AuditEvent) string {
			return cell(e.GetRepository()) + "\t" + cell(shortDigest(e.GetDigest())) + "\t"
		}
		imageHeader = "REPOSITORY\tDIGEST\t"
	}
	fmt.Fprintf(tw, "%sID\tAT\tKIND\tOUTCOME\t%sSUBJECT\tACTOR\n", indent, imageHeader)
	for _, e := range events {
		fmt.Fprintf(tw, "%s%d\t%s\t%s\t%s\t%s%s\t%s\n", indent, e.GetId(), tableTime(e.GetAt()), cell(e.GetKind()), cell(e.GetOutcome())+times(e),
			image(e), cell(e.GetSubject()), cell(e.GetActor()))
	}
	return tw.Flush()
}

// times is " ×N" for a record of N identical decisions, or "".
func times(e *hallmarkv1.AuditEvent) string {
	if k := e.GetKind(); k != "verify" && k != "admission" {
		return ""
	}
	var d struct {
		Count int `json:"count"`
	}
	if json.Unmarshal([]byte(e.GetDetail()), &d) != nil || d.Count < 2 {
		return ""
	}
	return fmt.Sprintf(" ×%d", d.Count)
}

// writePushesTable prints pushes: the image, who pushed it and when.
func writePushesTable(w io.Writer, events []*hallmarkv1.AuditEvent) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tDIGEST\tACTOR\tAT")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(e.GetRepository()), cell(e.GetSubject()), cell(shortDigest(e.GetDigest())),
			cell(e.GetActor()), tableTime(e.GetAt()))
	}
	return tw.Flush()
}

// newAuditVerifyCmd returns `hallmark audit verify`.
func newAuditVerifyCmd() *cobra.Command {
	f := &queryFlags{}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit log's hash chains for altered, removed or inserted records",
		Long: `Ask the gateway to recompute the hash chains of its whole audit log
(QueryService.VerifyAudit): every record carries the hash of the one before it
in its chain, so a record altered, removed or inserted out of order breaks the
chain. The "events" chain (builds, tags) is kept whole; the "decisions" chain
(verify, admission) loses its oldest records to retention, and its head
records where it was cut, so a pruned prefix is not a problem.

Exit status: 0 intact, 1 problems found (listed), 2 could not ask.`,
	}
	f.register(cmd.Flags(), false, "table", "json")
	return queryCommand("audit verify", cmd, f, noArgs, func(ctx context.Context, _ []string, env verifyEnv) error {
		cl, gw, err := f.dial(env)
		if err != nil {
			return err
		}
		resp, err := cl.VerifyAudit(ctx, connect.NewRequest(&hallmarkv1.VerifyAuditRequest{}))
		if err != nil {
			return fmt.Errorf("ask gateway %s: %w", gw, err)
		}
		check := resp.Msg.GetCheck()
		if f.output == "json" {
			err = writeJSON(env.stdout, resp.Msg, true)
		} else {
			err = writeAuditCheck(env.stdout, check)
		}
		if err != nil {
			return err
		}
		if n := len(check.GetProblems()); n > 0 {
			return notVerified{fmt.Sprintf("the audit log is not intact: %d problems", n)}
		}
		return nil
	})
}

// writeAuditCheck prints what VerifyAudit found.
func writeAuditCheck(w io.Writer, c *hallmarkv1.AuditCheck) error {
	p := &textPrinter{w: w}
	if len(c.GetProblems()) == 0 {
		p.printf("audit log intact: %d records checked\n", c.GetRecords())
	} else {
		p.printf("audit log NOT intact: %d problems in %d records checked\n", len(c.GetProblems()), c.GetRecords())
	}
	for _, ch := range c.GetChains() {
		kept := fmt.Sprintf("records %d to %d", ch.GetFirstSeq(), ch.GetLength())
		switch {
		case ch.GetLength() == 0:
			kept = "no records"
		case ch.GetFirstSeq() > ch.GetLength():
			kept = fmt.Sprintf("no records kept (1 to %d removed by retention)", ch.GetLength())
		case ch.GetFirstSeq() > 1:
			kept += fmt.Sprintf(" (1 to %d removed by retention)", ch.GetFirstSeq()-1)
		}
		if h := ch.GetHeadHash(); h != "" {
			kept += ", head " + oneLine(h)
		}
		p.printf("  %-16s %s\n", "chain "+oneLine(ch.GetName()), kept)
	}
	if len(c.GetProblems()) > 0 {
		p.heading("Problems")
		for _, pr := range c.GetProblems() {
			p.printf("  - %s\n", oneLine(pr))
		}
	}
	return p.err
}
