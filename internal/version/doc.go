// Package version says what a Hallmark binary was built from, as the Go
// toolchain recorded it (runtime/debug.ReadBuildInfo): the module version,
// the VCS revision and whether the tree had local modifications, the Go
// version, and the version of the BuildKit client module it links. The CLI
// prints it (hallmark version), the gateway prints it (hallmarkd --version),
// logs it at start and exports it as the hallmark_build_info metric.
package version
