#!/usr/bin/env bash
# compare.sh catalogs the attest/sbom fixture images with Hallmark and with
# syft and prints package recall and timings (the table in docs/sbom.md).
#
# syft is pinned in this tools module (go get -tool), never linked into
# Hallmark. It is built once per version of go.mod/go.sum into
# ${XDG_CACHE_HOME:-~/.cache}/hallmark/tools/ (about 10 minutes on 2 cores
# the first time) and reused afterwards. Set HALLMARK_SYFT to use another
# syft binary, HALLMARK_SYFT_IMAGES to a comma-separated subset of
# debian,distroless,alpine,rpm,all,ruby,php,java,python,npm,dotnet,rust,r,
# arch,lua,gentoo,homebrew, and
# HALLMARK_SYFT_REPORT to a file to receive the markdown table.
set -euo pipefail
export GOTOOLCHAIN=local
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [[ -z "${HALLMARK_SYFT:-}" ]]; then
  sum="$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-12)"
  HALLMARK_SYFT="${XDG_CACHE_HOME:-$HOME/.cache}/hallmark/tools/syft-$sum/syft"
  if [[ ! -x "$HALLMARK_SYFT" ]]; then
    echo "compare: building syft (once) into $(dirname "$HALLMARK_SYFT")" >&2
    mkdir -p "$(dirname "$HALLMARK_SYFT")"
    (cd "$here" && CGO_ENABLED=0 go build -trimpath -o "$HALLMARK_SYFT.tmp.$$" github.com/anchore/syft/cmd/syft) &&
      mv -f "$HALLMARK_SYFT.tmp.$$" "$HALLMARK_SYFT"
  fi
fi
export HALLMARK_SYFT
grep -m1 'github.com/anchore/syft ' "$here/go.mod" | sed 's/^[[:space:]]*/using /' >&2
cd "$root"
go test ./attest/sbom/ -run '^TestCompareWithSyft$' -count=1 -v "$@" | grep -v '^=== '
