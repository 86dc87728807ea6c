#!/usr/bin/env bash
# Many hosts, one PostgreSQL, on real network paths: network namespaces joined by veth pairs, one
# holding PostgreSQL (TLS only, listening on its namespace addresses), three holding a ledgerd each
# with its own clients, every ledgerd connecting with sslmode=verify-full. It checks that every acked
# event from every host is stored exactly once, that each host's tail sees its own commits, that a
# query from any host sees every host's events, and that retention run by all three daemons removes
# each expired event under exactly one record (one purges at a time, under an advisory lock), and
# that each daemon's Merkle log, under its own key, verifies beside the others'.
#
#   scripts/multihost-test.sh BIN_DIR     BIN_DIR holds ledgerd, ledger-rpc and ledger-bench
#
# It needs root (ip netns); scripts/test.sh runs it. Outside CI, without root, it says so and skips.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$(cd "${1:?usage: scripts/multihost-test.sh BIN_DIR}" && pwd)
say() { echo "multihost-test: $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    [ "${CI:-}" = true ] && fail "network namespaces need root, and CI must run this test"
    say "skipped: network namespaces (ip netns) need root; run it as root to test several hosts"
    exit 0
fi

missing=()
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v jq >/dev/null 2>&1 || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r | head -1)
[ -x "$pg_bin/initdb" ] || fail "PostgreSQL's server binaries are not installed (scripts/dev-postgres.sh installs them)"

tag="lmh$$"
work=$(mktemp -d /tmp/ledger-multihost.XXXXXX)
chmod 755 "$work"
hosts=(1 2 3)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -f "$work/pg/data/postmaster.pid" ] && runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
    for ns in pg "${hosts[@]/#/h}"; do ip netns del "$tag$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The network: PostgreSQL's namespace at 10.231.H.1 on a veth pair to each host's namespace at 10.231.H.2.
ip netns add "${tag}pg"
ip -n "${tag}pg" link set lo up
for h in "${hosts[@]}"; do
    ip netns add "${tag}h$h"
    ip -n "${tag}h$h" link set lo up
    ip link add "${tag}a$h" type veth peer name "${tag}b$h"
    ip link set "${tag}a$h" netns "${tag}pg"
    ip link set "${tag}b$h" netns "${tag}h$h"
    ip -n "${tag}pg" addr add "10.231.$h.1/24" dev "${tag}a$h"
    ip -n "${tag}h$h" addr add "10.231.$h.2/24" dev "${tag}b$h"
    ip -n "${tag}pg" link set "${tag}a$h" up
    ip -n "${tag}h$h" link set "${tag}b$h" up
done
say "three hosts, each on its own veth pair to PostgreSQL's namespace"

# PostgreSQL: TLS only, with a certificate for pg.ledger.test from the project's own script.
LEDGER_CERT_SAN=DNS:pg.ledger.test "$root/scripts/gen-certs.sh" "$work/certs" >/dev/null 2>&1
chmod 755 "$work/certs"
chmod 644 "$work/certs/ca.pem"
mkdir -p "$work/pg"
chown postgres "$work/pg"
install -o postgres -m 600 "$work/certs/server.pem" "$work/certs/server.key" "$work/pg/"
runuser -u postgres -- "$pg_bin/initdb" -D "$work/pg/data" -U ledger --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 ||
    { cat "$work/initdb.log" >&2; fail "initdb"; }
cat >"$work/pg/data/pg_hba.conf" <<HBA
local   all all                trust
hostssl all all 10.231.0.0/16  trust
host    all all 0.0.0.0/0      reject
HBA
ip netns exec "${tag}pg" runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 60 -o "\
-c listen_addresses='10.231.1.1,10.231.2.1,10.231.3.1' -c unix_socket_directories='$work/pg' -c max_connections=100 \
-c ssl=on -c ssl_cert_file='$work/pg/server.pem' -c ssl_key_file='$work/pg/server.key'" start >/dev/null ||
    { tail -20 "$work/pg/server.log" >&2; fail "PostgreSQL did not start"; }
runuser -u postgres -- "$pg_bin/createdb" -h "$work/pg" -U ledger ledger
admin="postgresql://ledger@/ledger?host=$work/pg"
sql() { psql "$admin" -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"; }
store_for() { echo "postgresql://ledger@pg.ledger.test:5432/ledger?hostaddr=10.231.$1.1&sslmode=verify-full&sslrootcert=$work/certs/ca.pem&connect_timeout=10"; }

# Plaintext and a wrong name are refused before any ledgerd relies on them.
if ip netns exec "${tag}h1" psql "postgresql://ledger@10.231.1.1:5432/ledger?sslmode=disable" -Atqc "SELECT 1" >/dev/null 2>&1; then
    fail "the server took a plaintext connection"
fi
if ip netns exec "${tag}h1" psql "postgresql://ledger@10.231.1.1:5432/ledger?sslmode=verify-full&sslrootcert=$work/certs/ca.pem" -Atqc "SELECT 1" >/dev/null 2>&1; then
    fail "verify-full accepted a certificate that does not name the address connected to"
fi
for h in "${hosts[@]}"; do
    ip netns exec "${tag}h$h" psql "$(store_for "$h")" -Atqc "SELECT 1" >/dev/null || fail "host $h cannot reach PostgreSQL with verify-full"
    # Each host has its own path to the server and no other.
    other=$((h % 3 + 1))
    if ip netns exec "${tag}h$h" timeout 3 bash -c "exec 3<>/dev/tcp/10.231.$other.1/5432" 2>/dev/null; then fail "host $h reaches host $other's path"; fi
done

# Events a year old, for retention to remove while the hosts log: loaded straight into the table.
old=30000
"$bin_dir/ledger-bench" generate --events "$old" --format postgres --span-days 1 --payload 40 >"$work/old.csv"
sql "SELECT 1" >/dev/null
first_daemon() {
    ip netns exec "${tag}h1" "$bin_dir/ledgerd" --socket "$work/h1.sock" --store "$(store_for 1)" --signing-key off --log-level warning \
        2>"$work/h1-migrate.log" &
    local pid=$!
    for _ in $(seq 1 300); do grep -q '^ready' "$work/h1-migrate.log" 2>/dev/null && break; sleep 0.1; done
    kill -TERM "$pid"
    wait "$pid" || { cat "$work/h1-migrate.log" >&2; fail "ledgerd on host 1 did not migrate the database"; }
}
first_daemon
psql "$admin" -X -q -v ON_ERROR_STOP=1 -c "\\copy ledger_events (id,timestamp,event_type,entity_type,entity_id,event_data,severity,worker_id,job_id,clip_id,peer_uid,peer_pid) FROM '$work/old.csv' WITH (FORMAT csv)"
sql "UPDATE ledger_events SET timestamp = timestamp - interval '400 days', severity = 'INFO'"

# Three ledgerds, each in its own namespace with its own socket and signing key, all keeping INFO for 30 days.
for h in "${hosts[@]}"; do
    "$bin_dir/ledger-rpc" keygen "$work/h$h.key" >/dev/null
    ip netns exec "${tag}h$h" "$bin_dir/ledgerd" --socket "$work/h$h.sock" --store "$(store_for "$h")" --signing-key "$work/h$h.key" \
        --retain INFO=30d --retain-interval 1 --log-level notice 2>"$work/h$h.log" &
    pids+=($!)
done
for h in "${hosts[@]}"; do
    for _ in $(seq 1 300); do grep -q '^ready' "$work/h$h.log" 2>/dev/null && break; sleep 0.1; done
    grep -q '^ready' "$work/h$h.log" || { cat "$work/h$h.log" >&2; fail "ledgerd on host $h did not start"; }
done
say "three ledgerds ready on one PostgreSQL over TLS"

# Retention: all three daemons pass every second over the year-old events; they go, each under exactly one record.
for _ in $(seq 1 600); do
    left=$(sql "SELECT count(*) FROM ledger_events WHERE timestamp < now() - interval '30 days'")
    [ "$left" = 0 ] && break
    sleep 0.2
done
[ "$left" = 0 ] || fail "$left expired events are still stored"
sleep 3
recorded=$(sql "SELECT coalesce(sum((event_data->>'events')::bigint), 0) FROM ledger_events WHERE event_type = 'ledger_retention'")
[ "$recorded" = "$old" ] || fail "the removal records count $recorded events for $old removed: two daemons purged at once"
expired=0
for h in "${hosts[@]}"; do
    n=$(ip netns exec "${tag}h$h" "$bin_dir/ledger-rpc" stats --json --socket "$work/h$h.sock" | jq .events_expired)
    expired=$((expired + n))
done
[ "$expired" = "$old" ] || fail "the daemons removed $expired events between them, $old expired"
say "retention by three daemons removed the $old expired events once, under $(sql "SELECT count(*) FROM ledger_events WHERE event_type = 'ledger_retention'") record(s)"

# Each host's tail follows from now, then each host's clients log acked batches, all at once.
per_host=6000
for h in "${hosts[@]}"; do
    ip netns exec "${tag}h$h" "$bin_dir/ledger-rpc" tail --json --max-events "$per_host" --socket "$work/h$h.sock" >"$work/h$h.tail" 2>"$work/h$h.tail.err" &
    pids+=($!)
    tails[$h]=$!
done
sleep 1
for h in "${hosts[@]}"; do
    ip netns exec "${tag}h$h" "$bin_dir/ledger-bench" --socket "$work/h$h.sock" --connections 4 --events "$per_host" --ack --batch 20 --window 2 --json \
        >"$work/h$h.bench" 2>"$work/h$h.bench.err" &
    benches[$h]=$!
done
for h in "${hosts[@]}"; do
    wait "${benches[$h]}" || { cat "$work/h$h.bench.err" >&2; fail "the clients on host $h failed"; }
    acked=$(jq .events "$work/h$h.bench")
    [ "$acked" = "$per_host" ] || fail "host $h: $acked of $per_host events acknowledged"
done
for h in "${hosts[@]}"; do
    for _ in $(seq 1 600); do kill -0 "${tails[$h]}" 2>/dev/null || break; sleep 0.1; done
    kill -0 "${tails[$h]}" 2>/dev/null && fail "host $h's tail did not see its $per_host events: $(wc -l <"$work/h$h.tail") lines"
done

# Stored exactly once: per sending client process (the kernel's pid, kept as peer_pid), as many rows as it had acked.
rows=$(sql "SELECT count(*) FROM ledger_events WHERE event_type <> 'ledger_retention' AND peer_pid IS NOT NULL")
[ "$rows" = $((3 * per_host)) ] || fail "$rows events stored, $((3 * per_host)) acknowledged"
senders=$(sql "SELECT count(*) FROM (SELECT peer_pid FROM ledger_events WHERE peer_pid IS NOT NULL AND event_type <> 'ledger_retention' GROUP BY peer_pid HAVING count(*) = $per_host) AS s")
[ "$senders" = 3 ] || fail "not every host's $per_host events are stored once: $(sql "SELECT peer_pid, count(*) FROM ledger_events WHERE peer_pid IS NOT NULL GROUP BY 1")"
duplicates=$(sql "SELECT count(*) - count(DISTINCT id) FROM ledger_events")
[ "$duplicates" = 0 ] || fail "$duplicates ids stored twice"
say "every acked event from every host is stored once ($rows)"

# Each tail saw its own host's commits: all of them, and only its own clients' events besides records.
for h in "${hosts[@]}"; do
    own=$(jq -r 'select(.event_type != "ledger_retention") | .peer_pid' "$work/h$h.tail" | sort | uniq -c | sort -rn | head -1 | awk '{ print $1 }')
    [ "$own" = "$per_host" ] || fail "host $h's tail saw $own of its own $per_host events"
    foreign=$(jq -r 'select(.event_type != "ledger_retention") | .peer_pid' "$work/h$h.tail" | sort -u | wc -l)
    [ "$foreign" = 1 ] || fail "host $h's tail showed events from $foreign senders; a daemon's tail follows its own commits"
done
say "each host's tail saw its own commits"

# A query from any host sees every host's events (and the old ones not yet removed, if any).
total=$(sql "SELECT count(*) FROM ledger_events")
for h in "${hosts[@]}"; do
    seen=$(ip netns exec "${tag}h$h" "$bin_dir/ledger-rpc" query total --socket "$work/h$h.sock")
    [ "$seen" -ge $((3 * per_host)) ] || fail "host $h sees $seen events"
    # Every sender's events, all of them, through this host's daemon (not the newest page: the hosts
    # finish at different times, so the newest events may all be one host's).
    senders_seen=$(ip netns exec "${tag}h$h" "$bin_dir/ledger-rpc" export --format ndjson --socket "$work/h$h.sock" 2>/dev/null |
        jq -r 'select(.peer_pid != null and .event_type != "ledger_retention") | .peer_pid' | sort | uniq -c | awk -v n="$per_host" '$1 == n' | wc -l)
    [ "$senders_seen" = 3 ] || fail "host $h's export shows $senders_seen of the 3 hosts' senders with all $per_host events each"
done
say "a query from any host sees every host's events ($total stored)"

for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for h in "${hosts[@]}"; do
    wait "${pids[$((h - 1))]}" || { cat "$work/h$h.log" >&2; fail "ledgerd on host $h did not stop cleanly"; }
done
pids=()

# Three logs on one database, one per daemon: each of its own daemon's commits, all three verified
# from the database itself; the events loaded before any log are the first leaves of one of them.
keys=()
for h in "${hosts[@]}"; do keys+=(--public-key "$work/h$h.key.pub"); done
"$bin_dir/ledger-rpc" verify --store "$admin" "${keys[@]}" --json >"$work/verify.json" || { cat "$work/verify.json" >&2; fail "the three logs do not verify"; }
[ "$(jq '.logs | length' "$work/verify.json")" = 3 ] || fail "expected a log per daemon: $(jq -c .logs "$work/verify.json")"
[ "$(jq '[.logs[].leaves] | add' "$work/verify.json")" -ge $((3 * per_host + old)) ] || fail "the logs hold fewer leaves than the events loaded and logged"
[ "$(jq '[.logs[].removed_by_retention] | add' "$work/verify.json")" = "$old" ] ||
    fail "the $old events loaded before any log are not each one log's leaf, removed under its pass: $(jq -c '[.logs[] | {leaves, removed_by_retention}]' "$work/verify.json")"
say "each daemon's Merkle log verifies beside the others' ($(jq .events_checked "$work/verify.json") events checked)"
say "passed"
