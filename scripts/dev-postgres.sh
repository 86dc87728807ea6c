#!/usr/bin/env bash
# A throwaway PostgreSQL for development and tests: its own data directory, a Unix
# socket in that directory and no TCP port. PostgreSQL refuses to run as root, so
# as root the server runs as the unprivileged "postgres" user.
#
#   scripts/dev-postgres.sh start [DIR]   initialise DIR if needed, start, print the URI
#   scripts/dev-postgres.sh stop DIR      stop the server (the data stays)
#   scripts/dev-postgres.sh uri DIR       print the URI of the server in DIR
#   scripts/dev-postgres.sh destroy DIR   stop the server and remove DIR
set -euo pipefail

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/VERSION/bin.
find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) ; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

install_postgres() {
    echo "dev-postgres.sh: PostgreSQL is not installed; installing Debian's postgresql package" >&2
    local sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq postgresql postgresql-client libpq-dev >/dev/null
}

# Runs a server binary as the user who owns the data directory.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

uri_for() {
    echo "postgresql://ledger@/ledger?host=$1"
}

cmd_start() {
    local dir="${1:-}"
    local bindir
    bindir="$(find_bindir)" || { install_postgres; bindir="$(find_bindir)"; } || {
        echo "dev-postgres.sh: PostgreSQL server binaries not found after installing" >&2
        exit 1
    }
    if [ -z "$dir" ]; then
        dir="$(mktemp -d /tmp/ledger-pg.XXXXXX)"
    fi
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "dev-postgres.sh: the postgres user does not exist" >&2; exit 1; }
        chown postgres "$dir"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bindir/initdb" -D "$dir/data" -U ledger --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
            echo "dev-postgres.sh: initdb failed; see $dir/initdb.log" >&2
            cat "$dir/initdb.log" >&2
            exit 1
        }
        local fresh=1
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        # Room for the test suite's parallel tests, each store holding its writers, readers and a
        # retention connection, and several daemons starting at once on one database.
        as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=500" start >/dev/null || {
            echo "dev-postgres.sh: the server did not start; see $dir/server.log" >&2
            tail -20 "$dir/server.log" >&2 || true
            exit 1
        }
    fi
    if [ "${fresh:-0}" = 1 ]; then
        as_owner "$bindir/createdb" -h "$dir" -U ledger ledger
    fi
    echo "dev-postgres.sh: PostgreSQL runs in $dir; stop and remove it with: scripts/dev-postgres.sh destroy $dir" >&2
    uri_for "$dir"
}

cmd_stop() {
    local dir="${1:?stop needs the server directory}"
    local bindir
    bindir="$(find_bindir)"
    if as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
}

case "${1:-}" in
    start) cmd_start "${2:-}" ;;
    stop) cmd_stop "${2:-}" ;;
    uri) uri_for "${2:?uri needs the server directory}" ;;
    destroy)
        cmd_stop "${2:?destroy needs the server directory}"
        rm -rf "$2"
        ;;
    *) usage ;;
esac
