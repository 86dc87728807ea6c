"""The seed's call sites, as its report shows them, run against `socialsync_ledger.seed` unchanged."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from types import SimpleNamespace

from socialsync_ledger import seed
from socialsync_ledger.seed import get_error_count, get_events_by_entity, get_events_by_job, get_recent_events, get_total_events
from socialsync_ledger.seed import log_clip_event, log_event, log_job_event

from conftest import Daemon


async def upload(db, file, file_size, video_asset, job) -> None:
    # backend/app/api/upload.py
    await log_event(
        db=db,
        event_type="video_uploaded",
        entity_type="video_asset",
        entity_id=str(video_asset.id),
        metadata={"filename": file.filename, "size": file_size, "content_type": "video/mp4", "title": "Test Video"},
    )
    await log_job_event(
        db=db,
        job_id=job.id,
        event_type="job_created",
        metadata={"job_type": "cut_analysis", "reason": "initial_cut_from_upload"},
    )


async def work(db, job, video_asset, fail: bool) -> None:
    # backend/app/worker/worker.py and handlers/cut_analysis.py
    job_type = "cut_analysis"
    await log_job_event(db=db, job_id=job.id, event_type="job_processing_started", metadata={"job_type": job_type})
    try:
        if fail:
            raise RuntimeError("transcoder exited with status 1")
        await log_job_event(db=db, job_id=job.id, event_type="job_processing_completed", metadata={"job_type": job_type, "clips_created": 1})
        clip = SimpleNamespace(id=uuid.uuid4())
        await log_clip_event(
            db=db,
            clip_id=clip.id,
            event_type="clip_created",
            metadata={"video_asset_id": str(video_asset.id), "start_ms": 0, "end_ms": 20000, "visual_score": 0.85},
            job_id=job.id,
        )
    except Exception as e:
        await log_job_event(db=db, job_id=job.id, event_type="job_processing_failed", metadata={"error": str(e)}, severity="ERROR")


def test_the_seeds_call_sites_produce_its_timeline(daemon: Daemon) -> None:
    seed.configure(daemon.socket)
    db = object()  # the caller's session: accepted, ignored

    async def scenario():
        video_asset, job = SimpleNamespace(id=uuid.uuid4()), SimpleNamespace(id=uuid.uuid4())
        await upload(db, SimpleNamespace(filename="video_test.mp4"), 1048576, video_asset, job)
        await work(db, job, video_asset, fail=False)
        failed_job = SimpleNamespace(id=uuid.uuid4())
        await log_job_event(db=db, job_id=failed_job.id, event_type="job_created", metadata={"job_type": "cut_analysis"})
        await work(db, failed_job, video_asset, fail=True)
        assert await seed.client().flush(30)
        recent = await get_recent_events(db, limit=5)
        timeline = await get_events_by_job(db, job.id)
        video = await get_events_by_entity(db, entity_type="video_asset", entity_id=video_asset.id)
        since = datetime.datetime.now() - datetime.timedelta(days=7)
        return job, recent, timeline, video, await get_error_count(db, since=since), await get_total_events(db)

    job, recent, timeline, video, errors, total = asyncio.run(scenario())
    assert [event.event_type for event in recent] == [
        "job_processing_failed", "job_processing_started", "job_created", "clip_created", "job_processing_completed"]
    assert [event.event_type for event in timeline] == [
        "job_created", "job_processing_started", "job_processing_completed", "clip_created"]
    clip = timeline[-1]
    assert clip.entity_type == "clip" and clip.job_id == job.id and clip.clip_id is not None
    assert clip.event_data["visual_score"] == 0.85 and clip.metadata == clip.event_data
    assert [event.event_type for event in video] == ["video_uploaded"] and video[0].event_data["size"] == 1048576
    assert errors == 1 and total == 8
    shape = recent[0].to_dict()
    assert set(shape) == {"id", "timestamp", "event_type", "entity_type", "entity_id", "metadata", "severity", "worker_id", "job_id", "clip_id"}
    assert shape["severity"] == "ERROR"


def test_the_seeds_log_calls_never_raise(workdir: str) -> None:
    seed.configure(f"{workdir}/no-daemon.sock")

    async def calls():
        return [
            await log_event(db=None, event_type="video_uploaded", entity_type="video_asset", entity_id="v"),
            await log_job_event(db=None, job_id="not-a-uuid", event_type="job_created"),
            await log_clip_event(db=None, clip_id=None, event_type="clip_created"),
        ]

    results = asyncio.run(calls())
    assert results[1] is None and results[2] is None
    # Each is counted: refused, or dropped unreachable once the client is backing off (a drop
    # during back-off costs nothing, not even the check of its arguments).
    assert not seed.client().sync.flush(2)  # settles the one the buffer held: no daemon, so dropped
    statistics = seed.client().statistics
    assert statistics.rejected + statistics.dropped_unreachable == 3 - statistics.sent
