"""The ledger's wire protocol (Protocol/PROTOCOL.md), as pure encode and decode on bytes.

Nothing here touches a socket, a file or a clock, so every message can be checked against
the golden vectors byte for byte.
"""

from __future__ import annotations

import enum
import re
import struct
import uuid
from dataclasses import dataclass, field
from typing import AbstractSet, Any, Callable, Dict, FrozenSet, List, Optional, Tuple, TypeVar, Union

VERSION = 1
HEADER_LENGTH = 6
DEFAULT_MAXIMUM_FRAME = 1 << 20
#: Responses are not bound by the request limit: a query page may be several MiB.
MAXIMUM_RESPONSE_FRAME = 128 << 20
UNASSIGNED_ID = uuid.UUID(int=0)


class MessageType(enum.IntEnum):
    PING = 0x01
    LOG_EVENT = 0x02
    LOG_JOB_EVENT = 0x03
    LOG_CLIP_EVENT = 0x04
    LOG_BATCH = 0x05
    SYNC = 0x06
    REPORT_GAP = 0x07
    QUERY = 0x10
    COUNT = 0x11
    STATS = 0x12
    SUBSCRIBE = 0x13
    REPORT_JOBS = 0x14
    REPORT_FAILURES = 0x15
    REPORT_ERRORS = 0x16
    TIMELINE = 0x17
    RETENTION = 0x18
    TREE_HEAD = 0x19
    PROVE = 0x1A
    TREE_READ = 0x1B
    PONG = 0x81
    ACK = 0x82
    EVENTS = 0x90
    COUNT_RESULT = 0x91
    STATS_RESULT = 0x92
    TAIL = 0x93
    JOBS_REPORT = 0x94
    FAILURES_REPORT = 0x95
    ERRORS_REPORT = 0x96
    RETENTION_STATUS = 0x97
    TREE_HEAD_RESULT = 0x98
    INCLUSION_PROOF = 0x99
    TREE_PAGE = 0x9A
    ERROR = 0xFF


class Severity(enum.IntEnum):
    """The seed's EventSeverity; `Severity.parse` also takes its strings ("INFO", "WARN", "ERROR")."""

    INFO = 0
    WARN = 1
    ERROR = 2

    @classmethod
    def parse(cls, value: Union["Severity", str, int]) -> "Severity":
        if isinstance(value, Severity):
            return value
        if isinstance(value, str):
            name = value.strip().upper()
            if name == "WARNING":
                name = "WARN"
            if name in cls.__members__:
                return cls[name]
            raise ValueError(f"severity {value!r} is not INFO, WARN or ERROR")
        if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1, 2):
            return cls(value)
        # An enum from another module (the seed's EventSeverity) carries its name.
        label = getattr(value, "name", None) or getattr(value, "value", None)
        if isinstance(label, str):
            return cls.parse(label)
        raise ValueError(f"severity {value!r} is not INFO, WARN or ERROR")


#: A filter's severity byte with this bit set carries a set of severities in bits 0-2.
SEVERITY_SET_MARKER = 0x80


def severities_at_least(minimum: Union[Severity, str]) -> FrozenSet[Severity]:
    """Every severity at least as serious as ``minimum``, for a filter: WARN gives WARN and ERROR."""
    floor = Severity.parse(minimum)
    return frozenset(level for level in Severity if level >= floor)


def severity_filter_byte(value: Union[Severity, AbstractSet[Severity]]) -> int:
    """A filter's severity byte: a set of one is the plain severity, which every daemon reads."""
    if isinstance(value, Severity):
        return int(value)
    members = frozenset(Severity.parse(level) for level in value)
    if not members:
        raise ValueError("the severity set is empty, so nothing could match")
    if len(members) == 1:
        return int(next(iter(members)))
    return SEVERITY_SET_MARKER | sum(1 << int(level) for level in members)


class ErrorCode(enum.IntEnum):
    MALFORMED_FRAME = 1
    FRAME_TOO_LARGE = 2
    UNSUPPORTED_VERSION = 3
    UNKNOWN_MESSAGE_TYPE = 4
    INVALID_EVENT = 5
    INVALID_QUERY = 6
    STORE_UNAVAILABLE = 7
    SHUTTING_DOWN = 8
    PERMISSION_DENIED = 9
    INTERNAL_ERROR = 10
    TOO_MANY_CONNECTIONS = 11
    IDLE_TIMEOUT = 12
    FRAME_TIMEOUT = 13
    QUERY_TIMEOUT = 14


class GapReason(enum.IntEnum):
    DAEMON_UNREACHABLE = 1
    BUFFER_FULL = 2
    REJECTED = 3


class ProtocolError(Exception):
    """Bytes that do not follow the protocol; `code` is the error the daemon would answer with."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


# MARK: Field limits (PROTOCOL.md §3)

LIMITS = {"event_type": 100, "entity_type": 50, "entity_id": 255, "worker_id": 100}
MAXIMUM_METADATA = 65_536
MINIMUM_TIMESTAMP = -62_135_596_800_000_000
MAXIMUM_TIMESTAMP = 253_402_300_799_999_999
#: C0, DEL and C1 controls, the bidirectional marks, embeddings, overrides and isolates, the line and
#: paragraph separators, and lone surrogates: what an identifier may not hold (§3).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def identifier_problem(name: str, value: str) -> Optional[str]:
    """Why an identifier field would be refused by the daemon, or None."""
    encoded = value.encode("utf-8", "surrogatepass")
    if not encoded:
        return f"{name} is empty"
    if len(encoded) > LIMITS[name]:
        return f"{name} is {len(encoded)} bytes, the limit is {LIMITS[name]}"
    found = _FORBIDDEN.search(value)
    if found:
        return f"{name} holds the control or bidirectional character U+{ord(found.group()):04X}"
    return None


# MARK: Events


@dataclass
class Peer:
    """The kernel's view of the process that logged an event over the Unix socket."""

    uid: int
    pid: int


@dataclass
class Event:
    """One ledger event, with the seed's field names."""

    id: uuid.UUID
    event_type: str
    entity_type: str
    entity_id: str
    metadata: str = "{}"
    severity: Severity = Severity.INFO
    timestamp: Optional[int] = None
    """Microseconds since 1970 (UTC); None lets the daemon use its arrival time."""
    worker_id: Optional[str] = None
    job_id: Optional[uuid.UUID] = None
    clip_id: Optional[uuid.UUID] = None
    peer: Optional[Peer] = None
    sequence: Optional[int] = None

    @property
    def event_data(self) -> Any:
        """The metadata as a Python value, as the seed's `event_data` column read."""
        import json

        return json.loads(self.metadata or "{}")

    @property
    def tail_cursor(self) -> Optional["TailCursor"]:
        return TailCursor(self.sequence) if self.sequence is not None else None

    def to_dict(self) -> dict:
        """The seed's endpoint shape: `/debug/ledger/recent` events."""
        from .timestamps import iso8601

        return {
            "id": str(self.id),
            "timestamp": iso8601(self.timestamp) if self.timestamp is not None else None,
            "event_type": self.event_type,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "metadata": self.event_data,
            "severity": self.severity.name,
            "worker_id": self.worker_id,
            "job_id": str(self.job_id) if self.job_id else None,
            "clip_id": str(self.clip_id) if self.clip_id else None,
        }


@dataclass(frozen=True)
class EventCursor:
    """Where a query page ended; opaque, passed back as `after`."""

    raw: bytes

    @property
    def token(self) -> str:
        return self.raw.hex()

    @classmethod
    def from_token(cls, token: str) -> "EventCursor":
        raw = bytes.fromhex(token)
        if len(raw) != 25 or raw[0] != 1:
            raise ValueError(f"{token!r} is not a query cursor")
        return cls(raw)


@dataclass(frozen=True)
class TailCursor:
    """Where a tail stopped: the commit sequence of the last event delivered."""

    sequence: int

    @property
    def token(self) -> str:
        return (b"\x02" + struct.pack(">q", self.sequence)).hex()

    @classmethod
    def from_token(cls, token: str) -> "TailCursor":
        raw = bytes.fromhex(token)
        if len(raw) != 9 or raw[0] != 2:
            raise ValueError(f"{token!r} is not a tail cursor")
        return cls(struct.unpack(">q", raw[1:])[0])


@dataclass
class Filter:
    """The one filter behind every query; absent fields match all."""

    event_type: Optional[str] = None
    entity_type: Optional[str] = None
    entity_id: Optional[str] = None
    job_id: Optional[uuid.UUID] = None
    clip_id: Optional[uuid.UUID] = None
    #: One severity, or a set of them (``{Severity.WARN, Severity.ERROR}``, ``severities_at_least(WARN)``).
    severity: Union[Severity, FrozenSet[Severity], None] = None
    worker_id: Optional[str] = None
    since: Optional[int] = None
    until: Optional[int] = None


# MARK: Requests


@dataclass
class Ping:
    pass


@dataclass
class Sync:
    pass


@dataclass
class Stats:
    pass


@dataclass
class Retention:
    """The daemon's retention policy and what it removes; answered with RetentionStatus."""


@dataclass
class LogEvent:
    event: Event
    acknowledged: bool = False


@dataclass
class LogJobEvent:
    id: uuid.UUID
    job_id: uuid.UUID
    event_type: str
    severity: Severity = Severity.INFO
    timestamp: Optional[int] = None
    worker_id: Optional[str] = None
    clip_id: Optional[uuid.UUID] = None
    metadata: str = "{}"
    acknowledged: bool = False


@dataclass
class LogClipEvent:
    id: uuid.UUID
    clip_id: uuid.UUID
    event_type: str
    severity: Severity = Severity.INFO
    timestamp: Optional[int] = None
    worker_id: Optional[str] = None
    job_id: Optional[uuid.UUID] = None
    metadata: str = "{}"
    acknowledged: bool = False


@dataclass
class LogBatch:
    events: List[Event]
    acknowledged: bool = False


@dataclass
class ReportGap:
    id: uuid.UUID
    client: str
    reason: GapReason
    events: int
    first_dropped: int
    last_dropped: int


@dataclass
class Query:
    filter: Filter = field(default_factory=Filter)
    newest_first: bool = True
    limit: int = 50
    after: Optional[EventCursor] = None


@dataclass
class Count:
    filter: Filter = field(default_factory=Filter)


@dataclass
class Subscribe:
    filter: Filter = field(default_factory=Filter)
    after: Optional[TailCursor] = None


@dataclass
class ReportJobs:
    """Per job type: started, completed, failed, running, durations; and the slowest jobs (0-100)."""

    since: Optional[int] = None
    until: Optional[int] = None
    job_type: Optional[str] = None
    slowest: int = 10


class FailureGrouping(enum.IntEnum):
    JOB_TYPE = 0
    EVENT_TYPE = 1
    WORKER = 2


@dataclass
class ReportFailures:
    since: Optional[int] = None
    until: Optional[int] = None
    by: FailureGrouping = FailureGrouping.JOB_TYPE


@dataclass
class ReportErrors:
    """WARN and ERROR counts per bucket of `bucket_seconds` from `since` (microseconds) to `until`."""

    since: int
    until: int
    bucket_seconds: int = 3600


@dataclass
class Timeline:
    """An entity's story with its linked jobs and clips, oldest first; answered with `EventsResult`."""

    entity_type: str
    entity_id: str
    limit: int = 1000
    after: Optional[EventCursor] = None


@dataclass
class TreeHeadRequest:
    """The daemon's newest signed tree head; answered with TreeHeadResult."""


@dataclass
class Prove:
    """The inclusion proof of one event, under the stored head of `tree_size` leaves (0: the newest)."""

    event_id: uuid.UUID
    tree_size: int = 0


class TreeReadPart(enum.IntEnum):
    LOGS = 0
    HEADS = 1
    LATEST_HEAD = 2
    LEAF_RECORDS = 3
    LEAF_OF_SEQUENCE = 4
    SEQUENCE_OF_EVENT = 5
    EVENTS = 6
    TOMBSTONES = 7


@dataclass
class TreeRead:
    """One page of what the daemon's store keeps of its logs (PROTOCOL.md, tree_read). `position` is
    the part's number: from_size (HEADS), from_leaf (LEAF_RECORDS), the sequence (LEAF_OF_SEQUENCE), or
    the sequence to read after (EVENTS, TOMBSTONES)."""

    part: TreeReadPart
    log_id: bytes = b""
    position: int = 0
    limit: int = 0
    event_id: Optional[uuid.UUID] = None


Request = Union[
    Ping, Sync, Stats, LogEvent, LogJobEvent, LogClipEvent, LogBatch, ReportGap, Query, Count, Subscribe, ReportJobs, ReportFailures,
    ReportErrors, Timeline, Retention, TreeHeadRequest, Prove, TreeRead,
]

# MARK: Responses


@dataclass
class Pong:
    protocol_version: int
    server: str


@dataclass
class Ack:
    committed: int


@dataclass
class EventsResult:
    events: List[Event]
    next: Optional[EventCursor] = None


@dataclass
class CountResult:
    count: int


@dataclass
class StatsResult:
    counters: List[Tuple[str, int]]
    facts: List[Tuple[str, str]]

    def as_dict(self) -> dict:
        values: dict = dict(self.facts)
        values.update(dict(self.counters))
        return values


@dataclass
class TailBatch:
    missed: int
    events: List[Event]
    next: Optional[TailCursor] = None


@dataclass
class ErrorResponse:
    code: int
    closes_connection: bool
    message: str

    @property
    def name(self) -> str:
        try:
            return ErrorCode(self.code).name
        except ValueError:
            return f"ERROR_{self.code}"


@dataclass
class JobTypeRow:
    job_type: Optional[str]
    started: int
    completed: int
    failed: int
    running: int
    #: Durations in microseconds (nearest-rank percentiles); None when no job of the type finished with a known start.
    p50: Optional[int]
    p95: Optional[int]
    max: Optional[int]


@dataclass
class SlowJob:
    job_id: uuid.UUID
    job_type: Optional[str]
    failed: bool
    duration: int
    started_at: int


@dataclass
class JobsReport:
    rows: List[JobTypeRow]
    slowest: List[SlowJob]
    truncated: bool = False


@dataclass
class FailureRow:
    key: Optional[str]
    total: int
    failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


@dataclass
class FailuresReport:
    by: FailureGrouping
    rows: List[FailureRow]
    truncated: bool = False


@dataclass
class ErrorBucketRow:
    bucket: int
    event_type: str
    severity: Severity
    count: int


@dataclass
class ErrorsReport:
    since: int
    bucket_seconds: int
    bucket_count: int
    rows: List[ErrorBucketRow]
    truncated: bool = False


@dataclass
class RetentionRule:
    """One rule of `ledgerd --retain`; `before` is None for a rule that keeps its events forever.

    `pending` counts the stored events past the rule's age, up to `PENDING_CAP` + 1 (more than the
    cap); `PENDING_NOT_COUNTED` when the count ran past the daemon's query budget.
    """

    PENDING_CAP = 1_000_000
    PENDING_NOT_COUNTED = 2**64 - 1

    rule: str
    before: Optional[int]
    pending: int
    last_removed: int
    removed_since_start: int


@dataclass
class RetentionStatus:
    policy: str
    rules: List[RetentionRule]
    last_pass_started: Optional[int]
    last_pass_finished: Optional[int]
    next_pass: Optional[int]
    note: str = ""


# The signed bytes of a head begin with this (docs/VERIFY.md, "The tree head").
HEAD_CONTEXT = b"SocialSyncLedger tree head v1\x00"


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head, as the daemon sends it and `ledger-rpc head --json` prints it."""

    log_id: bytes
    tree_size: int
    root_hash: bytes
    timestamp_us: int
    signature: bytes

    @classmethod
    def from_json(cls, value: dict) -> "TreeHead":
        try:
            head = cls(
                bytes.fromhex(value["log_id"]), int(value["tree_size"]), bytes.fromhex(value["root_hash"]),
                int(value["timestamp_us"]), bytes.fromhex(value["signature"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a tree head: {error}") from None
        if len(head.log_id) != 32 or len(head.root_hash) != 32 or len(head.signature) != 64:
            raise ValueError("not a tree head: log_id and root_hash must be 32 bytes, signature 64")
        return head

    def signed_bytes(self) -> bytes:
        return HEAD_CONTEXT + self.log_id + struct.pack(">Q", self.tree_size) + self.root_hash + struct.pack(">q", self.timestamp_us)


@dataclass
class TreeHeadResult:
    """The log's raw Ed25519 public key (empty when the store keeps no tree) and its newest head."""

    public_key: bytes
    head: Optional[TreeHead]


@dataclass(frozen=True)
class InclusionProof:
    """An inclusion proof, as the daemon sends it and `ledger-rpc prove` prints it."""

    event_id: uuid.UUID
    sequence: int
    leaf_index: int
    leaf_hash: bytes
    path: List[bytes]
    head: TreeHead

    @classmethod
    def from_json(cls, value: dict) -> "InclusionProof":
        try:
            return cls(
                uuid.UUID(value["event_id"]), int(value["sequence"]), int(value["leaf_index"]), bytes.fromhex(value["leaf_hash"]),
                [bytes.fromhex(node) for node in value["inclusion_path"]], TreeHead.from_json(value["tree_head"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not an inclusion proof: {error}") from None


@dataclass
class TreeLog:
    log_id: bytes
    public_key: bytes
    size: int
    root: bytes


@dataclass
class TreePage:
    """One page of a tree_read, in the field its part fills: `heads` also for LATEST_HEAD, `number`
    also for SEQUENCE_OF_EVENT. `records` are whole 56-byte leaf records. `stored_text` says the
    events' metadata is the text the daemon stored rather than the store's rendering of it."""

    part: TreeReadPart
    logs: List[TreeLog] = field(default_factory=list)
    heads: List[TreeHead] = field(default_factory=list)
    records: bytes = b""
    number: Optional[int] = None
    events: List[Event] = field(default_factory=list)
    stored_text: bool = False
    tombstones: List[Tuple[int, str]] = field(default_factory=list)


Response = Union[
    Pong, Ack, EventsResult, CountResult, StatsResult, TailBatch, ErrorResponse, JobsReport, FailuresReport, ErrorsReport, RetentionStatus,
    TreeHeadResult, InclusionProof, TreePage,
]


# MARK: Writing


class Writer:
    """Appends protocol fields to a bytearray."""

    __slots__ = ("out",)

    def __init__(self) -> None:
        self.out = bytearray()

    def u8(self, value: int) -> None:
        self.out.append(value)

    def u16(self, value: int) -> None:
        self.out += struct.pack(">H", value)

    def u32(self, value: int) -> None:
        self.out += struct.pack(">I", value)

    def u64(self, value: int) -> None:
        self.out += struct.pack(">Q", value)

    def i64(self, value: int) -> None:
        self.out += struct.pack(">q", value)

    def uuid(self, value: uuid.UUID) -> None:
        self.out += value.bytes

    def string16(self, value: str) -> None:
        data = value.encode("utf-8", "surrogatepass")
        self.u16(len(data))
        self.out += data

    def string32(self, value: str) -> None:
        data = value.encode("utf-8", "surrogatepass")
        self.u32(len(data))
        self.out += data

    def optional(self, value: Any, write: Callable[[Any], None]) -> None:
        if value is None:
            self.u8(0)
        else:
            self.u8(1)
            write(value)

    def event(self, event: Event) -> None:
        self.uuid(event.id)
        self.optional(event.timestamp, self.i64)
        self.string16(event.event_type)
        self.string16(event.entity_type)
        self.string16(event.entity_id)
        self.u8(int(event.severity))
        self.optional(event.worker_id, self.string16)
        self.optional(event.job_id, self.uuid)
        self.optional(event.clip_id, self.uuid)
        self.string32(event.metadata)

    def filter(self, value: Filter) -> None:
        self.optional(value.event_type, self.string16)
        self.optional(value.entity_type, self.string16)
        self.optional(value.entity_id, self.string16)
        self.optional(value.job_id, self.uuid)
        self.optional(value.clip_id, self.uuid)
        self.optional(None if value.severity is None else severity_filter_byte(value.severity), self.u8)
        self.optional(value.worker_id, self.string16)
        self.optional(value.since, self.i64)
        self.optional(value.until, self.i64)

    def cursor(self, raw: bytes) -> None:
        self.u16(len(raw))
        self.out += raw

    def head(self, head: TreeHead) -> None:
        self.out += head.log_id
        self.u64(head.tree_size)
        self.out += head.root_hash
        self.i64(head.timestamp_us)
        self.out += head.signature

    def events_layout(self, events: List[Event], cursor: Optional[bytes], with_cursor: bool = True) -> None:
        self.u32(len(events))
        for event in events:
            self.event(event)
        if with_cursor:
            self.optional(cursor, self.cursor)
        for event in events:
            self.optional(event.peer, lambda peer: self.out.extend(struct.pack(">Ii", peer.uid, peer.pid)))
            self.optional(event.sequence, self.i64)


def _flags(acknowledged: bool) -> int:
    return 1 if acknowledged else 0


def _write_scoped_event(writer: Writer, request: Union[LogJobEvent, LogClipEvent], scope: uuid.UUID, other: Optional[uuid.UUID]) -> None:
    """log_job_event and log_clip_event share one layout: the id of the job (or clip) the event is
    about in place of the entity, and the other id optional near the end (PROTOCOL.md)."""
    writer.u8(_flags(request.acknowledged))
    writer.uuid(request.id)
    writer.optional(request.timestamp, writer.i64)
    writer.uuid(scope)
    writer.string16(request.event_type)
    writer.u8(int(request.severity))
    writer.optional(request.worker_id, writer.string16)
    writer.optional(other, writer.uuid)
    writer.string32(request.metadata)

def encode_request(request: Request, request_id: int) -> bytes:
    """One frame, header included."""
    writer = Writer()
    kind: MessageType
    if isinstance(request, Ping):
        kind = MessageType.PING
    elif isinstance(request, Sync):
        kind = MessageType.SYNC
    elif isinstance(request, Stats):
        kind = MessageType.STATS
    elif isinstance(request, Retention):
        kind = MessageType.RETENTION
    elif isinstance(request, LogEvent):
        kind = MessageType.LOG_EVENT
        writer.u8(_flags(request.acknowledged))
        writer.event(request.event)
    elif isinstance(request, LogJobEvent):
        kind = MessageType.LOG_JOB_EVENT
        _write_scoped_event(writer, request, request.job_id, request.clip_id)
    elif isinstance(request, LogClipEvent):
        kind = MessageType.LOG_CLIP_EVENT
        _write_scoped_event(writer, request, request.clip_id, request.job_id)
    elif isinstance(request, LogBatch):
        kind = MessageType.LOG_BATCH
        writer.u8(_flags(request.acknowledged))
        writer.u16(len(request.events))
        for event in request.events:
            writer.event(event)
    elif isinstance(request, ReportGap):
        kind = MessageType.REPORT_GAP
        writer.uuid(request.id)
        writer.string16(request.client)
        writer.u8(int(request.reason))
        writer.u64(request.events)
        writer.i64(request.first_dropped)
        writer.i64(request.last_dropped)
    elif isinstance(request, Query):
        kind = MessageType.QUERY
        writer.filter(request.filter)
        writer.u8(0 if request.newest_first else 1)
        writer.u32(request.limit)
        writer.optional(None if request.after is None else request.after.raw, writer.cursor)
    elif isinstance(request, Count):
        kind = MessageType.COUNT
        writer.filter(request.filter)
    elif isinstance(request, Subscribe):
        kind = MessageType.SUBSCRIBE
        writer.filter(request.filter)
        after = None if request.after is None else b"\x02" + struct.pack(">q", request.after.sequence)
        writer.optional(after, writer.cursor)
    elif isinstance(request, ReportJobs):
        kind = MessageType.REPORT_JOBS
        writer.optional(request.since, writer.i64)
        writer.optional(request.until, writer.i64)
        writer.optional(request.job_type, writer.string16)
        writer.u16(request.slowest)
    elif isinstance(request, ReportFailures):
        kind = MessageType.REPORT_FAILURES
        writer.optional(request.since, writer.i64)
        writer.optional(request.until, writer.i64)
        writer.u8(int(request.by))
    elif isinstance(request, ReportErrors):
        kind = MessageType.REPORT_ERRORS
        writer.i64(request.since)
        writer.i64(request.until)
        writer.u32(request.bucket_seconds)
    elif isinstance(request, Timeline):
        kind = MessageType.TIMELINE
        writer.string16(request.entity_type)
        writer.string16(request.entity_id)
        writer.u32(request.limit)
        writer.optional(None if request.after is None else request.after.raw, writer.cursor)
    elif isinstance(request, TreeHeadRequest):
        kind = MessageType.TREE_HEAD
    elif isinstance(request, Prove):
        kind = MessageType.PROVE
        writer.uuid(request.event_id)
        writer.u64(request.tree_size)
    elif isinstance(request, TreeRead):
        kind = MessageType.TREE_READ
        part = TreeReadPart(request.part)
        writer.u8(int(part))
        if part in (TreeReadPart.HEADS, TreeReadPart.LATEST_HEAD, TreeReadPart.LEAF_RECORDS, TreeReadPart.LEAF_OF_SEQUENCE):
            if len(request.log_id) != 32:
                raise ValueError("a tree_read of a log needs its 32-byte log id")
            writer.out += request.log_id
        if part in (TreeReadPart.HEADS, TreeReadPart.LEAF_RECORDS):
            writer.u64(request.position)
            writer.u32(request.limit)
        elif part == TreeReadPart.LEAF_OF_SEQUENCE:
            writer.i64(request.position)
        elif part == TreeReadPart.SEQUENCE_OF_EVENT:
            if request.event_id is None:
                raise ValueError("a tree_read of an event's sequence needs the event's id")
            writer.uuid(request.event_id)
        elif part in (TreeReadPart.EVENTS, TreeReadPart.TOMBSTONES):
            writer.i64(request.position)
            writer.u32(request.limit)
    else:
        raise TypeError(f"not a request: {request!r}")
    return frame(kind, request_id, bytes(writer.out))


def encode_response(response: Response, request_id: int) -> bytes:
    writer = Writer()
    kind: MessageType
    if isinstance(response, Pong):
        kind = MessageType.PONG
        writer.u8(response.protocol_version)
        writer.string16(response.server)
    elif isinstance(response, Ack):
        kind = MessageType.ACK
        writer.u32(response.committed)
    elif isinstance(response, EventsResult):
        kind = MessageType.EVENTS
        writer.events_layout(response.events, None if response.next is None else response.next.raw)
    elif isinstance(response, CountResult):
        kind = MessageType.COUNT_RESULT
        writer.u64(response.count)
    elif isinstance(response, StatsResult):
        kind = MessageType.STATS_RESULT
        writer.u16(len(response.counters))
        for name, value in response.counters:
            writer.string16(name)
            writer.i64(value)
        writer.u16(len(response.facts))
        for name, text in response.facts:
            writer.string16(name)
            writer.string16(text)
    elif isinstance(response, TailBatch):
        kind = MessageType.TAIL
        writer.u64(response.missed)
        cursor = None if response.next is None else b"\x02" + struct.pack(">q", response.next.sequence)
        writer.events_layout(response.events, cursor)
    elif isinstance(response, ErrorResponse):
        kind = MessageType.ERROR
        writer.u16(response.code)
        writer.u8(1 if response.closes_connection else 0)
        writer.string16(response.message)
    elif isinstance(response, JobsReport):
        kind = MessageType.JOBS_REPORT
        writer.u16(len(response.rows))
        for row in response.rows:
            writer.optional(row.job_type, writer.string16)
            for count in (row.started, row.completed, row.failed, row.running):
                writer.u64(count)
            for duration in (row.p50, row.p95, row.max):
                writer.optional(duration, writer.i64)
        writer.u16(len(response.slowest))
        for job in response.slowest:
            writer.uuid(job.job_id)
            writer.optional(job.job_type, writer.string16)
            writer.u8(1 if job.failed else 0)
            writer.i64(job.duration)
            writer.i64(job.started_at)
        writer.u8(1 if response.truncated else 0)
    elif isinstance(response, FailuresReport):
        kind = MessageType.FAILURES_REPORT
        writer.u8(int(response.by))
        writer.u16(len(response.rows))
        for failure in response.rows:
            writer.optional(failure.key, writer.string16)
            writer.u64(failure.total)
            writer.u64(failure.failed)
        writer.u8(1 if response.truncated else 0)
    elif isinstance(response, ErrorsReport):
        kind = MessageType.ERRORS_REPORT
        writer.i64(response.since)
        writer.u32(response.bucket_seconds)
        writer.u32(response.bucket_count)
        writer.u32(len(response.rows))
        for bucket in response.rows:
            writer.u32(bucket.bucket)
            writer.string16(bucket.event_type)
            writer.u8(int(bucket.severity))
            writer.u64(bucket.count)
        writer.u8(1 if response.truncated else 0)
    elif isinstance(response, RetentionStatus):
        kind = MessageType.RETENTION_STATUS
        writer.string16(response.policy)
        for moment in (response.last_pass_started, response.last_pass_finished, response.next_pass):
            writer.optional(moment, writer.i64)
        writer.u16(len(response.rules))
        for rule in response.rules:
            writer.string16(rule.rule)
            writer.optional(rule.before, writer.i64)
            writer.u64(rule.pending)
            writer.u64(rule.last_removed)
            writer.u64(rule.removed_since_start)
        writer.string16(response.note)
    elif isinstance(response, TreeHeadResult):
        kind = MessageType.TREE_HEAD_RESULT
        writer.u8(len(response.public_key))
        writer.out += response.public_key
        writer.optional(response.head, writer.head)
    elif isinstance(response, InclusionProof):
        kind = MessageType.INCLUSION_PROOF
        writer.head(response.head)
        writer.uuid(response.event_id)
        writer.i64(response.sequence)
        writer.u64(response.leaf_index)
        writer.out += response.leaf_hash
        writer.u8(len(response.path))
        for node in response.path:
            writer.out += node
    elif isinstance(response, TreePage):
        kind = MessageType.TREE_PAGE
        writer.u8(_PAGE_PARTS[TreeReadPart(response.part)])
        if response.part == TreeReadPart.LOGS:
            writer.u32(len(response.logs))
            for log in response.logs:
                writer.out += log.log_id + log.public_key
                writer.u64(log.size)
                writer.out += log.root
        elif response.part in (TreeReadPart.HEADS, TreeReadPart.LATEST_HEAD):
            writer.u32(len(response.heads))
            for head in response.heads:
                writer.head(head)
        elif response.part == TreeReadPart.LEAF_RECORDS:
            writer.u32(len(response.records))
            writer.out += response.records
        elif response.part in (TreeReadPart.LEAF_OF_SEQUENCE, TreeReadPart.SEQUENCE_OF_EVENT):
            writer.optional(response.number, writer.i64)
        elif response.part == TreeReadPart.EVENTS:
            writer.u8(1 if response.stored_text else 0)
            writer.events_layout(response.events, None, with_cursor=False)
        else:
            writer.u32(len(response.tombstones))
            for sequence, retention in response.tombstones:
                writer.i64(sequence)
                writer.string16(retention)
    else:
        raise TypeError(f"not a response: {response!r}")
    return frame(kind, request_id, bytes(writer.out))


# The part byte of each tree_page: a newest head comes as a page of heads, a sequence as a number.
_PAGE_PARTS = {part: int(part) for part in TreeReadPart}
_PAGE_PARTS[TreeReadPart.LATEST_HEAD] = int(TreeReadPart.HEADS)
_PAGE_PARTS[TreeReadPart.SEQUENCE_OF_EVENT] = int(TreeReadPart.LEAF_OF_SEQUENCE)


def frame(kind: int, request_id: int, payload: bytes) -> bytes:
    return struct.pack(">IBBI", HEADER_LENGTH + len(payload), VERSION, int(kind), request_id) + payload


# MARK: Reading


class Reader:
    """Reads protocol fields from one frame's payload; running past its end is MALFORMED_FRAME."""

    __slots__ = ("data", "offset")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, count: int, what: str) -> bytes:
        if self.offset + count > len(self.data):
            raise ProtocolError(ErrorCode.MALFORMED_FRAME, f"{what} runs past the end of the frame")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return int(struct.unpack(">H", self.take(2, what))[0])

    def u32(self, what: str) -> int:
        return int(struct.unpack(">I", self.take(4, what))[0])

    def u64(self, what: str) -> int:
        return int(struct.unpack(">Q", self.take(8, what))[0])

    def i64(self, what: str) -> int:
        return int(struct.unpack(">q", self.take(8, what))[0])

    def uuid(self, what: str) -> uuid.UUID:
        return uuid.UUID(bytes=self.take(16, what))

    def text(self, count: int, what: str) -> str:
        raw = self.take(count, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(ErrorCode.INVALID_EVENT, f"{what} is not valid UTF-8") from None

    def string16(self, what: str) -> str:
        return self.text(self.u16(what), what)

    def string32(self, what: str) -> str:
        return self.text(self.u32(what), what)

    T = TypeVar("T")

    def optional(self, what: str, read: Callable[[str], "Reader.T"]) -> Optional["Reader.T"]:
        presence = self.u8(what)
        if presence == 0:
            return None
        if presence != 1:
            raise ProtocolError(ErrorCode.MALFORMED_FRAME, f"presence byte of {what} is {presence}")
        return read(what)

    def severity(self, what: str = "severity") -> Severity:
        value = self.u8(what)
        if value > 2:
            raise ProtocolError(ErrorCode.INVALID_EVENT, f"severity is {value}, expected 0, 1 or 2")
        return Severity(value)

    def severity_filter(self, what: str = "severity") -> Union[Severity, FrozenSet[Severity]]:
        value = self.u8(what)
        if value <= 2:
            return Severity(value)
        mask = value & ~SEVERITY_SET_MARKER
        if not value & SEVERITY_SET_MARKER or mask == 0 or mask & ~0b111:
            raise ProtocolError(ErrorCode.INVALID_QUERY, f"severity is {value}, expected 0-2 or 0x80 plus a non-empty set of bits 0-2")
        return frozenset(level for level in Severity if mask & (1 << int(level)))

    def event(self) -> Event:
        event_id = self.uuid("id")
        timestamp = self.optional("timestamp", self.i64)
        event_type = self.string16("event_type")
        entity_type = self.string16("entity_type")
        entity_id = self.string16("entity_id")
        severity = self.severity()
        worker_id = self.optional("worker_id", self.string16)
        job_id = self.optional("job_id", self.uuid)
        clip_id = self.optional("clip_id", self.uuid)
        metadata = self.string32("metadata")
        return Event(
            id=event_id, timestamp=timestamp, event_type=event_type, entity_type=entity_type, entity_id=entity_id,
            severity=severity, worker_id=worker_id, job_id=job_id, clip_id=clip_id, metadata=metadata,
        )

    def filter(self) -> Filter:
        return Filter(
            event_type=self.optional("event_type", self.string16),
            entity_type=self.optional("entity_type", self.string16),
            entity_id=self.optional("entity_id", self.string16),
            job_id=self.optional("job_id", self.uuid),
            clip_id=self.optional("clip_id", self.uuid),
            severity=self.optional("severity", self.severity_filter),
            worker_id=self.optional("worker_id", self.string16),
            since=self.optional("since", self.i64),
            until=self.optional("until", self.i64),
        )

    def cursor_bytes(self, what: str) -> bytes:
        return self.take(self.u16(what), what)

    def head(self, what: str = "head") -> TreeHead:
        return TreeHead(self.take(32, "log id"), self.u64("tree size"), self.take(32, "root hash"), self.i64("timestamp"), self.take(64, "signature"))

    def events_layout(self, with_cursor: bool = True) -> Tuple[List[Event], Optional[bytes]]:
        count = self.u32("event count")
        events = [self.event() for _ in range(count)]
        cursor = self.optional("cursor", self.cursor_bytes) if with_cursor else None
        for event in events:
            event.peer = self.optional("peer", lambda what: Peer(*struct.unpack(">Ii", self.take(8, what))))
            event.sequence = self.optional("sequence", self.i64)
        return events, cursor

    def end(self, what: str) -> None:
        if self.offset != len(self.data):
            raise ProtocolError(ErrorCode.MALFORMED_FRAME, f"{len(self.data) - self.offset} bytes left over after {what}")


@dataclass
class Frame:
    kind: int
    request_id: int
    payload: bytes


class FrameDecoder:
    """Splits a byte stream into frames, checking each length before buffering its payload."""

    def __init__(self, maximum_length: int = MAXIMUM_RESPONSE_FRAME) -> None:
        self.maximum_length = maximum_length
        self.buffer = bytearray()

    def feed(self, data: bytes) -> List[Frame]:
        self.buffer += data
        frames: List[Frame] = []
        while len(self.buffer) >= 4:
            (length,) = struct.unpack_from(">I", self.buffer, 0)
            if length < HEADER_LENGTH:
                raise ProtocolError(ErrorCode.MALFORMED_FRAME, f"frame length {length} is shorter than the header")
            if length > self.maximum_length:
                raise ProtocolError(ErrorCode.FRAME_TOO_LARGE, f"frame length {length} is over {self.maximum_length}")
            if len(self.buffer) >= 5 and self.buffer[4] != VERSION:
                raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION, f"protocol version {self.buffer[4]}")
            if len(self.buffer) < 4 + length:
                break
            kind = self.buffer[5]
            (request_id,) = struct.unpack_from(">I", self.buffer, 6)
            frames.append(Frame(kind, request_id, bytes(self.buffer[10 : 4 + length])))
            del self.buffer[: 4 + length]
        return frames


def decode_request(frame: Frame) -> Request:
    reader = Reader(frame.payload)
    result: Request
    kind = frame.kind
    if kind == MessageType.PING:
        result = Ping()
    elif kind == MessageType.SYNC:
        result = Sync()
    elif kind == MessageType.STATS:
        result = Stats()
    elif kind == MessageType.RETENTION:
        result = Retention()
    elif kind in (MessageType.LOG_EVENT, MessageType.LOG_JOB_EVENT, MessageType.LOG_CLIP_EVENT, MessageType.LOG_BATCH):
        flags = reader.u8("flags")
        if flags & 0xFE:
            raise ProtocolError(ErrorCode.MALFORMED_FRAME, f"reserved log flags set: {flags:#x}")
        acknowledged = bool(flags & 1)
        if kind == MessageType.LOG_EVENT:
            result = LogEvent(reader.event(), acknowledged)
        elif kind == MessageType.LOG_BATCH:
            count = reader.u16("event count")
            result = LogBatch([reader.event() for _ in range(count)], acknowledged)
        else:
            event_id = reader.uuid("id")
            timestamp = reader.optional("timestamp", reader.i64)
            owner = reader.uuid("job_id" if kind == MessageType.LOG_JOB_EVENT else "clip_id")
            event_type = reader.string16("event_type")
            severity = reader.severity()
            worker_id = reader.optional("worker_id", reader.string16)
            other = reader.optional("clip_id" if kind == MessageType.LOG_JOB_EVENT else "job_id", reader.uuid)
            metadata = reader.string32("metadata")
            if kind == MessageType.LOG_JOB_EVENT:
                result = LogJobEvent(event_id, owner, event_type, severity, timestamp, worker_id, other, metadata, acknowledged)
            else:
                result = LogClipEvent(event_id, owner, event_type, severity, timestamp, worker_id, other, metadata, acknowledged)
    elif kind == MessageType.REPORT_GAP:
        result = ReportGap(
            reader.uuid("id"), reader.string16("client"), GapReason(reader.u8("reason")), reader.u64("events"),
            reader.i64("first_dropped"), reader.i64("last_dropped"),
        )
    elif kind == MessageType.QUERY:
        query_filter = reader.filter()
        order = reader.u8("order")
        limit = reader.u32("limit")
        after = reader.optional("cursor", reader.cursor_bytes)
        result = Query(query_filter, order == 0, limit, None if after is None else EventCursor(after))
    elif kind == MessageType.COUNT:
        result = Count(reader.filter())
    elif kind == MessageType.SUBSCRIBE:
        subscribe_filter = reader.filter()
        raw = reader.optional("tail cursor", reader.cursor_bytes)
        result = Subscribe(subscribe_filter, None if raw is None else _tail_cursor(raw))
    elif kind == MessageType.REPORT_JOBS:
        result = ReportJobs(
            reader.optional("since", reader.i64), reader.optional("until", reader.i64), reader.optional("job_type", reader.string16),
            reader.u16("slowest"),
        )
    elif kind == MessageType.REPORT_FAILURES:
        since, until = reader.optional("since", reader.i64), reader.optional("until", reader.i64)
        by = reader.u8("by")
        if by > 2:
            raise ProtocolError(ErrorCode.INVALID_QUERY, f"by is {by}, expected 0, 1 or 2")
        result = ReportFailures(since, until, FailureGrouping(by))
    elif kind == MessageType.REPORT_ERRORS:
        result = ReportErrors(reader.i64("since"), reader.i64("until"), reader.u32("bucket_seconds"))
    elif kind == MessageType.TIMELINE:
        entity_type, entity_id = reader.string16("entity_type"), reader.string16("entity_id")
        limit = reader.u32("limit")
        raw = reader.optional("cursor", reader.cursor_bytes)
        result = Timeline(entity_type, entity_id, limit, None if raw is None else EventCursor(raw))
    elif kind == MessageType.TREE_HEAD:
        result = TreeHeadRequest()
    elif kind == MessageType.PROVE:
        result = Prove(reader.uuid("event_id"), reader.u64("tree_size"))
    elif kind == MessageType.TREE_READ:
        result = _tree_read(reader)
    else:
        raise ProtocolError(ErrorCode.UNKNOWN_MESSAGE_TYPE, f"message type {kind:#04x}")
    reader.end(MessageType(kind).name.lower())
    return result


def _tree_read(reader: Reader) -> TreeRead:
    number = reader.u8("tree_read part")
    if number > 7:
        raise ProtocolError(ErrorCode.MALFORMED_FRAME, f"tree_read part {number} is not one of 0 to 7")
    part = TreeReadPart(number)
    request = TreeRead(part)
    if part in (TreeReadPart.HEADS, TreeReadPart.LATEST_HEAD, TreeReadPart.LEAF_RECORDS, TreeReadPart.LEAF_OF_SEQUENCE):
        request.log_id = reader.take(32, "log id")
    if part in (TreeReadPart.HEADS, TreeReadPart.LEAF_RECORDS):
        request.position, request.limit = reader.u64("position"), reader.u32("limit")
    elif part == TreeReadPart.LEAF_OF_SEQUENCE:
        request.position = reader.i64("sequence")
    elif part == TreeReadPart.SEQUENCE_OF_EVENT:
        request.event_id = reader.uuid("event_id")
    elif part in (TreeReadPart.EVENTS, TreeReadPart.TOMBSTONES):
        request.position, request.limit = reader.i64("sequence"), reader.u32("limit")
    return request


def _tree_page(reader: Reader) -> TreePage:
    number = reader.u8("tree_page part")
    if number not in (0, 1, 3, 4, 6, 7):
        raise ProtocolError(ErrorCode.MALFORMED_FRAME, f"tree_page part {number} is not one the protocol has")
    page = TreePage(TreeReadPart(number))
    if page.part == TreeReadPart.LOGS:
        page.logs = [
            TreeLog(reader.take(32, "log id"), reader.take(32, "public key"), reader.u64("size"), reader.take(32, "root"))
            for _ in range(reader.u32("log count"))
        ]
    elif page.part == TreeReadPart.HEADS:
        page.heads = [reader.head() for _ in range(reader.u32("head count"))]
    elif page.part == TreeReadPart.LEAF_RECORDS:
        page.records = reader.take(reader.u32("record bytes"), "leaf records")
    elif page.part == TreeReadPart.LEAF_OF_SEQUENCE:
        page.number = reader.optional("number", reader.i64)
    elif page.part == TreeReadPart.EVENTS:
        page.stored_text = reader.u8("stored text") == 1
        page.events, _ = reader.events_layout(with_cursor=False)
    else:
        page.tombstones = [(reader.i64("sequence"), reader.string16("retention")) for _ in range(reader.u32("tombstone count"))]
    return page


def _tail_cursor(raw: bytes) -> TailCursor:
    if len(raw) != 9 or raw[0] != 2:
        raise ProtocolError(ErrorCode.INVALID_QUERY, "tail cursor is not one the daemon issued")
    return TailCursor(struct.unpack(">q", raw[1:])[0])


def decode_response(frame: Frame) -> Response:
    reader = Reader(frame.payload)
    result: Response
    kind = frame.kind
    if kind == MessageType.PONG:
        result = Pong(reader.u8("protocol version"), reader.string16("server"))
    elif kind == MessageType.ACK:
        result = Ack(reader.u32("committed"))
    elif kind == MessageType.EVENTS:
        events, cursor = reader.events_layout()
        result = EventsResult(events, None if cursor is None else EventCursor(cursor))
    elif kind == MessageType.COUNT_RESULT:
        result = CountResult(reader.u64("count"))
    elif kind == MessageType.STATS_RESULT:
        counters = [(reader.string16("name"), reader.i64("value")) for _ in range(reader.u16("counter count"))]
        facts = [(reader.string16("name"), reader.string16("value")) for _ in range(reader.u16("fact count"))]
        result = StatsResult(counters, facts)
    elif kind == MessageType.TAIL:
        missed = reader.u64("missed")
        events, cursor = reader.events_layout()
        result = TailBatch(missed, events, None if cursor is None else _tail_cursor(cursor))
    elif kind == MessageType.ERROR:
        code = reader.u16("code")
        flags = reader.u8("flags")
        result = ErrorResponse(code, bool(flags & 1), reader.string16("message"))
    elif kind == MessageType.JOBS_REPORT:
        rows = []
        for _ in range(reader.u16("row count")):
            job_type = reader.optional("job_type", reader.string16)
            started, completed, failed, running = (reader.u64(what) for what in ("started", "completed", "failed", "running"))
            p50, p95, longest = (reader.optional(what, reader.i64) for what in ("p50", "p95", "max"))
            rows.append(JobTypeRow(job_type, started, completed, failed, running, p50, p95, longest))
        slowest = []
        for _ in range(reader.u16("slowest count")):
            job_id = reader.uuid("job_id")
            job_type = reader.optional("job_type", reader.string16)
            outcome = reader.u8("outcome")
            slowest.append(SlowJob(job_id, job_type, outcome == 1, reader.i64("duration"), reader.i64("started")))
        result = JobsReport(rows, slowest, reader.u8("truncated") == 1)
    elif kind == MessageType.FAILURES_REPORT:
        by = FailureGrouping(reader.u8("by"))
        failures = [
            FailureRow(reader.optional("key", reader.string16), reader.u64("total"), reader.u64("failed")) for _ in range(reader.u16("row count"))
        ]
        result = FailuresReport(by, failures, reader.u8("truncated") == 1)
    elif kind == MessageType.ERRORS_REPORT:
        since, bucket_seconds, bucket_count = reader.i64("since"), reader.u32("bucket_seconds"), reader.u32("bucket_count")
        buckets = [
            ErrorBucketRow(reader.u32("bucket"), reader.string16("event_type"), reader.severity(), reader.u64("count"))
            for _ in range(reader.u32("row count"))
        ]
        result = ErrorsReport(since, bucket_seconds, bucket_count, buckets, reader.u8("truncated") == 1)
    elif kind == MessageType.RETENTION_STATUS:
        policy = reader.string16("policy")
        pass_started, pass_finished, next_pass = (
            reader.optional(what, reader.i64) for what in ("last_pass_started", "last_pass_finished", "next_pass"))
        rules = [
            RetentionRule(
                reader.string16("rule"), reader.optional("before", reader.i64), reader.u64("pending"), reader.u64("last_removed"),
                reader.u64("removed_since_start"))
            for _ in range(reader.u16("rule count"))
        ]
        result = RetentionStatus(policy, rules, pass_started, pass_finished, next_pass, reader.string16("note"))
    elif kind == MessageType.TREE_HEAD_RESULT:
        public_key = reader.take(reader.u8("public key length"), "public key")
        result = TreeHeadResult(public_key, reader.optional("head", reader.head))
    elif kind == MessageType.INCLUSION_PROOF:
        head = reader.head()
        event_id, sequence, leaf_index = reader.uuid("event_id"), reader.i64("sequence"), reader.u64("leaf_index")
        leaf = reader.take(32, "leaf hash")
        path = [reader.take(32, "path hash") for _ in range(reader.u8("path length"))]
        result = InclusionProof(event_id, sequence, leaf_index, leaf, path, head)
    elif kind == MessageType.TREE_PAGE:
        result = _tree_page(reader)
    else:
        raise ProtocolError(ErrorCode.UNKNOWN_MESSAGE_TYPE, f"response type {kind:#04x}")
    reader.end(MessageType(kind).name.lower())
    return result


# MARK: The fire-and-forget fast path

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_NONE = b"\x00"
_LOG_HEAD = struct.Struct(">IBBIB16sBq")
_SEVERITY_BYTES = (b"\x00", b"\x01", b"\x02")
def checked_identifier(name: str, value: str) -> bytes:
    """The field's UTF-8, or ValueError naming why the daemon would refuse it (§3)."""
    return prefixed_identifier(name, value)[2:]


_PREFIXED: Dict[Tuple[str, str], bytes] = {}


def prefixed_identifier(name: str, value: str) -> bytes:
    """The field as the wire carries it, `u16` length and UTF-8, checked as `checked_identifier` checks it
    and remembered (event and entity types repeat)."""
    known = _PREFIXED.get((name, value))
    if known is not None:
        return known
    data = _check_identifier(name, value)
    prefixed = _U16.pack(len(data)) + data
    if name != "entity_id":
        if len(_PREFIXED) >= 4096:
            _PREFIXED.clear()
        _PREFIXED[(name, value)] = prefixed
    return prefixed


def encode_prefixed_log_event(
    event_id: bytes, timestamp: int, fields: bytes, severity: int, worker_id: Optional[bytes], job_id: Optional[bytes],
    clip_id: Optional[bytes], metadata: bytes, flags: int = 0, request_id: int = 0,
) -> bytes:
    """`encode_log_event` for fire-and-forget calls, with event_type, entity_type and entity_id already
    length-prefixed and joined in `fields`: the fewest operations per call."""
    middle = b"".join((
        fields, _SEVERITY_BYTES[severity],
        _NONE if worker_id is None else b"\x01" + _U16.pack(len(worker_id)) + worker_id,
        _NONE if job_id is None else b"\x01" + job_id,
        _NONE if clip_id is None else b"\x01" + clip_id,
        _U32.pack(len(metadata)),
    ))
    # Header, flags, id and timestamp in one pack: 4 + 6 + 1 + 16 + 9 bytes, of which the length counts all but 4.
    head = _LOG_HEAD.pack(32 + len(middle) + len(metadata), VERSION, MessageType.LOG_EVENT, request_id, flags, event_id, 1, timestamp)
    return head + middle + metadata


def _check_identifier(name: str, value: str) -> bytes:
    if type(value) is not str:
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    data = value.encode("utf-8", "surrogatepass")
    if not data or len(data) > LIMITS[name]:
        raise ValueError(identifier_problem(name, value) or f"{name} is not acceptable")
    if not value.isascii() or not value.isprintable():
        if _FORBIDDEN.search(value):
            raise ValueError(identifier_problem(name, value) or f"{name} holds a control character")
    return data


def encode_log_event(
    event_id: bytes, timestamp: int, event_type: bytes, entity_type: bytes, entity_id: bytes, severity: int,
    worker_id: Optional[bytes], job_id: Optional[bytes], clip_id: Optional[bytes], metadata: bytes, flags: int = 0,
    request_id: int = 0,
) -> bytes:
    """A `log_event` frame from fields already encoded: what `encode_request(LogEvent(...))` writes, in one join."""
    fields = b"".join((_U16.pack(len(event_type)), event_type, _U16.pack(len(entity_type)), entity_type, _U16.pack(len(entity_id)), entity_id))
    return encode_prefixed_log_event(event_id, timestamp, fields, severity, worker_id, job_id, clip_id, metadata, flags, request_id)