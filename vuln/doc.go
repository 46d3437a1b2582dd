// Package vuln matches an image's packages against vulnerability
// advisories: an immutable in-memory database of OSV records (vuln/osv
// reads them), each ecosystem's own version ordering (vuln/version), the
// OSV schema's evaluation of affected ranges, and severity.
//
// A DB is built with Add, one import at a time; each Add returns a new DB,
// so readers never see half an import. Records are indexed by ecosystem
// and package name; a record replaces an older one of its id, and a
// re-import changes nothing.
//
// Packages come from SBOM purls (PackageFromPURL): a Debian or Ubuntu
// package is looked up by its source package and source version in the
// release its distro qualifier names ("debian-12" → "Debian:12",
// "ubuntu-22.04" → "Ubuntu:22.04:LTS"), an Alpine package by its origin
// ("alpine-3.20.3" → "Alpine:v3.20"), AlmaLinux and Rocky Linux RPMs by
// their source rpm, Go modules by module path (the toolchain is
// "stdlib"), and PyPI, npm, Maven, RubyGems, Packagist, NuGet and
// crates.io packages by their names in those ecosystems.
//
// Scan returns the findings and what could not be checked; Match only
// the findings. A finding's severity comes from CVSS v4.0, else v3.1/v3.0
// vectors (base score: 9.0 critical, 7.0 high, 4.0 medium, above 0 low),
// else the record's rating (GitHub's database_specific.severity, Ubuntu's
// priority), else from a loaded record that shares an alias with it, else
// from its upstream records; otherwise it is "unknown".
// docs/vulnerabilities.md says more.
//
// The package imports only the root package, its own subpackages and the
// comparison and CVSS libraries: build-time policy, storage, scan
// attestations and the API are wired elsewhere.
package vuln
