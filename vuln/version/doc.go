// Package version orders the versions of the package ecosystems that OSV
// advisories name.
//
// For returns the Ordering of an OSV ecosystem ("Debian:12", "Alpine:v3.20",
// "Go", "PyPI", …; the release suffix after the first ":" only scopes the
// advisory and does not change the ordering). Each Ordering parses a
// version once (Parse) so that a matcher can compare one installed version
// with many range events without parsing it again, and compares two
// version strings (Compare) for convenience.
//
// The comparisons are those of well-kept libraries, the ones Trivy uses:
// dpkg (knqyf263/go-deb-version), apk (knqyf263/go-apk-version), RPM
// (knqyf263/go-rpm-version), PEP 440 (aquasecurity/go-pep440-version), npm
// (aquasecurity/go-npm-version), RubyGems (aquasecurity/go-gem-version),
// Maven (masahiro331/go-mvn-version), and aquasecurity/go-version's generic
// ordering for NuGet and Packagist. Go modules and OSV's SEMVER ranges use
// golang.org/x/mod/semver (SemVer 2.0 precedence; Go pseudo-versions are
// pre-releases and order as the Go toolchain orders them), and so does
// crates.io, whose versions are SemVer 2.0.
//
// Parse and Compare never panic: malformed input is an error wrapping
// hallmark.ErrInvalid, and a panic inside a library is recovered into one.
package version
