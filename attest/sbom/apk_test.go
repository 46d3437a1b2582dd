package sbom

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParseApkInstalled(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []apkPackage
		wantErr string
	}{
		{
			name: "two records with files",
			in: `C:Q1abc=
P:musl
V:1.2.5-r0
A:x86_64
L:MIT
o:musl
F:lib
R:libc.musl-x86_64.so.1
Z:Q1def=

P:busybox-binsh
V:1.36.1-r29
A:x86_64
L:GPL-2.0-only
o:busybox
`,
			want: []apkPackage{
				{Name: "musl", Version: "1.2.5-r0", Arch: "x86_64", License: "MIT", Origin: "musl"},
				{Name: "busybox-binsh", Version: "1.36.1-r29", Arch: "x86_64", License: "GPL-2.0-only", Origin: "busybox"},
			},
		},
		{
			name: "CRLF and no trailing blank line",
			in:   "P:zlib\r\nV:1.3.1-r1\r\nA:aarch64",
			want: []apkPackage{{Name: "zlib", Version: "1.3.1-r1", Arch: "aarch64"}},
		},
		{
			name: "record without version is skipped",
			in:   "P:a\n\nP:b\nV:1\n",
			want: []apkPackage{{Name: "b", Version: "1"}},
		},
		{
			name:    "garbage line",
			in:      "P:a\nV:1\nthis is not apk\n",
			want:    []apkPackage{{Name: "a", Version: "1"}},
			wantErr: "line 3: not a field",
		},
		{
			name:    "line over the limit",
			in:      "P:a\nV:1\n\nP:b\nT:" + strings.Repeat("x", maxLineBytes) + "\n",
			want:    []apkPackage{{Name: "a", Version: "1"}},
			wantErr: "token too long",
		},
		{name: "empty", in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseApkInstalled(strings.NewReader(tt.in))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("packages = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestApkFixture(t *testing.T) {
	pkgs, err := parseApkInstalled(bytes.NewReader(testdata(t, "alpine/installed")))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 14 {
		t.Fatalf("%d packages, want 14", len(pkgs))
	}
	want := apkPackage{Name: "ca-certificates-bundle", Version: "20240705-r0", Arch: "x86_64", License: "MPL-2.0 AND MIT", Origin: "ca-certificates"}
	if pkgs[6] != want {
		t.Errorf("package 6 = %+v, want %+v", pkgs[6], want)
	}
}

func TestApkPURL(t *testing.T) {
	p := apkPackage{Name: "libssl3", Version: "3.3.2-r0", Arch: "x86_64", Origin: "openssl"}
	tests := []struct {
		rel  *osRelease
		want string
	}{
		{&osRelease{ID: "alpine", VersionID: "3.20.3"}, "pkg:apk/alpine/libssl3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl"},
		{&osRelease{ID: "wolfi", VersionID: "20230201"}, "pkg:apk/wolfi/libssl3@3.3.2-r0?arch=x86_64&distro=wolfi-20230201&upstream=openssl"},
		{nil, "pkg:apk/alpine/libssl3@3.3.2-r0?arch=x86_64&upstream=openssl"},
	}
	for _, tt := range tests {
		if got := p.purl(tt.rel); got != tt.want {
			t.Errorf("purl = %s, want %s", got, tt.want)
		}
	}
}
