"""Timestamps as the protocol carries them: microseconds since 1970-01-01T00:00:00Z."""

from __future__ import annotations

import datetime
import time
from typing import Union

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def now_micros() -> int:
    return time.time_ns() // 1_000


def iso8601(micros: int) -> str:
    """`2026-11-25T07:50:13.993842Z`, as ledger-rpc prints times."""
    moment = _EPOCH + datetime.timedelta(microseconds=micros)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


def to_micros(value: Union[datetime.datetime, int, float]) -> int:
    """A datetime (naive ones are taken as UTC, as the seed stored them), or seconds since 1970."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{value!r} is not a datetime or a number of seconds")
    return int(value * 1_000_000)


def to_datetime(micros: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=micros)
