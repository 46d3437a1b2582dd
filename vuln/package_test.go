package vuln

import (
	"errors"
	"testing"

	hallmark "github.com/hallmark-dev/hallmark"
)

func TestPackageFromPURL(t *testing.T) {
	tests := []struct {
		purl string
		want Package
	}{
		{"pkg:deb/debian/busybox@1:1.35.0-4%2Bdeb12u1%2Bb1?arch=amd64&distro=debian-12&upstream=busybox%401:1.35.0-4%2Bdeb12u1",
			Package{Type: "deb", Namespace: "debian", Name: "busybox", Version: "1:1.35.0-4+deb12u1+b1", Source: "busybox", SourceVersion: "1:1.35.0-4+deb12u1", Distro: "debian-12"}},
		{"pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc",
			Package{Type: "deb", Namespace: "debian", Name: "libc6", Version: "2.36-9+deb12u14", Source: "glibc", Distro: "debian-12"}},
		{"pkg:apk/alpine/libssl3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3&upstream=openssl",
			Package{Type: "apk", Namespace: "alpine", Name: "libssl3", Version: "3.3.2-r0", Source: "openssl", Distro: "alpine-3.20.3"}},
		{"pkg:rpm/almalinux/bash@5.1.8-9.el9?arch=x86_64&epoch=0&distro=almalinux-9.4&upstream=bash-5.1.8-9.el9.src.rpm",
			Package{Type: "rpm", Namespace: "almalinux", Name: "bash", Version: "5.1.8-9.el9", Source: "bash", Distro: "almalinux-9.4"}},
		{"pkg:rpm/rocky/bind-libs@9.16.23-18.el9_4.1?arch=x86_64&epoch=32&distro=rocky-9.4&upstream=bind-9.16.23-18.el9_4.1.src.rpm",
			Package{Type: "rpm", Namespace: "rocky", Name: "bind-libs", Version: "32:9.16.23-18.el9_4.1", Source: "bind", Distro: "rocky-9.4"}},
		{"pkg:golang/golang.org/x/crypto@v0.30.0", Package{Type: "golang", Namespace: "golang.org/x", Name: "crypto", Version: "v0.30.0"}},
		{"pkg:npm/%40babel/core@7.24.0", Package{Type: "npm", Namespace: "@babel", Name: "core", Version: "7.24.0"}},
	}
	for _, tc := range tests {
		got, err := PackageFromPURL(tc.purl)
		tc.want.PURL = tc.purl
		if err != nil || got != tc.want {
			t.Errorf("PackageFromPURL(%s) =\n%+v, %v\nwant\n%+v", tc.purl, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "deb/debian/x@1", "pkg:", "pkg:deb"} {
		if _, err := PackageFromPURL(bad); !errors.Is(err, hallmark.ErrInvalid) {
			t.Errorf("PackageFromPURL(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestTarget(t *testing.T) {
	tests := []struct {
		purl, ecosystem, name, version string
	}{
		{"pkg:deb/debian/libc6@2.36-9?distro=debian-12&upstream=glibc", "Debian:12", "glibc", "2.36-9"},
		{"pkg:deb/debian/libc6@2.36-9?distro=debian-12.5&upstream=glibc", "Debian:12", "glibc", "2.36-9"},
		{"pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.8?distro=ubuntu-22.04&upstream=openssl", "Ubuntu:22.04", "openssl", "3.0.2-0ubuntu1.8"},
		{"pkg:apk/alpine/busybox@1.36.1-r29?distro=alpine-3.20.3", "Alpine:v3.20", "busybox", "1.36.1-r29"},
		{"pkg:apk/wolfi/glibc@2.40-r3?distro=wolfi&upstream=glibc", "Wolfi", "glibc", "2.40-r3"},
		{"pkg:rpm/almalinux/bash@5.1.8-9.el9?epoch=1&distro=almalinux-9.4&upstream=bash-5.1.8-9.el9.src.rpm", "AlmaLinux:9", "bash", "1:5.1.8-9.el9"},
		{"pkg:golang/github.com/BurntSushi/toml@v1.3.2", "Go", "github.com/burntsushi/toml", "1.3.2"},
		{"pkg:golang/stdlib@go1.22", "Go", "stdlib", "1.22.0"},
		{"pkg:golang/stdlib@go1.22.3%20X:boringcrypto", "Go", "stdlib", "1.22.3"},
		{"pkg:golang/stdlib@go1.19beta1", "Go", "stdlib", "1.19.0-beta.1"},
		{"pkg:golang/stdlib@1.26.8", "Go", "stdlib", "1.26.8"},
		{"pkg:pypi/Django_REST.framework@3.15.1", "PyPI", "django-rest-framework", "3.15.1"},
		{"pkg:npm/%40babel/core@7.24.0", "npm", "@babel/core", "7.24.0"},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"},
		{"pkg:gem/rack@2.2.22", "RubyGems", "rack", "2.2.22"},
		{"pkg:composer/Symfony/HTTP-Kernel@v5.4.23", "Packagist", "symfony/http-kernel", "v5.4.23"},
		{"pkg:nuget/Newtonsoft.Json@13.0.1", "NuGet", "newtonsoft.json", "13.0.1"},
		{"pkg:cargo/tokio@1.37.0", "crates.io", "tokio", "1.37.0"},
	}
	for _, tc := range tests {
		got := targetOf(pkg(t, tc.purl))
		if got.reason != "" || got.ecosystems[0] != tc.ecosystem || got.name != tc.name || got.version != tc.version {
			t.Errorf("targetOf(%s) = %+v, want %s %s %s", tc.purl, got, tc.ecosystem, tc.name, tc.version)
		}
	}
	for _, p := range []string{"pkg:pear/pecl.php.net/xdebug@3.3.1", "pkg:rpm/fedora/bash@5.2-1.fc40?distro=fedora-40", "pkg:npm/left-pad", "pkg:deb/debian/x@1"} {
		if got := targetOf(pkg(t, p)); got.reason == "" {
			t.Errorf("targetOf(%s) = %+v, want a reason", p, got)
		}
	}
}
