#!/usr/bin/env bash
# Install axe-core (Deque's accessibility engine, MPL-2.0) from the npm registry for the browser tests'
# accessibility check (tests/browser/test_accessibility_browser.py), pinned and verified, into .cache/axe-core/.
#
# `npm install` into a project-local prefix (never the repository: .cache/ is ignored, so node_modules is not
# tracked); npm checks the package against the registry's integrity, and this script then checks both the
# integrity npm recorded and the sha256 of axe.min.js against the values pinned here.
#
#   scripts/fetch-axe.sh            # prints axe.min.js's path; does nothing when it is already there
#
# Exit codes: 0 installed (or already there); 1 a checksum did not match (never ignore this); 2 npm is missing or
# could not fetch the package (the accessibility check then skips, loudly).
set -euo pipefail

VERSION=4.14.1
INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
AXE_SHA256=29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX="${AXE_TEST_CACHE:-$ROOT/.cache/axe-core}/${VERSION}"
AXE="$PREFIX/node_modules/axe-core/axe.min.js"

sha256() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$AXE" && "$(sha256 "$AXE")" == "$AXE_SHA256" ]]; then
    echo "$AXE"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-axe: npm is not installed, so axe-core cannot be installed; the accessibility check in the" \
         "browser tests will be SKIPPED (install Node.js/npm to run it)" >&2
    exit 2
fi

mkdir -p "$(dirname "$PREFIX")"
WORK="$(mktemp -d "$(dirname "$PREFIX")/.install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

if ! npm install --prefix "$WORK" --no-save --no-package-lock --ignore-scripts --no-audit --no-fund \
        "axe-core@${VERSION}" >"$WORK/npm.out" 2>"$WORK/npm.err"; then
    echo "fetch-axe: 'npm install axe-core@${VERSION}' failed; the accessibility check will be SKIPPED:" >&2
    cat "$WORK/npm.err" >&2
    exit 2
fi

recorded="$(node -e 'const l = require(process.argv[1]); const p = l.packages["node_modules/axe-core"];
  process.stdout.write(p.version + " " + p.integrity)' "$WORK/node_modules/.package-lock.json")"
if [[ "$recorded" != "$VERSION $INTEGRITY" ]]; then
    echo "fetch-axe: npm installed '$recorded', expected '$VERSION $INTEGRITY': refusing to use it" >&2
    exit 1
fi
got="$(sha256 "$WORK/node_modules/axe-core/axe.min.js")"
if [[ "$got" != "$AXE_SHA256" ]]; then
    echo "fetch-axe: axe.min.js sha256 is $got, expected $AXE_SHA256: refusing to use it" >&2
    exit 1
fi

rm -rf "$PREFIX"
mv "$WORK" "$PREFIX"  # same file system: the tests never see a half-installed copy
trap - EXIT
echo "$AXE"
