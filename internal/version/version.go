package version

import (
	"log/slog"
	"runtime/debug"
	"strings"
)

// buildKitModule is the module whose version Info.BuildKit reports.
const buildKitModule = "github.com/moby/buildkit"

// unknown stands for what the build info does not say.
const unknown = "unknown"

// Info is what a binary was built from.
type Info struct {
	// Version is the main module's version: a release tag, a pseudo-version
	// derived from the VCS, or "devel" when the toolchain recorded none.
	Version string
	// Revision is the VCS revision (a git commit id), or "unknown".
	Revision string
	// Modified reports that the working tree had uncommitted changes.
	Modified bool
	// GoVersion is the Go toolchain that built the binary, e.g. "go1.26.8".
	GoVersion string
	// BuildKit is the version of the BuildKit client module linked in, or
	// "unknown" when it is not.
	BuildKit string
}

// Get returns the running binary's Info.
func Get() Info { return FromBuildInfo(debug.ReadBuildInfo()) }

// FromBuildInfo extracts Info from bi; ok false (no build info) gives an
// Info of "devel" and "unknown" values.
func FromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	i := Info{Version: "devel", Revision: unknown, GoVersion: unknown, BuildKit: unknown}
	if !ok || bi == nil {
		return i
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		i.Version = v
	}
	if bi.GoVersion != "" {
		i.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				i.Revision = s.Value
			}
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	for _, d := range bi.Deps {
		if d.Path != buildKitModule {
			continue
		}
		if d.Replace != nil && d.Replace.Version != "" {
			d = d.Replace
		}
		if d.Version != "" {
			i.BuildKit = d.Version
		}
	}
	return i
}

// RevisionLabel is Revision with "+modified" appended when the tree had
// local changes: the revision as one value, for a metric label.
func (i Info) RevisionLabel() string {
	if i.Modified {
		return i.Revision + "+modified"
	}
	return i.Revision
}

// String is one line for people: "v1.2.0 (revision 0123abcd…, modified),
// go1.26.8, buildkit v0.34.2".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	b.WriteString(" (revision ")
	b.WriteString(i.Revision)
	if i.Modified {
		b.WriteString(", modified")
	}
	b.WriteString("), ")
	b.WriteString(i.GoVersion)
	b.WriteString(", buildkit ")
	b.WriteString(i.BuildKit)
	return b.String()
}

// LogValue logs Info as a group of its fields.
func (i Info) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("version", i.Version),
		slog.String("revision", i.Revision),
		slog.Bool("modified", i.Modified),
		slog.String("go", i.GoVersion),
		slog.String("buildkit", i.BuildKit),
	)
}
