"""Following the ledger live, on a connection of its own, resuming across lost connections."""

from __future__ import annotations

import socket
import time
from typing import Iterator, Optional

from . import protocol
from .protocol import Event, Filter, TailCursor


def tail_events(
    path: str, filter: Filter, after: Optional[TailCursor], reconnect: bool, connect_timeout: float, maximum_backoff: float,
) -> Iterator[Event]:
    """Yields committed events in commit order; resumes after the last one yielded when the daemon comes back."""
    from .client import LedgerError

    cursor = after
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
            sock.sendall(protocol.encode_request(protocol.Subscribe(filter, cursor), 1))
            decoder = protocol.FrameDecoder()
            while True:
                data = sock.recv(1 << 16)
                if not data:
                    break
                for frame in decoder.feed(data):
                    response = protocol.decode_response(frame)
                    if isinstance(response, protocol.ErrorResponse):
                        if response.code in (protocol.ErrorCode.SHUTTING_DOWN, protocol.ErrorCode.STORE_UNAVAILABLE) and reconnect:
                            break
                        raise LedgerError(LedgerError.REJECTED, f"ledgerd refused the tail: {response.name}: {response.message}", response.name)
                    if not isinstance(response, protocol.TailBatch):
                        raise LedgerError(LedgerError.PROTOCOL_VIOLATION, f"ledgerd answered a tail with {type(response).__name__}")
                    backoff = 0.2
                    for event in response.events:
                        # Advanced before the yield: a consumer that stops here resumes after this event.
                        cursor = event.tail_cursor or cursor
                        yield event
                    if response.next is not None:
                        cursor = response.next
        except (OSError, protocol.ProtocolError):
            pass
        finally:
            sock.close()
        if not reconnect:
            raise LedgerError(LedgerError.CONNECTION_CLOSED, f"ledgerd at {path} ended the tail")
        time.sleep(backoff)
        backoff = min(backoff * 2, maximum_backoff)
