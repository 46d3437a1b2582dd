// Package vulncompare holds the comparison of Hallmark's vulnerability
// findings with Google's osv-scalibr on the same images and the same OSV
// records (TestCompareWithScalibr, make vuln-compare). It joins
// attest/sbom and vuln, which never import each other, in a test only;
// the package has no code of its own. docs/vulnerabilities.md has the
// results.
package vulncompare
