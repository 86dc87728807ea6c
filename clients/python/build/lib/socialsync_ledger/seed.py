"""The seed's `app.ledger` API, so a service migrates by changing one import line.

    from app.ledger import log_event, log_job_event          # before
    from socialsync_ledger.seed import log_event, log_job_event  # after

The log functions are coroutines that take the caller's `db` session and ignore it, never raise,
and return the event (or None when it could not be sent); the query helpers are the seed's
`ledger.py`. They all use one client per process, found as ledger-rpc finds the daemon
(`LEDGER_SOCKET` first); `configure(socket=...)` picks another.
"""

from __future__ import annotations

import datetime
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any, List, Optional, Union

from .aio import AsyncLedgerClient
from .protocol import Event, Severity
from .timestamps import now_micros, to_datetime

#: The seed's enum, by its name there.
EventSeverity = Severity

logger = logging.getLogger("socialsync_ledger.seed")

_lock = threading.Lock()
_client: Optional[AsyncLedgerClient] = None


def configure(socket: Optional[str] = None, **options: Any) -> AsyncLedgerClient:
    """Replaces the process's client (tests, a non-default socket)."""
    global _client
    with _lock:
        _client = AsyncLedgerClient(socket, **options)
        return _client


def client() -> AsyncLedgerClient:
    global _client
    with _lock:
        if _client is None:
            _client = AsyncLedgerClient()
        return _client


@dataclass
class LedgerEvent:
    """A row as the seed's `LedgerEvent` model read it."""

    id: uuid.UUID
    timestamp: datetime.datetime
    event_type: str
    entity_type: str
    entity_id: str
    event_data: Any
    severity: Severity
    worker_id: Optional[str]
    job_id: Optional[uuid.UUID]
    clip_id: Optional[uuid.UUID]

    @property
    def metadata(self) -> Any:
        return self.event_data

    @classmethod
    def of(cls, event: Event) -> "LedgerEvent":
        return cls(
            id=event.id, timestamp=to_datetime(event.timestamp if event.timestamp is not None else now_micros()),
            event_type=event.event_type, entity_type=event.entity_type, entity_id=event.entity_id, event_data=event.event_data,
            severity=event.severity, worker_id=event.worker_id, job_id=event.job_id, clip_id=event.clip_id,
        )

    def to_dict(self) -> dict:
        """The seed's `/debug/ledger/recent` shape for one event."""
        return {
            "id": str(self.id), "timestamp": self.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%f"), "event_type": self.event_type,
            "entity_type": self.entity_type, "entity_id": self.entity_id, "metadata": self.event_data,
            "severity": self.severity.name, "worker_id": self.worker_id,
            "job_id": str(self.job_id) if self.job_id else None, "clip_id": str(self.clip_id) if self.clip_id else None,
        }


def _sent(event_id: Optional[uuid.UUID], **fields: Any) -> Optional[LedgerEvent]:
    if event_id is None:
        return None
    try:
        return LedgerEvent(id=event_id, timestamp=datetime.datetime.now(datetime.timezone.utc), **fields)
    except Exception:  # pragma: no cover - the seed's promise: never break the caller
        return None


async def log_event(
    db: Any, event_type: str, entity_type: str, entity_id: Any, metadata: Any = None, severity: Union[Severity, str] = "INFO",
    worker_id: Optional[str] = None, job_id: Any = None, clip_id: Any = None,
) -> Optional[LedgerEvent]:
    try:
        event_id = client().log_event(event_type, entity_type, entity_id, metadata, severity, worker_id, job_id, clip_id)
        return _sent(
            event_id, event_type=event_type, entity_type=entity_type, entity_id=str(entity_id), event_data=metadata or {},
            severity=Severity.parse(severity), worker_id=worker_id, job_id=_as_uuid(job_id), clip_id=_as_uuid(clip_id))
    except Exception as error:  # never break the caller's flow
        logger.error("Failed to log event: %s", error)
        return None


async def log_job_event(
    db: Any, job_id: Any, event_type: str, metadata: Any = None, severity: Union[Severity, str] = "INFO", worker_id: Optional[str] = None,
) -> Optional[LedgerEvent]:
    try:
        event_id = client().log_job_event(job_id, event_type, metadata, severity, worker_id)
        return _sent(
            event_id, event_type=event_type, entity_type="job", entity_id=str(job_id), event_data=metadata or {},
            severity=Severity.parse(severity), worker_id=worker_id, job_id=_as_uuid(job_id), clip_id=None)
    except Exception as error:
        logger.error("Failed to log job event: %s", error)
        return None


async def log_clip_event(
    db: Any, clip_id: Any, event_type: str, metadata: Any = None, job_id: Any = None, severity: Union[Severity, str] = "INFO",
    worker_id: Optional[str] = None,
) -> Optional[LedgerEvent]:
    try:
        event_id = client().log_clip_event(clip_id, event_type, metadata, severity, worker_id, job_id)
        return _sent(
            event_id, event_type=event_type, entity_type="clip", entity_id=str(clip_id), event_data=metadata or {},
            severity=Severity.parse(severity), worker_id=worker_id, job_id=_as_uuid(job_id), clip_id=_as_uuid(clip_id))
    except Exception as error:
        logger.error("Failed to log clip event: %s", error)
        return None


async def get_recent_events(db: Any, limit: int = 50) -> List[LedgerEvent]:
    return [LedgerEvent.of(event) for event in await client().recent(limit)]


async def get_events_by_type(db: Any, event_type: str, limit: int = 100) -> List[LedgerEvent]:
    return [LedgerEvent.of(event) for event in await client().events_by_type(event_type, limit)]


async def get_events_by_entity(db: Any, entity_type: str, entity_id: Any) -> List[LedgerEvent]:
    return [LedgerEvent.of(event) for event in await client().timeline(entity_type, str(entity_id))]


async def get_events_by_job(db: Any, job_id: Any) -> List[LedgerEvent]:
    return [LedgerEvent.of(event) for event in await client().events_for_job(job_id)]


async def get_error_count(db: Any, since: Optional[datetime.datetime] = None) -> int:
    return await client().error_count(since)


async def get_total_events(db: Any) -> int:
    return await client().total()


def _as_uuid(value: Any) -> Optional[uuid.UUID]:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
