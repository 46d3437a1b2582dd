package debian

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want string // error substring; "" for success
		err  error
	}{
		{name: "minimal", spec: specHeader + "spec:\n  packages: [netbase]\n"},
		{name: "full", spec: specHeader + `spec:
  mirror: https://deb.example/debian/
  suite: bookworm
  architecture: arm64
  packages: [base-files, "tzdata=2025b-0+deb12u1", "libc6=2.36-9+deb12u10", "epoch=1:2.0~rc1"]
  user: {name: nonroot, uid: 65532, gid: 65533}
  config:
    user: "65532:65532"
    env: [SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt, EMPTY=]
    workingDir: /home/nonroot
    entrypoint: [/app]
    cmd: [--help]
    labels: {org.opencontainers.image.title: base}
`},
		{name: "one document marker", spec: "---\n" + specHeader + "spec:\n  packages: [netbase]\n"},
		{name: "two documents", spec: specHeader + "spec:\n  packages: [netbase]\n---\n" + specHeader, want: "YAML documents, want one"},
		{name: "empty", spec: "", want: "empty"},
		{name: "not yaml", spec: "spec: [", want: "parse YAML"},
		{name: "too large", spec: specHeader + strings.Repeat("#", MaxSpecBytes), err: hallmark.ErrTooLarge},
		{name: "api version", spec: "apiVersion: v2\nkind: BaseImage\nmetadata: {name: x}\nspec: {packages: [a1]}\n", want: `apiVersion: "v2" is not "hallmark.dev/v1"`},
		{name: "kind", spec: "apiVersion: hallmark.dev/v1\nkind: Policy\nmetadata: {name: x}\nspec: {packages: [a1]}\n", want: "kind:"},
		{name: "name", spec: "apiVersion: hallmark.dev/v1\nkind: BaseImage\nmetadata: {name: Static}\nspec: {packages: [a1]}\n", want: "metadata.name"},
		{name: "unknown top field", spec: specHeader + "status: {}\nspec: {packages: [a1]}\n", want: `document: unknown field "status"`},
		{name: "unknown spec field", spec: specHeader + "spec:\n  pakages: [netbase]\n", want: `spec: unknown field "pakages"`},
		{name: "field case", spec: specHeader + "spec:\n  Packages: [netbase]\n", want: `spec: unknown field "Packages"`},
		{name: "unknown user field", spec: specHeader + "spec:\n  packages: [a1]\n  user: {name: a, uid: 1, home: /x}\n", want: `spec.user: unknown field "home"`},
		{name: "packages not a list", spec: specHeader + "spec:\n  packages: netbase\n", want: "spec.packages: want a list"},
		{name: "package a number", spec: specHeader + "spec:\n  packages: [1]\n", want: "spec.packages[0]: want a string"},
		{name: "no packages", spec: specHeader + "spec: {}\n", want: "spec.packages: at least one package"},
		{name: "bad package", spec: specHeader + "spec:\n  packages: [netbase, Bad_Name]\n", want: `spec.packages[1]: "Bad_Name" is not a Debian package name`},
		{name: "option injection", spec: specHeader + "spec:\n  packages: [-oAPT::x=1]\n", want: "spec.packages[0]"},
		{name: "bad version", spec: specHeader + "spec:\n  packages: [netbase=latest]\n", want: `spec.packages[0]: "latest" is not a Debian version`},
		{name: "duplicate package", spec: specHeader + "spec:\n  packages: [netbase, netbase=6.4]\n", want: `spec.packages[1]: package "netbase" is declared twice`},
		{name: "too many packages", spec: specHeader + "spec:\n  packages: [" + strings.Repeat("aa,", MaxPackages) + "bb]\n", want: "spec.packages: 501 entries"},
		{name: "mirror scheme", spec: specHeader + "spec:\n  mirror: ftp://deb.example/debian\n  packages: [a1]\n", want: "spec.mirror"},
		{name: "mirror credentials", spec: specHeader + "spec:\n  mirror: https://u:p@deb.example/debian\n  packages: [a1]\n", want: "spec.mirror"},
		{name: "suite", spec: specHeader + "spec:\n  suite: Bookworm\n  packages: [a1]\n", want: "spec.suite"},
		{name: "architecture", spec: specHeader + "spec:\n  architecture: x86_64\n  packages: [a1]\n", want: `spec.architecture: "x86_64" is not one of amd64, arm64`},
		{name: "root user", spec: specHeader + "spec:\n  packages: [a1]\n  user: {name: root, uid: 0}\n", want: "spec.user.name"},
		{name: "uid 0", spec: specHeader + "spec:\n  packages: [a1]\n  user: {name: app, uid: 0}\n", want: "spec.user.uid"},
		{name: "uid a string", spec: specHeader + "spec:\n  packages: [a1]\n  user: {name: app, uid: \"1\"}\n", want: "spec.user.uid: want an integer"},
		{name: "uid fraction", spec: specHeader + "spec:\n  packages: [a1]\n  user: {name: app, uid: 1.5}\n", want: "spec.user.uid: want an integer"},
		{name: "negative gid", spec: specHeader + "spec:\n  packages: [a1]\n  user: {name: app, uid: 1, gid: -1}\n", want: "spec.user.gid"},
		{name: "env", spec: specHeader + "spec:\n  packages: [a1]\n  config: {env: [NOEQUALS]}\n", want: `spec.config.env[0]: "NOEQUALS" is not KEY=value`},
		{name: "env twice", spec: specHeader + "spec:\n  packages: [a1]\n  config: {env: [A=1, A=2]}\n", want: "spec.config.env[1]: A is set twice"},
		{name: "working dir", spec: specHeader + "spec:\n  packages: [a1]\n  config: {workingDir: home}\n", want: "spec.config.workingDir"},
		{name: "config user", spec: specHeader + "spec:\n  packages: [a1]\n  config: {user: \"a b\"}\n", want: "spec.config.user"},
		{name: "labels", spec: specHeader + "spec:\n  packages: [a1]\n  config: {labels: {\"\": x}}\n", want: "spec.config.labels"},
		{name: "label value", spec: specHeader + "spec:\n  packages: [a1]\n  config: {labels: {a: 1}}\n", want: "spec.config.labels.a: want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSpec([]byte(tt.spec))
			if tt.want == "" && tt.err == nil {
				if err != nil {
					t.Fatalf("ParseSpec: %v", err)
				}
				if s.Kind != Kind {
					t.Errorf("kind = %q", s.Kind)
				}
				return
			}
			want := tt.err
			if want == nil {
				want = hallmark.ErrInvalid
			}
			if !errors.Is(err, want) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %v with %q", err, want, tt.want)
			}
		})
	}
}

func TestSpecDefaults(t *testing.T) {
	s := mustSpec(t, specHeader+"spec:\n  packages: [tzdata, base-files=12.4+deb12u14]\n  user: {name: app, uid: 1000}\n")
	if got := s.Requests(); !slices.Equal(got, []Request{{Name: "base-files", Version: "12.4+deb12u14"}, {Name: "tzdata"}}) {
		t.Errorf("Requests = %v, want sorted with versions", got)
	}
	if got := userSpec(s); got != "1000:1000" {
		t.Errorf("default config user = %q, want 1000:1000", got)
	}
	if got := userSpec(mustSpec(t, specHeader+"spec: {packages: [a1]}\n")); got != "" {
		t.Errorf("config user without a spec user = %q, want root (empty)", got)
	}
}

// TestExampleSpecs keeps the shipped examples valid.
func TestExampleSpecs(t *testing.T) {
	files, err := filepath.Glob("../../examples/bases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example specs: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseSpec(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if userSpec(s) != "65532:65532" {
			t.Errorf("%s: config user %q, want 65532:65532", f, userSpec(s))
		}
	}
}
