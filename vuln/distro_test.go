package vuln

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestMatchDistro matches Debian, Ubuntu and Alpine packages, as
// Hallmark's SBOM writes them, against real advisories (testdata/).
func TestMatchDistro(t *testing.T) {
	db := distroDatabase(t)
	deb := func(name, version, upstream string) string {
		q := []string{"arch", "amd64", "distro", "debian-12"}
		if upstream != "" {
			q = append(q, "upstream", upstream)
		}
		return purl("deb", "debian", name, version, q...)
	}
	tests := []struct {
		name string
		purl string
		want []string // "ID installed fixed…"
	}{
		// +debNuM: 2.36-9 < 2.36-9+deb12u2 < 2.36-9+deb12u3 < 2.36-9+deb12u14.
		{"glibc before the DSA", deb("libc6", "2.36-9+deb12u2", "glibc"), []string{"DSA-5514-1 2.36-9+deb12u2 2.36-9+deb12u3"}},
		{"glibc as released", deb("libc6", "2.36-9", "glibc"), []string{"DSA-5514-1 2.36-9 2.36-9+deb12u3"}},
		{"glibc fixed", deb("libc6", "2.36-9+deb12u3", "glibc"), nil},
		{"glibc later", deb("libc-bin", "2.36-9+deb12u14", "glibc"), nil},
		// ~: 3.0.11-1~deb12u1 < 3.0.11-1~deb12u2 < 3.0.11-1.
		{"openssl tilde", deb("libssl3", "3.0.11-1~deb12u1", "openssl"), []string{"DSA-5532-1 3.0.11-1~deb12u1 3.0.11-1~deb12u2"}},
		{"openssl fixed", deb("openssl", "3.0.11-1~deb12u2", ""), nil},
		{"openssl older upstream", deb("libssl3", "3.0.9-1", "openssl"), []string{"DSA-5532-1 3.0.9-1 3.0.11-1~deb12u2"}},
		// The source version decides: a binary versioned apart from its
		// source (a binNMU) is matched by "upstream=openssl@…".
		{"source version", deb("libssl3", "3.0.11-1~deb12u2", "openssl@3.0.11-1~deb12u1"), []string{"DSA-5532-1 3.0.11-1~deb12u1 3.0.11-1~deb12u2"}},
		// Epochs: 1:9.18.19-1~deb12u1 < 1:9.18.24-1, and 9.20.0-1 (no
		// epoch) < 1:9.18.24-1.
		{"bind9 epoch", deb("bind9-libs", "1:9.18.19-1~deb12u1", "bind9"), []string{"DSA-5621-1 1:9.18.19-1~deb12u1 1:9.18.24-1"}},
		{"bind9 fixed", deb("bind9-libs", "1:9.18.28-1~deb12u2", "bind9"), nil},
		{"bind9 without epoch", deb("bind9-libs", "9.20.0-1", "bind9"), []string{"DSA-5621-1 9.20.0-1 1:9.18.24-1"}},
		{"zlib fixed before the release", deb("zlib1g", "1:1.2.13.dfsg-1", "zlib"), nil},
		{"zlib in Debian 11", purl("deb", "debian", "zlib1g", "1:1.2.11.dfsg-2+deb11u1", "arch", "amd64", "distro", "debian-11", "upstream", "zlib"),
			[]string{"DEBIAN-CVE-2022-37434 1:1.2.11.dfsg-2+deb11u1 1:1.2.11.dfsg-2+deb11u2"}},
		{"tar never fixed", deb("tar", "1.34+dfsg-1.2+deb12u1", ""), []string{"DEBIAN-CVE-2005-2541 1.34+dfsg-1.2+deb12u1"}},
		{"other release", purl("deb", "debian", "libc6", "2.36-9", "distro", "debian-13", "upstream", "glibc"), nil},
		// Ubuntu: "ubuntu-22.04" finds "Ubuntu:22.04:LTS", not Ubuntu Pro.
		{"ubuntu", purl("deb", "ubuntu", "libssl3", "3.0.2-0ubuntu1.8", "arch", "amd64", "distro", "ubuntu-22.04", "upstream", "openssl"),
			[]string{"UBUNTU-CVE-2023-0464 3.0.2-0ubuntu1.8 3.0.2-0ubuntu1.9"}},
		{"ubuntu fixed", purl("deb", "ubuntu", "libssl3", "3.0.2-0ubuntu1.10", "distro", "ubuntu-22.04", "upstream", "openssl"), nil},
		{"ubuntu pro not applied", purl("deb", "ubuntu", "openssl", "1.0.1f-1ubuntu2.27", "distro", "ubuntu-14.04"), nil},
		// Alpine: "alpine-3.17.2" is "Alpine:v3.17", matched by origin.
		{"alpine", purl("apk", "alpine", "libssl3", "3.0.7-r0", "arch", "x86_64", "distro", "alpine-3.17.2", "upstream", "openssl"),
			[]string{"ALPINE-CVE-2022-3996 3.0.7-r0 3.0.7-r2"}},
		{"alpine fixed", purl("apk", "alpine", "libcrypto3", "3.0.7-r2", "distro", "alpine-3.18.0", "upstream", "openssl"), nil},
		{"alpine letter", purl("apk", "alpine", "libssl1.1", "1.1.1l-r0", "distro", "alpine-3.17.0", "upstream", "openssl"),
			[]string{"ALPINE-CVE-2022-3996 1.1.1l-r0 3.0.7-r2"}},
		{"alpine _p", purl("apk", "alpine", "bind-libs", "9.16.48_p1-r0", "distro", "alpine-3.16.9", "upstream", "bind"), nil},
		{"alpine _rc", purl("apk", "alpine", "bind-libs", "9.16.48_rc1-r0", "distro", "alpine-3.16.9", "upstream", "bind"),
			[]string{"ALPINE-CVE-2023-4408 9.16.48_rc1-r0 9.16.48-r0"}},
		{"alpine other branch", purl("apk", "alpine", "bind", "9.16.45-r0", "distro", "alpine-3.20.3"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := db.Scan([]Package{pkg(t, tc.purl)})
			var got []string
			for _, f := range rep.Findings {
				if f.Package != tc.purl {
					t.Errorf("finding for %s, want %s", f.Package, tc.purl)
				}
				got = append(got, strings.TrimSpace(fmt.Sprintf("%s %s %s", f.ID, f.Installed, strings.Join(f.Fixed, " "))))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings = %q, want %q", got, tc.want)
			}
			if tc.name != "other release" && tc.name != "alpine other branch" && tc.name != "ubuntu pro not applied" && len(rep.Unchecked) != 0 {
				t.Errorf("unchecked = %+v", rep.Unchecked)
			}
		})
	}
}

func TestMatchDistroSeverity(t *testing.T) {
	db := distroDatabase(t)
	fs := db.Match([]Package{
		pkg(t, purl("deb", "debian", "libc6", "2.36-9", "distro", "debian-12", "upstream", "glibc")),
		pkg(t, purl("deb", "ubuntu", "libssl3", "3.0.2-0ubuntu1.8", "distro", "ubuntu-22.04", "upstream", "openssl")),
		pkg(t, purl("apk", "alpine", "libssl3", "3.0.7-r0", "distro", "alpine-3.17.2", "upstream", "openssl")),
	})
	want := []Severity{
		// From the CVE record DSA-5514-1 names upstream.
		{Level: High, Score: 7.8, Vector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", Source: "CVE-2023-4911"},
		{Level: Low, Vector: "Ubuntu:low", Source: "UBUNTU-CVE-2023-0464"},
		{Level: Unknown},
	}
	if len(fs) != len(want) {
		t.Fatalf("findings = %+v", fs)
	}
	for i, f := range fs {
		if f.Severity != want[i] {
			t.Errorf("%s: severity %+v, want %+v", f.ID, f.Severity, want[i])
		}
	}
}

func TestMatchDistroUnchecked(t *testing.T) {
	db := distroDatabase(t)
	rep := db.Scan([]Package{
		pkg(t, purl("deb", "debian", "libc6", "2.36-9", "distro", "debian", "upstream", "glibc")),
		pkg(t, purl("deb", "kali", "libc6", "2.36-9", "distro", "kali-2024.1")),
		pkg(t, purl("deb", "debian", "libc6", "not a version!", "distro", "debian-12", "upstream", "glibc")),
		pkg(t, purl("apk", "alpine", "musl", "1.2.5-r0", "distro", "alpine-3.21.0")),
		pkg(t, purl("rpm", "redhat", "bash", "5.1.8-9.el9", "distro", "rhel-9.4", "upstream", "bash-5.1.8-9.el9.src.rpm")),
	})
	var got []string
	for _, u := range rep.Unchecked {
		got = append(got, u.Reason)
	}
	want := []string{
		`no OSV ecosystem for deb packages of distro "debian"`,
		`no OSV ecosystem for deb packages of distro "kali-2024.1"`,
		`version "not a version!" does not parse as a dpkg version`,
		"no advisories loaded for Alpine:v3.21",
		`no OSV ecosystem for rpm packages of distro "rhel-9.4"`,
	}
	if !slices.Equal(got, want) || len(rep.Findings) != 0 {
		t.Errorf("unchecked = %q\nwant %q\nfindings %+v", got, want, rep.Findings)
	}
}
