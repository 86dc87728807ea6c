#!/usr/bin/env bash
# Fuzzes the frame decoder and the request and response parsers with libFuzzer.
#
#   scripts/fuzz.sh [SECONDS]     default 600; the time is shared by the two targets
#
# Builds Fuzz/ (a package of its own) with -sanitize=fuzzer,address, replays every
# input in Fuzz/Regressions first, then fuzzes each target from a corpus seeded with
# Protocol/vectors. The corpus is kept in .build/fuzz/corpus, so a later run goes on
# from where this one stopped. A crash or hang leaves its input in .build/fuzz/artifacts
# and fails the run; copy it to Fuzz/Regressions and add a test that replays it.
set -euo pipefail

cd "$(dirname "$0")/.."

seconds="${1:-600}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 2 ]; then
    echo "fuzz.sh: SECONDS must be a whole number of at least 2, not '$seconds'" >&2
    exit 2
fi
targets=(FuzzRequests FuzzResponses)
per_target=$((seconds / ${#targets[@]}))

scratch="$PWD/.build/fuzz"
echo "fuzz.sh: building ${targets[*]} with -sanitize=fuzzer,address" >&2
# --sanitize links libFuzzer's main; -Xswiftc instruments every module, LedgerProtocol and NIOCore
# included, where --sanitize alone would cover only this package's own targets.
(cd Fuzz && swift build -c release --scratch-path "$scratch" \
    --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >&2)

mkdir -p "$scratch/artifacts"
status=0
for target in "${targets[@]}"; do
    binary="$scratch/release/$target"
    corpus="$scratch/corpus/$target"
    seeds="$scratch/seeds"
    mkdir -p "$corpus" "$seeds"
    for vector in Protocol/vectors/*.hex; do
        perl -ne 'next if /^#/; s/\s+//g; print pack("H*", $_)' "$vector" >"$seeds/$(basename "$vector" .hex)"
    done

    regressions=(Fuzz/Regressions/*)
    if [ -e "${regressions[0]}" ]; then
        echo "fuzz.sh: $target replays ${#regressions[@]} regression inputs" >&2
        "$binary" -timeout=10 "${regressions[@]}" 2>"$scratch/$target.regressions.log" || {
            echo "fuzz.sh: $target fails on a regression input; see $scratch/$target.regressions.log" >&2
            status=1
            continue
        }
    fi

    echo "fuzz.sh: $target for ${per_target}s" >&2
    log="$scratch/$target.log"
    if "$binary" "$corpus" "$seeds" \
        -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$scratch/artifacts/$target-" >"$log" 2>&1; then
        verdict="no crash, no hang"
    else
        verdict="FOUND A FAILURE (see $log and $scratch/artifacts)"
        status=1
    fi
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    coverage=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
    features=$( (grep -o 'ft: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
    inputs=$(find "$corpus" -type f | wc -l)
    if [ -z "$coverage" ]; then
        verdict="NO COVERAGE: the code under test was not instrumented (see $log)"
        status=1
    fi
    printf '%-14s %6ss  %12s executions  %6s edges  %7s features  %6s corpus inputs  %s\n' \
        "$target" "$per_target" "${executions:-?}" "${coverage:-?}" "${features:-?}" "$inputs" "$verdict"
done
exit "$status"
