#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer: the tests and every binary they start
# (ledgerd, ledger-rpc, ledger-demo, ledger-bench) are built with it.
#
#   scripts/sanitize.sh address     AddressSanitizer: out-of-bounds, use-after-free
#   scripts/sanitize.sh thread      ThreadSanitizer: data races
#
# Each sanitizer builds into its own .build/sanitize-KIND, so the normal build is left
# alone. Every process writes what it finds to .build/sanitize-KIND/reports; the run
# fails when a test fails or when any report was written, and prints the reports.
set -euo pipefail

cd "$(dirname "$0")/.."

kind="${1:-}"
case "$kind" in
address | thread) ;;
*)
    echo "usage: scripts/sanitize.sh address|thread" >&2
    exit 2
    ;;
esac

scratch="$PWD/.build/sanitize-$kind"
reports="$scratch/reports"
rm -rf "$reports"
mkdir -p "$reports"

# Leak checking is off: the Swift runtime's caches live until exit and are not leaks.
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=0:abort_on_error=0"
# The suppressions name reports from outside the project's code, each with its reason.
export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=0:second_deadlock_stack=1:suppressions=$PWD/scripts/sanitize/tsan-suppressions.txt"
export LEDGER_SWIFT_FLAGS="--sanitize=$kind --scratch-path $scratch"

# ThreadSanitizer makes everything 5 to 15 times slower; with the whole suite side by side on two
# cores, answers then miss their tests' deadlines (frame deadlines, watchdogs) with no race found.
# Its tests run one at a time: a race is inside a test's own concurrency, which stays. Under
# AddressSanitizer, about twice as slow, the suite runs side by side as it does plain.
test_arguments=()
if [ "$kind" = thread ]; then test_arguments=(--no-parallel); fi

status=0
bash scripts/test.sh "${test_arguments[@]}" || status=$?

found=("$reports"/*)
if [ -e "${found[0]}" ]; then
    echo "sanitize.sh: the $kind sanitizer reported ${#found[@]} problem(s):" >&2
    for report in "${found[@]}"; do
        echo "--- $report" >&2
        head -60 "$report" >&2
    done
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "sanitize.sh: tests failed under the $kind sanitizer (exit $status)" >&2
    exit "$status"
fi
echo "sanitize.sh: the whole suite passed under the $kind sanitizer with nothing reported" >&2
