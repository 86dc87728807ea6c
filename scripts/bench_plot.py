"""Plots of a scripts/bench.sh run: acknowledged ingest against each store's own load, by
request shape, the sweep of one caller per connection, and acknowledged ingest against the
events a store already holds (the growth scenario). Each figure is read from the run's
raw JSON; a plot whose results are missing is left out, and says so."""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STORES = ["sqlite", "postgres"]
SHAPES = [("batch1", "batch 1, 64 in flight"), ("batch100", "batch 100, 4 in flight"), ("deep", "batch 100, 16 in flight")]


def field(results: Path, name: str, key: str = "events_per_second") -> float | None:
    path = results / f"{name}.json"
    if not path.exists():
        return None
    return float(json.loads(path.read_text())[key])


def ingest(results: Path, output: Path) -> bool:
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


def sweep(results: Path, output: Path) -> bool:
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


def growth(results: Path, output: Path) -> bool:
    """Events/s at each size the growth scenario measured, from the sizes its result files name."""
    figure, axes = plt.subplots(figsize=(7, 3.8))
    drawn = False
    for store in STORES:
        for shape, label in [("deep", "batch 100, 16 in flight"), ("batch1", "batch 1, 64 in flight")]:
            points = []
            for path in results.glob(f"{store}-growth-*-{shape}.json"):
                stored = int(path.name[len(f"{store}-growth-"):-len(f"-{shape}.json")])
                points.append((stored, float(json.loads(path.read_text())["events_per_second"])))
            if not points:
                continue
            points.sort()
            axes.plot([p / 1e6 for p, _ in points], [v for _, v in points], marker="o", label=f"{store}, {label}")
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
    results, output = Path(sys.argv[1]), Path(sys.argv[2])
    output.mkdir(parents=True, exist_ok=True)
    for name, plot in [("ingest-ratios.png", ingest), ("sweep.png", sweep), ("growth.png", growth)]:
        print(f"bench-plot: {output / name}" if plot(results, output) else f"bench-plot: no results for {name} in {results}")


if __name__ == "__main__":
    main()
