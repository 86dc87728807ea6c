#!/usr/bin/env bash
# Builds the package and runs every test suite: protocol, store, daemon, client
# and the end-to-end tests that drive the built ledgerd, ledger-rpc and ledger-demo.
set -euo pipefail

cd "$(dirname "$0")/.."

# The system libraries the package links against, and the sqlite3 shell the store tests use.
missing=()
[ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

swift build --build-tests
swift test --skip-build "$@"
