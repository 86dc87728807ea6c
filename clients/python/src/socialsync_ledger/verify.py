"""Checks what ledgerd's Merkle trees promise, written from docs/VERIFY.md alone.

Leaf hashes of events, tree roots (RFC 9162), inclusion and consistency proofs, and the Ed25519
signature of a tree head. Hashing needs only the standard library; checking a signature needs the
`cryptography` package (``pip install 'socialsync-ledger[verify]'``).
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Union

from .protocol import Event

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
]

HEAD_CONTEXT = b"SocialSyncLedger tree head v1\x00"
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


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head, as `ledger-rpc head --json` prints it."""

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
            raise VerificationError(f"not a tree head: {error}") from None
        if len(head.log_id) != 32 or len(head.root_hash) != 32 or len(head.signature) != 64:
            raise VerificationError("not a tree head: log_id and root_hash must be 32 bytes, signature 64")
        return head

    def signed_bytes(self) -> bytes:
        return HEAD_CONTEXT + self.log_id + struct.pack(">Q", self.tree_size) + self.root_hash + struct.pack(">q", self.timestamp_us)


@dataclass(frozen=True)
class InclusionProof:
    """An inclusion proof, as `ledger-rpc prove` prints it."""

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
            raise VerificationError(f"not an inclusion proof: {error}") from None


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
