"""Client-assigned UUIDv7 event ids, so that a retried event is stored once."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid


class EventIDGenerator:
    """RFC 9562 UUIDv7: 48 bits of Unix milliseconds, then a 12-bit counter that keeps ids from one
    process ascending within a millisecond, then 62 random bits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0
        if hasattr(os, "register_at_fork"):
            # The child must not continue the parent's sequence with the parent's random state.
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def next(self) -> uuid.UUID:
        milliseconds = time.time_ns() // 1_000_000
        with self._lock:
            if milliseconds <= self._last_ms:
                self._counter += 1
                if self._counter > 0xFFF:
                    # Borrow the next millisecond rather than repeat or go back.
                    self._last_ms += 1
                    self._counter = 0
                milliseconds = self._last_ms
            else:
                self._last_ms = milliseconds
                self._counter = random.getrandbits(8)
            counter = self._counter
        value = (milliseconds & 0xFFFF_FFFF_FFFF) << 80
        value |= 0x7 << 76 | counter << 64
        value |= 0b10 << 62 | random.getrandbits(62)
        return uuid.UUID(int=value)


shared = EventIDGenerator()
