"""Following the ledger live, on a connection of its own, resuming across lost connections."""

from __future__ import annotations

import socket
import time
from typing import Iterator, Optional

from . import protocol
from .protocol import Event, Filter, TailCursor


class TailFollower:
    """What a tail connection's bytes mean, for the sync and the async tail alike: the events to
    hand on, and where to resume after them (advanced before they are handed on, so a consumer
    that stops at one resumes after it)."""

    def __init__(self, cursor: Optional[TailCursor], reconnect: bool) -> None:
        self.cursor = cursor
        self.reconnect = reconnect
        self.decoder = protocol.FrameDecoder()
        #: Set when the daemon ended the tail for a reason a new connection may mend (shutting down, store away).
        self.ended = False

    def subscribe(self, filter: Filter) -> bytes:
        self.decoder = protocol.FrameDecoder()
        self.ended = False
        return protocol.encode_request(protocol.Subscribe(filter, self.cursor), 1)

    def feed(self, data: bytes) -> Iterator[Event]:
        from .client import LedgerError

        for frame in self.decoder.feed(data):
            response = protocol.decode_response(frame)
            if isinstance(response, protocol.ErrorResponse):
                if self.reconnect and response.code in (protocol.ErrorCode.SHUTTING_DOWN, protocol.ErrorCode.STORE_UNAVAILABLE):
                    self.ended = True
                    return
                raise LedgerError(LedgerError.REJECTED, f"ledgerd refused the tail: {response.name}: {response.message}", response.name)
            if not isinstance(response, protocol.TailBatch):
                raise LedgerError(LedgerError.PROTOCOL_VIOLATION, f"ledgerd answered a tail with {type(response).__name__}")
            for event in response.events:
                self.cursor = event.tail_cursor or self.cursor
                yield event
            if response.next is not None:
                self.cursor = response.next


def tail_events(
    path: str, filter: Filter, after: Optional[TailCursor], reconnect: bool, connect_timeout: float, maximum_backoff: float,
) -> Iterator[Event]:
    """Yields committed events in commit order; resumes after the last one yielded when the daemon comes back."""
    from .client import LedgerError

    follower = TailFollower(after, reconnect)
    backoff = 0.2
    while True:
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(connect_timeout)
            sock.connect(path)
            sock.settimeout(None)
        except OSError as error:
            sock.close()
            if not reconnect:
                raise LedgerError(LedgerError.UNREACHABLE, f"cannot connect to ledgerd at {path}: {error.strerror or error}") from None
            time.sleep(backoff)
            backoff = min(backoff * 2, maximum_backoff)
            continue
        try:
            sock.sendall(follower.subscribe(filter))
            while not follower.ended:
                data = sock.recv(1 << 16)
                if not data:
                    break
                for event in follower.feed(data):
                    backoff = 0.2
                    yield event
        except (OSError, protocol.ProtocolError):
            pass
        finally:
            sock.close()
        if not reconnect:
            raise LedgerError(LedgerError.CONNECTION_CLOSED, f"ledgerd at {path} ended the tail")
        time.sleep(backoff)
        backoff = min(backoff * 2, maximum_backoff)
