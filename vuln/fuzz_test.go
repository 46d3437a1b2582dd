package vuln

import "testing"

// FuzzScan reads arbitrary purls and scans them against the Debian,
// Ubuntu and Alpine test advisories: never a panic, and every package is
// either checked or said to be unchecked.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"pkg:deb/debian/libc6@2.36-9%2Bdeb12u2?arch=amd64&distro=debian-12&upstream=glibc",
		"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12&upstream=openssl%403.0.11-1~deb12u1",
		"pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.8?distro=ubuntu-22.04&upstream=openssl",
		"pkg:apk/alpine/libssl3@3.0.7-r0?distro=alpine-3.17.2&upstream=openssl",
		"pkg:rpm/rocky/bind-libs@9.16.23-18.el9_4.1?epoch=32&distro=rocky-9.4&upstream=bind-9.16.23-18.el9_4.1.src.rpm",
		"pkg:golang/stdlib@go1.21rc2",
		"pkg:golang/example.com/local",
		"pkg:pypi/Django_REST.framework@3.15.1",
		"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
	} {
		f.Add(s)
	}
	db := distroDatabase(f)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := PackageFromPURL(s)
		if err != nil {
			return
		}
		rep := db.Scan([]Package{p, p})
		for _, u := range rep.Unchecked {
			if u.Reason == "" || u.Package != s {
				t.Errorf("unchecked %+v for %q", u, s)
			}
		}
		for _, f := range rep.Findings {
			if f.Package != s || f.ID == "" || f.Severity.Level == "" {
				t.Errorf("finding %+v for %q", f, s)
			}
		}
	})
}
