#!/usr/bin/env bash
# compare.sh scans test images with Hallmark (attest/sbom, then vuln) and
# with Google's osv-scalibr (its extractors and its offline OSV matcher,
# vulnmatch/osvlocal) against the same OSV records, and prints the findings
# each reports (the table in docs/vulnerabilities.md).
#
# osv-scalibr is pinned in this tools module and linked only into
# cmd/scalibr-scan, never into Hallmark. It is built once per version of
# go.mod, go.sum and the command's source into
# ${XDG_CACHE_HOME:-~/.cache}/hallmark/tools/ (about 6.5 minutes on 2 cores
# the first time) and reused afterwards. Set HALLMARK_SCALIBR to use
# another scalibr-scan binary, HALLMARK_SCALIBR_REPORT to a file to receive
# the markdown table, and HALLMARK_SCALIBR_DEBUG=1 to log scalibr's output
# for each image.
set -euo pipefail
export GOTOOLCHAIN=local
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ -z "${HALLMARK_SCALIBR:-}" ]]; then
  sum="$(cat "$here/go.mod" "$here/go.sum" "$here"/cmd/scalibr-scan/*.go | sha256sum | cut -c1-12)"
  HALLMARK_SCALIBR="${XDG_CACHE_HOME:-$HOME/.cache}/hallmark/tools/osv-scalibr-$sum/scalibr-scan"
  if [[ ! -x "$HALLMARK_SCALIBR" ]]; then
    echo "compare: building osv-scalibr (once) into $(dirname "$HALLMARK_SCALIBR")" >&2
    mkdir -p "$(dirname "$HALLMARK_SCALIBR")"
    (cd "$here" && CGO_ENABLED=0 go build -trimpath -o "$HALLMARK_SCALIBR.tmp.$$" ./cmd/scalibr-scan) &&
      mv -f "$HALLMARK_SCALIBR.tmp.$$" "$HALLMARK_SCALIBR"
  fi
fi
export HALLMARK_SCALIBR
grep -m1 'github.com/google/osv-scalibr ' "$here/go.mod" | sed 's/^[[:space:]]*/using /' >&2
cd "$root"
go test ./internal/vulncompare/ -run '^TestCompareWithScalibr$' -count=1 -v "$@" | grep -v '^=== '
