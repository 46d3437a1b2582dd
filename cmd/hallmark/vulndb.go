package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	hallmarkv1 "github.com/hallmark-dev/hallmark/proto/hallmark/v1"
	"github.com/hallmark-dev/hallmark/proto/hallmark/v1/hallmarkv1connect"
)

// newVulnDBCmd returns `hallmark vulndb`.
func newVulnDBCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "vulndb",
		Short:         "Load vulnerability advisories into the gateway and show what is loaded",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(newVulnDBImportCmd(), newVulnDBStatusCmd())
	return cmd
}

// localFlags select the local advisory database instead of the gateway.
type localFlags struct {
	local bool
	db    string
}

func (l *localFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&l.local, "local", false, "the local advisory database (for hallmark vulns --offline) instead of the gateway's")
	cmd.Flags().StringVar(&l.db, "db", "", "directory of the local advisory database (default $HALLMARK_VULNDB_DIR, else $XDG_DATA_HOME/hallmark/vulndb, else ~/.local/share/hallmark/vulndb)")
}

// dir is the local database's directory.
func (l *localFlags) dir(env verifyEnv) (string, error) {
	if l.db != "" {
		return l.db, nil
	}
	return defaultLocalDB(env.getenv)
}

func newVulnDBImportCmd() *cobra.Command {
	f := &queryFlags{}
	l := &localFlags{}
	cmd := &cobra.Command{
		Use:   "import FILE|DIR...",
		Short: "Import OSV advisories (a record, a directory of them, osv.dev's all.zip) into the gateway",
		Long: `Send each FILE to the gateway's advisory database (VulnDBService.Import):
a JSON file holding one OSV record, or a zip archive such as the all.zip
osv.dev exports per ecosystem (Debian, Ubuntu, Alpine, Go, GitHub's reviewed
advisories…). Each .json and .zip file found under a DIR (hidden ones
skipped) is imported as a file of its own, named DIR's base name and its
path below it.

Each import is all or nothing: a malformed, oversized or hostile file is
refused with the gateway's reason and changes nothing. A record replaces the
loaded one of its id unless it is older, so importing the same file again
changes nothing. Only administrators may import (an authorization rule with
admin: true; the dev stack's token is one).

One line per file as it is done: records, changed, newest modified and
sha256. --output json prints one ImportResponse per line instead.

--local imports into a local advisory database instead, for hallmark vulns
--offline (no gateway, no network): each file is checked whole the same way
and copied into the database's directory (--db) with its import record;
a file already imported (same sha256) changes nothing.

Exit status: 0 every file imported, 2 some file was refused or could not be
sent (the files after it are not sent).`,
	}
	f.register(cmd.Flags(), false, "table", "json")
	l.register(cmd)
	return queryCommand("vulndb import", cmd, f, cobra.MinimumNArgs(1), func(ctx context.Context, args []string, env verifyEnv) error {
		if l.local {
			return runLocalImport(ctx, l, f.output, args, env)
		}
		return runVulnDBImport(ctx, f, args, env)
	})
}

// vulnFile is one file to import and the source name it is sent under.
type vulnFile struct{ path, source string }

// vulnFiles lists the files of args: files as they are, the .json and
// .zip files under directories, in lexical order.
func vulnFiles(args []string) ([]vulnFile, error) {
	var out []vulnFile
	for _, arg := range args {
		fi, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, vulnFile{path: arg, source: filepath.Base(arg)})
			continue
		}
		root := filepath.Clean(arg)
		var found []vulnFile
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != root && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && (strings.HasSuffix(d.Name(), ".json") || strings.HasSuffix(d.Name(), ".zip")) {
				rel, _ := filepath.Rel(root, p)
				found = append(found, vulnFile{path: p, source: filepath.ToSlash(filepath.Join(filepath.Base(root), rel))})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", arg, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("read %s: no .json or .zip files", arg)
		}
		out = append(out, found...)
	}
	return out, nil
}

func runVulnDBImport(ctx context.Context, f *queryFlags, args []string, env verifyEnv) error {
	files, err := vulnFiles(args)
	if err != nil {
		return err
	}
	cl, gw, tokens, err := dialVulnDB(f, env)
	if err != nil {
		return err
	}
	for _, vf := range files {
		start := time.Now()
		tok, err := tokens(ctx)
		if err != nil {
			return err
		}
		res, err := importVulnFile(ctx, cl, tok, vf)
		if err != nil {
			return fmt.Errorf("import %s at gateway %s: %w", vf.path, gw, err)
		}
		if f.output == "json" {
			if err := writeJSON(env.stdout, res, false); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(env.stdout, "imported %s: %d records, %d changed, newest modified %s, sha256 %s (%s)\n",
			oneLine(res.GetSource()), res.GetRecords(), res.GetChanged(), tableTime(res.GetNewestModified()), res.GetSha256()[:12],
			time.Since(start).Round(time.Millisecond))
		for _, w := range res.GetWarnings() {
			fmt.Fprintf(env.stdout, "  warning: %s\n", oneLine(w))
		}
	}
	return nil
}

// importVulnFile streams one file to VulnDBService.Import, naming its
// sha256 in the first message.
func importVulnFile(ctx context.Context, cl hallmarkv1connect.VulnDBServiceClient, tok string, vf vulnFile) (*hallmarkv1.ImportResponse, error) {
	file, err := os.Open(vf.path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	h := sha256.New()
	if _, err := io.Copy(h, file); err != nil {
		return nil, err
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	stream := cl.Import(ctx)
	stream.RequestHeader().Set("Authorization", bearer(tok))
	msg := &hallmarkv1.ImportRequest{Source: vf.source, ExpectedSha256: hex.EncodeToString(h.Sum(nil))}
	buf := make([]byte, chunkSize)
	for {
		n, rerr := io.ReadFull(file, buf)
		msg.Chunk = buf[:n]
		if n > 0 || msg.Source != "" {
			if err := stream.Send(msg); err != nil {
				break // the gateway answered early: CloseAndReceive says why
			}
		}
		msg = &hallmarkv1.ImportRequest{}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	res, err := stream.CloseAndReceive()
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

func newVulnDBStatusCmd() *cobra.Command {
	f := &queryFlags{}
	l := &localFlags{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the advisories the gateway has loaded and how old they are",
		Long: `Show the gateway's advisory database (VulnDBService.Status): one line per
import (source, records, newest modified, age, imported at, by whom), then the
totals: records loaded, per ecosystem, and the newest modified time. The age
is the time since the newest modified record, or since the import when its
records carry no modified time (the Go database's export).

--output json prints the StatusResponse. --local shows the local advisory
database (hallmark vulndb import --local) the same way.`,
	}
	f.register(cmd.Flags(), false, "table", "json")
	l.register(cmd)
	return queryCommand("vulndb status", cmd, f, cobra.NoArgs, func(ctx context.Context, _ []string, env verifyEnv) error {
		if l.local {
			return runLocalStatus(ctx, l, f.output, env)
		}
		cl, gw, tokens, err := dialVulnDB(f, env)
		if err != nil {
			return err
		}
		tok, err := tokens(ctx)
		if err != nil {
			return err
		}
		req := connect.NewRequest(&hallmarkv1.StatusRequest{})
		req.Header().Set("Authorization", bearer(tok))
		res, err := cl.Status(ctx, req)
		if err != nil {
			return fmt.Errorf("ask gateway %s: %w", gw, err)
		}
		if f.output == "json" {
			return writeJSON(env.stdout, res.Msg, true)
		}
		return writeVulnStatus(env.stdout, res.Msg, time.Now())
	})
}

// vulnLine is the layout of a status table line.
const vulnLine = "%-40s  %8s  %-20s  %-8s  %-20s  %s\n"

// writeVulnStatus prints the status as a table and totals.
func writeVulnStatus(w io.Writer, st *hallmarkv1.StatusResponse, now time.Time) error {
	if len(st.GetImports()) == 0 {
		_, err := fmt.Fprintln(w, "no advisories loaded: builds are not matched against any (hallmark vulndb import FILE…)")
		return err
	}
	fmt.Fprintf(w, vulnLine, "SOURCE", "RECORDS", "NEWEST MODIFIED", "AGE", "IMPORTED AT", "BY")
	for _, imp := range st.GetImports() {
		fmt.Fprintf(w, vulnLine, cell(imp.GetSource()), fmt.Sprint(imp.GetRecords()), tableTime(imp.GetNewestModified()),
			age(now, imp.GetNewestModified(), imp.GetImportedAt()), tableTime(imp.GetImportedAt()), cell(imp.GetActor()))
	}
	var ecos []string
	for _, name := range slices.Sorted(maps.Keys(st.GetEcosystems())) {
		ecos = append(ecos, fmt.Sprintf("%s %d", oneLine(name), st.GetEcosystems()[name]))
	}
	_, err := fmt.Fprintf(w, "\n%d advisories loaded (%s); newest modified %s, last import %s\n", st.GetAdvisories(),
		strings.Join(ecos, ", "), tableTime(st.GetNewestModified()), tableTime(st.GetLastImported()))
	return err
}

// age is the time from newest (or, unset, from imported) to now, in days,
// hours or minutes.
func age(now time.Time, newest, imported *timestamppb.Timestamp) string {
	from := newest
	if from == nil {
		from = imported
	}
	if from == nil {
		return "-"
	}
	d := now.Sub(from.AsTime())
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dm", int(max(d, 0)/time.Minute))
}

// dialVulnDB resolves the gateway and returns a VulnDBService client.
func dialVulnDB(f *queryFlags, env verifyEnv) (hallmarkv1connect.VulnDBServiceClient, string, tokenSource, error) {
	gw, err := resolveGateway(f.gateway, env.getenv, env.stack)
	if err != nil {
		return nil, "", nil, err
	}
	cl := hallmarkv1connect.NewVulnDBServiceClient(newHTTPClient(gw), strings.TrimSuffix(gw, "/"))
	return cl, gw, newTokenSource(f.tokenFile, env.getenv, env.stack), nil
}
