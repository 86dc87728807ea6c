#!/usr/bin/env bash
# Builds the package and runs every test suite: protocol, store, daemon, client
# and the end-to-end tests that drive the built ledgerd, ledger-rpc and ledger-demo;
# then the Python client's tests (clients/python), against the same ledgerd.
set -euo pipefail

cd "$(dirname "$0")/.."

# The system libraries the package links against, the sqlite3 and psql shells the store tests use,
# systemd's tools (systemd-socket-activate, systemd-analyze) the service tests run without a running systemd,
# and promtool and curl, which scrape and check /metrics.
missing=()
[ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
[ -e /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
command -v systemd-socket-activate >/dev/null 2>&1 && command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Every store test also runs against a real PostgreSQL: a throwaway server of our own,
# stopped and removed when the tests end. dev-postgres.sh installs PostgreSQL if needed.
postgres_dir="$(mktemp -d /tmp/ledger-test-pg.XXXXXX)"
trap 'scripts/dev-postgres.sh destroy "$postgres_dir" >/dev/null 2>&1 || true' EXIT
LEDGER_TEST_POSTGRES_URI="$(scripts/dev-postgres.sh start "$postgres_dir")"
export LEDGER_TEST_POSTGRES_URI
echo "test.sh: PostgreSQL at $LEDGER_TEST_POSTGRES_URI" >&2

# LEDGER_SWIFT_FLAGS adds build flags to both steps (scripts/sanitize.sh passes a sanitizer and its own scratch path).
read -r -a swift_flags <<<"${LEDGER_SWIFT_FLAGS:-}"
swift build --build-tests "${swift_flags[@]}"
swift test --skip-build "${swift_flags[@]}" "$@"

# The Python client, installed as a service would install it, into a virtual environment of its
# own (the system's Python may refuse packages), and tested against the ledgerd built above.
bin_dir="$(swift build "${swift_flags[@]}" --show-bin-path)"
venv=".build/python-venv"
[ -x "$venv/bin/python" ] || python3 -m venv --system-site-packages "$venv"
"$venv/bin/python" -c 'import pytest' >/dev/null 2>&1 || "$venv/bin/python" -m pip install -q pytest
# The verifier's signatures (socialsync_ledger.verify, the package's [verify] extra).
"$venv/bin/python" -c 'import cryptography' >/dev/null 2>&1 || "$venv/bin/python" -m pip install -q cryptography
if "$venv/bin/python" -c 'import setuptools, wheel' >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install -q --no-build-isolation --force-reinstall --no-deps ./clients/python
else
    "$venv/bin/python" -m pip install -q --force-reinstall ./clients/python
fi
# The package promises types (py.typed): mypy checks them.
"$venv/bin/python" -c 'import mypy' >/dev/null 2>&1 || "$venv/bin/python" -m pip install -q mypy
"$venv/bin/python" -m mypy --no-incremental --cache-dir /dev/null clients/python/src/socialsync_ledger
(cd clients/python && LEDGER_BIN_DIR="$bin_dir" "../../$venv/bin/python" -m pytest -q -p no:cacheprovider tests)

# Several hosts on one PostgreSQL over real network paths (network namespaces, TLS with verify-full).
bash scripts/multihost-test.sh "$bin_dir"
