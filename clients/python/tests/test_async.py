"""AsyncLedgerClient: acknowledged calls, queries and a tail that never block the event loop."""

from __future__ import annotations

import asyncio
import time

from socialsync_ledger import AsyncLedgerClient, Filter, TailCursor

from conftest import Daemon


def test_acknowledged_calls_and_a_tail_from_asyncio(daemon: Daemon) -> None:
    async def scenario():
        client = AsyncLedgerClient(daemon.socket)
        ticks = 0

        async def heartbeat():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beating = asyncio.create_task(heartbeat())
        first = await client.log_event_acked("job_created", "job", "j-1", {"job_type": "cut_analysis"})
        assert client.log_job_event("0c399f8b-31cc-4c00-b7d9-363f9a649bc7", "job_processing_started") is not None
        assert await client.flush(30)
        seen = []

        async def follow():
            async for event in client.tail(Filter(entity_type="job"), after=TailCursor(0)):
                seen.append(event)
                if len(seen) == 3:
                    return

        following = asyncio.create_task(follow())
        await asyncio.sleep(0.2)
        await client.log_event_acked("job_processing_completed", "job", "j-1")
        await asyncio.wait_for(following, 30)
        started = time.monotonic()
        total = await client.total()
        beating.cancel()
        await client.close()
        return first, seen, total, ticks, time.monotonic() - started

    first, seen, total, ticks, _ = asyncio.run(scenario())
    assert seen[0].id == first and [event.event_type for event in seen] == ["job_created", "job_processing_started", "job_processing_completed"]
    assert total == 3
    assert ticks > 5, "the loop kept running while the calls waited"
