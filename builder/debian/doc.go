// Package debian assembles minimal, distroless-style base images from Debian
// packages, reproducibly.
//
// A BaseImage spec (ParseSpec; docs/base-images.md) names packages. Apt
// resolves their full dependency closure from scratch: with an empty dpkg
// status, so nothing installed on the host counts, and without Recommends,
// so only Pre-Depends and Depends are followed (Essential packages are not
// added unless declared or depended on). Apt checks the signed
// InRelease → Packages chain with the system keyring; Fetch downloads each
// .deb from the mirror and checks its size and sha256 against that index
// itself, failing closed, with a cache by sha256.
//
// Assemble unpacks the packages in Go (ar, then control.tar and data.tar,
// gzip, xz or zstd) into one layer, without running maintainer scripts:
// entries sorted, ownership and modes as the packages give them, no device
// files, no paths that leave the root or pass through a symlink. It adds
// what the scripts and a distroless image need: /etc/passwd and /etc/group
// (root and the spec's user), the user's home, /tmp, the CA bundle
// /etc/ssl/certs/ca-certificates.crt (built as update-ca-certificates
// would), and a /var/lib/dpkg/status.d/<package> file per package so that
// SBOM tools list exactly the installed packages. The same spec and package
// versions give the same image digest.
//
// The package only builds images; pushing, attesting and tagging are the
// caller's.
package debian
