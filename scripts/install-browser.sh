#!/usr/bin/env bash
# Chromium from Debian's packages (chromium, chromium-driver) for the browser tests (tests/browser), driven by
# Playwright as the system browser: Playwright never downloads a browser of its own.
# Idempotent: does nothing when /usr/bin/chromium is there. When it cannot be installed (no apt-get, no root or
# password-less sudo, no package mirror) it says so loudly and exits 0: the browser tests then skip, each with
# the reason in pytest's -ra summary, while every other test still runs.
#
#   scripts/install-browser.sh        # called by `make test-deps` (and so by `make test` and .ci/run)
set -uo pipefail

CHROMIUM="${KB_TEST_CHROMIUM:-/usr/bin/chromium}"  # the tests read the same variable
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
warn() {
    echo "install-browser: WARNING: $*; the browser tests (tests/browser) will be SKIPPED" >&2
    exit 0
}
command -v apt-get >/dev/null || warn "no apt-get here; install Chromium at $CHROMIUM yourself"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo -n true 2>/dev/null || warn "not root and no password-less sudo; run: sudo apt-get install chromium chromium-driver"
    sudo="sudo -n"
fi
echo "install-browser: installing the Debian packages chromium and chromium-driver (for the browser tests)" >&2
$sudo apt-get update -qq || warn "apt-get update failed"
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver \
    >/dev/null || warn "apt-get install chromium chromium-driver failed"
[ -x "$CHROMIUM" ] || warn "the chromium package did not provide $CHROMIUM"
