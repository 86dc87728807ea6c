"""Every golden vector in Protocol/vectors decodes and re-encodes byte for byte, or fails as named."""

from __future__ import annotations

from pathlib import Path
import uuid
from typing import Dict, List, Tuple

import pytest

from socialsync_ledger import protocol

VECTORS = Path(__file__).resolve().parents[3] / "Protocol" / "vectors"


def load() -> List[Tuple[str, Dict[str, str], bytes]]:
    vectors = []
    for path in sorted(VECTORS.glob("*.hex")):
        headers: Dict[str, str] = {}
        hexes: List[str] = []
        for line in path.read_text().splitlines():
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                if value:
                    headers[key.strip()] = value.strip()
            elif line.strip():
                hexes.append(line)
        vectors.append((path.name, headers, bytes.fromhex(" ".join(hexes))))
    return vectors


def test_there_are_vectors_for_every_message() -> None:
    kinds = {data[5] for _, headers, data in load() if "expect-error" not in headers and len(data) > 5}
    assert {int(kind) for kind in protocol.MessageType} <= kinds


@pytest.mark.parametrize("name,headers,data", load(), ids=[name for name, _, _ in load()])
def test_vector(name: str, headers: Dict[str, str], data: bytes) -> None:
    decoder = protocol.FrameDecoder(protocol.DEFAULT_MAXIMUM_FRAME)
    expected = headers.get("expect-error")
    if expected:
        with pytest.raises(protocol.ProtocolError) as raised:
            for frame in decoder.feed(data):
                protocol.decode_request(frame)
        assert raised.value.code.name == expected
        return
    frames = decoder.feed(data)
    assert len(frames) == 1 and not decoder.buffer
    frame = frames[0]
    assert frame.request_id == int(headers["request_id"])
    if headers["direction"] == "request":
        assert protocol.encode_request(protocol.decode_request(frame), frame.request_id) == data
    else:
        assert protocol.encode_response(protocol.decode_response(frame), frame.request_id) == data


@pytest.mark.parametrize("worker,job,clip", [(None, None, None), ("worker-7", protocol.UNASSIGNED_ID, None), ("w", uuid.uuid4(), uuid.uuid4())])
def test_the_log_calls_fast_encoder_writes_what_the_careful_one_does(worker, job, clip) -> None:
    event = protocol.Event(
        id=uuid.uuid4(), timestamp=1_764_000_000_123_456, event_type="clip_created", entity_type="clip", entity_id="c-é",
        metadata='{"index":2}', severity=protocol.Severity.WARN, worker_id=worker, job_id=job, clip_id=clip)
    careful = protocol.encode_request(protocol.LogEvent(event), 0)
    fast = protocol.encode_log_event(
        event.id.bytes, event.timestamp, b"clip_created", b"clip", "c-é".encode(), 1, None if worker is None else worker.encode(),
        None if job is None else job.bytes, None if clip is None else clip.bytes, b'{"index":2}')
    assert fast == careful


@pytest.mark.parametrize("value", ["", "x" * 101, "a\x1bb", "a\u202eb", "a\x85b"])
def test_identifiers_the_daemon_refuses_are_refused_here(value: str) -> None:
    with pytest.raises(ValueError):
        protocol.checked_identifier("event_type", value)


def test_the_prefixed_fast_encoder_writes_what_the_careful_one_does() -> None:
    job = uuid.uuid4()
    event = protocol.Event(
        id=uuid.uuid4(), timestamp=42, event_type="job_created", entity_type="job", entity_id=str(job), metadata="{}", job_id=job)
    fields = protocol.prefixed_identifier("event_type", "job_created") + protocol.prefixed_identifier("entity_type", "job")
    fields += protocol.prefixed_identifier("entity_id", str(job))
    fast = protocol.encode_prefixed_log_event(event.id.bytes, 42, fields, 0, None, job.bytes, None, b"{}")
    assert fast == protocol.encode_request(protocol.LogEvent(event), 0)
