"""The thin client services embed: fire-and-forget logging that never gets in the caller's way.

A log call validates and encodes its event, takes one lock to append the frame to a buffer
bounded in bytes, and returns. One background thread per client does all socket work:
connecting (with capped back-off), writing the buffer, reading answers, and reporting drops
as gap records once the daemon is reachable again. Nothing a caller does waits on the socket
except the acknowledged calls and queries, which wait for their own answer with a deadline.
"""

from __future__ import annotations

import datetime
import errno
import json
import logging
import os
import select
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from . import protocol
from .defaults import default_socket, untrusted_directory
from .ids import shared as ids
from .ids import uuid_from_int
from .protocol import ErrorCode, Event, EventCursor, Filter, GapReason, Severity, TailCursor
from .timestamps import now_micros, to_micros

logger = logging.getLogger("socialsync_ledger")

Metadata = Union[None, str, Mapping[str, Any]]
UUIDLike = Union[None, str, uuid.UUID]


class LedgerError(Exception):
    """Why an acknowledged call or a query failed. Fire-and-forget calls never raise.

    `code` is one of the class's constants; `server_code` is the daemon's error name when it
    answered with one (`INVALID_EVENT`, `STORE_UNAVAILABLE`, ...).
    """

    UNREACHABLE = "unreachable"
    CONNECTION_CLOSED = "connection closed"
    TIMEOUT = "timeout"
    REJECTED = "rejected"
    INVALID_ARGUMENT = "invalid argument"
    PROTOCOL_VIOLATION = "protocol violation"
    SHUT_DOWN = "shut down"

    def __init__(self, code: str, message: str, server_code: Optional[str] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.server_code = server_code

    @property
    def may_be_stored(self) -> bool:
        """The request was sent but no answer came: retrying with the same id stores it once."""
        return self.code in (self.TIMEOUT, self.CONNECTION_CLOSED)


@dataclass
class ClientStatistics:
    """What happened to the events logged so far."""

    sent: int = 0
    dropped_unreachable: int = 0
    dropped_buffer_full: int = 0
    rejected: int = 0
    connection_attempts: int = 0
    gap_reports_stored: int = 0
    drops_unreported: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_unreachable + self.dropped_buffer_full


class _Tally:
    """Drops of one reason not yet reported: how many, and when the first and last happened."""

    __slots__ = ("events", "first", "last")

    def __init__(self) -> None:
        self.events = 0
        self.first = 0
        self.last = 0

    def add(self, count: int, at: int) -> None:
        if self.events == 0:
            self.first = at
        self.events += count
        self.last = max(self.last, at)


class _Waiter:
    """One outstanding request's answer, handed from the I/O thread to the caller's thread."""

    __slots__ = ("done", "response", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.response: Optional[protocol.Response] = None
        self.error: Optional[LedgerError] = None

    def succeed(self, response: protocol.Response) -> None:
        if not self.done.is_set():
            self.response = response
            self.done.set()

    def fail(self, error: LedgerError) -> None:
        if not self.done.is_set():
            self.error = error
            self.done.set()


_clients: "weakref.WeakSet[LedgerClient]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for client in list(_clients):
        client._forget_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class LedgerClient:
    """A connection to ledgerd for one process, shared by its threads.

    The `log_*` calls are fire-and-forget: they never raise and never wait on the socket. When the
    daemon is unreachable or its socket is full they drop the event and count it (`statistics`),
    and the drops are reported to the daemon as gap records when it is reachable again. Use
    `log_event_acked` or `flush` where a caller must know an event is durable.

    Safe across `os.fork()`: a child starts with no connection and an empty buffer of its own, and
    never writes into the parent's socket.
    """

    #: Encoded events held while connecting or while the socket is full; past this, events are dropped.
    buffer_limit = 4 << 20
    connect_timeout = 1.0
    initial_backoff = 0.1
    maximum_backoff = 5.0
    #: Reports waiting beyond this (a daemon that keeps failing to store them) are dropped oldest first.
    maximum_unsent_gap_reports = 64

    def __init__(
        self, socket: Optional[str] = None, *, request_timeout: float = 10.0, client_name: Optional[str] = None,
        buffer_limit: Optional[int] = None,
    ) -> None:
        self.socket_path = socket or default_socket()
        #: The default path is checked before each connect, as ledger-rpc checks it; a path given is trusted.
        self._verify_directory = socket is None and not os.environ.get("LEDGER_SOCKET")
        self.request_timeout = request_timeout
        self.client_name = (client_name or _process_name())[:255]
        if buffer_limit is not None:
            self.buffer_limit = buffer_limit
        self._closed = False
        self._setup()
        _clients.add(self)

    def _setup(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._buffer = bytearray()
        self._buffer_events = 0
        self._unsent_bytes = 0
        self._sock: Optional[socket.socket] = None
        self._backing_off_until = 0.0
        self._backoff = self.initial_backoff
        self._last_failure = "not connected yet"
        self._waiters: Dict[int, _Waiter] = {}
        self._next_request_id = 1
        self._tallies = {reason: _Tally() for reason in GapReason}
        self._unreachable = self._tallies[GapReason.DAEMON_UNREACHABLE]
        self._unsent_reports: List[List[Any]] = []  # [report, in_flight]
        self._statistics = ClientStatistics()
        self._flush_baseline = 0
        self._logged_rejection = False
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._wake_pending = False
        self._thread: Optional[threading.Thread] = None

    def _forget_parent(self) -> None:
        """In a forked child: the parent's socket, buffer and waiters are the parent's."""
        inherited = [self._sock, self._wake_read, self._wake_write]
        self._setup()
        for sock in inherited:
            if sock is not None:
                # close(), never shutdown(): the parent's connection must not see an end.
                try:
                    sock.close()
                except OSError:
                    pass

    # MARK: Fire-and-forget

    def log_event(
        self, event_type: str, entity_type: str, entity_id: Any, metadata: Metadata = None,
        severity: Union[Severity, str] = "INFO", worker_id: Optional[str] = None, job_id: UUIDLike = None,
        clip_id: UUIDLike = None, *, timestamp: Union[None, datetime.datetime, int, float] = None,
    ) -> Optional[uuid.UUID]:
        """Records an event; the seed's `log_event`. Returns its id, or None when it was dropped or refused."""
        if time.monotonic() < self._backing_off_until:
            # The daemon is away: count the drop without building anything.
            self._drop_unreachable(1)
            return None
        try:
            entity = entity_id if type(entity_id) is str else _entity_text(entity_id)
            return self._log(
                event_type, entity_type, protocol.prefixed_identifier("entity_id", entity), metadata, severity, worker_id,
                _uuid_bytes(job_id, "job_id"), _uuid_bytes(clip_id, "clip_id"), timestamp)
        except (TypeError, ValueError, OverflowError, UnicodeError, RecursionError) as error:
            self._reject_locally(error)
            return None

    def log_job_event(
        self, job_id: UUIDLike, event_type: str, metadata: Metadata = None, severity: Union[Severity, str] = "INFO",
        worker_id: Optional[str] = None, clip_id: UUIDLike = None, *, timestamp: Union[None, datetime.datetime, int, float] = None,
    ) -> Optional[uuid.UUID]:
        """Records an event about a job (entity `job`, its id as entity id and job_id); the seed's `log_job_event`."""
        if time.monotonic() < self._backing_off_until:
            self._drop_unreachable(1)
            return None
        try:
            job = _uuid_parts(job_id, "job_id")
            if job is None:
                raise ValueError("log_job_event needs a job_id")
            return self._log(event_type, "job", job[2], metadata, severity, worker_id, job[0], _uuid_bytes(clip_id, "clip_id"), timestamp)
        except (TypeError, ValueError, OverflowError, UnicodeError, RecursionError) as error:
            self._reject_locally(error)
            return None

    def log_clip_event(
        self, clip_id: UUIDLike, event_type: str, metadata: Metadata = None, severity: Union[Severity, str] = "INFO",
        worker_id: Optional[str] = None, job_id: UUIDLike = None, *, timestamp: Union[None, datetime.datetime, int, float] = None,
    ) -> Optional[uuid.UUID]:
        """Records an event about a clip (entity `clip`, clip_id set, job_id when given); the seed's `log_clip_event`."""
        if time.monotonic() < self._backing_off_until:
            self._drop_unreachable(1)
            return None
        try:
            clip = _uuid_parts(clip_id, "clip_id")
            if clip is None:
                raise ValueError("log_clip_event needs a clip_id")
            return self._log(event_type, "clip", clip[2], metadata, severity, worker_id, _uuid_bytes(job_id, "job_id"), clip[0], timestamp)
        except (TypeError, ValueError, OverflowError, UnicodeError, RecursionError) as error:
            self._reject_locally(error)
            return None

    def _log(
        self, event_type: str, entity_type: str, entity_id: bytes, metadata: Metadata, severity: Any, worker_id: Optional[str],
        job_id: Optional[bytes], clip_id: Optional[bytes], timestamp: Any,
    ) -> Optional[uuid.UUID]:
        """Encodes straight to the frame's bytes: the call's cost is the caller's, so no object is built on the way.

        `entity_id` comes checked and length-prefixed (a job's or clip's id text is safe by construction).
        """
        level = _SEVERITIES.get(severity)
        if level is None:
            level = int(Severity.parse(severity))
        event_id = ids.next_int()
        frame = protocol.encode_prefixed_log_event(
            event_id.to_bytes(16, "big"), time.time_ns() // 1_000 if timestamp is None else to_micros(timestamp),
            protocol.prefixed_identifier("event_type", event_type) + protocol.prefixed_identifier("entity_type", entity_type) + entity_id,
            level, None if worker_id is None else protocol.checked_identifier("worker_id", worker_id), job_id, clip_id,
            _metadata_bytes(metadata))
        return uuid_from_int(event_id) if self._enqueue(frame, 1) else None

    # MARK: Acknowledged

    def log_event_acked(
        self, event_type: str, entity_type: str, entity_id: Any, metadata: Metadata = None,
        severity: Union[Severity, str] = "INFO", worker_id: Optional[str] = None, job_id: UUIDLike = None,
        clip_id: UUIDLike = None, *, id: UUIDLike = None, timestamp: Union[None, datetime.datetime, int, float] = None,
        timeout: Optional[float] = None,
    ) -> uuid.UUID:
        """Sends one event and returns its id once the daemon has committed it.

        Safe to retry with the same `id`: the id is the primary key, so the event is stored once.
        Raises `LedgerError` on refusal (`REJECTED`), timeout (`TIMEOUT`: it may still be stored),
        or when the daemon is unreachable.
        """
        try:
            event = self._make_event(event_type, entity_type, entity_id, metadata, severity, worker_id, job_id, clip_id, timestamp)
            given = _uuid(id, "id")
            if given is not None:
                event.id = given
        except (TypeError, ValueError, OverflowError, UnicodeError) as error:
            raise LedgerError(LedgerError.INVALID_ARGUMENT, str(error)) from None
        self.request(protocol.LogEvent(event, acknowledged=True), timeout=timeout)
        return event.id

    def flush(self, timeout: float = 5.0) -> bool:
        """Waits until everything logged before is committed and every drop not yet reported is stored.

        Returns True when the daemon confirmed it and no event was dropped or refused since the
        previous flush; False on timeout, when the daemon is unreachable, or after a drop.
        """
        try:
            self.request(protocol.Sync(), timeout=timeout)
            confirmed = True
        except LedgerError:
            confirmed = False
        with self._lock:
            lost = self._statistics.dropped + self._statistics.rejected
            before, self._flush_baseline = self._flush_baseline, lost
            reported = all(tally.events == 0 for tally in self._tallies.values()) and not self._unsent_reports
        return confirmed and lost == before and reported

    @property
    def statistics(self) -> ClientStatistics:
        with self._lock:
            statistics = ClientStatistics(**vars(self._statistics))
            statistics.drops_unreported = sum(t.events for t in self._tallies.values()) + sum(
                report.events for report, _ in self._unsent_reports)
            return statistics

    # MARK: Queries

    def ping(self) -> protocol.Pong:
        return self._expect(self.request(protocol.Ping()), protocol.Pong)

    def stats(self) -> Dict[str, Any]:
        return self._expect(self.request(protocol.Stats()), protocol.StatsResult).as_dict()

    def retention(self) -> protocol.RetentionStatus:
        """The daemon's retention policy, what each rule would remove now, and what passes removed."""
        return self._expect(self.request(protocol.Retention()), protocol.RetentionStatus)

    def tree_head(self) -> protocol.TreeHeadResult:
        """The log's public key and newest signed tree head (docs/VERIFY.md); check it with `verify.verify_head`."""
        return self._expect(self.request(protocol.TreeHeadRequest()), protocol.TreeHeadResult)

    def prove(self, event_id: uuid.UUID, tree_size: int = 0) -> protocol.InclusionProof:
        """The proof that an event is a leaf of the log's newest signed tree (or its stored head of
        `tree_size` leaves); check it offline with `verify.verify_proof`."""
        return self._expect(self.request(protocol.Prove(event_id, tree_size)), protocol.InclusionProof)

    def tree_read(self, request: protocol.TreeRead) -> protocol.TreePage:
        """One page of what the daemon's store keeps of its logs (PROTOCOL.md, tree_read)."""
        return self._expect(self.request(request), protocol.TreePage)

    def query(self, query: protocol.Query) -> protocol.EventsResult:
        """One page; pass `result.next` as `after` for the next."""
        return self._expect(self.request(query), protocol.EventsResult)

    def count(self, filter: Optional[Filter] = None) -> int:
        return self._expect(self.request(protocol.Count(filter or Filter())), protocol.CountResult).count

    def recent(self, limit: int = 50, after: Optional[EventCursor] = None) -> List[Event]:
        return self.query(protocol.Query(Filter(), True, limit, after)).events

    def events_by_type(self, event_type: str, limit: int = 50) -> List[Event]:
        return self.query(protocol.Query(Filter(event_type=event_type), True, limit)).events

    def timeline(self, entity_type: str, entity_id: str, limit: int = 1000) -> List[Event]:
        """One entity's history, oldest first."""
        return self.query(protocol.Query(Filter(entity_type=entity_type, entity_id=str(entity_id)), False, limit)).events

    def events_for_job(self, job_id: UUIDLike, limit: int = 1000) -> List[Event]:
        """Every event naming the job, its clips' included, oldest first."""
        return self.query(protocol.Query(Filter(job_id=_uuid(job_id, "job_id")), False, limit)).events

    def error_count(self, since: Union[None, datetime.datetime, int, float] = None) -> int:
        return self.count(Filter(severity=Severity.ERROR, since=None if since is None else to_micros(since)))

    def total(self) -> int:
        return self.count()

    def jobs_report(self, request: Optional[protocol.ReportJobs] = None) -> protocol.JobsReport:
        """Per job type: started, completed, failed, running, durations, and the slowest jobs; computed by the store."""
        return self._expect(self.request(request or protocol.ReportJobs()), protocol.JobsReport)

    def failures_report(self, request: Optional[protocol.ReportFailures] = None) -> protocol.FailuresReport:
        return self._expect(self.request(request or protocol.ReportFailures()), protocol.FailuresReport)

    def errors_report(self, request: protocol.ReportErrors) -> protocol.ErrorsReport:
        return self._expect(self.request(request), protocol.ErrorsReport)

    def story(self, entity_type: str, entity_id: str, limit: int = 1000, after: Optional[EventCursor] = None) -> protocol.EventsResult:
        """One page of an entity's whole story: its events and those of the jobs and clips linked to it."""
        return self._expect(self.request(protocol.Timeline(entity_type, str(entity_id), limit, after)), protocol.EventsResult)

    def tail(self, filter: Optional[Filter] = None, after: Optional[TailCursor] = None,
             reconnect: bool = True) -> Iterator[Event]:
        """Committed events matching the filter, in commit order, as they land (`journalctl -f`).

        Each event's `tail_cursor` resumes after it (`after=`). With `reconnect`, a lost daemon is
        waited for with back-off and the tail resumes where it stopped, nothing skipped or repeated.
        """
        from .tail import tail_events

        return tail_events(self.socket_path, filter or Filter(), after, reconnect, self.connect_timeout, self.maximum_backoff)

    def close(self) -> None:
        """Ends the connection; later log calls drop their events and requests fail."""
        with self._lock:
            self._closed = True
            waiters = list(self._waiters.values())
            self._waiters.clear()
        for waiter in waiters:
            waiter.fail(LedgerError(LedgerError.SHUT_DOWN, "the ledger client was shut down"))
        self._wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)

    def __enter__(self) -> "LedgerClient":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    # MARK: Requests with an answer

    def request(self, request: protocol.Request, timeout: Optional[float] = None) -> protocol.Response:
        """Sends a request and waits for its answer; an error frame becomes `LedgerError`."""
        waiter = _Waiter()
        with self._lock:
            self._check_fork()
            if self._closed:
                raise LedgerError(LedgerError.SHUT_DOWN, "the ledger client was shut down")
            request_id = self._next_request_id
            self._next_request_id = request_id + 1 if request_id < 0xFFFF_FFFF else 1
            frame = protocol.encode_request(request, request_id)
            self._waiters[request_id] = waiter
            # The same buffer as fire-and-forget frames: a sync really follows what was logged before it.
            self._buffer += frame
            # A request is worth a connection attempt even during back-off.
            self._backing_off_until = 0.0
        self._ensure_thread()
        self._wake()
        limit = self.request_timeout if timeout is None else timeout
        if not waiter.done.wait(limit):
            with self._lock:
                self._waiters.pop(request_id, None)
            raise LedgerError(LedgerError.TIMEOUT, f"ledgerd at {self.socket_path} did not answer within {limit:g} s")
        if waiter.error is not None:
            raise waiter.error
        response = waiter.response
        if isinstance(response, protocol.ErrorResponse):
            raise LedgerError(LedgerError.REJECTED, f"ledgerd refused the request: {response.name}: {response.message}", response.name)
        assert response is not None
        return response

    @staticmethod
    def _expect(response: protocol.Response, kind: type) -> Any:
        if not isinstance(response, kind):
            raise LedgerError(LedgerError.PROTOCOL_VIOLATION, f"ledgerd answered with {type(response).__name__}")
        return response

    # MARK: Internals

    def _make_event(
        self, event_type: Any, entity_type: Any, entity_id: Any, metadata: Metadata, severity: Any,
        worker_id: Any, job_id: UUIDLike, clip_id: UUIDLike, timestamp: Any,
    ) -> Event:
        for name, value in (("event_type", event_type), ("entity_type", entity_type)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a str, not {type(value).__name__}")
        if entity_id is None:
            raise TypeError("entity_id is None")
        entity = str(entity_id)
        for name, value in (("event_type", event_type), ("entity_type", entity_type), ("entity_id", entity)):
            problem = protocol.identifier_problem(name, value)
            if problem:
                raise ValueError(problem)
        if worker_id is not None:
            if not isinstance(worker_id, str):
                raise TypeError(f"worker_id must be a str, not {type(worker_id).__name__}")
            problem = protocol.identifier_problem("worker_id", worker_id)
            if problem:
                raise ValueError(problem)
        text = _metadata_text(metadata)
        event_id = ids.next()
        return Event(
            id=event_id, event_type=event_type, entity_type=entity_type, entity_id=entity, metadata=text,
            severity=Severity.parse(severity), timestamp=now_micros() if timestamp is None else to_micros(timestamp),
            worker_id=worker_id, job_id=_uuid(job_id, "job_id"), clip_id=_uuid(clip_id, "clip_id"),
        )

    def _drop_unreachable(self, events: int) -> None:
        at = time.time_ns() // 1_000
        with self._lock:
            self._statistics.dropped_unreachable += events
            tally = self._unreachable
            if tally.events == 0:
                tally.first = at
            tally.events += events
            tally.last = at

    def _reject_locally(self, error: BaseException) -> None:
        at = now_micros()
        with self._lock:
            self._statistics.rejected += 1
            self._tallies[GapReason.REJECTED].add(1, at)
            first = not self._logged_rejection
            self._logged_rejection = True
        # Once at warning, so a bad call site is seen without one line per call.
        (logger.warning if first else logger.debug)("ledger event refused before sending (counted in statistics.rejected): %s", error)
        self._wake_if_running()

    def _check_fork(self) -> None:
        # Under the lock. os.register_at_fork covers os.fork; this covers a fork that bypassed it.
        if self._pid != os.getpid():
            self._forget_parent()

    def _enqueue(self, frame: bytes, events: int) -> bool:
        # A fork is handled by os.register_at_fork before the child runs any of this.
        with self._lock:
            if self._closed or time.monotonic() < self._backing_off_until:
                at = time.time_ns() // 1_000
                self._statistics.dropped_unreachable += events
                self._tallies[GapReason.DAEMON_UNREACHABLE].add(events, at)
                return False
            if len(self._buffer) + self._unsent_bytes + len(frame) > self.buffer_limit:
                at = time.time_ns() // 1_000
                self._statistics.dropped_buffer_full += events
                self._tallies[GapReason.BUFFER_FULL].add(events, at)
                return False
            self._buffer += frame
            self._buffer_events += events
            wake = not self._wake_pending
            self._wake_pending = True
            start = self._thread is None
        if start:
            self._ensure_thread()
        if wake:
            self._wake()
        return True

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name="socialsync-ledger", daemon=True)
            self._thread = thread
        thread.start()

    def _wake(self) -> None:
        try:
            self._wake_write.send(b"\0")
        except OSError:
            pass

    def _wake_if_running(self) -> None:
        if self._thread is not None:
            self._wake()

    # MARK: The I/O thread

    def _run(self) -> None:
        pid = os.getpid()
        # A view, so a partial send moves a pointer instead of copying what is left.
        outgoing = memoryview(b"")
        decoder = protocol.FrameDecoder()
        while True:
            with self._lock:
                if self._pid != pid or (self._closed and not self._buffer):
                    sock = self._sock
                    self._sock = None
                    break
                sock = self._sock
                wanted = bool(self._buffer or self._waiters or self._has_reports())
                retry_at = self._backing_off_until
            if sock is None:
                now = time.monotonic()
                if wanted and now >= retry_at:
                    sock = self._connect()
                    outgoing = memoryview(b"")
                    decoder = protocol.FrameDecoder()
                    if sock is None:
                        continue
                else:
                    wait = max(0.0, retry_at - now) if wanted else 1.0
                    self._wait_for_wake(min(wait, 1.0))
                    if not wanted:
                        continue
                    # After a back-off with drops to report, try by itself: a gap reaches the operator
                    # even from a service that has stopped logging.
                    continue
            if not outgoing:
                with self._lock:
                    self._queue_gap_reports()
                    outgoing = memoryview(bytes(self._buffer))
                    self._statistics.sent += self._buffer_events
                    self._buffer = bytearray()
                    self._buffer_events = 0
                    self._unsent_bytes = len(outgoing)
                    self._wake_pending = False
            try:
                readable, writable, _ = select.select([sock, self._wake_read], [sock] if outgoing else [], [], 1.0)
                if self._wake_read in readable:
                    self._drain_wake()
                if sock in writable and outgoing:
                    sent = sock.send(outgoing, socket.MSG_NOSIGNAL if hasattr(socket, "MSG_NOSIGNAL") else 0)
                    outgoing = outgoing[sent:]
                    with self._lock:
                        self._unsent_bytes = len(outgoing)
                if sock in readable:
                    data = sock.recv(1 << 16)
                    if not data:
                        raise ConnectionResetError(errno.ECONNRESET, "ledgerd closed the connection")
                    for frame in decoder.feed(data):
                        self._received(frame)
            except (OSError, protocol.ProtocolError) as error:
                self._lost(sock, error)
                outgoing = memoryview(b"")
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _wait_for_wake(self, seconds: float) -> None:
        try:
            readable, _, _ = select.select([self._wake_read], [], [], seconds)
            if readable:
                self._drain_wake()
        except (OSError, ValueError):
            time.sleep(seconds)

    def _drain_wake(self) -> None:
        try:
            while self._wake_read.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _connect(self) -> Optional[socket.socket]:
        with self._lock:
            self._statistics.connection_attempts += 1
        if self._verify_directory:
            problem = untrusted_directory(self.socket_path)
            if problem is not None:
                self._connect_failed(OSError(errno.EPERM, f"not connecting: {problem}"))
                return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.connect_timeout)
        try:
            sock.connect(self.socket_path)
            sock.setblocking(False)
        except OSError as error:
            sock.close()
            self._connect_failed(error)
            return None
        with self._lock:
            self._sock = sock
            self._backoff = self.initial_backoff
        return sock

    def _connect_failed(self, error: OSError) -> None:
        reason = f"cannot connect to ledgerd at {self.socket_path}: {error.strerror or error}"
        at = now_micros()
        with self._lock:
            self._last_failure = reason
            # What waited for this connection is dropped, and counted, as a log call during back-off would be.
            if self._buffer_events:
                self._statistics.dropped_unreachable += self._buffer_events
                self._tallies[GapReason.DAEMON_UNREACHABLE].add(self._buffer_events, at)
            self._buffer = bytearray()
            self._buffer_events = 0
            self._wake_pending = False
            self._backing_off_until = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, self.maximum_backoff)
            waiters = list(self._waiters.values())
            self._waiters.clear()
            for entry in self._unsent_reports:
                entry[1] = False
        for waiter in waiters:
            waiter.fail(LedgerError(LedgerError.UNREACHABLE, reason))

    def _lost(self, sock: socket.socket, error: BaseException) -> None:
        try:
            sock.close()
        except OSError:
            pass
        with self._lock:
            if self._sock is sock:
                self._sock = None
            waiters = list(self._waiters.values())
            self._waiters.clear()
            self._unsent_bytes = 0
            for entry in self._unsent_reports:
                entry[1] = False
        closed = LedgerError(LedgerError.CONNECTION_CLOSED, f"ledgerd at {self.socket_path} closed the connection before answering")
        for waiter in waiters:
            waiter.fail(closed)

    def _received(self, frame: protocol.Frame) -> None:
        response = protocol.decode_response(frame)
        if isinstance(response, protocol.ErrorResponse) and (frame.request_id == 0 or response.closes_connection):
            if frame.request_id == 0 and not response.closes_connection:
                # A fire-and-forget event the daemon refused.
                with self._lock:
                    self._statistics.rejected += 1
                    self._tallies[GapReason.REJECTED].add(1, now_micros())
                return
            raise protocol.ProtocolError(ErrorCode.MALFORMED_FRAME, f"ledgerd closed the connection: {response.name}: {response.message}")
        with self._lock:
            waiter = self._waiters.pop(frame.request_id, None)
        if waiter is not None:
            waiter.succeed(response)

    # MARK: Gap reports

    def _has_reports(self) -> bool:
        return any(t.events for t in self._tallies.values()) or any(not sent for _, sent in self._unsent_reports)

    def _queue_gap_reports(self) -> None:
        """Under the lock, connected: turns drops into reports and writes those not in flight."""
        for reason, tally in self._tallies.items():
            if tally.events:
                report = protocol.ReportGap(ids.next(), self.client_name, reason, tally.events, tally.first, max(tally.last, tally.first))
                self._unsent_reports.append([report, False])
                tally.events = tally.first = tally.last = 0
        if len(self._unsent_reports) > self.maximum_unsent_gap_reports:
            del self._unsent_reports[: len(self._unsent_reports) - self.maximum_unsent_gap_reports]
        for entry in self._unsent_reports:
            if entry[1]:
                continue
            entry[1] = True
            request_id = self._next_request_id
            self._next_request_id = request_id + 1 if request_id < 0xFFFF_FFFF else 1
            waiter = _GapWaiter(self, entry[0])
            self._waiters[request_id] = waiter  # type: ignore[assignment]
            # Ahead of the events buffered meanwhile, so a flush's sync follows its reports.
            self._buffer[0:0] = protocol.encode_request(entry[0], request_id)

    def _gap_report_settled(self, report: protocol.ReportGap, response: Optional[protocol.Response]) -> None:
        with self._lock:
            for index, entry in enumerate(self._unsent_reports):
                if entry[0].id != report.id:
                    continue
                if isinstance(response, protocol.Ack):
                    self._statistics.gap_reports_stored += 1
                    del self._unsent_reports[index]
                elif isinstance(response, protocol.ErrorResponse) and response.code not in (
                        ErrorCode.STORE_UNAVAILABLE, ErrorCode.SHUTTING_DOWN):
                    del self._unsent_reports[index]
                else:
                    entry[1] = False
                return


class _GapWaiter(_Waiter):
    """Settles a gap report when its answer comes, on the I/O thread."""

    __slots__ = ("client", "report")

    def __init__(self, client: LedgerClient, report: protocol.ReportGap) -> None:
        super().__init__()
        self.client = client
        self.report = report

    def succeed(self, response: protocol.Response) -> None:
        super().succeed(response)
        self.client._gap_report_settled(self.report, response)

    def fail(self, error: LedgerError) -> None:
        super().fail(error)
        self.client._gap_report_settled(self.report, None)


_SEVERITIES: Dict[Any, int] = {"INFO": 0, "WARN": 1, "ERROR": 2, Severity.INFO: 0, Severity.WARN: 1, Severity.ERROR: 2}
_JSON = json.JSONEncoder(default=str, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
#: Services log about the same jobs and clips again and again: their ids are parsed once.
_UUIDS: Dict[Any, Any] = {}


def _uuid_parts(value: UUIDLike, name: str) -> Optional[Tuple[bytes, str, bytes]]:
    """A UUID (or its text) as its 16 bytes, its lowercase text, and that text as the wire carries an entity id."""
    if value is None:
        return None
    parts = _UUIDS.get(value)
    if parts is None:
        parsed = _uuid(value, name)
        assert parsed is not None
        text = str(parsed)
        parts = (parsed.bytes, text, b"\x00\x24" + text.encode("ascii"))
        if len(_UUIDS) >= 4096:
            _UUIDS.clear()
        _UUIDS[value] = parts
    return parts


def _uuid_bytes(value: UUIDLike, name: str) -> Optional[bytes]:
    parts = _uuid_parts(value, name)
    return None if parts is None else parts[0]


def _entity_text(value: Any) -> str:
    if value is None:
        raise TypeError("entity_id is None")
    return str(value)


try:
    from json.encoder import c_make_encoder as _c_make_encoder  # type: ignore[attr-defined]
    from json.encoder import encode_basestring as _encode_basestring
except ImportError:  # pragma: no cover - interpreters without the C accelerator
    _c_make_encoder = None


def _json_text(metadata: Mapping[str, Any]) -> str:
    """`json.dumps(metadata, default=str, separators=(",", ":"), ensure_ascii=False, allow_nan=False)`,
    through the C encoder directly: half the cost, on every log call that passes a dict."""
    if _c_make_encoder is None:
        return _JSON.encode(metadata)
    # A fresh encoder (and circular-reference memo) per call, as JSONEncoder.iterencode makes one.
    return "".join(_c_make_encoder({}, str, _encode_basestring, None, ":", ",", False, False, False)(metadata, 0))


def _metadata_bytes(metadata: Metadata) -> bytes:
    if metadata is None:
        return b"{}"
    if type(metadata) is dict or isinstance(metadata, Mapping):
        data = _json_text(metadata).encode("utf-8", "surrogatepass")
    elif isinstance(metadata, str):
        data = metadata.encode("utf-8", "surrogatepass")
    else:
        raise TypeError(f"metadata must be a dict or a JSON object's text, not {type(metadata).__name__}")
    if len(data) > protocol.MAXIMUM_METADATA:
        raise ValueError(f"metadata is {len(data)} bytes, over {protocol.MAXIMUM_METADATA}")
    return data


def _uuid(value: UUIDLike, name: str) -> Optional[uuid.UUID]:
    if value is None or isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            raise ValueError(f"{name} {value!r} is not a UUID") from None
    raise TypeError(f"{name} must be a UUID or its text, not {type(value).__name__}")


def _metadata_text(metadata: Metadata) -> str:
    """A dict as compact JSON (UUIDs, datetimes and the like as their text), or a JSON object's text."""
    if metadata is None:
        return "{}"
    if isinstance(metadata, str):
        text = metadata
    elif isinstance(metadata, Mapping):
        text = json.dumps(metadata, default=str, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    else:
        raise TypeError(f"metadata must be a dict or a JSON object's text, not {type(metadata).__name__}")
    if len(text.encode("utf-8", "surrogatepass")) > protocol.MAXIMUM_METADATA:
        raise ValueError(f"metadata is over {protocol.MAXIMUM_METADATA} bytes")
    return text


def _process_name() -> str:
    import sys

    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name or "python"
