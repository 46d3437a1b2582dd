package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/structpb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
)

// buildsFlags are the flags of `hallmark builds`.
type buildsFlags struct {
	queryFlags
	subject    string
	repository string
	since      string
	outcome    string
}

// newBuildsCmd returns `hallmark builds`.
func newBuildsCmd() *cobra.Command {
	f := &buildsFlags{}
	cmd := &cobra.Command{
		Use:   "builds [--subject S] [--repository R] [--since T] [--outcome O]",
		Short: "List the builds the gateway ran, newest first",
		Long: `List the builds the gateway recorded (QueryService.ListBuilds), newest
first, successful or not. Only builds of repositories the caller may read are
listed. Filters combine:

  --subject S       of one requester (the token's "sub")
  --repository R    of one repository, "registry/repository"
  --since T         started at or after T: an RFC 3339 time, or a duration
                    before now (90m, 24h, 7d)
  --outcome O       running, succeeded, failed or canceled; a running build
                    shows its phase: "running (building 5/9)"

Exit status: 0 listed (even none), 2 could not ask.`,
	}
	fl := cmd.Flags()
	f.register(fl, true, "table", "json")
	fl.StringVar(&f.subject, "subject", "", `only builds of this requester (the token's "sub")`)
	fl.StringVar(&f.repository, "repository", "", `only builds of this repository, "registry/repository"`)
	fl.StringVar(&f.since, "since", "", "only builds started at or after this time: RFC 3339, or a duration before now (24h, 7d)")
	fl.StringVar(&f.outcome, "outcome", "", "only builds of this outcome: running, succeeded, failed or canceled")
	return queryCommand("builds", cmd, &f.queryFlags, noArgs, func(ctx context.Context, _ []string, env verifyEnv) error {
		return runBuilds(ctx, f, env, time.Now())
	})
}

func runBuilds(ctx context.Context, f *buildsFlags, env verifyEnv, now time.Time) error {
	since, err := parseTimeFlag("since", f.since, now)
	if err != nil {
		return err
	}
	cl, gw, err := f.dial(env)
	if err != nil {
		return err
	}
	all := &hallmarkv1.ListBuildsResponse{}
	all.NextPageToken, err = eachPage(ctx, f.limit, func(ctx context.Context, size int32, token string) ([]*hallmarkv1.Build, string, error) {
		resp, err := cl.ListBuilds(ctx, connect.NewRequest(&hallmarkv1.ListBuildsRequest{
			Subject: f.subject, Repository: f.repository, Since: since, Outcome: f.outcome, PageSize: size, PageToken: token,
		}))
		if err != nil {
			return nil, "", fmt.Errorf("ask gateway %s: %w", gw, err)
		}
		return resp.Msg.GetBuilds(), resp.Msg.GetNextPageToken(), nil
	}, func(builds []*hallmarkv1.Build) error {
		all.Builds = append(all.Builds, builds...)
		return nil
	})
	if err != nil {
		return err
	}
	if f.output == "json" {
		return writeJSON(env.stdout, all, true)
	}
	if err := writeBuildsTable(env.stdout, all.GetBuilds()); err != nil {
		return err
	}
	if all.GetNextPageToken() != "" {
		fmt.Fprintf(env.stderr, "hallmark builds: more builds than --limit %d; raise it (0 for all) to see them\n", f.limit)
	}
	return nil
}

// writeBuildsTable prints builds, one per line.
func writeBuildsTable(w io.Writer, builds []*hallmarkv1.Build) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tOUTCOME\tREPOSITORY\tDIGEST\tREQUESTER\tSTARTED\tDURATION")
	for _, b := range builds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(b.GetId()), cell(b.GetKind()), cell(outcomeText(b)),
			cell(b.GetRepository()), cell(shortDigest(b.GetDigest())), cell(b.GetRequester().GetSubject()),
			tableTime(b.GetStarted()), cell(duration(b)))
	}
	return tw.Flush()
}

// outcomeText is b's outcome, with the phase and steps of a running build:
// "running (building 3/7)".
func outcomeText(b *hallmarkv1.Build) string {
	p := b.GetProgress()
	if p == nil {
		return b.GetOutcome()
	}
	detail := p.GetPhase()
	switch {
	case p.GetQueue() > 0:
		detail += fmt.Sprintf(" %d ahead", p.GetQueue())
	case p.GetTotal() > 0:
		detail += fmt.Sprintf(" %d/%d", p.GetDone(), p.GetTotal())
	}
	return b.GetOutcome() + " (" + detail + ")"
}

// duration is how long b ran, "" if it is not known.
func duration(b *hallmarkv1.Build) string {
	if b.GetStarted() == nil || b.GetFinished() == nil {
		return ""
	}
	return b.GetFinished().AsTime().Sub(b.GetStarted().AsTime()).Round(time.Second).String()
}

// newBuildShowCmd returns `hallmark build show`.
func newBuildShowCmd() *cobra.Command {
	f := &queryFlags{}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show the gateway's record of one build",
		Long: `Show the gateway's record of one build (QueryService.GetBuild): who asked
for it, what it built from, its bases, image, tags, attestations and outcome.
A build of a repository the caller may not read is not found.

To build a context directory named "show", write it ./show.

Exit status: 0 shown, 2 could not ask (not found, gateway unreachable).`,
	}
	f.register(cmd.Flags(), false, "table", "json")
	return queryCommand("build show", cmd, f, exactlyOne("ID"), func(ctx context.Context, args []string, env verifyEnv) error {
		cl, gw, err := f.dial(env)
		if err != nil {
			return err
		}
		resp, err := cl.GetBuild(ctx, connect.NewRequest(&hallmarkv1.GetBuildRequest{Id: args[0]}))
		if err != nil {
			return fmt.Errorf("ask gateway %s: %w", gw, err)
		}
		if f.output == "json" {
			return writeJSON(env.stdout, resp.Msg, true)
		}
		return writeBuildRecord(env.stdout, resp.Msg.GetBuild())
	})
}

// writeBuildRecord prints one build.
func writeBuildRecord(w io.Writer, b *hallmarkv1.Build) error {
	p := &textPrinter{w: w}
	p.line(0, "build", b.GetId())
	p.line(0, "kind", b.GetKind())
	p.line(0, "outcome", outcomeText(b))
	if st := b.GetProgress().GetStep(); st != "" {
		p.line(1, "step", st)
	}
	if b.GetError() != "" {
		p.line(0, "error", b.GetError())
	}
	p.line(0, "repository", b.GetRepository())
	p.line(0, "digest", cell(b.GetDigest()))
	r := b.GetRequester()
	p.line(0, "requester", r.GetSubject())
	p.line(1, "issuer", r.GetIssuer())
	claims := r.GetClaims().GetFields()
	for _, k := range slices.Sorted(maps.Keys(claims)) {
		p.line(1, "claim", k+"="+claimText(claims[k]))
	}
	s := b.GetSource()
	if s.GetGitUrl() != "" {
		src := s.GetGitUrl() + "@" + s.GetGitCommit()
		if s.GetGitSubdir() != "" {
			src += " (subdir " + s.GetGitSubdir() + ")"
		}
		p.line(0, "source", "git "+src)
	} else {
		p.line(0, "source", "uploaded context "+cell(s.GetContextDigest()))
	}
	p.line(0, "dockerfile", strings.TrimSpace(s.GetDockerfile()+" "+s.GetDockerfileDigest()))
	if s.GetFrontend() != "" {
		p.line(0, "frontend", s.GetFrontend())
	}
	if len(b.GetPlatforms()) > 0 {
		p.line(0, "platforms", strings.Join(b.GetPlatforms(), ", "))
	}
	p.line(0, "started", tableTime(b.GetStarted()))
	p.line(0, "finished", strings.TrimSpace(tableTime(b.GetFinished())+" "+parenthesized(duration(b))))
	if b.GetWorker() != "" {
		p.line(0, "worker", b.GetWorker())
	}
	p.heading(fmt.Sprintf("Bases: %d", len(b.GetBases())))
	for _, base := range b.GetBases() {
		writeBase(p, base)
	}
	p.heading(fmt.Sprintf("Tags: %d", len(b.GetTags())))
	for _, t := range b.GetTags() {
		prev := "new"
		if t.GetPrevious() != "" {
			prev = "was " + t.GetPrevious()
		}
		p.line(1, t.GetTag(), prev)
	}
	p.heading(fmt.Sprintf("Attestations: %d", len(b.GetAttestations())))
	for _, a := range b.GetAttestations() {
		writeRecordedAttestation(p, a)
	}
	return p.err
}

// claimText is a claim's value: a string as is, anything else as JSON.
func claimText(v *structpb.Value) string {
	if s, ok := v.GetKind().(*structpb.Value_StringValue); ok {
		return s.StringValue
	}
	data, err := json.Marshal(v.AsInterface())
	if err != nil {
		return "?"
	}
	return string(data)
}

func parenthesized(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}
