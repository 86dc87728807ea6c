"""The client for asyncio code (FastAPI handlers, asyncio workers): nothing here blocks the loop."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any, AsyncIterator, List, Optional, Union

from . import protocol
from .client import LedgerClient, LedgerError, Metadata, UUIDLike
from .protocol import Event, Filter, Severity, TailCursor


class AsyncLedgerClient:
    """Fire-and-forget calls as in `LedgerClient` (they never wait, so they are plain methods);
    acknowledged calls and queries as coroutines that wait in a worker thread, not on the loop."""

    def __init__(self, socket: Optional[str] = None, *, request_timeout: float = 10.0, client_name: Optional[str] = None) -> None:
        self.sync = LedgerClient(socket, request_timeout=request_timeout, client_name=client_name)

    # Fire-and-forget: a lock and an append, safe to call on the loop.
    def log_event(self, *args: Any, **kwargs: Any) -> Optional[uuid.UUID]:
        return self.sync.log_event(*args, **kwargs)

    def log_job_event(self, *args: Any, **kwargs: Any) -> Optional[uuid.UUID]:
        return self.sync.log_job_event(*args, **kwargs)

    def log_clip_event(self, *args: Any, **kwargs: Any) -> Optional[uuid.UUID]:
        return self.sync.log_clip_event(*args, **kwargs)

    @property
    def statistics(self) -> Any:
        return self.sync.statistics

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: function(*args, **kwargs))

    async def log_event_acked(
        self, event_type: str, entity_type: str, entity_id: Any, metadata: Metadata = None,
        severity: Union[Severity, str] = "INFO", worker_id: Optional[str] = None, job_id: UUIDLike = None,
        clip_id: UUIDLike = None, *, id: UUIDLike = None, timestamp: Union[None, datetime.datetime, int, float] = None,
        timeout: Optional[float] = None,
    ) -> uuid.UUID:
        return await self._call(
            self.sync.log_event_acked, event_type, entity_type, entity_id, metadata, severity, worker_id, job_id, clip_id,
            id=id, timestamp=timestamp, timeout=timeout)

    async def flush(self, timeout: float = 5.0) -> bool:
        return await self._call(self.sync.flush, timeout)

    async def ping(self) -> protocol.Pong:
        return await self._call(self.sync.ping)

    async def stats(self) -> dict:
        return await self._call(self.sync.stats)

    async def query(self, query: protocol.Query) -> protocol.EventsResult:
        return await self._call(self.sync.query, query)

    async def count(self, filter: Optional[Filter] = None) -> int:
        return await self._call(self.sync.count, filter)

    async def recent(self, limit: int = 50) -> List[Event]:
        return await self._call(self.sync.recent, limit)

    async def events_by_type(self, event_type: str, limit: int = 50) -> List[Event]:
        return await self._call(self.sync.events_by_type, event_type, limit)

    async def timeline(self, entity_type: str, entity_id: str, limit: int = 1000) -> List[Event]:
        return await self._call(self.sync.timeline, entity_type, entity_id, limit)

    async def events_for_job(self, job_id: UUIDLike, limit: int = 1000) -> List[Event]:
        return await self._call(self.sync.events_for_job, job_id, limit)

    async def error_count(self, since: Union[None, datetime.datetime, int, float] = None) -> int:
        return await self._call(self.sync.error_count, since)

    async def total(self) -> int:
        return await self._call(self.sync.total)

    async def tail(self, filter: Optional[Filter] = None, after: Optional[TailCursor] = None, reconnect: bool = True) -> AsyncIterator[Event]:
        """Committed events as they land, read on the loop itself (asyncio's own Unix connection)."""
        from .tail import TailFollower

        follower = TailFollower(after, reconnect)
        backoff = 0.2
        while True:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(self.sync.socket_path), self.sync.connect_timeout)
            except (OSError, asyncio.TimeoutError) as error:
                if not reconnect:
                    raise LedgerError(LedgerError.UNREACHABLE, f"cannot connect to ledgerd at {self.sync.socket_path}: {error}") from None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.sync.maximum_backoff)
                continue
            try:
                writer.write(follower.subscribe(filter or Filter()))
                await writer.drain()
                while not follower.ended:
                    data = await reader.read(1 << 16)
                    if not data:
                        break
                    for event in follower.feed(data):
                        backoff = 0.2
                        yield event
            except (OSError, protocol.ProtocolError):
                pass
            finally:
                writer.close()
            if not reconnect:
                raise LedgerError(LedgerError.CONNECTION_CLOSED, f"ledgerd at {self.sync.socket_path} ended the tail")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.sync.maximum_backoff)

    async def close(self) -> None:
        await self._call(self.sync.close)
