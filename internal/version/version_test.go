package version

import (
	"bytes"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name   string
		bi     *debug.BuildInfo
		ok     bool
		want   Info
		line   string
		revLbl string
	}{
		{
			name:   "no build info",
			want:   Info{Version: "devel", Revision: "unknown", GoVersion: "unknown", BuildKit: "unknown"},
			line:   "devel (revision unknown), unknown, buildkit unknown",
			revLbl: "unknown",
		},
		{
			name: "release",
			ok:   true,
			bi: &debug.BuildInfo{
				GoVersion: "go1.26.8",
				Main:      debug.Module{Path: "github.com/hallmark-dev/hallmark", Version: "v1.2.0"},
				Deps:      []*debug.Module{{Path: "github.com/moby/buildkit", Version: "v0.34.2"}, {Path: "github.com/moby/buildkit/x", Version: "v9"}},
				Settings:  settings("vcs", "git", "vcs.revision", "0123456789abcdef", "vcs.modified", "false"),
			},
			want:   Info{Version: "v1.2.0", Revision: "0123456789abcdef", GoVersion: "go1.26.8", BuildKit: "v0.34.2"},
			line:   "v1.2.0 (revision 0123456789abcdef), go1.26.8, buildkit v0.34.2",
			revLbl: "0123456789abcdef",
		},
		{
			name: "checkout with changes",
			ok:   true,
			bi: &debug.BuildInfo{
				GoVersion: "go1.26.8",
				Main:      debug.Module{Path: "github.com/hallmark-dev/hallmark", Version: "(devel)"},
				Deps:      []*debug.Module{{Path: "github.com/moby/buildkit", Version: "v0.34.2", Replace: &debug.Module{Path: "../buildkit", Version: "v0.35.0-dev"}}},
				Settings:  settings("vcs.revision", "fedcba", "vcs.modified", "true"),
			},
			want:   Info{Version: "devel", Revision: "fedcba", Modified: true, GoVersion: "go1.26.8", BuildKit: "v0.35.0-dev"},
			line:   "devel (revision fedcba, modified), go1.26.8, buildkit v0.35.0-dev",
			revLbl: "fedcba+modified",
		},
		{
			name: "local replacement without a version, no VCS",
			ok:   true,
			bi: &debug.BuildInfo{
				GoVersion: "go1.26.8",
				Deps:      []*debug.Module{{Path: "github.com/moby/buildkit", Version: "v0.34.2", Replace: &debug.Module{Path: "../buildkit"}}},
			},
			want:   Info{Version: "devel", Revision: "unknown", GoVersion: "go1.26.8", BuildKit: "v0.34.2"},
			line:   "devel (revision unknown), go1.26.8, buildkit v0.34.2",
			revLbl: "unknown",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromBuildInfo(tt.bi, tt.ok)
			if got != tt.want {
				t.Errorf("FromBuildInfo = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.line {
				t.Errorf("String = %q, want %q", s, tt.line)
			}
			if l := got.RevisionLabel(); l != tt.revLbl {
				t.Errorf("RevisionLabel = %q, want %q", l, tt.revLbl)
			}
		})
	}
}

func TestGet(t *testing.T) {
	got := Get()
	if got.GoVersion != runtime.Version() {
		t.Errorf("GoVersion = %q, want %q", got.GoVersion, runtime.Version())
	}
	if got.Version == "" || got.Revision == "" || got.BuildKit == "" {
		t.Errorf("Get() has empty fields: %+v", got)
	}
}

func TestLogValue(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("starting", "build", Info{Version: "v1", Revision: "abc", Modified: true, GoVersion: "go1.26.8", BuildKit: "v0.34.2"})
	want := "build.version=v1 build.revision=abc build.modified=true build.go=go1.26.8 build.buildkit=v0.34.2"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("log line %q lacks %q", buf.String(), want)
	}
}
