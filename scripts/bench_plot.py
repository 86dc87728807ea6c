"""Plots of a scripts/bench.sh run: acknowledged ingest against each store's own load, by
request shape, the sweep of one caller per connection, and acknowledged ingest against the
events a store already holds (the growth scenario). Each figure is read from the run's
raw JSON; a plot whose results are missing is left out, and says so. Given several result
directories (a run and the one before it, .build/bench.previous), each figure comes from the first
that holds it, and each store's growth curve from the first that measured that store's growth."""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STORES = ["sqlite", "postgres"]
SHAPES = [("batch1", "batch 1, 64 in flight"), ("batch100", "batch 100, 4 in flight"), ("deep", "batch 100, 16 in flight")]


def field(results: list[Path], name: str, key: str = "events_per_second") -> float | None:
    for directory in results:
        path = directory / f"{name}.json"
        if path.exists():
            return float(json.loads(path.read_text())[key])
    return None


def ingest(results: list[Path], output: Path) -> bool:
    figure, axes = plt.subplots(figsize=(7, 3.6))
    width = 0.38
    drawn = False
    for offset, store in enumerate(STORES):
        reference = field(results, f"{store}-own-load")
        ratios = [field(results, f"{store}-ack8-{shape}") for shape, _ in SHAPES]
        if reference is None or None in ratios:
            continue
        values = [r / reference for r in ratios if r is not None]
        positions = [index + (offset - 0.5) * width for index in range(len(SHAPES))]
        bars = axes.bar(positions, values, width, label=store)
        axes.bar_label(bars, fmt="%.2f", fontsize=8)
        drawn = True
    if not drawn:
        plt.close(figure)
        return False
    axes.axhline(0.8, color="grey", linestyle="--", linewidth=1, label="target 0.8")
    axes.set_xticks(range(len(SHAPES)), [label for _, label in SHAPES])
    axes.set_ylabel("acked events/s ÷ store's own load")
    axes.set_title("Acknowledged ingest, 8 connections, each shape on a fresh store")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(output / "ingest-ratios.png", dpi=110)
    plt.close(figure)
    return True


def sweep(results: list[Path], output: Path) -> bool:
    figure, axes = plt.subplots(figsize=(7, 3.6))
    drawn = False
    for store in STORES:
        points = []
        for connections in [1, 2, 4, 8, 16, 32, 64, 128]:
            value = field(results, f"{store}-sweep-{connections}")
            if value is not None:
                points.append((connections, value))
        if points:
            axes.plot([c for c, _ in points], [v for _, v in points], marker="o", label=store)
            drawn = True
    if not drawn:
        plt.close(figure)
        return False
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("connections, one caller each waiting for its ack")
    axes.set_ylabel("acked events/s")
    axes.set_title("Group commit gathers callers that each wait for their own commit")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(output / "sweep.png", dpi=110)
    plt.close(figure)
    return True


def growth(results: list[Path], output: Path) -> bool:
    """Events/s at each size the growth scenario measured, from the sizes its result files name."""
    figure, axes = plt.subplots(figsize=(7, 3.8))
    drawn = False
    for store in STORES:
        measured = next((d for d in results if any(d.glob(f"{store}-growth-*.json"))), None)
        if measured is None:
            continue
        for shape, label in [("deep", "batch 100, 16 in flight"), ("batch1", "batch 1, 64 in flight")]:
            points = []
            month = None
            for path in measured.glob(f"{store}-growth-*-{shape}.json"):
                size = path.name[len(f"{store}-growth-"):-len(f"-{shape}.json")]
                result = json.loads(path.read_text())
                if size == "month":
                    # The same store with its current month filled: one point beside the curve.
                    month = (int(result["stored_before"]), float(result["events_per_second"]))
                elif size.isdigit():
                    points.append((int(size), float(result["events_per_second"])))
            if not points:
                continue
            points.sort()
            line = axes.plot([p / 1e6 for p, _ in points], [v for _, v in points], marker="o", label=f"{store}, {label}")[0]
            if month is not None:
                axes.plot([month[0] / 1e6], [month[1]], marker="*", markersize=12, linestyle="none", color=line.get_color(),
                          label=f"{store}, {label}, current month full")
            drawn = True
    if not drawn:
        plt.close(figure)
        return False
    axes.set_ylim(bottom=0)
    axes.set_xlabel("events already stored (millions)")
    axes.set_ylabel("acked events/s")
    axes.set_title("Acknowledged ingest as the store grows (8 connections)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(output / "growth.png", dpi=110)
    plt.close(figure)
    return True


def main() -> None:
    results, output = [Path(argument) for argument in sys.argv[1:-1]], Path(sys.argv[-1])
    output.mkdir(parents=True, exist_ok=True)
    for name, plot in [("ingest-ratios.png", ingest), ("sweep.png", sweep), ("growth.png", growth)]:
        where = " or ".join(str(directory) for directory in results)
        print(f"bench-plot: {output / name}" if plot(results, output) else f"bench-plot: no results for {name} in {where}")


if __name__ == "__main__":
    main()
