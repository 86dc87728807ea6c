# Helpers shared by scripts/bench.sh and scripts/loadtest.sh: tools, a release build,
# a work directory, ledgerd started and stopped, fresh stores on SQLite and PostgreSQL.
# The caller sets `script_name` (the prefix of log lines) and `root` (the checkout) first.

log() { echo "$script_name: $*" >&2; }
calc() { awk "BEGIN { print $* }"; }

# install_missing COMMAND[:PACKAGE]...: installs the Debian package of each command that is missing.
install_missing() {
    local missing=() wanted
    for wanted in "$@"; do
        command -v "${wanted%%:*}" >/dev/null || missing+=("${wanted#*:}")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        local sudo=""
        [[ $(id -u) -ne 0 ]] && sudo=sudo
        $sudo apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# build_release: builds ledgerd, ledger-rpc and ledger-bench; sets ledgerd, rpc and bench.
build_release() {
    log "building release"
    swift build -c release --product ledgerd >&2
    swift build -c release --product ledger-rpc >&2
    swift build -c release --product ledger-bench >&2
    local bin
    bin=$(swift build -c release --show-bin-path)
    ledgerd="$bin/ledgerd"
    rpc="$bin/ledger-rpc"
    bench="$bin/ledger-bench"
}

# make_work: a work directory, a socket path in it, and cleanup of the daemon and PostgreSQL on exit.
make_work() {
    work=$(mktemp -d "/tmp/ledger-$script_name.XXXXXX")
    chmod 755 "$work"
    daemon_pid=""
    pg_dir="$work/pg"
    socket="$work/ledger.sock"
    trap cleanup EXIT
}

cleanup() {
    [[ -n "$daemon_pid" ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
    "$root/scripts/dev-postgres.sh" destroy "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$work"
}

start_postgres() {
    log "starting PostgreSQL"
    "$root/scripts/dev-postgres.sh" start "$pg_dir" >/dev/null
    pg_admin="postgresql://ledger@/ledger?host=$pg_dir"
}

# start_daemon STORE [ledgerd options...]: starts ledgerd and waits for its ready line.
start_daemon() {
    local store=$1
    shift
    rm -f "$socket"
    "$ledgerd" --socket "$socket" --store "$store" --log-level warning "$@" 2>"$work/ledgerd.log" &
    daemon_pid=$!
    # ready_tenths: how long to wait for it, in tenths of a second (a first log adopting millions of events takes a minute).
    for _ in $(seq 1 "${ready_tenths:-300}"); do
        grep -q '^ready' "$work/ledgerd.log" 2>/dev/null && return 0
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    log "ledgerd did not start:"
    cat "$work/ledgerd.log" >&2
    exit 1
}

stop_daemon() {
    kill -TERM "$daemon_pid"
    wait "$daemon_pid" || { log "ledgerd exited with $?"; cat "$work/ledgerd.log" >&2; exit 1; }
    daemon_pid=""
}

# drop_store KIND NAME: removes a store made by fresh_store once its run is measured, so that
# PostgreSQL's autovacuum does not work through it during the runs after it.
drop_store() {
    local kind=$1 store_name=$2
    case $kind in
    sqlite) rm -f "$work/$store_name.sqlite" "$work/$store_name.sqlite-wal" "$work/$store_name.sqlite-shm" ;;
    postgres) psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $store_name" >/dev/null ;;
    esac
}

# fresh_store KIND NAME: a fresh empty store of the given kind; prints its --store text.
fresh_store() {
    local kind=$1 store_name=$2
    case $kind in
    sqlite)
        echo "sqlite:$work/$store_name.sqlite"
        ;;
    postgres)
        psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $store_name" -c "CREATE DATABASE $store_name" >/dev/null
        echo "postgresql://ledger@/$store_name?host=$pg_dir"
        ;;
    esac
}
