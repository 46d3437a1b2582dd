package dockerlint

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Names of the gateway's Dockerfile lint rules, which warn and never fail
// a build. docs/build-policy.md describes them.
const (
	AddWithoutChecksum = "HallmarkAddWithoutChecksum"
	AptGetUnpinned     = "HallmarkAptGetUnpinned"
	PipeToShell        = "HallmarkPipeToShell"
)

// MaxWarnings bounds the warnings Lint returns for one Dockerfile.
const MaxWarnings = 50

// Lint checks the instructions of the stages for which built reports true
// (the stages that building the target builds; the others are not linted)
// and returns at most MaxWarnings warnings in BuildKit's short form,
// "Rule: message (line N)". Warnings never show credentials a URL holds.
func Lint(stages []instructions.Stage, built func(stage int) bool) []string {
	var out []string
	for i, st := range stages {
		if !built(i) {
			continue
		}
		for _, cmd := range st.Commands {
			line := startLine(cmd.Location())
			for _, w := range lintCommand(cmd) {
				if len(out) < MaxWarnings {
					out = append(out, linter.LintFormatShort(w.rule, w.msg, line))
				}
			}
		}
	}
	return out
}

type lintWarning struct{ rule, msg string }

func lintCommand(cmd instructions.Command) []lintWarning {
	var out []lintWarning
	switch c := cmd.(type) {
	case *instructions.AddCommand:
		if c.Checksum != "" {
			return nil
		}
		for _, src := range c.SourcePaths {
			if l := strings.ToLower(src); strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
				out = append(out, lintWarning{AddWithoutChecksum,
					fmt.Sprintf("ADD %s has no --checksum, so the download is not pinned; add --checksum=sha256:<hex>", hallmark.Clip(publicURL(src), 120))})
			}
		}
	case *instructions.RunCommand:
		scripts := []string{strings.Join(c.CmdLine, " ")}
		for _, f := range c.Files {
			scripts = append(scripts, f.Data)
		}
		for _, s := range scripts {
			if pkgs := aptUnpinned(s); len(pkgs) > 0 {
				out = append(out, lintWarning{AptGetUnpinned,
					fmt.Sprintf("apt-get install without pinned versions (%s); pin each as package=version for a reproducible image", hallmark.Clip(strings.Join(pkgs, ", "), 120))})
			}
			if pipeToShell(s) {
				out = append(out, lintWarning{PipeToShell,
					"a download is piped into a shell (curl … | sh); download to a file, check its sha256, then run it"})
			}
		}
	}
	return out
}

// publicURL is raw without user information, query and fragment, which may
// hold credentials (warnings are published in the provenance).
func publicURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "a URL"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

var (
	commandSep = regexp.MustCompile(`&&|\|\||[;|&()\n]`)
	// aptValueOpts are apt-get options whose value is the next word.
	aptValueOpts = map[string]bool{"-o": true, "-t": true, "-c": true, "--option": true, "--target-release": true, "--default-release": true, "--config-file": true}
)

// aptUnpinned returns the packages that an "apt-get install" or "apt
// install" in script names without "=version". Words with variables, and
// .deb files, are left alone: their versions cannot be told.
func aptUnpinned(script string) []string {
	var out []string
	for _, cmd := range commandSep.Split(script, -1) {
		words := strings.Fields(cmd)
		i := 0
		for i < len(words) && path.Base(words[i]) != "apt-get" && path.Base(words[i]) != "apt" {
			i++
		}
		if i == len(words) {
			continue
		}
		args := words[i+1:]
		sub := -1
		for j := 0; j < len(args); j++ {
			if aptValueOpts[args[j]] {
				j++
				continue
			}
			if !strings.HasPrefix(args[j], "-") {
				sub = j
				break
			}
		}
		if sub < 0 || args[sub] != "install" {
			continue
		}
		for j := sub + 1; j < len(args); j++ {
			w := strings.Trim(args[j], `"'`)
			switch {
			case aptValueOpts[w]:
				j++
			case w == "" || strings.HasPrefix(w, "-") || strings.ContainsAny(w, "$`=") || strings.HasSuffix(w, ".deb"):
			default:
				out = append(out, w)
			}
		}
	}
	return out
}

var pipeToShellRE = regexp.MustCompile(
	`\b(?:curl|wget)\b[^|;&\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+)?(?:/usr)?(?:/bin/)?(?:ba|da|z|k|a)?sh\b` +
		`|\b(?:ba|da|z|k|a)?sh\s+-c\s+["']?\$\(\s*(?:curl|wget)\b` +
		`|\b(?:ba|da|z|k|a)?sh\s+<\(\s*(?:curl|wget)\b`)

// pipeToShell reports whether script runs a downloaded script unchecked:
// "curl … | sh", "wget -O- … | bash", `sh -c "$(curl …)"`, "bash <(curl …)".
func pipeToShell(script string) bool {
	return pipeToShellRE.MatchString(script)
}

// startLine is the first line of a parsed instruction, or 0.
func startLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}
