#!/usr/bin/env bash
# Measures ledgerd against the targets in BENCHMARKS.md and prints one table,
# each figure beside the reference it is judged against, measured in the same run.
#
#   scripts/bench.sh            the full run (about 30 minutes on 2 cores)
#   scripts/bench.sh --quick    the same scenarios at a fraction of the size
#
# It builds release, starts its own ledgerd for each store (a SQLite file, and a
# throwaway PostgreSQL from scripts/dev-postgres.sh), and keeps every raw result
# as JSON under .build/bench/ (the run before, under .build/bench.previous/); one
# run at a time, so that neither disturbs the other's figures. Sizes can be changed through the environment:
#   BENCH_EVENTS         events per ingest run              (default 500000)
#   BENCH_MEMORY_EVENTS  events for the memory-store run    (default 5000000)
#   BENCH_QUERY_EVENTS   events in the store queried        (default 10000000)
#   BENCH_SEED_EVENTS    events per seed-path run           (default 5000)
#   BENCH_EXPORT_EVENTS  events in the store exported       (default 1000000, both modes)
#   BENCH_GROWTH_SIZES   events already stored when ingest is measured (default 0 1000000 10000000 50000000)
#   BENCH_GROWTH_EVENTS  events per growth ingest run        (default 200000)
#   BENCH_GROWTH_FULL_MONTH  1: on PostgreSQL, then fill the current month to a twelfth of the
#                        store and measure again, as on a month's last day   (default 0)
#   BENCH_PURGE_EVENTS   events a retention pass removes     (default 10000000)
# and the scenarios run can be narrowed, for example to the 10M-event queries alone:
#   BENCH_TREE_EVENTS    events committed through ledgerd without a tree, adopted by a log, then verified (default 10000000)
#   BENCH_TREE_ATTEMPTS  runs of each shape with the tree and without, alternating; the best counts (default 3)
#   BENCH_ONLY           any of: client python memory ingest sweep tune overload queries export growth purge tree
#                        (default all but growth and purge, which take hours at their full sizes)
#   BENCH_STORES         any of: sqlite postgres                                  (default both)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

quick=false
if [[ "${1:-}" == "--quick" ]]; then quick=true; fi
if $quick; then
    : "${BENCH_EVENTS:=50000}" "${BENCH_MEMORY_EVENTS:=1000000}" "${BENCH_QUERY_EVENTS:=200000}" "${BENCH_SEED_EVENTS:=1000}"
    : "${BENCH_GROWTH_SIZES:=0 100000 1000000}" "${BENCH_GROWTH_EVENTS:=50000}" "${BENCH_PURGE_EVENTS:=200000}"
else
    : "${BENCH_EVENTS:=500000}" "${BENCH_MEMORY_EVENTS:=5000000}" "${BENCH_QUERY_EVENTS:=10000000}" "${BENCH_SEED_EVENTS:=5000}"
    : "${BENCH_GROWTH_SIZES:=0 1000000 10000000 50000000}" "${BENCH_GROWTH_EVENTS:=200000}" "${BENCH_PURGE_EVENTS:=10000000}"
fi

: "${BENCH_EXPORT_EVENTS:=1000000}" "${BENCH_GROWTH_FULL_MONTH:=0}" "${BENCH_TREE_EVENTS:=10000000}" "${BENCH_TREE_ATTEMPTS:=3}"
: "${BENCH_ONLY:=client python memory ingest sweep tune overload queries export tree}" "${BENCH_STORES:=sqlite postgres}"
# want SCENARIO: whether BENCH_ONLY names it.
want() { [[ " $BENCH_ONLY " == *" $1 "* ]]; }

script_name=bench
. "$root/scripts/lib/daemons.sh"
# One run at a time: a second would rebuild the binaries under the first and share its cores.
mkdir -p "$root/.build"
running=$(cat "$root/.build/bench.pid" 2>/dev/null || true)
if [[ -n $running ]] && grep -qs 'bench\.sh' "/proc/$running/cmdline"; then
    log "another scripts/bench.sh (pid $running) is running in $root; wait for it to finish"
    exit 1
fi
echo $$ >"$root/.build/bench.pid"
install_missing sqlite3 jq strace
build_release

out="$root/.build/bench"
# The run before this one stays beside it, for a comparison or a plot of both.
rm -rf "$out.previous"
[[ -d $out ]] && mv "$out" "$out.previous"
mkdir -p "$out"
make_work

# field FILE KEY: one number from a result.
field() { jq -r "$2" "$out/$1.json"; }
# have FILE...: whether every one of those results was measured in this run.
have() {
    local name
    for name in "$@"; do [[ -e "$out/$name.json" ]] || return 1; done
}

# cpu_ticks: the machine's busy CPU time so far (user, nice, system, irq, softirq), in clock ticks.
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# run NAME COMMAND...: runs a ledger-bench command with --json and keeps its result.
run() {
    local name=$1
    shift
    log "$name: $*"
    "$bench" "$@" --json >"$out/$name.json"
}

migrate() {
    start_daemon "$1"
    stop_daemon
}

# month_events STORE: how many events PostgreSQL's current month (UTC) holds.
month_events() {
    psql "$1" -Atqc "SELECT count(*) FROM ledger_events WHERE timestamp >= date_trunc('month', now(), 'UTC')"
}

# measure_growth LABEL STORED: the growth scenario's runs against $store as it stands, holding STORED
# events (both shapes, the bytes each event cost the store, the query latencies, the size on disk),
# kept under LABEL.
measure_growth() {
    local label=$1 stored=$2 shape name batch window events before_written before_read written read_blocks finished started built filters_seconds=0
    start_daemon "$store"
    if [[ $kind == sqlite ]]; then
        # The bulk load bypasses ledgerd, so its segments have no filters yet: ledgerd builds them in
        # the background, as after an upgrade, and the runs wait for that, to measure the steady state.
        finished=$(sqlite3 "${store#sqlite:}" "SELECT coalesce((max(seq) >> 18) - (min(seq) >> 18), 0) FROM ledger_events")
        started=$(date +%s.%N)
        while built=$("$rpc" stats --json --socket "$socket" | jq '.sqlite_segment_filters // 0') && ((built < finished)); do
            if (($(date +%s) - ${started%.*} > 3600)); then
                log "ledgerd built $built of $finished segment filters in an hour; measuring without the rest"
                break
            fi
            sleep 1
        done
        filters_seconds=$(calc "$(date +%s.%N) - $started")
        log "ledgerd built the filters of $finished segments in $(printf %.1f "$filters_seconds") s"
    fi
    for shape in "deep 100 16 $BENCH_GROWTH_EVENTS" "batch1 1 64 $((BENCH_GROWTH_EVENTS / 2))"; do
        read -r name batch window events <<<"$shape"
        before_written=$(store_writes "$kind" "$store")
        before_read=$(store_reads "$kind" "$store")
        run "$kind-growth-$label-$name" --socket "$socket" --connections 8 --events "$events" --ack --batch "$batch" --window "$window"
        written=$(calc "($(store_writes "$kind" "$store") - $before_written) / $events")
        read_blocks=$(calc "($(store_reads "$kind" "$store") - $before_read) / $events")
        jq ". + {stored_before: $stored, bytes_written_per_event: $written, blocks_read_per_event: $read_blocks}" \
            "$out/$kind-growth-$label-$name.json" >"$out/tmp.json" && mv "$out/tmp.json" "$out/$kind-growth-$label-$name.json"
        loaded=$((loaded + events))
    done
    run "$kind-growth-$label-query" query --socket "$socket" --queries 500
    stop_daemon
    echo "{\"stored\": $loaded, \"bytes\": $(store_bytes "$kind" "$store"), \"filters_seconds\": $filters_seconds}" >"$out/$kind-growth-$label-size.json"
}

columns="id,timestamp,event_type,entity_type,entity_id,event_data,severity,worker_id,job_id,clip_id,peer_uid,peer_pid"

# load_reference KIND STORE CSV: the store's own bulk load of the rows, timed; prints events/s.
# SQLite's page cache for it is ledgerd's (16 MiB) unless load_cache_kib says otherwise.
load_cache_kib=16384
load_reference() {
    local kind=$1 store=$2 csv=$3 rows started finished
    rows=$(wc -l <"$csv")
    started=$(date +%s.%N)
    case $kind in
    sqlite)
        sqlite3 "${store#sqlite:}" >/dev/null <<SQL
PRAGMA synchronous=FULL;
PRAGMA cache_size=-$load_cache_kib;
PRAGMA wal_autocheckpoint=65536;
CREATE TEMP TABLE staging (id, timestamp, event_type, entity_type, entity_id, event_data, severity, worker_id, job_id, clip_id, peer_uid, peer_pid, seq);
.import --csv $csv staging
BEGIN;
INSERT INTO ledger_events ($columns,seq)
    SELECT id, CAST(timestamp AS INTEGER), event_type, entity_type, entity_id, event_data, severity,
           NULLIF(worker_id, ''), NULLIF(job_id, ''), NULLIF(clip_id, ''), CAST(peer_uid AS INTEGER), CAST(peer_pid AS INTEGER), CAST(seq AS INTEGER)
    FROM staging;
COMMIT;
SQL
        ;;
    postgres)
        psql "$store" -v ON_ERROR_STOP=1 -qc "\\copy ledger_events ($columns) FROM '$csv' WITH (FORMAT csv)"
        ;;
    esac
    finished=$(date +%s.%N)
    calc "$rows / ($finished - $started)"
}

# store_bytes KIND STORE: the store's size on disk (SQLite: the file and its log; PostgreSQL: every partition with its indexes).
store_bytes() {
    case $1 in
    sqlite)
        local file total=0
        for file in "${2#sqlite:}" "${2#sqlite:}-wal"; do
            [[ -e $file ]] && total=$((total + $(stat -c %s "$file")))
        done
        echo "$total"
        ;;
    postgres) psql "$2" -Atqc "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('ledger_events')" ;;
    esac
}

# store_sql KIND STORE SQL: the first column of the query's rows, from the store's own shell.
store_sql() {
    case $1 in
    sqlite) sqlite3 "${2#sqlite:}" "$3" ;;
    postgres) psql "$2" -Atqc "$3" ;;
    esac
}

# store_writes KIND STORE: bytes the store has written so far (SQLite: the daemon's write_bytes; PostgreSQL: its WAL).
store_writes() {
    case $1 in
    sqlite) awk '/^write_bytes/ { print $2 }' "/proc/$daemon_pid/io" ;;
    postgres) psql "$2" -Atqc "SELECT wal_bytes FROM pg_stat_wal" ;;
    esac
}

# store_reads KIND STORE: pages read from outside the store's cache so far (SQLite: all the daemon read
# through the kernel, its clients' frames included, over 4 KiB; PostgreSQL: blocks read into shared buffers).
store_reads() {
    case $1 in
    sqlite) awk '/^rchar/ { print int($2 / 4096) }' "/proc/$daemon_pid/io" ;;
    postgres) psql "$2" -Atqc "SELECT coalesce(sum(heap_blks_read + idx_blks_read), 0) FROM pg_statio_user_tables WHERE relid IN (SELECT relid FROM pg_partition_tree('ledger_events'))" ;;
    esac
}

[[ " $BENCH_STORES " == *" postgres "* ]] && start_postgres

# ---------------------------------------------------------------------------
# The daemon alone: a memory store, fire-and-forget with client-side batching.
if want memory; then
    start_daemon memory
    run memory-ff --socket "$socket" --connections 4 --events "$BENCH_MEMORY_EVENTS" --batch 100
    stop_daemon
fi

# Allocations per call: malloc calls counted by a perf uprobe, the difference between two run lengths.
allocations_per_call() {
    local target=$1 a b
    a=$(perf stat -x, -e probe_libc:malloc -- "$bench" client-cost --socket "$target" --calls 10000 2>&1 >/dev/null | awk -F, '/probe_libc:malloc/ { print $1 }')
    b=$(perf stat -x, -e probe_libc:malloc -- "$bench" client-cost --socket "$target" --calls 30000 2>&1 >/dev/null | awk -F, '/probe_libc:malloc/ { print $1 }')
    calc "($b - $a) / 20000"
}
allocs_up=unmeasured
allocs_down=unmeasured
if want client; then
    libc=$(ldd "$bench" | awk '/libc.so.6/ { print $3 }')
    can_probe=false
    if command -v perf >/dev/null && { perf probe -q -x "$libc" --add malloc >/dev/null 2>&1 || perf probe -l 2>/dev/null | grep -q probe_libc:malloc; }; then
        can_probe=true
    else
        log "perf cannot probe malloc here (needs root and uprobes); allocations per call not measured"
    fi

    # What a log call costs its caller, with the daemon up and down.
    start_daemon memory
    run client-up client-cost --socket "$socket" --calls 1000000
    if $can_probe; then
        log "allocations per call, daemon up (perf uprobe on malloc)"
        allocs_up=$(allocations_per_call "$socket")
    fi
    stop_daemon
    run client-down client-cost --socket "$work/no-daemon.sock" --calls 1000000
    if $can_probe; then
        log "allocations per call, daemon down (perf uprobe on malloc)"
        allocs_down=$(allocations_per_call "$work/no-daemon.sock")
    fi

    # System calls per call with the daemon down, counted by strace over the whole process.
    log "system calls per call with the daemon down (strace)"
    strace -f -c -o "$work/strace.txt" "$bench" client-cost --socket "$work/no-daemon.sock" --calls 1000000 >/dev/null
    syscalls_total=$(awk '$NF == "total" { print $(NF-2) }' "$work/strace.txt")
    syscalls_per_call=$(calc "$syscalls_total / 1010000")
fi

# ---------------------------------------------------------------------------
# The Python client (clients/python) in CPython, beside the Swift client and ledger-bench in the
# same run, on the memory store so that the figures are the clients', not a store's.
if want python; then
    python_calls=200000 python_events=200000 python_acked=10000
    $quick && python_calls=50000 python_events=50000 python_acked=2000
    py() { PYTHONPATH="$root/clients/python/src" python3 "$root/clients/python/bench/bench_client.py" "$@"; }
    start_daemon memory
    log "python client: call cost, fire-and-forget and acknowledged events/s"
    py --socket "$socket" --calls "$python_calls" --events "$python_events" --acked "$python_acked" --json >"$out/python-up.json"
    run python-swift-call client-cost --socket "$socket" --calls "$python_calls"
    run python-swift-ff ingest --socket "$socket" --connections 1 --events "$python_events"
    run python-swift-ack1 ingest --socket "$socket" --connections 1 --events "$python_acked" --ack --window 1
    run python-swift-ack8 ingest --socket "$socket" --connections 8 --events "$python_acked" --ack --window 1
    stop_daemon
    py --socket "$work/no-daemon.sock" --down --calls "$python_calls" --json >"$out/python-down.json"
fi

# ---------------------------------------------------------------------------
# Each store: its own limit, the seed's write path, and ledgerd.
declare -A result
concurrency="1 2 4 8 16 32 64 128"
commit_batches="1000 2000 5000 10000"
commit_delays="0 2 10"
$quick && concurrency="1 4 16 64"
for kind in $BENCH_STORES; do
    log "== $kind"
    if want ingest; then
        csv="$work/rows-$kind.csv"
        "$bench" generate --events "$BENCH_EVENTS" --format "$kind" >"$csv"
        # Twice, each into a fresh store, and the faster counts: one slow load (it happens) would
        # otherwise make ledgerd look closer to the store's limit than it is.
        best=0
        for attempt in 1 2; do
            store=$(fresh_store "$kind" ref_${kind}_$attempt)
            migrate "$store"
            eps=$(load_reference "$kind" "$store" "$csv")
            log "$kind store's own load, attempt $attempt: $eps events/s"
            best=$(awk "BEGIN { print ($eps > $best) ? $eps : $best }")
            drop_store "$kind" ref_${kind}_$attempt
        done
        result[$kind.reference]=$best
        echo "{\"events_per_second\": $best}" >"$out/$kind-own-load.json"
        rm -f "$csv"

        for services in 1 8; do
            store=$(fresh_store "$kind" seed_${kind}_$services)
            run "$kind-seed-$services" seed-path --store "$store" --connections "$services" --events "$((BENCH_SEED_EVENTS * (services == 1 ? 1 : 4)))"
            drop_store "$kind" seed_${kind}_$services
        done

        # The target: acknowledged, durable ingest from 8 connections, each shape on a fresh store as the
        # reference is, since a store already holding events takes the next ones more slowly.
        # 512, 3,200 and 12,800 events awaiting acks; the deepest is the backlog that lets group commit fill.
        for shape in "batch1 1 64" "batch100 100 4" "deep 100 16"; do
            read -r name batch window <<<"$shape"
            store=$(fresh_store "$kind" "ack_${name}_$kind")
            start_daemon "$store"
            run "$kind-ack8-$name" --socket "$socket" --connections 8 --events "$BENCH_EVENTS" --ack --batch "$batch" --window "$window"
            stop_daemon
            drop_store "$kind" "ack_${name}_$kind"
        done
    fi

    if want tree; then
        # What the Merkle tree costs acked ingest: each shape with the tree and with --signing-key off,
        # on fresh stores, alternating so that a slow spell of the machine falls on both; the best of each counts,
        # and the median of each pair's ratio.
        # Beside throughput, the machine's busy CPU time per event (daemon, client and PostgreSQL together),
        # which a slow disk or a neighbour's spell moves far less than events per second.
        # One key of the bench's own, so that a PostgreSQL daemon's key is not the data directory's.
        [[ -f "$work/tree.key" ]] || "$rpc" keygen "$work/tree.key" >/dev/null
        for shape in "batch1 1 64" "batch100 100 4" "deep 100 16"; do
            read -r name batch window <<<"$shape"
            for attempt in $(seq 1 "$BENCH_TREE_ATTEMPTS"); do
                # Each pair in the other order from the last, so that whatever favours a pair's first or second run evens out.
                order="on off"
                ((attempt % 2 == 0)) && order="off on"
                for tree in $order; do
                    store=$(fresh_store "$kind" "tree_${name}_${tree}_$attempt")
                    if [[ $tree == on ]]; then start_daemon "$store" --signing-key "$work/tree.key"; else start_daemon "$store" --signing-key off; fi
                    busy=$(cpu_ticks)
                    run "$kind-tree-$name-$tree-$attempt" --socket "$socket" --connections 8 --events "$BENCH_EVENTS" --ack --batch "$batch" --window "$window"
                    busy=$(($(cpu_ticks) - busy))
                    jq ". + {cpu_us_per_event: ($busy * 1000000 / $(getconf CLK_TCK) / $BENCH_EVENTS)}" \
                        "$out/$kind-tree-$name-$tree-$attempt.json" >"$out/tmp.json" && mv "$out/tmp.json" "$out/$kind-tree-$name-$tree-$attempt.json"
                    stop_daemon
                    drop_store "$kind" "tree_${name}_${tree}_$attempt"
                done
            done
        done
        # A ledger of BENCH_TREE_EVENTS committed through a daemon without a tree; its first log then
        # takes them all as its first leaves as it starts (how long, and the daemon's peak memory), and
        # the whole is verified.
        store=$(fresh_store "$kind" tree_verify)
        start_daemon "$store" --signing-key off
        run "$kind-tree-load" --socket "$socket" --connections 8 --events "$BENCH_TREE_EVENTS" --ack --batch 100 --window 16
        stop_daemon
        started=$(date +%s.%N)
        ready_tenths=36000 start_daemon "$store" --signing-key "$work/tree.key"
        seconds=$(calc "$(date +%s.%N) - $started")
        rss=$(awk '/^VmHWM/ { print $2 / 1024 }' "/proc/$daemon_pid/status")
        "$rpc" head --json --socket "$socket" >"$work/head.json"
        echo "{\"events\": $BENCH_TREE_EVENTS, \"leaves\": $(jq .tree_size "$work/head.json"), \"seconds\": $seconds, \"peak_rss_mib\": $rss}" >"$out/$kind-tree-adopt.json"
        # An inclusion proof of the first event, of events spread over the ledger, and of the last,
        # each through ledger-rpc prove and checked offline: the slowest counts.
        slowest=0 proved=0
        for fraction in 0 0.1 0.25 0.5 0.75 0.9 1; do
            offset=$(calc "int(($BENCH_TREE_EVENTS - 1) * $fraction)")
            id=$(store_sql "$kind" "$store" "SELECT id FROM ledger_events ORDER BY seq LIMIT 1 OFFSET $offset")
            started=$(date +%s.%N)
            "$rpc" prove --socket "$socket" "$id" >"$work/proof.json" || true
            seconds=$(calc "$(date +%s.%N) - $started")
            "$rpc" verify-proof "$work/proof.json" --public-key "$work/tree.key.pub" >/dev/null && proved=$((proved + 1))
            slowest=$(calc "(($seconds > $slowest) ? $seconds : $slowest)")
        done
        echo "{\"events\": $BENCH_TREE_EVENTS, \"proofs\": 7, \"verified\": $proved, \"slowest_seconds\": $slowest}" >"$out/$kind-tree-prove.json"
        stop_daemon
        started=$(date +%s.%N)
        "$rpc" verify --store "$store" --public-key "$work/tree.key.pub" --head "$work/head.json" --json >"$out/$kind-tree-verify-report.json" || true
        seconds=$(calc "$(date +%s.%N) - $started")
        echo "{\"events\": $(jq .events_checked "$out/$kind-tree-verify-report.json"), \"seconds\": $seconds, \"verified\": $(jq 'if .verified then 1 else 0 end' "$out/$kind-tree-verify-report.json"), \"bytes\": $(store_bytes "$kind" "$store")}" >"$out/$kind-tree-verify.json"
        drop_store "$kind" tree_verify
    fi

    if want sweep; then
        # Acknowledged throughput against concurrency: each connection one caller waiting for its ack.
        store=$(fresh_store "$kind" sweep_$kind)
        start_daemon "$store"
        for c in $concurrency; do
            run "$kind-sweep-$c" --socket "$socket" --connections "$c" --events "$((c * (BENCH_EVENTS / 256 > 200 ? BENCH_EVENTS / 256 : 200)))" --ack --batch 1 --window 1
        done
        stop_daemon
    fi

    if want tune; then
        # Group commit: the most events per transaction and the longest wait for more, around the defaults.
        for commit_batch in $commit_batches; do
            for delay in $commit_delays; do
                store=$(fresh_store "$kind" "tune_${kind}_${commit_batch}_$delay")
                start_daemon "$store" --commit-batch "$commit_batch" --commit-delay-ms "$delay"
                run "$kind-tune-$commit_batch-$delay" --socket "$socket" --connections 8 --events "$((BENCH_EVENTS / 2))" --ack --batch 100 --window 16
                stop_daemon
            done
        done
    fi

    if want overload; then
        # Sustained overload: far more fire-and-forget load than the store takes; memory must stay flat.
        store=$(fresh_store "$kind" overload_$kind)
        start_daemon "$store"
        run "$kind-overload" --socket "$socket" --connections 16 --events "$((BENCH_EVENTS * 2))" --batch 100
        stop_daemon
    fi

    if want queries; then
        # Queries on a large store while ingest runs.
        store=$(fresh_store "$kind" query_$kind)
        migrate "$store"
        log "loading $BENCH_QUERY_EVENTS events into the $kind store for the query run"
        csv="$work/query-$kind.csv"
        # Thirty days of history, so a day's window holds a thirtieth of the store as it would in use.
        "$bench" generate --events "$BENCH_QUERY_EVENTS" --format "$kind" --span-days 30 >"$csv"
        load_reference "$kind" "$store" "$csv" >/dev/null
        rm -f "$csv"
        [[ $kind == postgres ]] && psql "$store" -qc "VACUUM ANALYZE ledger_events"
        start_daemon "$store"
        "$bench" --socket "$socket" --connections 4 --events 10000000 --ack --batch 1 --window 4 --rate 2000 >/dev/null 2>&1 &
        ingest_pid=$!
        sleep 2
        run "$kind-query" query --socket "$socket" --queries 2000
        run "$kind-reports" reports --socket "$socket" --runs 5 --window-hours 24
        kill "$ingest_pid" 2>/dev/null || true
        wait "$ingest_pid" 2>/dev/null || true
        stop_daemon
    fi

    if want growth; then
        # Acked ingest on a store that already holds many events: the store grows in place, loaded in
        # chunks through its own bulk path (SQLite's with a 4 GiB cache: with ledgerd's 16 MiB, five
        # million rows into random-key indexes took over ten minutes), and at each size the two
        # shapes run against it.
        store=$(fresh_store "$kind" growth_$kind)
        migrate "$store"
        loaded=0
        load_cache_kib=4194304
        for size in $BENCH_GROWTH_SIZES; do
            while ((loaded < size)); do
                chunk=$((size - loaded > 5000000 ? 5000000 : size - loaded))
                log "growing the $kind store from $loaded to $((loaded + chunk)) events"
                csv="$work/growth-$kind.csv"
                first=1
                [[ $kind == sqlite ]] && first=$(($(sqlite3 "${store#sqlite:}" "SELECT coalesce(max(seq), 0) FROM ledger_events") + 1))
                "$bench" generate --events "$chunk" --format "$kind" --first-seq "$first" --span-days 365 >"$csv"
                load_reference "$kind" "$store" "$csv" >/dev/null
                rm -f "$csv"
                loaded=$((loaded + chunk))
            done
            [[ $kind == postgres ]] && psql "$store" -qc "VACUUM ANALYZE ledger_events"
            measure_growth "$size" "$size"
        done
        # PostgreSQL's ingest writes the current month's partition, which early in a month holds a
        # few days of events: with BENCH_GROWTH_FULL_MONTH=1 it is filled to a twelfth of the store
        # (a month of a year's ledger, as on the month's last day) and the two shapes run again.
        if [[ $kind == postgres && $BENCH_GROWTH_FULL_MONTH == 1 ]]; then
            day=$(date -u +%-d)
            month_rows=$(month_events "$store")
            fill=$((loaded / 12 - month_rows))
            if ((day < 3)); then
                log "not filling the current month: on day $day a span of whole days would reach into the month before"
            else
                if ((fill > 0)); then
                    log "filling the current month with $fill events (it holds $month_rows; a twelfth of the store is $((loaded / 12)))"
                    csv="$work/growth-$kind.csv"
                    "$bench" generate --events "$fill" --format "$kind" --span-days "$((day - 1))" >"$csv"
                    load_reference "$kind" "$store" "$csv" >/dev/null
                    rm -f "$csv"
                    loaded=$((loaded + fill))
                    psql "$store" -qc "VACUUM ANALYZE ledger_events"
                fi
                month_rows=$(month_events "$store")
                measure_growth month "$loaded"
                jq ". + {month_events: $month_rows}" "$out/$kind-growth-month-size.json" >"$out/tmp.json" && mv "$out/tmp.json" "$out/$kind-growth-month-size.json"
            fi
        fi
        load_cache_kib=16384
        drop_store "$kind" growth_$kind
    fi

    if want purge; then
        # A retention pass removing BENCH_PURGE_EVENTS events (the older half of a store spread over 60
        # days) while acked batch-1 ingest runs at a steady rate, beside the same ingest without a purge.
        store=$(fresh_store "$kind" purge_$kind)
        migrate "$store"
        csv="$work/purge-$kind.csv"
        log "loading $((BENCH_PURGE_EVENTS * 2)) events over 60 days into the $kind store for the purge run"
        "$bench" generate --events "$((BENCH_PURGE_EVENTS * 2))" --format "$kind" --span-days 60 >"$csv"
        load_cache_kib=4194304
        load_reference "$kind" "$store" "$csv" >/dev/null
        load_cache_kib=16384
        rm -f "$csv"
        [[ $kind == postgres ]] && psql "$store" -qc "VACUUM ANALYZE ledger_events"
        steady=(--socket "$socket" --connections 8 --events 90000 --ack --batch 1 --window 1 --rate 1500)
        start_daemon "$store"
        run "$kind-purge-without" "${steady[@]}"
        stop_daemon
        bytes_before=$(store_bytes "$kind" "$store")
        start_daemon "$store" --retain "INFO=30d,WARN=30d,ERROR=30d" --retain-interval 604800
        # The pass counts what it removes first (a minute at ten million events): ingest is measured
        # once the removals run, the long part of a pass.
        until (($("$rpc" stats --json --socket "$socket" | jq .events_expired) > 0)); do sleep 1; done
        run "$kind-purge-during" "${steady[@]}"
        expired_during=$("$rpc" stats --json --socket "$socket" | jq .events_expired)
        # Until the pass has finished: a look that fails (a store too busy to answer within its query
        # budget) is not an answer.
        until pass=$("$rpc" retention --json --socket "$socket") && [[ $(jq -r .last_pass_finished <<<"$pass") != null ]]; do sleep 1; done
        # The pass's own span, from its start (the count of what it removes included) to its end (space reclaimed).
        seconds=$(calc "$(date -d "$(jq -r .last_pass_finished <<<"$pass")" +%s.%N) - $(date -d "$(jq -r .last_pass_started <<<"$pass")" +%s.%N)")
        expired=$("$rpc" stats --json --socket "$socket" | jq .events_expired)
        stop_daemon
        echo "{\"expired\": $expired, \"expired_during_ingest\": $expired_during, \"seconds\": $seconds, \"bytes_before\": $bytes_before, \"bytes_after\": $(store_bytes "$kind" "$store")}" >"$out/$kind-purge.json"
        drop_store "$kind" purge_$kind
    fi

    if want export; then
        # The whole store streamed out, as ledger-rpc export pages it; both sides' memory must stay flat.
        store=$(fresh_store "$kind" export_$kind)
        migrate "$store"
        log "loading $BENCH_EXPORT_EVENTS events into the $kind store for the export run"
        csv="$work/export-$kind.csv"
        "$bench" generate --events "$BENCH_EXPORT_EVENTS" --format "$kind" >"$csv"
        load_reference "$kind" "$store" "$csv" >/dev/null
        rm -f "$csv"
        start_daemon "$store"
        run "$kind-export" export --socket "$socket"
        stop_daemon
        drop_store "$kind" export_$kind
    fi
done

# ---------------------------------------------------------------------------
# The table.
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo MISSED; fi; }
row() { printf '%-44s %16s %22s %8s %-10s %s\n' "$@"; }

echo
echo "SocialSyncLedger benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r)"
echo
row "figure" "measured" "reference" "ratio" "target" "verdict"
row "------" "--------" "---------" "-----" "------" "-------"
for kind in $BENCH_STORES; do
    if have "$kind-seed-8" "$kind-seed-1" "$kind-ack8-batch1" "$kind-ack8-batch100" "$kind-ack8-deep"; then
        ref=${result[$kind.reference]}
        seed8=$(field "$kind-seed-8" .events_per_second)
        seed1=$(field "$kind-seed-1" .events_per_second)
        for shape in batch1 batch100 deep; do
            eps=$(field "$kind-ack8-$shape" .events_per_second)
            case $shape in batch1) label="batch 1 x64" ;; batch100) label="batch 100 x4" ;; deep) label="batch 100 x16" ;; esac
            r=$(ratio "$eps" "$ref")
            row "$kind acked ingest, 8 conns, $label" "$(printf %.0f "$eps")/s" "own load $(printf %.0f "$ref")/s" "$r" ">= 0.8" "$(verdict "$r >= 0.8")"
            r=$(ratio "$eps" "$seed8")
            row "$kind acked ingest, 8 conns, $label" "$(printf %.0f "$eps")/s" "seed path $(printf %.0f "$seed8")/s" "$r" ">= 15" "$(verdict "$r >= 15")"
        done
        row "$kind seed path, 1 service" "$(printf %.0f "$seed1")/s" "" "" "" ""
        p99=$(field "$kind-ack8-batch1" .p99_us)
        row "$kind ack latency p99, 8 conns, batch 1 x64" "${p99} us" "" "" "" ""
    fi
    if have "$kind-tree-deep-on-1" "$kind-tree-deep-off-1"; then
        for shape in batch1 batch100 deep; do
            on=$(jq -s 'map(.events_per_second) | max' "$out/$kind-tree-$shape-on-"*.json)
            off=$(jq -s 'map(.events_per_second) | max' "$out/$kind-tree-$shape-off-"*.json)
            r=$(ratio "$on" "$off")
            row "$kind acked ingest with the tree, $shape" "$(printf %.0f "$on")/s" "without $(printf %.0f "$off")/s" "$r" ">= 0.95" "$(verdict "$r >= 0.95")"
            # The median of each attempt's own ratio, the pair run back to back.
            r=$(for attempt in $(seq 1 "$BENCH_TREE_ATTEMPTS"); do
                jq -n "$(field "$kind-tree-$shape-on-$attempt" .events_per_second) / $(field "$kind-tree-$shape-off-$attempt" .events_per_second)"
            done | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
            row "$kind acked ingest with the tree, $shape, median of pairs" "" "" "$r" ">= 0.95" "$(verdict "$r >= 0.95")"
            on=$(jq -s 'map(.cpu_us_per_event) | sort | .[length / 2 | floor]' "$out/$kind-tree-$shape-on-"*.json)
            off=$(jq -s 'map(.cpu_us_per_event) | sort | .[length / 2 | floor]' "$out/$kind-tree-$shape-off-"*.json)
            r=$(ratio "$off" "$on")
            row "$kind CPU per acked event with the tree, $shape" "$(printf %.1f "$on") us" "without $(printf %.1f "$off") us" "$r" ">= 0.95" "$(verdict "$r >= 0.95")"
        done
    fi
    if have "$kind-tree-adopt"; then
        row "$kind log adopting $(field "$kind-tree-adopt" .events) events" "$(printf %.1f "$(field "$kind-tree-adopt" .seconds)") s" \
            "peak RSS $(printf %.0f "$(field "$kind-tree-adopt" .peak_rss_mib)") MiB" "" "all leaves" \
            "$(verdict "$(field "$kind-tree-adopt" .leaves) == $(field "$kind-tree-adopt" .events)")"
    fi
    if have "$kind-tree-prove"; then
        row "$kind prove, slowest of 7 across $(field "$kind-tree-prove" .events) events" "$(printf %.2f "$(field "$kind-tree-prove" .slowest_seconds)") s" \
            "$(field "$kind-tree-prove" .verified) verified" "" "< 1 s" \
            "$(verdict "$(field "$kind-tree-prove" .slowest_seconds) < 1 && $(field "$kind-tree-prove" .verified) == 7")"
    fi
    if have "$kind-tree-verify"; then
        row "$kind verify, $(field "$kind-tree-verify" .events) events" "$(printf %.1f "$(field "$kind-tree-verify" .seconds)") s" "" "" "< 60 s" "$(verdict "$(field "$kind-tree-verify" .seconds) < 60 && $(field "$kind-tree-verify" .verified) == 1")"
    fi
    if have "$kind-overload"; then
        rss=$(field "$kind-overload" .daemon_peak_rss_mib)
        row "$kind daemon peak RSS under overload" "$(printf %.1f "$rss") MiB" "" "" "< 128" "$(verdict "$rss < 128")"
    fi
    if have "$kind-export"; then
        eps=$(field "$kind-export" .events_per_second)
        grew=$(calc "($(field "$kind-export" .daemon_rss_max_bytes) - $(field "$kind-export" .daemon_rss_start_bytes)) / 1048576")
        row "$kind export, $(field "$kind-export" .events) events" "$(printf %.0f "$eps")/s" "" "" "" ""
        row "$kind export, daemon RSS growth" "$(printf %.1f "$grew") MiB" "" "" "< 32" "$(verdict "$grew < 32")"
        late=$(calc "($(jq '.daemon_rss_by_tenth_bytes[-1]' "$out/$kind-export.json") - $(jq '.daemon_rss_by_tenth_bytes[0]' "$out/$kind-export.json")) / 1048576")
        row "$kind export, daemon RSS, last tenth - first" "$(printf %.1f "$late") MiB" "" "" "< 4" "$(verdict "$late < 4")"
    fi
    if have "$kind-purge-without" "$kind-purge-during" "$kind-purge"; then
        base=$(field "$kind-purge-without" .p99_us)
        during=$(field "$kind-purge-during" .p99_us)
        r=$(ratio "$during" "$base")
        row "$kind ack p99 during a purge, batch 1, 1500/s" "${during} us" "without ${base} us" "$r" "<= 2" "$(verdict "$r <= 2")"
        row "$kind purge, $(field "$kind-purge" .expired) events" "$(printf %.0f "$(calc "$(field "$kind-purge" .expired) / $(field "$kind-purge" .seconds)")")/s" "$(printf %.0f "$(field "$kind-purge" .seconds)") s for the pass" "" "" ""
        row "$kind store size before and after the purge" "$(calc "$(field "$kind-purge" .bytes_after) / 1048576" | xargs printf %.0f) MiB" "before $(calc "$(field "$kind-purge" .bytes_before) / 1048576" | xargs printf %.0f) MiB" "" "" ""
    fi
    if have "$kind-growth-0-deep"; then
        fresh_deep=$(field "$kind-growth-0-deep" .events_per_second)
        fresh_batch1=$(field "$kind-growth-0-batch1" .events_per_second)
        for size in $BENCH_GROWTH_SIZES; do
            have "$kind-growth-$size-deep" "$kind-growth-$size-batch1" || continue
            for shape in deep batch1; do
                eps=$(field "$kind-growth-$size-$shape" .events_per_second)
                reference=$([[ $shape == deep ]] && echo "$fresh_deep" || echo "$fresh_batch1")
                r=$(ratio "$eps" "$reference")
                row "$kind acked ingest $shape at $size stored" "$(printf %.0f "$eps")/s" "fresh $(printf %.0f "$reference")/s" "$r" ">= 0.7" "$(verdict "$r >= 0.7")"
            done
            # Every list, judged at each size by the 5 ms the queries are held to at ten million events.
            for q in recent job entity type_since warnings combined; do
                p99=$(jq -r ".kinds.$q.p99_us" "$out/$kind-growth-$size-query.json")
                row "$kind at $size stored: $q query p99" "${p99} us" "" "" "< 5000 us" "$(verdict "$p99 < 5000")"
            done
            row "$kind at $size stored: bytes/event on disk" "$(calc "$(field "$kind-growth-$size-size" .bytes) / $(field "$kind-growth-$size-size" .stored)" | xargs printf %.0f) B" "" "" "" ""
            row "$kind at $size stored: deep writes, reads/event" "$(printf %.0f "$(field "$kind-growth-$size-deep" .bytes_written_per_event)") B" "$(printf %.2f "$(field "$kind-growth-$size-deep" .blocks_read_per_event)") pages read" "" "" ""
        done
        if have "$kind-growth-month-deep" "$kind-growth-month-batch1"; then
            for shape in deep batch1; do
                eps=$(field "$kind-growth-month-$shape" .events_per_second)
                reference=$([[ $shape == deep ]] && echo "$fresh_deep" || echo "$fresh_batch1")
                r=$(ratio "$eps" "$reference")
                row "$kind acked ingest $shape at $(field "$kind-growth-month-$shape" .stored_before) stored, $(field "$kind-growth-month-size" .month_events) this month" "$(printf %.0f "$eps")/s" "fresh $(printf %.0f "$reference")/s" "$r" ">= 0.7" "$(verdict "$r >= 0.7")"
            done
            row "$kind with a full month: recent p99" "$(jq -r ".kinds.recent.p99_us" "$out/$kind-growth-month-query.json") us" "" "" "" ""
        fi
    fi
    if have "$kind-query"; then
        # The operator's lists: under 5 ms at ten million events (and more), under 2 ms on the quick run's small store.
        list_target=2000
        (($(field "$kind-query" ".store_events // 0") >= 1000000)) && list_target=5000
        for q in recent job entity; do
            p99=$(jq -r ".kinds.$q.p99_us" "$out/$kind-query.json")
            row "$kind $q query p99, $(field "$kind-query" ".store_events // 0") events" "${p99} us" "" "" "< $list_target us" "$(verdict "$p99 < $list_target")"
        done
        for q in type_since warnings combined; do
            p99=$(jq -r ".kinds.$q.p99_us" "$out/$kind-query.json")
            row "$kind $q query p99" "${p99} us" "" "" "< 5000 us" "$(verdict "$p99 < 5000")"
        done
    fi
    if have "$kind-reports"; then
        for r in jobs failures_by_job_type failures_by_event_type errors_hourly timeline video_timeline; do
            ms=$(jq -r ".reports.$r.max_ms" "$out/$kind-reports.json")
            row "$kind $r over a day, max of 5" "$(printf %.0f "$ms") ms" "$(field "$kind-reports" .window_events) in the day" "" "< 1000 ms" "$(verdict "$ms < 1000")"
        done
    fi
done
if have memory-ff; then
    eps=$(field memory-ff .events_per_second)
    row "memory store, fire-and-forget, 4 conns" "$(printf %.0f "$eps")/s" "" "" ">= 1000000" "$(verdict "$eps >= 1000000")"
fi
if have client-up client-down; then
    up=$(field client-up .median_ns)
    down=$(field client-down .median_ns)
    row "log call, daemon up, median" "${up} ns" "" "" "<= 1000" "$(verdict "$up <= 1000")"
    row "log call, daemon down, median" "${down} ns" "" "" "<= 200" "$(verdict "$down <= 200")"
    if [[ $allocs_up != unmeasured ]]; then
        row "allocations per log call, daemon up" "$(printf %.3f "$allocs_up")" "" "" "0" "$(verdict "$allocs_up < 0.05")"
        row "allocations per log call, daemon down" "$(printf %.3f "$allocs_down")" "" "" "0" "$(verdict "$allocs_down < 0.05")"
    fi
    row "system calls per log call, daemon down" "$(printf %.5f "$syscalls_per_call")" "" "" "0" "$(verdict "$syscalls_per_call < 0.01")"
fi

if have python-up python-down python-swift-call python-swift-ff python-swift-ack1 python-swift-ack8; then
    up=$(field python-up .call.median_ns)
    up99=$(field python-up .call.p99_ns)
    down=$(field python-down .call.median_ns)
    swift_up=$(field python-swift-call .median_ns)
    row "python log call, daemon up, median" "${up} ns" "swift ${swift_up} ns" "" "<= 5000" "$(verdict "$up <= 5000")"
    row "python log call, daemon up, p99" "${up99} ns" "" "" "" ""
    row "python log call, daemon down, median" "${down} ns" "" "" "<= 1000" "$(verdict "$down <= 1000")"
    for pair in "fire_and_forget ff fire-and-forget, 1 process" "acked_sequential ack1 acked, one at a time" "acked_8_threads ack8 acked, 8 threads"; do
        read -r key swift label <<<"$pair"
        eps=$(field python-up ".$key.events_per_second")
        ref=$(field "python-swift-$swift" .events_per_second)
        row "python $label" "$(printf %.0f "$eps")/s" "ledger-bench $(printf %.0f "$ref")/s" "$(ratio "$eps" "$ref")" "" ""
    done
fi

if want tune; then
    echo
    echo "Group commit: acknowledged events/s and p99 (8 conns, batch 100, window 16) by --commit-batch and --commit-delay-ms:"
    for kind in $BENCH_STORES; do
        printf '%-10s %8s' "$kind" "batch"
        for delay in $commit_delays; do printf ' %22s' "delay ${delay} ms"; done
        echo
        for commit_batch in $commit_batches; do
            printf '%-10s %8s' "" "$commit_batch"
            for delay in $commit_delays; do
                printf ' %22s' "$(printf '%.0f/s p99 %.1f ms' "$(field "$kind-tune-$commit_batch-$delay" .events_per_second)" "$(calc "$(field "$kind-tune-$commit_batch-$delay" .p99_us) / 1000")")"
            done
            echo
        done
    done
fi

if want sweep; then
    echo
    echo "Acknowledged throughput against concurrency (batch 1, one request in flight per connection):"
    printf '%12s' connections
    for kind in $BENCH_STORES; do printf ' %14s' "$kind"; done
    echo
    # Each figure read once, rounded; the bars are scaled to the largest.
    declare -A sweep
    max=1
    for c in $concurrency; do
        for kind in $BENCH_STORES; do
            sweep[$kind.$c]=$(printf %.0f "$(field "$kind-sweep-$c" .events_per_second)")
            ((sweep[$kind.$c] > max)) && max=${sweep[$kind.$c]}
        done
    done
    for c in $concurrency; do
        printf '%12s' "$c"
        for kind in $BENCH_STORES; do printf ' %14s' "${sweep[$kind.$c]}/s"; done
        echo
        for kind in $BENCH_STORES; do
            printf '%12s  %s %s\n' "" "$(tr '[:lower:]' '[:upper:]' <<<"${kind:0:1}")" "$(printf '#%.0s' $(seq 1 $((sweep[$kind.$c] * 30 / max + 1))))"
        done
    done
fi
echo
echo "raw results: $out"
