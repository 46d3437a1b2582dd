package sbom

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParseDpkgStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string // name@version arch
		wantErr string
	}{
		{
			name: "installed, held, removed and half-installed",
			in: `Package: adduser
Status: install ok installed
Priority: important
Architecture: all
Version: 3.134
Description: add and remove users and groups
 This package includes the adduser and deluser commands.
 .
 A continuation line that looks like Field: value.

Package: vim-tiny
Status: hold ok installed
Architecture: amd64
Version: 2:9.0.1378-2

Package: old-config
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: broken
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0
`,
			want: []string{"adduser@3.134 all", "vim-tiny@2:9.0.1378-2 amd64"},
		},
		{
			name: "distroless file without status, CRLF, trailing spaces",
			in:   "Package: libc6\r\nVersion: 2.36-9+deb12u4  \r\nArchitecture: amd64\r\nSource: glibc\r\n",
			want: []string{"libc6@2.36-9+deb12u4 amd64"},
		},
		{
			name: "several blank lines and no trailing newline",
			in:   "\n\n\nPackage: a\nVersion: 1\n\n\n\nPackage: b\nVersion: 2",
			want: []string{"a@1 ", "b@2 "},
		},
		{
			name: "paragraph without version is skipped",
			in:   "Package: a\nStatus: install ok installed\n\nPackage: b\nVersion: 2\n",
			want: []string{"b@2 "},
		},
		{
			name:    "malformed line keeps the rest",
			in:      "Package: a\nVersion: 1\nnot a field\n\nPackage: b\nVersion: 2\n",
			want:    []string{"a@1 ", "b@2 "},
			wantErr: "line 3: not a field",
		},
		{
			name:    "line over the limit",
			in:      "Package: a\nVersion: 1\n\nPackage: b\nDescription: " + strings.Repeat("x", maxLineBytes) + "\n",
			want:    []string{"a@1 "},
			wantErr: "token too long",
		},
		{name: "empty", in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, err := parseDpkgStatus(strings.NewReader(tt.in))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			var got []string
			for _, p := range pkgs {
				got = append(got, p.Name+"@"+p.Version+" "+p.Arch)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("packages = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDpkgPURL(t *testing.T) {
	debian := &osRelease{ID: "debian", VersionID: "12"}
	tests := []struct {
		name string
		p    dpkgPackage
		rel  *osRelease
		want string
	}{
		{"plain", dpkgPackage{Name: "adduser", Version: "3.134", Arch: "all"}, debian,
			"pkg:deb/debian/adduser@3.134?arch=all&distro=debian-12"},
		{"epoch and source", dpkgPackage{Name: "libc6", Version: "2.36-9+deb12u4", Arch: "amd64", Source: "glibc"}, debian,
			"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"},
		{"source with another version", dpkgPackage{Name: "libgcc-s1", Version: "12.2.0-14", Arch: "amd64", Source: "gcc-12", SourceVersion: "12.2.0-14+b1"}, debian,
			"pkg:deb/debian/libgcc-s1@12.2.0-14?arch=amd64&distro=debian-12&upstream=gcc-12%4012.2.0-14%2Bb1"},
		{"epoch", dpkgPackage{Name: "vim", Version: "2:9.0.1378-2", Arch: "amd64"}, &osRelease{ID: "ubuntu", VersionID: "24.04"},
			"pkg:deb/ubuntu/vim@2:9.0.1378-2?arch=amd64&distro=ubuntu-24.04"},
		{"no os-release", dpkgPackage{Name: "a", Version: "1"}, nil, "pkg:deb/debian/a@1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.purl(tt.rel); got != tt.want {
				t.Errorf("purl = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestDebian12Status reads this host's dpkg status (Debian 12, committed
// as testdata): every paragraph is an installed package.
func TestDebian12Status(t *testing.T) {
	status := testdata(t, "debian12/status.gz")
	pkgs, err := parseDpkgStatus(bytes.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Count(status, []byte("\nPackage: ")) + 1; len(pkgs) != want {
		t.Fatalf("%d packages, want %d", len(pkgs), want)
	}
	rel, err := parseOSRelease(bytes.NewReader(testdata(t, "debian12/os-release")))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		if p.Name == "libc6" {
			if got := p.purl(rel); !strings.HasPrefix(got, "pkg:deb/debian/libc6@2.36-9") || !strings.Contains(got, "distro=debian-12") || !strings.Contains(got, "upstream=glibc") {
				t.Errorf("libc6 purl = %s", got)
			}
			return
		}
	}
	t.Fatal("no libc6")
}

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		in   string
		want osRelease
	}{
		{"ID=debian\nVERSION_ID=\"12\"\n", osRelease{"debian", "12"}},
		{"# comment\nID='wolfi'\nVERSION_ID=20230201\n", osRelease{"wolfi", "20230201"}},
		{"ID=\"Fedora Linux\"\nVERSION_ID=\"40 (x&y)\"\n", osRelease{"fedoralinux", "40xy"}},
		{"NAME=Alpine\n", osRelease{}},
		{"NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n", osRelease{"arch", "rolling"}},
		{"BUILD_ID=20240101\nVERSION_ID=1.2\nID=x\n", osRelease{"x", "1.2"}},
	}
	for _, tt := range tests {
		got, err := parseOSRelease(strings.NewReader(tt.in))
		if err != nil || *got != tt.want {
			t.Errorf("parseOSRelease(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
}
