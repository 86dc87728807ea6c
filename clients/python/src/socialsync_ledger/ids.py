"""Client-assigned UUIDv7 event ids, so that a retried event is stored once."""

from __future__ import annotations

import itertools
import random
import time
import uuid


class EventIDGenerator:
    """RFC 9562 UUIDv7: 48 bits of Unix milliseconds, 12 bits of a process-wide counter (ids made
    in one millisecond differ there, and mostly ascend), then 62 random bits.

    No lock: `next()` on a counter is atomic in CPython, and the random bits keep two threads'
    ids apart even when their counters wrap together. `random` reseeds itself in a forked child,
    so a child never repeats its parent's ids.
    """

    def __init__(self) -> None:
        self._counter = itertools.count()

    def next(self) -> uuid.UUID:
        return uuid.UUID(int=self.next_int())

    def next_int(self) -> int:
        """The next id as its 128-bit value (the log call's fast path builds no UUID to get it)."""
        return (
            (time.time_ns() // 1_000_000 & 0xFFFF_FFFF_FFFF) << 80
            | 0x7 << 76
            | (next(self._counter) & 0xFFF) << 64
            | 0b10 << 62
            | random.getrandbits(62)
        )


shared = EventIDGenerator()

_new = object.__new__
_set = object.__setattr__
_unknown = uuid.SafeUUID.unknown


def uuid_from_int(value: int) -> uuid.UUID:
    """A UUID from a value known to be a valid UUIDv7, without `uuid.UUID.__init__`'s checks (a third of its cost)."""
    made = _new(uuid.UUID)
    _set(made, "int", value)
    _set(made, "is_safe", _unknown)
    return made
