"""Checks what ledgerd's Merkle trees promise, written from docs/VERIFY.md alone.

Leaf hashes of events, tree roots (RFC 9162), inclusion and consistency proofs, and the Ed25519
signature of a tree head. Hashing needs only the standard library; checking a signature needs the
`cryptography` package (``pip install 'socialsync-ledger[verify]'``).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import struct
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from .protocol import HEAD_CONTEXT, Event, InclusionProof, TreeHead, TreeLog

__all__ = [
    "EMPTY_ROOT",
    "TreeHead",
    "InclusionProof",
    "VerificationError",
    "leaf_bytes",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_inclusion",
    "verify_consistency",
    "verify_head",
    "verify_proof",
    "verify_events",
    "verify_ledger",
    "BadLeaf",
    "LedgerReport",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class VerificationError(Exception):
    """A head, a proof or a log that does not check out; the message says what failed."""


def leaf_bytes(event: Event) -> bytes:
    """The leaf of a stored event: its protocol encoding (timestamp present, metadata as a query
    returns it), its sender, and its commit sequence (docs/VERIFY.md, "The leaf")."""
    if event.timestamp is None or event.sequence is None:
        raise VerificationError(f"event {event.id} has no timestamp or sequence: only a stored event, as a query returns it, is a leaf")
    out = bytearray(event.id.bytes)
    out += b"\x01" + struct.pack(">q", event.timestamp)
    for text in (event.event_type, event.entity_type, event.entity_id):
        raw = text.encode("utf-8")
        out += struct.pack(">H", len(raw)) + raw
    out += struct.pack(">B", int(event.severity))
    if event.worker_id is None:
        out += b"\x00"
    else:
        raw = event.worker_id.encode("utf-8")
        out += b"\x01" + struct.pack(">H", len(raw)) + raw
    for optional in (event.job_id, event.clip_id):
        out += b"\x00" if optional is None else b"\x01" + optional.bytes
    metadata = (event.metadata or "{}").encode("utf-8")
    out += struct.pack(">I", len(metadata)) + metadata
    if event.peer is None:
        out += b"\x00"
    else:
        out += b"\x01" + struct.pack(">Ii", event.peer.uid, event.peer.pid)
    out += struct.pack(">q", event.sequence)
    return bytes(out)


def leaf_hash(event: Union[Event, bytes]) -> bytes:
    """SHA-256(0x00 || leaf)."""
    data = event if isinstance(event, bytes) else leaf_bytes(event)
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """The Merkle Tree Hash of RFC 9162 (2.1.1) over leaf hashes in order, kept as a frontier."""
    frontier: List[bytes] = []
    size = 0
    for leaf in leaf_hashes:
        value = leaf
        remaining = size
        while remaining & 1:
            value = node_hash(frontier.pop(), value)
            remaining >>= 1
        frontier.append(value)
        size += 1
    if not frontier:
        return EMPTY_ROOT
    value = frontier[-1]
    for left in reversed(frontier[:-1]):
        value = node_hash(left, value)
    return value


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes) -> bool:
    """RFC 9162, 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, value = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            value = node_hash(sibling, value)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            value = node_hash(value, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and value == expected_root


def verify_consistency(first: int, first_root: bytes, second: int, second_root: bytes, path: Sequence[bytes]) -> bool:
    """RFC 9162, 2.1.4.2; a tree is consistent with itself, and every tree with the empty one."""
    if first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path and first_root == EMPTY_ROOT
    if not path:
        return False
    nodes = list(path)
    if first & (first - 1) == 0:
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for node in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def _public_key(pem: Union[str, bytes]):  # type: ignore[no-untyped-def]
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError:
        raise VerificationError("checking a signature needs the cryptography package: pip install 'socialsync-ledger[verify]'") from None
    key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise VerificationError("the public key is not an Ed25519 key")
    return key


def log_id(public_key_pem: Union[str, bytes]) -> bytes:
    """SHA-256 of the raw 32-byte Ed25519 public key: the log's name."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = _public_key(public_key_pem).public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).digest()


def verify_head(head: TreeHead, public_key_pem: Union[str, bytes]) -> None:
    """Raises unless `head` is of the key's log and signed by it."""
    from cryptography.exceptions import InvalidSignature

    key = _public_key(public_key_pem)
    if head.log_id != log_id(public_key_pem):
        raise VerificationError(f"the head is of log {head.log_id.hex()}, not of the given key's log {log_id(public_key_pem).hex()}")
    try:
        key.verify(head.signature, head.signed_bytes())
    except InvalidSignature:
        raise VerificationError("the head's signature is not the given key's") from None


def verify_proof(proof: InclusionProof, public_key_pem: Union[str, bytes], event: Optional[Event] = None) -> None:
    """Raises unless the proof's head is signed by the key and its path leads from the leaf to the
    head's root; with `event`, also unless the proof is of that event as stored."""
    verify_head(proof.head, public_key_pem)
    if event is not None:
        if event.id != proof.event_id or leaf_hash(event) != proof.leaf_hash:
            raise VerificationError(f"event {event.id} does not hash to the proof's leaf")
    if not verify_inclusion(proof.leaf_hash, proof.leaf_index, proof.head.tree_size, proof.path, proof.head.root_hash):
        raise VerificationError(f"the inclusion path does not lead from leaf {proof.leaf_index} to the signed root of {proof.head.tree_size} leaves")


def verify_events(events: Iterable[Event], head: TreeHead, public_key_pem: Union[str, bytes]) -> None:
    """Raises unless the first `head.tree_size` events (one log's, in commit order) are exactly the
    leaves the head signed."""
    verify_head(head, public_key_pem)
    hashes: List[bytes] = []
    for event in events:
        if len(hashes) == head.tree_size:
            break
        hashes.append(leaf_hash(event))
    if len(hashes) < head.tree_size:
        raise VerificationError(f"the head signs {head.tree_size} leaves, only {len(hashes)} events were given")
    if root(hashes) != head.root_hash:
        raise VerificationError(f"the events' tree root {root(hashes).hex()} is not the signed root {head.root_hash.hex()}")


class _Frontier:
    """A tree's compact range: the roots of its perfect subtrees, largest first (RFC 9162's MTH, incrementally)."""

    def __init__(self) -> None:
        self.size = 0
        self.roots: List[bytes] = []

    def append(self, leaf: bytes) -> None:
        self.roots.append(leaf)
        self.size += 1
        size = self.size
        while size % 2 == 0:
            right = self.roots.pop()
            self.roots.append(node_hash(self.roots.pop(), right))
            size //= 2

    def root(self) -> bytes:
        if not self.roots:
            return EMPTY_ROOT
        value = self.roots[-1]
        for left in reversed(self.roots[:-1]):
            value = node_hash(left, value)
        return value


@dataclass
class BadLeaf:
    """The first leaf that does not check out: `modified`, `removed`, `inserted` or `reordered`."""

    kind: str
    sequence: int
    event_id: uuid.UUID
    leaf: Optional[int]


@dataclass
class LedgerReport:
    verified: bool
    leaves: int = 0
    events_checked: int = 0
    removed_by_retention: int = 0
    heads_checked: int = 0
    first_bad_leaf: Optional[BadLeaf] = None
    problems: List[str] = field(default_factory=list)


def _pages(read: Callable[[int], List[Any]], position: Callable[[Any], int], start: int) -> Iterator[Any]:
    """Every item of a list read a page at a time, each page after the last item's position; an empty page ends it.
    A read after the least position includes it, so each page after the first keeps only what comes after the last."""
    first = True
    while True:
        page = read(start) if first else [item for item in read(start) if position(item) > start]
        first = False
        if not page:
            return
        yield from page
        start = position(page[-1])


def newest_sequence(client: Any) -> Optional[int]:
    """The newest stored event's sequence, found with the one read every daemon answers (events after a
    sequence) by halving the range; None without events."""
    from .protocol import TreeRead, TreeReadPart

    def after(position: int) -> Optional[int]:
        found = client.tree_read(TreeRead(TreeReadPart.EVENTS, position=position, limit=1)).events
        return found[0].sequence if found else None

    low = after(-2**63)
    if low is None:
        return None
    # An event stands at `low`, and none stood after `high` when it was looked for.
    high = 2**63 - 1
    while low < high:
        middle = low + (high - low) // 2
        found = after(middle)
        if found is not None and found > low:
            low = found
        else:
            high = middle
    return low


def verify_ledger(client: Any, public_key_pem: Union[str, bytes], page_size: int = 4096, ignore_other_logs: bool = False) -> LedgerReport:
    """Checks the ledger a daemon relays (`LedgerClient.tree_read`) against the log of `public_key_pem`,
    as `ledger-rpc verify` does (docs/VERIFY.md, "Verifying"): every event against its leaf record,
    every record against its event or retention's tombstone, the records' tree against every signed
    head. The report names the first bad leaf. Holds a page of each list at a time.

    Another log with leaves fails it, as anyone who can write the store can add a log to cover the
    events they insert, unless `ignore_other_logs` (`ledger-rpc verify --ignore-other-logs`): its
    events then still stand as its leaves, unjudged."""
    from .protocol import TreeRead, TreeReadPart

    ours = log_id(public_key_pem)
    report = LedgerReport(verified=False)
    logs = client.tree_read(TreeRead(TreeReadPart.LOGS)).logs
    if not any(log.log_id == ours for log in logs):
        report.problems.append(f"the ledger holds no log of the given key (log id {ours.hex()})")
        return report
    for log in logs:
        if log.log_id != ours and log.size > 0 and not ignore_other_logs:
            report.problems.append(f"log {log.log_id.hex()} holds {log.size} leaves and its key was not given, so its events are not verified")

    # Heads up to the newest one now: one signed while the walk goes on is not held against it.
    newest = client.tree_read(TreeRead(TreeReadPart.LATEST_HEAD, ours)).heads
    newest_size = newest[0].tree_size if newest else 0
    # What is judged is the ledger as of now, as one snapshot would show it, even on a ledger that
    # takes commits while it is read: the events up to the newest one now (all committed with their
    # leaves, since commits are numbered in the order they land), and the leaves the logs held when
    # their sizes were read or that those events account for.
    through = newest_sequence(client)

    def records(log: TreeLog) -> Iterator[Tuple[int, int, uuid.UUID, bytes, bool]]:
        leaf = 0
        while True:
            raw = client.tree_read(TreeRead(TreeReadPart.LEAF_RECORDS, log.log_id, leaf, 65_536)).records
            if not raw:
                return
            for offset in range(0, len(raw), 56):
                (sequence,) = struct.unpack_from(">q", raw, offset)
                if leaf >= log.size and (through is None or sequence > through):
                    return
                yield sequence, leaf, uuid.UUID(bytes=raw[offset + 8 : offset + 24]), raw[offset + 24 : offset + 56], log.log_id == ours
                leaf += 1

    def read_tombstones(after: int) -> Iterator[Tuple[int, str]]:
        return _pages(lambda position: client.tree_read(TreeRead(TreeReadPart.TOMBSTONES, position=position, limit=32_768)).tombstones,
                      lambda item: item[0], after)

    every_record = heapq.merge(*(records(log) for log in logs))
    events = itertools.takewhile(lambda event: through is not None and event.sequence <= through, _pages(
        lambda after: client.tree_read(TreeRead(TreeReadPart.EVENTS, position=after, limit=page_size)).events, lambda event: event.sequence, -2**63))
    tombstones = read_tombstones(-2**63)
    tombstone = next(tombstones, None)
    # A purge while the ledger is read may bury an event after the tombstones' page was read: before a
    # removal is reported, they are read again from there, at most once a page of leaves.
    walked = 0
    tombstones_read_again_at = -1
    # Per pass named by a tombstone of this log: how many leaves it excuses, and the newest of them.
    passes: Dict[str, List[int]] = {}
    heads = itertools.takewhile(lambda head: head.tree_size <= newest_size, _pages(
        lambda size: client.tree_read(TreeRead(TreeReadPart.HEADS, ours, size, 1024)).heads, lambda head: head.tree_size + 1, 1))
    next_head = next(heads, None)
    frontier = _Frontier()
    moved: set = set()

    def bad(kind: str, sequence: int, event_id: uuid.UUID, leaf: Optional[int]) -> None:
        if report.first_bad_leaf is None:
            report.first_bad_leaf = BadLeaf(kind, sequence, event_id, leaf)

    def tombstoned(sequence: int) -> bool:
        nonlocal tombstone, tombstones, tombstones_read_again_at
        while tombstone is not None and tombstone[0] < sequence:
            tombstone = next(tombstones, None)
        if (tombstone is None or tombstone[0] != sequence) and walked // page_size > tombstones_read_again_at:
            # A purge while the ledger is read may have buried it after the tombstones' page was read.
            tombstones_read_again_at = walked // page_size
            tombstones = read_tombstones(sequence - 1)
            tombstone = next(tombstones, None)
        if tombstone is None or tombstone[0] != sequence:
            return False
        excused = passes.setdefault(tombstone[1], [0, sequence])
        excused[0] += 1
        excused[1] = sequence
        return True

    def pass_problem(name: str, removed: int, newest: int) -> Optional[str]:
        """Why a pass's tombstones excuse nothing, or None: it must be a stored ledger_retention event that
        is a leaf of a log, committed after every leaf it removed (docs/VERIFY.md, "Verifying")."""
        named = f"{removed} leaves have tombstones naming {name}"
        try:
            pass_id = uuid.UUID(name)
        except ValueError:
            pass_id = None
        stored = None if pass_id is None else client.tree_read(TreeRead(TreeReadPart.SEQUENCE_OF_EVENT, event_id=pass_id)).number
        found = [] if stored is None or stored <= -2**63 else \
            client.tree_read(TreeRead(TreeReadPart.EVENTS, position=stored - 1, limit=1)).events
        if stored is None or not found or found[0].id != pass_id or found[0].event_type != "ledger_retention":
            return f"{named}, which is no recorded ledger_retention event: they were removed by something else"
        sequence: int = stored
        if not any(client.tree_read(TreeRead(TreeReadPart.LEAF_OF_SEQUENCE, log.log_id, sequence)).number is not None for log in logs):
            return f"{named}, a ledger_retention event at sequence {sequence} that is in no log's records: a record written into the store excuses nothing"
        if newest >= sequence:
            return (f"{named}, whose record was committed at sequence {sequence}, before the leaf at sequence {newest}: "
                    "a pass removes only what was committed before its record")
        return None

    def stands_elsewhere(event_id: uuid.UUID, sequence: int) -> bool:
        found = client.tree_read(TreeRead(TreeReadPart.SEQUENCE_OF_EVENT, event_id=event_id)).number
        return found is not None and found != sequence

    record = next(every_record, None)
    event = next(events, None)
    while record is not None or event is not None:
        if record is not None and (event is None or record[0] <= event.sequence):
            sequence, leaf, record_id, hashed, mine = record
            walked += 1
            if event is not None and event.sequence == sequence:
                report.events_checked += 1
                if mine and event.id != record_id:
                    bad("reordered" if stands_elsewhere(record_id, sequence) else "modified", sequence, record_id, leaf)
                    moved.add(record_id)
                elif mine and leaf_hash(event) != hashed:
                    bad("modified", sequence, event.id, leaf)
                event = next(events, None)
            elif mine and tombstoned(sequence):
                report.removed_by_retention += 1
            elif mine:
                if stands_elsewhere(record_id, sequence):
                    moved.add(record_id)
                    bad("reordered", sequence, record_id, leaf)
                else:
                    bad("removed", sequence, record_id, leaf)
            if mine:
                frontier.append(hashed)
                while next_head is not None and next_head.tree_size == frontier.size:
                    report.heads_checked += 1
                    try:
                        verify_head(next_head, public_key_pem)
                    except VerificationError as error:
                        report.problems.append(f"the head of {next_head.tree_size} leaves: {error}")
                    if next_head.root_hash != frontier.root():
                        report.problems.append(f"records before leaf {frontier.size} were changed: the head of {next_head.tree_size} leaves signed another root")
                    next_head = next(heads, None)
            record = next(every_record, None)
        else:
            assert event is not None
            report.events_checked += 1
            # Every stored event is some log's leaf (the first log adopts those stored before it).
            if event.id not in moved:
                bad("inserted", event.sequence, event.id, None)
            event = next(events, None)
    for name, (removed, newest) in sorted(passes.items()):
        problem = pass_problem(name, removed, newest)
        if problem is not None:
            report.problems.append(problem)
    report.leaves = frontier.size
    if next_head is not None:
        report.problems.append(f"a head of {next_head.tree_size} leaves was signed, but the log has {frontier.size} leaves")
    report.verified = report.first_bad_leaf is None and not report.problems
    return report
