#!/usr/bin/env bash
# Draws the plots BENCHMARKS.md shows from the raw results of the last scripts/bench.sh run
# (.build/bench/*.json), into docs/bench/. Matplotlib comes from PyPI, into a virtual
# environment of its own under .build/.
#
#   scripts/bench.sh --quick && scripts/bench-plot.sh
#   scripts/bench-plot.sh .build/bench .build/bench.previous
#                       each figure from the first directory that holds it: two runs, for
#                       example one of each store, in one plot
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
directories=()
for results in "$@"; do
    [[ -d $results ]] || { echo "bench-plot.sh: $results is not a directory of scripts/bench.sh results" >&2; exit 2; }
    directories+=("$(cd "$results" && pwd)")
done
cd "$root"
((${#directories[@]} > 0)) || directories=(.build/bench)
venv=.build/plot-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import matplotlib' >/dev/null 2>&1 || "$venv/bin/python" -m pip install -q matplotlib
exec "$venv/bin/python" scripts/bench_plot.py "${directories[@]}" docs/bench
