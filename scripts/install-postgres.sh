#!/usr/bin/env bash
# PostgreSQL server binaries from Debian's packages, for the tests that start a real server (tests/reliability).
# Idempotent: does nothing when initdb is already there. The tests start their own cluster in a temporary
# folder on a free port; the package's own cluster (if the package made one) is not used.
#
#   scripts/install-postgres.sh        # called by `make test-deps` (and so by `make test` and .ci/run)
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install-postgres: no apt-get here; install the PostgreSQL server (initdb, pg_ctl) yourself" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "install-postgres: installing the Debian package postgresql (for the tests)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
