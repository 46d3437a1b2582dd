// Package vulntest finds the advisories the vuln packages' tests read:
// real databases too large to commit, which are test input provided
// beside the repository, in ../shared/testdata/vulndb/ relative to the
// repository root (CI has them). A test that cannot find them fails; it
// never skips.
package vulntest
