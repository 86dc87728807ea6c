#!/usr/bin/env bash
# Draws the plots BENCHMARKS.md shows from the raw results of the last scripts/bench.sh run
# (.build/bench/*.json), into docs/bench/. Matplotlib comes from PyPI, into a virtual
# environment of its own under .build/.
#
#   scripts/bench.sh --quick && scripts/bench-plot.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=.build/plot-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import matplotlib' >/dev/null 2>&1 || "$venv/bin/python" -m pip install -q matplotlib
exec "$venv/bin/python" scripts/bench_plot.py .build/bench docs/bench
