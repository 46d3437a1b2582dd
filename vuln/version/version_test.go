package version

import (
	"errors"
	"fmt"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

// ordered lists, per ecosystem, versions in strictly increasing order;
// every pair is checked both ways.
var ordered = []struct {
	ecosystem string
	versions  []string
}{
	{"Debian:12", []string{
		"0", "1.0~~", "1.0~rc1", "1.0~rc1+b1", "1.0", "1.0a", "1.0+b1", "1.0.1",
		"2.36-9", "2.36-9+deb12u3", "2.36-9+deb12u9", "2.36-9+deb12u10", "2.36-10",
		"3.0", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", "3.0.11-1", "3.0.11-1+b1",
		"9.20.0-1", "1:1.2.11.dfsg-2+deb11u2", "1:1.2.11.dfsg-4.1", "1:1.2.13.dfsg-1",
		"1:2.0", "1:9.18.19-1~deb12u1", "1:9.18.24-1", "2:1.0",
	}},
	{"Ubuntu:22.04:LTS", []string{
		"3.0.2-0ubuntu1", "3.0.2-0ubuntu1.8", "3.0.2-0ubuntu1.9", "3.0.2-0ubuntu1.10",
		"3.0.2-0ubuntu1.10+esm1", "3.0.13-0ubuntu3",
	}},
	{"Alpine:v3.20", []string{
		"1.1.1-r5", "1.1.1a-r0", "1.1.1l-r0", "1.2_alpha1", "1.2_beta1", "1.2_pre1", "1.2_rc1", "1.2",
		"1.2_cvs", "1.2_svn", "1.2_git", "1.2_hg", "1.2_p1", "1.2.3_rc1-r0", "1.2.3-r0", "1.2.3-r9",
		"1.2.3-r10", "1.2.3_p1-r0", "3.0.7-r0", "3.0.7-r2", "9.10.0-r0", "9.10.0_p1-r0", "9.16.48-r0",
	}},
	{"AlmaLinux:9", []string{
		"1.0~rc1-1", "1.0-1", "1.0^post1-1", "1.0a-1", "2.0-1", "2.34-100.el9", "2.34-100.el9_4.2",
		"5.1.8-6.el9", "5.1.8-9.el9", "1:1.0-1", "32:9.16.23-18.el9_4.1",
	}},
	{"Go", []string{
		"0.0.0-20231016150651-428517fef5b9", "0.3.7", "0.3.8", "0.30.0", "0.31.0",
		"1.21.0-0", "1.21.0-rc.2", "1.21.0", "1.22.9", "1.22.10",
		"5.0.3", "5.0.4-0.20231016150651-428517fef5b9", "5.0.4",
	}},
	{"crates.io", []string{
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0",
	}},
	{"PyPI", []string{
		"0.9", "1.0.dev1", "1.0a1", "1.0b1", "1.0rc1", "1.0", "1.0+local", "1.0.post1", "1.1", "2.0", "1!0.1",
	}},
	{"npm", []string{
		"0.0.1", "1.0.0-alpha", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0", "1.2.3", "1.10.0",
	}},
	{"Maven", []string{
		"1.0-alpha-1", "1.0-beta", "1.0-milestone-1", "1.0-rc1", "1.0-SNAPSHOT", "1.0", "1.0-sp1", "1.0.1", "1.1", "31.1-jre",
	}},
	{"RubyGems", []string{
		"0.9", "1.0.a", "1.0.0.pre", "1.0", "1.0.1", "1.9", "1.10",
	}},
	{"NuGet", []string{
		"1.0.0-alpha", "1.0.0-Beta", "1.0.0-rc.1", "1.0.0", "1.0.0.1", "1.0.1", "1.10.0",
	}},
	{"Packagist", []string{
		"1.0.0-alpha1", "1.0.0-beta2", "1.0.0-RC1", "1.0.0", "v5.4.22", "5.4.23", "v5.4.24",
	}},
}

func TestOrdering(t *testing.T) {
	for _, tc := range ordered {
		t.Run(tc.ecosystem, func(t *testing.T) {
			o, err := For(tc.ecosystem)
			if err != nil {
				t.Fatal(err)
			}
			parsed := make([]Version, len(tc.versions))
			for i, v := range tc.versions {
				if parsed[i], err = o.Parse(v); err != nil {
					t.Fatalf("Parse(%q): %v", v, err)
				}
			}
			for i := range parsed {
				for j := range parsed {
					want := sign(i - j)
					if got := parsed[i].Compare(parsed[j]); got != want {
						t.Errorf("%s: Compare(%q, %q) = %d, want %d", o.Name(), tc.versions[i], tc.versions[j], got, want)
					}
				}
			}
		})
	}
}

func TestEqual(t *testing.T) {
	tests := []struct{ ecosystem, a, b string }{
		{"Debian", "0:1.0-1", "1.0-1"},
		{"Debian:12", "1.0-0", "1.0"},
		{"AlmaLinux:9", "0:5.1.8-6.el9", "5.1.8-6.el9"},
		{"Go", "v0.31.0", "0.31.0"},
		{"Go", "2.0.0+incompatible", "2.0.0"},
		{"PyPI", "1.0", "1.0.0"},
		{"PyPI", "1.0RC1", "1.0rc1"},
		{"npm", "v1.2.3", "1.2.3"},
		{"Maven", "1", "1.0.0"},
		{"Maven", "2.0.0.Final", "2.0.0"},
		{"RubyGems", "1", "1.0"},
		{"NuGet", "1.0.0-Beta", "1.0.0-beta"},
		{"NuGet", "1.0", "1.0.0.0"},
		{"Packagist", "v5.4.23", "5.4.23"},
	}
	for _, tc := range tests {
		t.Run(tc.ecosystem+"/"+tc.a, func(t *testing.T) {
			o, err := For(tc.ecosystem)
			if err != nil {
				t.Fatal(err)
			}
			c, err := o.Compare(tc.a, tc.b)
			if err != nil || c != 0 {
				t.Errorf("Compare(%q, %q) = %d, %v; want 0", tc.a, tc.b, c, err)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	long := fmt.Sprintf("%0300d", 1)
	tests := []struct{ ecosystem, v string }{
		{"Debian:12", ""},
		{"Debian:12", "a1.0"},
		{"Debian:12", "x:1.0"},
		{"Debian:12", "1.0 1"},
		{"Debian:12", "1.0\n"},
		{"Debian:12", "1.1234567890123456789"},
		{"Debian:12", long},
		{"Alpine:v3.20", "1.2.3-"},
		{"Alpine:v3.20", "1.2_foo"},
		{"Alpine:v3.20", "abc"},
		{"AlmaLinux:9", "x:1.0"},
		{"AlmaLinux:9", "1:"},
		{"AlmaLinux:9", "1:2:3"},
		{"Go", "(devel)"},
		{"Go", "1.2.3.4"},
		{"Go", "01.2.3"},
		{"crates.io", "abc"},
		{"PyPI", "not a version"},
		{"PyPI", "1.0-foo-bar"},
		{"npm", "1.2"},
		{"RubyGems", "1.0-"},
		{"NuGet", "one"},
		{"Packagist", "dev-master"},
	}
	for _, tc := range tests {
		t.Run(tc.ecosystem+"/"+hallmark.Clip(tc.v, 20), func(t *testing.T) {
			o, err := For(tc.ecosystem)
			if err != nil {
				t.Fatal(err)
			}
			if v, err := o.Parse(tc.v); !errors.Is(err, hallmark.ErrInvalid) {
				t.Errorf("Parse(%q) = %v, %v; want an error wrapping ErrInvalid", tc.v, v, err)
			}
			if _, err := o.Compare(tc.v, "1"); !errors.Is(err, hallmark.ErrInvalid) {
				t.Errorf("Compare(%q, 1) error = %v, want ErrInvalid", tc.v, err)
			}
		})
	}
}

func TestFor(t *testing.T) {
	tests := []struct{ ecosystem, name string }{
		{"Debian", "dpkg"}, {"Debian:12", "dpkg"}, {"Ubuntu:22.04:LTS", "dpkg"}, {"Ubuntu:Pro:18.04:LTS", "dpkg"},
		{"Alpine:v3.20", "apk"}, {"Wolfi", "apk"}, {"AlmaLinux:9", "rpm"}, {"Rocky Linux:9", "rpm"},
		{"Go", "go"}, {"crates.io", "semver"}, {"PyPI", "pep440"}, {"npm", "npm"},
		{"Maven", "maven"}, {"Maven:https://maven.google.com", "maven"}, {"RubyGems", "rubygems"},
		{"NuGet", "nuget"}, {"Packagist", "packagist"}, {"Packagist:https://packages.drupal.org/8", "packagist"},
	}
	for _, tc := range tests {
		o, err := For(tc.ecosystem)
		if err != nil || o.Name() != tc.name {
			t.Errorf("For(%q) = %v, %v; want %s", tc.ecosystem, o, err, tc.name)
		}
	}
	for _, e := range []string{"", "debian", "Hex", "GIT", ":12"} {
		if _, err := For(e); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("For(%q) error = %v, want ErrInvalid", e, err)
		}
	}
	if SemVer().Name() != "semver" {
		t.Errorf("SemVer().Name() = %q", SemVer().Name())
	}
	if n := len(Ecosystems()); n != len(byEcosystem) {
		t.Errorf("Ecosystems() has %d, want %d", n, len(byEcosystem))
	}
}

// TestMixedOrderings checks that versions of different orderings compare
// as strings rather than failing.
func TestMixedOrderings(t *testing.T) {
	d, _ := For("Debian")
	g, _ := For("Go")
	a, err := d.Parse("1.0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Parse("2.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if a.Compare(b) != -1 || b.Compare(a) != 1 {
		t.Errorf("mixed compare: %d, %d", a.Compare(b), b.Compare(a))
	}
}
