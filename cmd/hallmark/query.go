package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// This file is what the query commands (images, image show, builds, build
// show, audit, audit verify) share: flags, the QueryService client, pages,
// times and JSON.

// maxQueryPage is the largest page QueryService returns.
const maxQueryPage = 1000

// queryFlags are the flags of every query command.
type queryFlags struct {
	gateway   string
	tokenFile string
	output    string
	outputs   []string // accepted --output values, the default first
	limit     int
}

// register adds the flags to fl; outputs are the --output values, the
// first being the default. Lists also get --limit.
func (f *queryFlags) register(fl *pflag.FlagSet, list bool, outputs ...string) {
	f.outputs = outputs
	fl.StringVar(&f.gateway, "gateway", "", "gateway base URL (default $HALLMARK_GATEWAY, else the dev stack's)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the OIDC token for the gateway, re-read per call (default $HALLMARK_TOKEN, else a dev stack token)")
	fl.StringVarP(&f.output, "output", "o", outputs[0], "output format: "+strings.Join(outputs, ", "))
	if list {
		fl.IntVar(&f.limit, "limit", 50, "most records to show, following pages; 0 for all (the default of --output jsonl)")
	}
}

// check validates --output and --limit.
func (f *queryFlags) check() error {
	if !slices.Contains(f.outputs, f.output) {
		return usageError(fmt.Sprintf("parse --output: unknown format %q, want %s", f.output, strings.Join(f.outputs, ", ")))
	}
	if f.limit < 0 {
		return usageError(fmt.Sprintf("parse --limit: %d is negative", f.limit))
	}
	return nil
}

// queryCommand completes cmd, the query command called name ("image
// show") taking args: its RunE checks
// the flags and calls run with the process's environment; every error ends
// it through verifyExit (2: could not tell), a failed check through
// notVerified (1).
func queryCommand(name string, cmd *cobra.Command, f *queryFlags, args cobra.PositionalArgs, run func(ctx context.Context, args []string, env verifyEnv) error) *cobra.Command {
	cmd.SilenceUsage, cmd.SilenceErrors = true, true // commandExit prints them
	cmd.RunE = func(c *cobra.Command, a []string) error {
		env := processVerifyEnv(c)
		err := f.check()
		if err == nil {
			err = run(c.Context(), a, env)
		}
		return verifyExit.finish(c.Context(), env.stderr, name, err)
	}
	verifyExit.usage(cmd, name, args)
	return cmd
}

// noArgs accepts no positional argument.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("want no arguments, got %q", args)
	}
	return nil
}

// dial returns a QueryService client of the gateway that calls with HTTP
// GET (the queries have no side effects: proxies may log and cache them)
// and sends the caller's token, read again for every call.
func (f *queryFlags) dial(env verifyEnv) (hallmarkv1connect.QueryServiceClient, string, error) {
	gw, err := resolveGateway(f.gateway, env.getenv, env.stack)
	if err != nil {
		return nil, "", err
	}
	tokens := newTokenSource(f.tokenFile, env.getenv, env.stack)
	auth := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			tok, err := tokens(ctx)
			if err != nil {
				return nil, err
			}
			req.Header().Set("Authorization", bearer(tok))
			return next(ctx, req)
		}
	})
	cl := hallmarkv1connect.NewQueryServiceClient(newHTTPClient(gw), strings.TrimSuffix(gw, "/"),
		connect.WithHTTPGet(), connect.WithInterceptors(auth))
	return cl, gw, nil
}

// listLimit is --limit, except that --output jsonl exports everything
// unless --limit was given.
func listLimit(cmd *cobra.Command, f *queryFlags) int {
	if f.output == "jsonl" && !cmd.Flags().Changed("limit") {
		return 0
	}
	return f.limit
}

// eachPage asks fetch for pages, each no larger than what remains of limit
// (0: no limit), and hands each page's records to emit until limit records
// came or the last page did. It returns the token of the page after the
// records emitted, "" when there is none.
func eachPage[T any](ctx context.Context, limit int, fetch func(ctx context.Context, size int32, token string) ([]T, string, error), emit func([]T) error) (string, error) {
	token, n := "", 0
	seen := map[string]bool{}
	for {
		size := maxQueryPage
		if limit > 0 {
			size = min(limit-n, maxQueryPage)
		}
		items, next, err := fetch(ctx, int32(size), token)
		if err != nil {
			return "", err
		}
		if err := emit(items); err != nil {
			return "", err
		}
		n += len(items)
		if next == "" || (limit > 0 && n >= limit) {
			return next, nil
		}
		if seen[next] {
			return "", errors.New("read pages: the gateway repeated a page token")
		}
		seen[next] = true
		token = next
	}
}

// writeJSON writes m as the API's JSON: indented, or on one line (JSON
// lines). protojson's output is normalized, so that it is stable.
func writeJSON(w io.Writer, m proto.Message, indent bool) error {
	data, err := protojson.Marshal(m)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if indent {
		err = json.Indent(&buf, data, "", "  ")
	} else {
		err = json.Compact(&buf, data)
	}
	if err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// parseTimeFlag reads --NAME: an RFC 3339 time, or a duration before now
// (Go's syntax, such as 90m or 24h, or whole days, such as 7d).
func parseTimeFlag(name, v string, now time.Time) (*timestamppb.Timestamp, error) {
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return timestamppb.New(t), nil
	}
	d, err := time.ParseDuration(v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	}
	if err != nil || d <= 0 {
		return nil, usageError(fmt.Sprintf("parse --%s: %q is neither an RFC 3339 time (2026-12-01T00:00:00Z) nor a duration before now (24h, 7d)", name, oneLine(v)))
	}
	return timestamppb.New(now.Add(-d)), nil
}

// cell is v made safe for a table cell, "-" when empty.
func cell(v string) string {
	if v == "" {
		return "-"
	}
	return oneLine(v)
}

// tableTime is ts in UTC as RFC 3339, "-" when unset.
func tableTime(ts *timestamppb.Timestamp) string {
	return cell(utcTime(ts))
}
