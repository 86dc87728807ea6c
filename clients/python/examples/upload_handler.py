"""A FastAPI-style upload handler and a worker loop logging to ledgerd (plain Python, no FastAPI needed).

    LEDGER_SOCKET=/run/ledgerd/ledgerd.sock python examples/upload_handler.py
"""

from __future__ import annotations

import asyncio
import uuid

from socialsync_ledger import AsyncLedgerClient, Severity

ledger = AsyncLedgerClient()  # one per process; safe to share between requests and threads


async def upload(filename: str, size: int) -> dict:
    """What `@router.post("/upload")` would do: store the video, create a job, log both."""
    video_id, job_id = uuid.uuid4(), uuid.uuid4()
    # Fire-and-forget: returns at once, never raises, never waits on the daemon.
    ledger.log_event("video_uploaded", "video_asset", video_id, {"filename": filename, "size": size})
    ledger.log_job_event(job_id, "job_created", {"job_type": "cut_analysis", "video_asset_id": video_id})
    return {"video_id": str(video_id), "job_id": str(job_id)}


async def work(job_id: str) -> None:
    """A worker step: the outcome is logged with an acknowledgement, so it is durable before the job moves on."""
    ledger.log_job_event(job_id, "job_processing_started", {"job_type": "cut_analysis"})
    try:
        clips = [uuid.uuid4() for _ in range(3)]
        await ledger.log_event_acked("job_processing_completed", "job", job_id, {"clips_created": len(clips)}, job_id=job_id)
        for index, clip in enumerate(clips):
            ledger.log_clip_event(clip, "clip_created", {"clip_index": index, "visual_score": 0.85}, job_id=job_id)
    except Exception as error:  # the ledger never raises from log calls; this is the job's own failure
        ledger.log_job_event(job_id, "job_processing_failed", {"error": str(error)}, severity=Severity.ERROR)


async def main() -> None:
    created = await upload("video_test.mp4", 1_048_576)
    await work(created["job_id"])
    print("flushed:", await ledger.flush(5), ledger.statistics)
    for event in await ledger.events_for_job(created["job_id"]):
        print(event.to_dict())


if __name__ == "__main__":
    asyncio.run(main())
