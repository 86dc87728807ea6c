#!/usr/bin/env bash
# Builds the package and runs every test suite: protocol, store, daemon, client
# and the end-to-end tests that drive the built ledgerd, ledger-rpc and ledger-demo.
set -euo pipefail

cd "$(dirname "$0")/.."

# The system libraries the package links against, and the sqlite3 and psql shells the store tests use.
missing=()
[ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
[ -e /usr/include/postgresql/libpq-fe.h ] || missing+=(libpq-dev)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
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
