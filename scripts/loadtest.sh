#!/usr/bin/env bash
# The load test: many thin clients logging with acknowledgements for a minute, then the
# same clients logging fire-and-forget at four times the rate the first run sustained.
#
#   scripts/loadtest.sh [--store sqlite|postgres|both] [--connections N] [--duration SECONDS] [--abuse-only]
#
# Defaults: both stores, 200 connections, 60 seconds per run. It builds release, starts its
# own ledgerd on a fresh SQLite file and on a throwaway PostgreSQL, keeps the raw results
# under .build/loadtest/, and exits non-zero when any of these checks fails:
#   acknowledged run  no client saw an error; every acknowledged id is in the store exactly
#                     once; the daemon's resident memory stayed under 128 MiB
#   overload run      the clients dropped events (backpressure reached them); every drop
#                     reached the daemon as a gap record; the daemon's memory did not grow
#                     (the second half's peak within 10% + 8 MiB of the first half's) and
#                     stayed under 128 MiB
#   abuse run         50 well-behaved clients, connected first, log with acknowledgements while
#                     `ledger-bench abuse` runs beside them (wedging closers, query hoarders,
#                     stuck tails, refused events, half-open TLS handshakes): no client error,
#                     every acknowledged id stored, ack p99 under 50 ms, the daemon's RSS under
#                     the bound SECURITY.md gives for these connections (256 MiB), and SIGTERM
#                     ends the daemon within 20 s
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

stores=(sqlite postgres)
connections=200
duration=60
abuse_only=0
usage() { echo "usage: scripts/loadtest.sh [--store sqlite|postgres|both] [--connections N] [--duration SECONDS] [--abuse-only]" >&2; exit 2; }
while (($#)); do
    case $1 in
    --store)
        case ${2:-} in
        sqlite | postgres) stores=("$2") ;;
        both) stores=(sqlite postgres) ;;
        *) echo "loadtest.sh: --store must be sqlite, postgres or both, not '${2:-}'" >&2; usage ;;
        esac
        shift 2 ;;
    --connections)
        [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "loadtest.sh: --connections must be a positive whole number, not '${2:-}'" >&2; usage; }
        connections=$2; shift 2 ;;
    --duration)
        [[ ${2:-} =~ ^([1-9][0-9]+|[5-9])$ ]] || { echo "loadtest.sh: --duration must be a whole number of seconds, 5 or more, not '${2:-}'" >&2; usage; }
        duration=$2; shift 2 ;;
    --abuse-only) abuse_only=1; shift ;;
    *) echo "loadtest.sh: unknown argument '$1'" >&2; usage ;;
    esac
done

script_name=loadtest
. "$root/scripts/lib/daemons.sh"
install_missing sqlite3 jq psql:postgresql-client
build_release
out="$root/.build/loadtest"
rm -rf "$out"
mkdir -p "$out"
make_work
[[ " ${stores[*]} " == *" postgres "* ]] && start_postgres

failures=0
results=()
# check WHAT CONDITION: records one check; CONDITION is an awk expression.
check() {
    if awk "BEGIN { exit !($2) }"; then
        results+=("  ok    $1")
    else
        results+=("  FAIL  $1")
        failures=$((failures + 1))
    fi
}

# missing_acknowledged KIND STORE: how many acknowledged ids the store does not hold.
missing_acknowledged() {
    case $1 in
    sqlite)
        sqlite3 "${2#sqlite:}" <<SQL
CREATE TEMP TABLE acked (id TEXT);
.import $work/acked.txt acked
SELECT count(*) FROM acked WHERE id NOT IN (SELECT id FROM ledger_events);
SQL
        ;;
    postgres)
        psql "$2" -v ON_ERROR_STOP=1 -qAt <<SQL
CREATE TEMP TABLE acked (id uuid);
\copy acked FROM '$work/acked.txt'
SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM ledger_events e WHERE e.id = a.id);
SQL
        ;;
    esac
}

((abuse_only)) && main_stores=() || main_stores=("${stores[@]}")
for kind in "${main_stores[@]}"; do
    store=$(fresh_store "$kind" "loadtest_$kind")
    ack="$out/$kind-ack.json"
    overload="$out/$kind-overload.json"

    start_daemon "$store"
    log "$kind: $connections clients logging with acknowledgements for ${duration}s"
    "$bench" soak --socket "$socket" --connections "$connections" --duration "$duration" --ack \
        --acked-ids "$work/acked.txt" --json >"$ack" || true
    stop_daemon
    acknowledged=$(jq .acknowledged "$ack")
    missing=$(missing_acknowledged "$kind" "$store")
    repeated=$(sort "$work/acked.txt" | uniq -d | wc -l)
    sustained=$(jq .events_per_second "$ack")
    offered=$(calc "$sustained * 4")
    results+=("$kind, acknowledged: $acknowledged events in ${duration}s ($(printf '%.0f' "$sustained")/s), p99 $(jq .latency_us.p99 "$ack") µs, daemon peak $(printf '%.1f' "$(jq .daemon_peak_rss_mib "$ack")") MiB")
    check "no client error ($(jq .errors "$ack"); first: $(jq -r '.first_error // "none"' "$ack"))" "$(jq .errors "$ack") == 0"
    check "every acknowledged event is stored ($missing of $acknowledged missing)" "$missing == 0 && $acknowledged > 0"
    check "no event acknowledged twice ($repeated)" "$repeated == 0"
    check "daemon RSS under 128 MiB" "$(jq .daemon_peak_rss_mib "$ack") < 128"

    start_daemon "$store"
    log "$kind: $connections clients fire-and-forget at $(printf '%.0f' "$offered") events/s for ${duration}s"
    "$bench" soak --socket "$socket" --connections "$connections" --duration "$duration" --rate "$offered" --json >"$overload" || true
    stop_daemon
    dropped=$(jq '.dropped_buffer_full + .dropped_unreachable + .rejected' "$overload")
    first=$(jq .daemon_peak_rss_first_half_mib "$overload")
    second=$(jq .daemon_peak_rss_second_half_mib "$overload")
    results+=("$kind, overload: offered $(printf '%.0f' "$offered")/s, taken $(printf '%.0f' "$(jq .events_per_second "$overload")")/s, dropped $dropped, RSS peak $(printf '%.1f' "$first") then $(printf '%.1f' "$second") MiB")
    check "clients dropped and counted under overload ($dropped)" "$dropped > 0"
    check "every drop reached the daemon as a gap record ($(jq .daemon_events_dropped_by_clients "$overload") of $dropped; $(jq .drops_unreported "$overload") unreported)" \
        "$(jq .daemon_events_dropped_by_clients "$overload") == $dropped && $(jq .drops_unreported "$overload") == 0"
    check "daemon memory did not grow (second half peak within 10% + 8 MiB of the first)" "$second <= $first * 1.1 + 8"
    check "daemon RSS under 128 MiB" "$(jq .daemon_peak_rss_mib "$overload") < 128"
done

"$root/scripts/gen-certs.sh" "$work/certs" >/dev/null
for kind in "${stores[@]}"; do
    store=$(fresh_store "$kind" "abuse_$kind")
    abused="$out/$kind-abuse.json"
    start_daemon "$store" --tls-listen 127.0.0.1:0 --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server.key" \
        --tls-client-ca "$work/certs/ca.pem"
    tls_port=$(sed -n 's/^ready .*tls=[^ ]*:\([0-9]*\) .*/\1/p' "$work/ledgerd.log")
    log "$kind: 50 clients with acknowledgements for ${duration}s beside hostile ones"
    : >"$work/acked.txt"
    "$bench" soak --socket "$socket" --connections 50 --duration "$duration" --ack --acked-ids "$work/acked.txt" --json >"$abused" &
    soak_pid=$!
    sleep 2
    "$bench" abuse --socket "$socket" --tls-port "$tls_port" --duration "$((duration - 4))" >"$out/$kind-abuse-clients.json"
    wait "$soak_pid" || true
    stop_started=$(date +%s.%N)
    stop_daemon
    stop_seconds=$(calc "$(date +%s.%N) - $stop_started")
    acknowledged=$(jq .acknowledged "$abused")
    missing=$(missing_acknowledged "$kind" "$store")
    results+=("$kind, abuse: $acknowledged acknowledged beside $(jq -c . "$out/$kind-abuse-clients.json"), p99 $(jq .latency_us.p99 "$abused") µs, max $(jq .latency_us.max "$abused") µs, daemon peak $(printf '%.1f' "$(jq .daemon_peak_rss_mib "$abused")") MiB, SIGTERM took $(printf '%.1f' "$stop_seconds") s")
    check "no well-behaved client error ($(jq .errors "$abused"); first: $(jq -r '.first_error // "none"' "$abused"))" "$(jq .errors "$abused") == 0"
    check "every acknowledged event is stored ($missing of $acknowledged missing)" "$missing == 0 && $acknowledged > 0"
    check "ack p99 under 50 ms" "$(jq .latency_us.p99 "$abused") < 50000"
    check "daemon RSS under 256 MiB" "$(jq .daemon_peak_rss_mib "$abused") < 256"
    check "SIGTERM ended the daemon within 20 s" "$stop_seconds < 20"
    drop_store "$kind" "abuse_$kind"
done

printf '%s\n' "${results[@]}"
if ((failures)); then
    echo "loadtest: $failures checks failed; raw results in $out" >&2
    exit 1
fi
echo "loadtest: all checks passed; raw results in $out" >&2
