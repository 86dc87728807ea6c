"""What the Python client costs its caller and how many events one Python process gets through.

    python bench_client.py --socket PATH [--calls N] [--events N] [--acked N] [--json]

Against a running ledgerd (scripts/bench.sh starts one on the memory store); `--down` measures
the call with no daemon at the path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time

from socialsync_ledger import LedgerClient


def call_cost(client: LedgerClient, calls: int) -> dict:
    clock = time.perf_counter_ns
    samples = [0] * calls
    metadata = {"job_type": "cut_analysis", "clips_created": 3}
    for index in range(calls):
        started = clock()
        client.log_job_event("0c399f8b-31cc-4c00-b7d9-363f9a649bc7", "job_processing_completed", metadata)
        samples[index] = clock() - started
    samples.sort()
    return {"median_ns": samples[calls // 2], "p99_ns": samples[calls * 99 // 100], "calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--acked", type=int, default=5_000)
    parser.add_argument("--down", action="store_true", help="measure the call cost only, with no daemon at --socket")
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    result: dict = {"python": sys.version.split()[0]}

    client = LedgerClient(arguments.socket)
    if arguments.down:
        client.log_event("warm", "bench", "0")
        time.sleep(0.05)  # the first call's connect fails and the client backs off
        result["call"] = call_cost(client, arguments.calls)
    else:
        client.log_event_acked("warm", "bench", "0")
        result["call"] = call_cost(client, arguments.calls)
        client.flush(60)
        started = time.perf_counter()
        for index in range(arguments.events):
            client.log_event("clip_created", "clip", "c", {"index": index})
        flushed = client.flush(120)
        elapsed = time.perf_counter() - started
        result["fire_and_forget"] = {"events": arguments.events, "events_per_second": arguments.events / elapsed, "flushed": flushed,
                                     "dropped": client.statistics.dropped}
        started = time.perf_counter()
        for index in range(arguments.acked):
            client.log_event_acked("clip_created", "clip", "c", {"index": index})
        elapsed = time.perf_counter() - started
        result["acked_sequential"] = {"events": arguments.acked, "events_per_second": arguments.acked / elapsed}

        def worker(count: int) -> None:
            for index in range(count):
                client.log_event_acked("clip_created", "clip", "t", {"index": index})

        threads = [threading.Thread(target=worker, args=(arguments.acked // 8,)) for _ in range(8)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        result["acked_8_threads"] = {"events": arguments.acked // 8 * 8, "events_per_second": arguments.acked // 8 * 8 / elapsed}
    client.close()
    if arguments.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:20} {value}")


if __name__ == "__main__":
    main()
