package debian

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// Outputs of apt-get and apt-cache on Debian 12, shortened.
const (
	printURIs = `Reading package lists...
Building dependency tree...
The following NEW packages will be installed:
  base-files libc6 netbase
0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.
Need to get 2843060 B of archives.
'http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36-9%2bdeb12u14_amd64.deb' libc6_2.36-9+deb12u14_amd64.deb 2759320 MD5Sum:8d98f0c882f269aaee8437bcfe89346e
'http://deb.debian.org/debian/pool/main/b/base-files/base-files_12.4%2bdeb12u14_amd64.deb' base-files_12.4+deb12u14_amd64.deb 70940 MD5Sum:cbc06f9d90dcdd8460ad83edaadd9d94
'http://deb.debian.org/debian/pool/main/n/netbase/netbase_6.4_all.deb' netbase_6.4_all.deb 12800 MD5Sum:814246d2f01d3238bbd3ef8c15c57076
`
	cacheShow = `Package: libc6
Version: 2.36-9+deb12u14
Architecture: amd64
Description: GNU C Library: Shared libraries
 Contains the standard libraries.
Filename: pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb
Size: 2759320
SHA256: ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf

Package: libc6
Version: 2.36-9+deb12u7
Architecture: amd64
Filename: pool/updates/main/g/glibc/libc6_2.36-9+deb12u7_amd64.deb
Size: 2757936
SHA256: eba944bd99c2f5142baf573e6294a70f00758083bc3c2dca4c9e445943a3f8e6

Package: base-files
Version: 12.4+deb12u14
Architecture: amd64
Essential: yes
Filename: pool/main/b/base-files/base-files_12.4+deb12u14_amd64.deb
Size: 70940
SHA256: f6d54a67bcc56ec1698de8093ebd9dce8ad02cfb8828882be676e6f157f3f6b3

Package: netbase
Version: 6.4
Architecture: all
Filename: pool/main/n/netbase/netbase_6.4_all.deb
Size: 12800
SHA256: 0d5f444f594e48c1e16a41d8fc628a09b24c658916a1274025c2330f2a802bed
`
	cachePolicy = `Package files:
 100 /tmp/hallmark-apt-1/status
     release a=now
 500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
     release v=12,o=Debian,a=oldstable-security,n=bookworm-security,l=Debian-Security,c=main,b=amd64
     origin deb.debian.org
 500 http://deb.debian.org/debian bookworm/main amd64 Packages
     release v=12.14,o=Debian,a=oldstable,n=bookworm,l=Debian,c=main,b=amd64
     origin deb.debian.org
Pinned packages:
`
)

func TestMatchIndex(t *testing.T) {
	uris, err := parseURIs([]byte(printURIs))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := matchIndex(uris, parseStanzas([]byte(cacheShow)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, fmt.Sprintf("%s %s %s %d %s", p.Name, p.Version, p.Architecture, p.Size, p.SHA256.Hex()[:8]))
	}
	want := []string{"base-files 12.4+deb12u14 amd64 70940 f6d54a67", "libc6 2.36-9+deb12u14 amd64 2759320 ba4f88f7", "netbase 6.4 all 12800 0d5f444f"}
	if !slices.Equal(got, want) {
		t.Errorf("packages\n%q\nwant\n%q", got, want)
	}
	if pkgs[1].URI != "http://deb.debian.org/debian/pool/main/g/glibc/libc6_2.36-9%2bdeb12u14_amd64.deb" {
		t.Errorf("uri = %s", pkgs[1].URI)
	}
	if got := parseSources([]byte(cachePolicy)); !slices.Equal(got, []string{
		"http://deb.debian.org/debian bookworm/main amd64", "http://deb.debian.org/debian-security bookworm-security/main amd64",
	}) {
		t.Errorf("sources = %q", got)
	}
}

func TestMatchIndexRejects(t *testing.T) {
	tests := []struct {
		name  string
		uris  string
		index string
		want  string
	}{
		{name: "no index entry", uris: printURIs, index: strings.Split(cacheShow, "\n\nPackage: base-files")[0], want: "no entry for"},
		{name: "no sha256", uris: printURIs, index: strings.Replace(cacheShow, "SHA256: f6d5", "SHA1: f6d5", 1), want: "no valid SHA256"},
		{name: "size differs", uris: printURIs, index: strings.Replace(cacheShow, "Size: 12800", "Size: 12801", 1), want: "the size"},
		{name: "entries disagree", uris: printURIs, index: cacheShow + "\n" + strings.Replace(strings.Split(cacheShow, "\n\n")[3], "0d5f", "1d5f", 1), want: "two different entries"},
		{name: "ftp", uris: "'ftp://deb.example/x_1_all.deb' x_1_all.deb 1 MD5Sum:0\n", want: "only http(s) mirrors"},
		{name: "nothing to download", uris: "Reading package lists...\n", want: "no packages"},
		{name: "listed twice", uris: "'http://d/aa_1_all.deb' aa_1_all.deb 1 x\n'http://d/aa_2_all.deb' aa_2_all.deb 1 x\n", want: "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uris, err := parseURIs([]byte(tt.uris))
			if err == nil {
				_, err = matchIndex(uris, parseStanzas([]byte(tt.index)))
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAptError(t *testing.T) {
	tests := []struct {
		name           string
		stdout, stderr string
		class          error
		want           string
	}{
		{name: "unknown package", stderr: "E: Unable to locate package nosuchpkg\n", class: hallmark.ErrInvalid, want: "apt-get: Unable to locate package nosuchpkg"},
		{name: "unknown version", stderr: "E: Version '1.0' for 'libc6' was not found\n", class: hallmark.ErrInvalid, want: "Version '1.0' for 'libc6' was not found"},
		{name: "unmet", stdout: "The following packages have unmet dependencies:\n foo : Depends: bar (>= 2) but it is not installable\n",
			stderr: "E: Unable to correct problems, you have held broken packages.\n", class: hallmark.ErrInvalid, want: "foo : Depends: bar (>= 2) but it is not installable; Unable to correct problems"},
		{name: "unauthenticated", stderr: "E: There were unauthenticated packages and -y was used without --allow-unauthenticated\n", class: hallmark.ErrInvalid, want: "unauthenticated"},
		{name: "no release file", stderr: "E: The repository 'http://deb.example/debian nosuch Release' does not have a Release file.\n", class: hallmark.ErrInvalid, want: "does not have a Release file"},
		{name: "mirror down", stderr: "W: Failed to fetch http://deb.example/debian/dists/bookworm/InRelease  Could not connect to deb.example:80\nE: Some index files failed to download.\n",
			class: hallmark.ErrUnavailable, want: "Failed to fetch"},
		{name: "other", stderr: "E: something odd\n", want: "apt-get: something odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := aptError("apt-get", []byte(tt.stdout), []byte(tt.stderr))
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			for _, c := range []error{hallmark.ErrInvalid, hallmark.ErrUnavailable} {
				want := tt.class != nil && errors.Is(c, tt.class)
				if errors.Is(err, c) != want {
					t.Errorf("error %v: is %v = %v, want %v", err, c, !want, want)
				}
			}
		})
	}
}

// fakeApt writes apt-get and apt-cache scripts that log their arguments
// and print canned output.
func fakeApt(t *testing.T, getOut, showOut string, exit int) (aptGet, aptCache, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "log")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, f := range []struct{ name, out string }{{"get.out", getOut}, {"show.out", showOut}, {"policy.out", cachePolicy}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	aptGet = write("apt-get", fmt.Sprintf(`echo "apt-get $*" >> %[1]s
case "$*" in *" update"*) mkdir -p "$(echo "$*" | sed 's/.*Dir::State::Lists=\([^ ]*\).*/\1/')"; touch "$(echo "$*" | sed 's/.*Dir::State::Lists=\([^ ]*\).*/\1/')/x_Packages"; exit 0;; esac
cat %[2]s/get.out
[ %[3]d = 0 ] || echo "E: Unable to locate package nosuchpkg" >&2
exit %[3]d
`, log, dir, exit))
	aptCache = write("apt-cache", fmt.Sprintf(`echo "apt-cache $*" >> %[1]s
case "$*" in *" policy") cat %[2]s/policy.out;; *) cat %[2]s/show.out;; esac
`, log, dir))
	return aptGet, aptCache, log
}

func TestResolve(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /bin/sh")
	}
	tests := []struct {
		name      string
		spec      string
		want      []string // substrings of the apt-get install command
		updates   bool
		hostLists bool
	}{
		{name: "host sources", spec: specHeader + "spec: {packages: [netbase, base-files=12.4+deb12u14, libc6]}\n", hostLists: true,
			want: []string{"Dir::State::status=", "Debug::NoLocking=1", "APT::Install-Recommends=0", "APT::Get::AllowUnauthenticated=0",
				"Dir::State::Lists=HOSTLISTS", "--print-uris --no-install-recommends install base-files=12.4+deb12u14 libc6 netbase"}},
		{name: "own mirror", spec: specHeader + "spec: {mirror: http://deb.example/debian, suite: trixie, architecture: arm64, packages: [netbase]}\n",
			updates: true, want: []string{"APT::Architecture=arm64", "APT::Architectures=arm64", "Dir::Etc::SourceList=", "Dir::Etc::PreferencesParts="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aptGet, aptCache, log := fakeApt(t, printURIs, cacheShow, 0)
			hostLists := t.TempDir()
			if err := os.WriteFile(filepath.Join(hostLists, "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			state := t.TempDir()
			a, err := NewApt(WithAptCommands(aptGet, aptCache), WithStateDir(state))
			if err != nil {
				t.Fatal(err)
			}
			a.opts.hostLists = hostLists
			plan, err := a.Resolve(t.Context(), mustSpec(t, tt.spec))
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if len(plan.Packages) != 3 || len(plan.Sources) != 2 || plan.Architecture == "" {
				t.Errorf("plan = %+v", plan)
			}
			data, _ := os.ReadFile(log)
			calls := strings.ReplaceAll(string(data), hostLists, "HOSTLISTS")
			for _, w := range tt.want {
				if !strings.Contains(calls, w) {
					t.Errorf("apt calls do not have %q:\n%s", w, calls)
				}
			}
			if got := strings.Contains(calls, " update"); got != tt.updates {
				t.Errorf("apt-get update ran: %v, want %v\n%s", got, tt.updates, calls)
			}
			if tt.updates {
				src, err := filepath.Glob(filepath.Join(state, "*", "sources.list"))
				if err != nil || len(src) != 1 {
					t.Fatalf("sources.list: %v %v", src, err)
				}
				if data, _ := os.ReadFile(src[0]); string(data) != "deb [arch=arm64] http://deb.example/debian trixie main\n" {
					t.Errorf("sources.list = %q", data)
				}
				// Fresh lists are not updated again.
				os.Remove(log)
				if _, err := a.Resolve(t.Context(), mustSpec(t, tt.spec)); err != nil {
					t.Fatal(err)
				}
				if data, _ := os.ReadFile(log); strings.Contains(string(data), " update") {
					t.Errorf("fresh lists were updated again:\n%s", data)
				}
			}
		})
	}

	t.Run("unknown package", func(t *testing.T) {
		aptGet, aptCache, _ := fakeApt(t, "", "", 100)
		a, err := NewApt(WithAptCommands(aptGet, aptCache))
		if err != nil {
			t.Fatal(err)
		}
		a.opts.hostLists = filepath.Dir(aptGet)
		writeFile(t, filepath.Join(a.opts.hostLists, "x_Packages"), "")
		_, err = a.Resolve(t.Context(), mustSpec(t, specHeader+"spec: {packages: [nosuchpkg]}\n"))
		if !errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), "Unable to locate package nosuchpkg") {
			t.Fatalf("error = %v, want ErrInvalid naming the package", err)
		}
	})
	t.Run("no apt", func(t *testing.T) {
		a, err := NewApt(WithAptCommands(filepath.Join(t.TempDir(), "apt-get"), "apt-cache"))
		if err != nil {
			t.Fatal(err)
		}
		a.opts.hostLists = t.TempDir()
		writeFile(t, filepath.Join(a.opts.hostLists, "x_Packages"), "")
		if _, err := a.Resolve(t.Context(), mustSpec(t, specHeader+"spec: {packages: [a1]}\n")); !errors.Is(err, hallmark.ErrUnavailable) {
			t.Fatalf("error = %v, want ErrUnavailable", err)
		}
	})
}

func TestHostSuite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "os-release")
	writeFile(t, p, "ID=debian\nVERSION_CODENAME=bookworm\n")
	if s, err := hostSuite(p); err != nil || s != "bookworm" {
		t.Errorf("hostSuite = %q, %v", s, err)
	}
	writeFile(t, p, "ID=alpine\n")
	if _, err := hostSuite(p); !errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), "spec.suite") {
		t.Errorf("error = %v, want one naming spec.suite", err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExclude(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /bin/sh")
	}
	show := "Package: mawk\nVersion: 1.3.4\nArchitecture: amd64\nProvides: awk (= 1.3.4), mawk-compat\n\nPackage: debconf\nVersion: 1.5.82\nArchitecture: all\n"
	_, aptCache, _ := fakeApt(t, "", show, 0)
	a, err := NewApt(WithAptCommands("apt-get", aptCache))
	if err != nil {
		t.Fatal(err)
	}
	status := filepath.Join(t.TempDir(), "status")
	spec := mustSpec(t, specHeader+"spec: {architecture: amd64, packages: [base-files], exclude: [mawk, debconf]}\n")
	if err := a.exclude(t.Context(), spec, nil, status); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Package: debconf\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nMulti-Arch: foreign\nVersion: 99999:0\nDescription:",
		"Package: mawk\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nMulti-Arch: foreign\nVersion: 99999:0\nProvides: awk, mawk-compat\n",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("status file lacks %q:\n%s", want, data)
		}
	}
	unknown := mustSpec(t, specHeader+"spec: {architecture: amd64, packages: [base-files], exclude: [nosuch]}\n")
	if err := a.exclude(t.Context(), unknown, nil, status); !errors.Is(err, hallmark.ErrInvalid) || !strings.Contains(err.Error(), `"nosuch" is not in the package index`) {
		t.Errorf("unknown excluded package: %v", err)
	}
	for _, tc := range []struct{ spec, want string }{
		{"spec: {packages: [a1], exclude: [a1]}\n", `spec.exclude[0]: package "a1" is both declared and excluded`},
		{"spec: {packages: [a1], exclude: [b1, b1]}\n", `spec.exclude[1]: package "b1" is excluded twice`},
		{"spec: {packages: [a1], exclude: [B!]}\n", `spec.exclude[0]: "B!" is not a Debian package name`},
	} {
		if _, err := ParseSpec([]byte(specHeader + tc.spec)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSpec(%q) = %v, want %q", tc.spec, err, tc.want)
		}
	}
}

// TestRefresh: host lists are updated with apt-get update at once; a
// spec's own lists lose their stamp, so the next resolve updates them.
func TestRefresh(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /bin/sh")
	}
	aptGet, aptCache, log := fakeApt(t, printURIs, cacheShow, 0)
	state := t.TempDir()
	a, err := NewApt(WithAptCommands(aptGet, aptCache), WithStateDir(state))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(t.Context(), mustSpec(t, specHeader+"spec: {packages: [netbase]}\n")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(log); !strings.Contains(string(data), "apt-get -q update") {
		t.Errorf("host lists were not updated:\n%s", data)
	}
	own := mustSpec(t, specHeader+"spec: {mirror: http://deb.example/debian, suite: trixie, architecture: arm64, packages: [netbase]}\n")
	if _, err := a.Resolve(t.Context(), own); err != nil {
		t.Fatal(err)
	}
	stamps, _ := filepath.Glob(filepath.Join(state, "*", "updated"))
	if len(stamps) != 1 {
		t.Fatalf("stamps %v after a resolve with own lists", stamps)
	}
	if err := a.Refresh(t.Context(), own); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stamps[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("own lists' stamp survived Refresh: %v", err)
	}
	os.Remove(log)
	if _, err := a.Resolve(t.Context(), own); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(log); !strings.Contains(string(data), " update") {
		t.Errorf("the resolve after Refresh did not update the own lists:\n%s", data)
	}
}
