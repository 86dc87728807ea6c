"""The thin client's promises, against the real ledgerd."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid

import pytest

from socialsync_ledger import Filter, LedgerClient, LedgerError, Query, Severity, TailCursor, severities_at_least

from socialsync_ledger import protocol

from conftest import Daemon, rpc


def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_logs_each_kind_with_the_seeds_fields(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)
    job, clip = uuid.uuid4(), uuid.uuid4()
    uploaded = client.log_event("video_uploaded", "video_asset", "v-1", {"size": 10, "asset": uuid.UUID(int=5)})
    failed = client.log_job_event(job, "job_processing_failed", {"error": "codec"}, severity="ERROR", worker_id="w-1")
    created = client.log_clip_event(clip, "clip_created", job_id=str(job))
    assert client.flush(30)
    timeline = client.events_for_job(job)
    assert {event.id for event in timeline} == {failed, created}
    failure = next(event for event in timeline if event.id == failed)
    assert failure.entity_type == "job" and failure.entity_id == str(job) and failure.job_id == job
    assert failure.severity is Severity.ERROR and failure.worker_id == "w-1" and failure.event_data == {"error": "codec"}
    clip_event = next(event for event in timeline if event.id == created)
    assert clip_event.clip_id == clip and clip_event.entity_id == str(clip)
    video = client.timeline("video_asset", "v-1")
    assert [event.id for event in video] == [uploaded]
    # default=str: a UUID in metadata arrives as its text.
    assert video[0].event_data == {"asset": str(uuid.UUID(int=5)), "size": 10}
    assert client.error_count() == 1 and client.total() == 3
    assert uploaded is not None and uploaded.version == 7
    client.close()


def test_a_set_of_severities_selects_its_members_on_the_daemon(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)
    marker = uuid.uuid4().hex
    ids = {level: client.log_event_acked("probe", "job", marker, severity=level) for level in Severity}
    by_set = {
        frozenset(levels): {event.id for event in client.query(Query(Filter(entity_type="job", entity_id=marker, severity=frozenset(levels)), limit=10)).events}
        for levels in ([Severity.WARN, Severity.ERROR], [Severity.INFO, Severity.ERROR], [Severity.INFO])
    }
    assert by_set[frozenset([Severity.WARN, Severity.ERROR])] == {ids[Severity.WARN], ids[Severity.ERROR]}
    assert by_set[frozenset([Severity.INFO, Severity.ERROR])] == {ids[Severity.INFO], ids[Severity.ERROR]}
    assert by_set[frozenset([Severity.INFO])] == {ids[Severity.INFO]}
    assert client.count(Filter(entity_type="job", entity_id=marker, severity=severities_at_least("WARN"))) == 2
    with pytest.raises(ValueError):
        client.count(Filter(severity=frozenset()))
    client.close()


def test_the_reports_and_a_story_come_from_the_daemon(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)
    video = uuid.uuid4().hex
    done, broken = uuid.uuid4(), uuid.uuid4()
    client.log_event_acked("video_uploaded", "video_asset", video)
    for job, outcome, severity in ((done, "job_processing_completed", "INFO"), (broken, "job_processing_failed", "ERROR")):
        client.log_job_event(job, "job_created", {"job_type": "probe_" + video, "video_id": video})
        client.log_job_event(job, "job_processing_started")
        client.log_job_event(job, outcome, severity=severity)
    assert client.flush(30)
    report = client.jobs_report(protocol.ReportJobs(job_type="probe_" + video))
    assert [(row.started, row.completed, row.failed, row.running) for row in report.rows] == [(2, 1, 1, 0)]
    assert {job.job_id for job in report.slowest} == {done, broken} and all(job.duration >= 0 for job in report.slowest)
    failures = client.failures_report(protocol.ReportFailures(by=protocol.FailureGrouping.JOB_TYPE))
    assert any(row.key == "probe_" + video and (row.failed, row.total) == (1, 2) for row in failures.rows)
    story = client.story("video_asset", video)
    assert len(story.events) == 7 and story.events[0].event_type == "video_uploaded"
    now = int(time.time() * 1_000_000)
    errors = client.errors_report(protocol.ReportErrors(since=now - 3_600_000_000, until=now + 60_000_000, bucket_seconds=60))
    assert errors.bucket_count == 61 and sum(row.count for row in errors.rows if row.event_type == "job_processing_failed") >= 1
    client.close()


def test_bad_arguments_never_raise_and_are_counted(daemon: Daemon, caplog: pytest.LogCaptureFixture) -> None:
    client = LedgerClient(daemon.socket)
    assert client.log_event(None, "job", "j-1") is None  # type: ignore[arg-type]
    assert client.log_event("t", "job", "") is None
    assert client.log_event("t", "job", "j", severity="LOUD") is None
    assert client.log_job_event("not-a-uuid", "job_created") is None
    assert client.log_event("t", "job", "j", metadata=object()) is None  # type: ignore[arg-type]
    cyclic: dict = {}
    cyclic["self"] = cyclic
    assert client.log_event("t", "job", "j", metadata=cyclic) is None
    assert client.log_event("t", "job", "j", metadata={"n": float("nan")}) is None
    # A JSON string that is not an object reaches the daemon and is refused there, also counted.
    assert client.log_event("t", "job", "j", metadata="[1, 2]") is not None
    assert not client.flush(30)
    assert client.statistics.rejected == 8
    assert sum("refused before sending" in record.message for record in caplog.records if record.levelname == "WARNING") == 1
    with pytest.raises(LedgerError) as raised:
        client.log_event_acked("t", "job", "j", metadata="[1]")
    assert raised.value.code == LedgerError.REJECTED and raised.value.server_code == "INVALID_EVENT"
    client.close()


def test_without_a_daemon_calls_return_and_are_counted(workdir: str) -> None:
    client = LedgerClient(os.path.join(workdir, "none.sock"))
    started = time.monotonic()
    for index in range(20_000):
        client.log_event("video_uploaded", "video_asset", f"v-{index}")
    # A generous bound that a connect or a wait per call would still break.
    assert time.monotonic() - started < 10
    assert not client.flush(2)
    statistics = client.statistics
    assert statistics.sent == 0 and statistics.dropped_unreachable == 20_000
    assert statistics.connection_attempts < 50, statistics
    with pytest.raises(LedgerError) as raised:
        client.log_event_acked("t", "e", "1")
    assert raised.value.code == LedgerError.UNREACHABLE and "none.sock" in raised.value.message
    client.close()


def test_a_restarted_daemon_gets_later_events_and_the_gap(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket, client_name="restart-test")
    client.maximum_backoff = 0.2
    for index in range(100):
        client.log_event("clip_created", "clip", f"before-{index}")
    assert client.flush(30)
    daemon.kill()
    for index in range(50):
        client.log_event("clip_created", "clip", f"during-{index}")
        time.sleep(0.002)
    daemon.start()
    assert wait_for(lambda: client.log_event("clip_created", "clip", "after") is not None and client.flush(5))
    gaps = client.count(Filter(event_type="ledger_gap"))
    assert gaps >= 1, client.statistics
    assert client.count(Filter(entity_type="clip", entity_id="after")) >= 1
    assert client.statistics.drops_unreported == 0
    client.close()


def test_a_daemon_that_stops_reading_never_blocks_the_caller(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket, buffer_limit=1 << 20)
    client.log_event("warm", "x", "1")
    assert client.flush(30)
    daemon.signal(signal.SIGSTOP)
    try:
        slowest = 0.0
        metadata = {"blob": "x" * 2000}
        for index in range(20_000):
            started = time.perf_counter()
            client.log_event("clip_created", "clip", f"c-{index}", metadata)
            slowest = max(slowest, time.perf_counter() - started)
        statistics = client.statistics
        # Generous for a busy machine; a call that waited on the stopped daemon would never return.
        assert slowest < 2.0, f"one call took {slowest:.3f} s"
        assert statistics.dropped_buffer_full > 0, statistics
    finally:
        daemon.signal(signal.SIGCONT)
    assert wait_for(lambda: client.flush(5))
    assert client.count(Filter(event_type="ledger_gap")) >= 1
    client.close()


def test_fork_in_the_middle_of_logging_gives_the_child_its_own_connection(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)
    client.log_event_acked("warm", "p", "0")
    logged = 0

    def log_in_the_parent() -> None:
        nonlocal logged
        for index in range(3000):
            client.log_event("parent", "p", str(index), {"index": index})
            logged += 1
            if index % 100 == 0:
                time.sleep(0.001)

    # A thread of the parent logs (and its I/O thread writes) while the fork happens.
    thread = threading.Thread(target=log_in_the_parent)
    thread.start()
    while logged < 1000:
        time.sleep(0.001)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            for index in range(500):
                client.log_event("child", "c", str(index), {"index": index})
            code = 0 if client.flush(30) else 2
        finally:
            os._exit(code)
    thread.join()
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert client.flush(30)
    assert client.count(Filter(event_type="child")) == 500
    assert client.count(Filter(event_type="parent")) == 3000
    stats = client.stats()
    # Two writers on one socket would interleave frames: the daemon would see malformed ones.
    assert stats["protocol_errors"] == 0 and stats["events_rejected"] == 0, stats
    client.close()


def test_eight_threads_log_at_once(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)

    def log(thread: int) -> None:
        for index in range(500):
            client.log_event("threaded", "t", f"{thread}-{index}")

    threads = [threading.Thread(target=log, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.flush(30)
    assert client.count(Filter(event_type="threaded")) == 4000
    client.close()


def test_acknowledged_events_survive_kill_9_and_a_retry_is_stored_once(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)
    ids = [client.log_event_acked("job_processing_completed", "job", f"j-{index}") for index in range(50)]
    again = client.log_event_acked("job_processing_completed", "job", "j-0", id=ids[0])
    assert again == ids[0]
    client.close()
    daemon.kill()
    daemon.start()
    reader = LedgerClient(daemon.socket)
    stored = {event.id for event in reader.recent(100)}
    assert set(ids) <= stored and reader.total() == 50
    reader.close()


def test_retention_removes_what_expired_and_says_so(workdir: str) -> None:
    daemon = Daemon(workdir, extra=["--retain", "INFO=30d,video_uploaded=1y", "--retain-interval", "1"])
    try:
        client = LedgerClient(daemon.socket)
        now = time.time()
        old = [client.log_event_acked("job_created", "job", f"j-{index}", timestamp=now - 40 * 86400) for index in range(12)]
        kept = [client.log_event_acked("video_uploaded", "video_asset", f"v-{index}", timestamp=now - 40 * 86400) for index in range(3)]
        kept.append(client.log_event_acked("job_created", "job", "young", timestamp=now - 86400))

        def removed() -> bool:
            status = client.retention()
            return status.rules[0].removed_since_start == len(old)

        assert wait_for(removed)
        status = client.retention()
        assert status.policy == "INFO=30d,video_uploaded=1y"
        assert [rule.rule for rule in status.rules] == ["INFO=30d", "video_uploaded=1y"]
        assert [rule.pending for rule in status.rules] == [0, 0]
        assert status.last_pass_started is not None and status.rules[0].before is not None
        stored = {event.id for event in client.recent(100)}
        assert set(kept) <= stored and not stored & set(old)
        records = client.query(Query(Filter(event_type="ledger_retention"))).events
        assert len(records) == 1 and '"events":12' in records[0].metadata
        assert client.stats()["events_expired"] == len(old)
        client.close()
    finally:
        daemon.stop()


def test_a_tail_replays_then_follows_and_resumes_from_its_cursor(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)
    for index in range(3):
        client.log_event_acked("clip_created", "clip", f"c-{index}")
    writer = LedgerClient(daemon.socket)

    def feed() -> None:
        for index in range(3, 5):
            time.sleep(0.2)
            writer.log_event_acked("clip_created", "clip", f"c-{index}")

    threading.Thread(target=feed, daemon=True).start()
    seen = []
    for event in client.tail(Filter(event_type="clip_created"), after=TailCursor(0)):
        seen.append(event)
        if len(seen) == 5:
            break
    assert [event.entity_id for event in seen] == [f"c-{index}" for index in range(5)]
    resumed = client.tail(Filter(event_type="clip_created"), after=seen[3].tail_cursor)
    assert next(resumed).entity_id == "c-4"
    client.close()
    writer.close()


def test_acknowledged_path_on_postgresql(postgres_daemon: Daemon) -> None:
    client = LedgerClient(postgres_daemon.socket)
    marker = uuid.uuid4().hex
    event_id = client.log_event_acked("job_created", "job", marker, {"job_type": "cut_analysis"})
    events = client.timeline("job", marker)
    assert [event.id for event in events] == [event_id] and events[0].event_data == {"job_type": "cut_analysis"}
    client.close()


def test_ledger_rpc_sees_what_python_logged(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)
    client.log_event_acked("video_uploaded", "video_asset", "v-9", {"title": "Test"})
    listed = rpc(daemon, "query", "recent", "--json")
    assert listed.returncode == 0 and '"entity_id":"v-9"' in listed.stdout
    client.close()


def test_the_default_socket_in_a_directory_others_may_write_is_not_used(workdir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The default path when XDG_RUNTIME_DIR is set; made writable by all, as a squatter's would be.
    monkeypatch.delenv("LEDGER_SOCKET", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", workdir)
    daemon = Daemon(workdir)
    try:
        os.chmod(workdir, 0o777)
        client = LedgerClient()
        assert client.socket_path == os.path.join(workdir, "ledgerd.sock")
        with pytest.raises(LedgerError) as raised:
            client.ping()
        assert raised.value.code == LedgerError.UNREACHABLE and "writable by others" in raised.value.message
        os.chmod(workdir, 0o700)
        assert client.ping().server.startswith("ledgerd/")
        client.close()
    finally:
        os.chmod(workdir, 0o700)
        daemon.stop()
