"""socialsync_ledger.verify against the definitions of RFC 9162 and against ledgerd and ledger-rpc:
the Python verifier, written from docs/VERIFY.md, must agree with the Swift one on every leaf, root,
proof and signature, and reject what it rejects."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import random
import subprocess
import threading
import uuid
from typing import List

import pytest

from socialsync_ledger import LedgerClient, protocol
from socialsync_ledger.verify import (
    EMPTY_ROOT,
    InclusionProof,
    TreeHead,
    VerificationError,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_events,
    verify_head,
    verify_inclusion,
    verify_ledger,
    verify_proof,
)

from conftest import Daemon, binary, rpc

REFERENCE_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
REFERENCE_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_roots_are_certificate_transparencys() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    leaves = [leaf_hash(bytes.fromhex(leaf)) for leaf in REFERENCE_LEAVES]
    for size, expected in enumerate(REFERENCE_ROOTS, start=1):
        assert root(leaves[:size]).hex() == expected


def mth(leaves: List[bytes]) -> bytes:
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: List[bytes]) -> List[bytes]:
    """PATH of RFC 9162, 2.1.3.1."""
    if len(leaves) <= 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: List[bytes], complete: bool) -> List[bytes]:
    """SUBPROOF of RFC 9162, 2.1.4.1."""
    if m == len(leaves):
        return [] if complete else [mth(leaves)]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def test_proofs_of_the_definition_verify_and_altered_ones_do_not() -> None:
    leaves = [leaf_hash(f"leaf {n}".encode()) for n in range(21)]
    for size in range(1, len(leaves) + 1):
        top = mth(leaves[:size])
        for index in range(size):
            proof = path(index, leaves[:size])
            assert verify_inclusion(leaves[index], index, size, proof, top)
            if proof:
                assert not verify_inclusion(leaves[index], index, size, [leaf_hash(b"x")] + proof[1:], top)
        for first in range(1, size):
            proof = subproof(first, leaves[:size], True)
            assert verify_consistency(first, mth(leaves[:first]), size, top, proof)
            changed = leaves[:first - 1] + [leaf_hash(b"changed")]
            assert not verify_consistency(first, mth(changed), size, top, proof)
        assert verify_consistency(size, top, size, top, [])
        assert verify_consistency(0, EMPTY_ROOT, size, top, [])


def head_of(daemon: Daemon) -> dict:
    result = rpc(daemon, "head", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def all_events(client: LedgerClient) -> List[protocol.Event]:
    events: List[protocol.Event] = []
    after = None
    while True:
        page = client.query(protocol.Query(protocol.Filter(), False, 1000, after))
        events += page.events
        if page.next is None:
            break
        after = page.next
    return sorted(events, key=lambda event: event.sequence or 0)


def test_python_and_ledger_rpc_agree_on_a_real_ledger(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)
    for n in range(120):
        # Keys out of order, escapes, numbers jsonb rewrites: the leaf takes the form a query returns.
        metadata = {"z": n, "a": "caf\u00e9 \"quoted\"", "big": 1.50, "nested": {"b": [1, 2], "a": None}}
        if n % 3 == 0:
            client.log_job_event(uuid.uuid4(), "job_processing_failed", metadata, severity="ERROR", worker_id=f"w-{n % 4}")
        else:
            client.log_event("video_uploaded", "video_asset", f"v-{n}", metadata)
    assert client.flush(30)
    head = head_of(daemon)
    assert head["tree_size"] == 120
    key = open(os.path.join(daemon.directory, "ledger-signing.key.pub")).read()

    events = all_events(client)
    verify_events(events, TreeHead.from_json(head), key)

    for event in random.sample(events, 5):
        result = rpc(daemon, "prove", str(event.id))
        assert result.returncode == 0, result.stderr
        proof = InclusionProof.from_json(json.loads(result.stdout))
        assert proof.leaf_hash == leaf_hash(event), "the Swift and Python leaf hashes of one event differ"
        verify_proof(proof, key, event)

    # A proof altered in each of its parts: both verifiers refuse it.
    result = rpc(daemon, "prove", str(events[7].id))
    original = json.loads(result.stdout)
    alterations = [
        ("inclusion_path", lambda proof: proof["inclusion_path"].__setitem__(0, "00" * 32)),
        ("leaf_index", lambda proof: proof.__setitem__("leaf_index", proof["leaf_index"] + 1)),
        ("root_hash", lambda proof: proof["tree_head"].__setitem__("root_hash", "11" * 32)),
        ("tree_size", lambda proof: proof["tree_head"].__setitem__("tree_size", 7)),
    ]
    for name, alter in alterations:
        altered = json.loads(result.stdout)
        alter(altered)
        with pytest.raises(VerificationError):
            verify_proof(InclusionProof.from_json(altered), key)
        path_file = os.path.join(daemon.directory, f"{name}.json")
        with open(path_file, "w") as handle:
            json.dump(altered, handle)
        swift = subprocess.run([binary("ledger-rpc"), "verify-proof", path_file, "--public-key", os.path.join(daemon.directory, "ledger-signing.key.pub")],
                               capture_output=True, text=True, timeout=60)
        assert swift.returncode == 1, f"ledger-rpc accepted a proof with its {name} altered"
    verify_proof(InclusionProof.from_json(original), key)

    # A stored event changed behind the daemon's back: neither verifier accepts the ledger.
    daemon.stop()
    store = os.path.join(daemon.directory, "ledger.sqlite")
    subprocess.run(["sqlite3", store, "UPDATE ledger_events SET entity_id = 'v-forged' WHERE seq = 50"], check=True)
    swift = subprocess.run([binary("ledger-rpc"), "verify", "--store", store, "--public-key", os.path.join(daemon.directory, "ledger-signing.key.pub"), "--json"],
                           capture_output=True, text=True, timeout=120)
    assert swift.returncode == 1 and json.loads(swift.stdout)["first_bad_leaf"]["leaf"] == 49
    daemon.start()
    tampered = all_events(LedgerClient(daemon.socket))
    with pytest.raises(VerificationError, match="not the signed root"):
        verify_events(tampered, TreeHead.from_json(head), key)


def test_a_head_signed_by_another_key_is_refused(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)
    client.log_event("video_uploaded", "video_asset", "v-1", {})
    assert client.flush(30)
    head = TreeHead.from_json(head_of(daemon))
    other = os.path.join(daemon.directory, "other.key")
    subprocess.run([binary("ledger-rpc"), "keygen", other], check=True, capture_output=True)
    with pytest.raises(VerificationError, match="not of the given key"):
        verify_events(all_events(client), head, open(other + ".pub").read())
    forged = TreeHead(head.log_id, head.tree_size, head.root_hash, head.timestamp_us + 1, head.signature)
    with pytest.raises(VerificationError, match="signature"):
        verify_events(all_events(client), forged, open(os.path.join(daemon.directory, "ledger-signing.key.pub")).read())


def swift_verify_through(daemon: Daemon) -> dict:
    result = subprocess.run([binary("ledger-rpc"), "verify", "--socket", daemon.socket, "--public-key",
                             os.path.join(daemon.directory, "ledger-signing.key.pub"), "--json"], capture_output=True, text=True, timeout=120)
    report = json.loads(result.stdout)
    assert (result.returncode == 0) == report["verified"], result.stderr
    return report


def test_the_client_fetches_heads_proofs_and_pages_that_both_verifiers_judge_alike(daemon: Daemon) -> None:
    client = LedgerClient(daemon.socket)
    for n in range(90):
        client.log_event("video_uploaded", "video_asset", f"v-{n}", {"n": n, "title": f"caf\u00e9 {n}", "ratio": 1.50})
    assert client.flush(30)
    key = open(os.path.join(daemon.directory, "ledger-signing.key.pub")).read()

    newest = client.tree_head()
    assert newest.head is not None and newest.head.tree_size == 90 and len(newest.public_key) == 32
    verify_head(newest.head, key)
    events = all_events(client)
    for event in random.sample(events, 5):
        proof = client.prove(event.id)
        verify_proof(proof, key, event)
        assert client.prove(event.id, proof.head.tree_size) == proof

    report = verify_ledger(client, key, page_size=16)
    assert report.verified, report
    assert (report.leaves, report.events_checked) == (90, 90) and report.heads_checked >= 1
    assert swift_verify_through(daemon)["verified"]

    # Changed behind the daemon's back, each the same way on both sides: the same first bad leaf.
    store = os.path.join(daemon.directory, "ledger.sqlite")
    for change, kind, leaf in [
        ("UPDATE ledger_events SET event_data = ' ' || event_data WHERE seq = 20", "modified", 19),
        ("UPDATE ledger_events SET seq = -seq WHERE seq IN (10, 30); UPDATE ledger_events SET seq = CASE seq WHEN -10 THEN 30 ELSE 10 END WHERE seq < 0",
         "reordered", 9),
        ("DELETE FROM ledger_events WHERE seq = 5", "removed", 4),
        # Before the first leaf, where no log's records reach: still inserted, and now the first bad leaf.
        ("INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, seq) "
         "VALUES ('01a00000-0000-7000-8000-000000000001', 1790000000000050, 'job_created', 'video_asset', 'v-x', '{}', 'INFO', 0)",
         "inserted", None),
    ]:
        subprocess.run(["sqlite3", store, change], check=True)
        report = verify_ledger(client, key, page_size=16)
        swift = swift_verify_through(daemon)
        assert not report.verified and report.first_bad_leaf is not None
        assert (report.first_bad_leaf.kind, report.first_bad_leaf.leaf) == (kind, leaf)
        assert swift["first_bad_leaf"]["kind"] == kind and swift["first_bad_leaf"]["leaf"] == leaf
        assert str(report.first_bad_leaf.event_id) == swift["first_bad_leaf"]["event_id"]


def logged(daemon: Daemon, count: int, prefix: str = "v") -> LedgerClient:
    """A client of the daemon once it has logged and committed `count` events."""
    client = LedgerClient(daemon.socket)
    for n in range(count):
        client.log_event("video_uploaded", "video_asset", f"{prefix}-{n}", {"n": n})
    assert client.flush(30)
    return client


def test_a_tombstone_written_into_the_store_excuses_nothing_to_either_verifier(daemon: Daemon) -> None:
    client = logged(daemon, 40)
    key = open(os.path.join(daemon.directory, "ledger-signing.key.pub")).read()
    store = os.path.join(daemon.directory, "ledger.sqlite")
    ordinary = str(all_events(client)[6].id)
    forged = "01a00000-0000-7000-8000-0000000000aa"
    for setup, name, first_bad in [
        ("", ordinary, None),
        ("INSERT INTO ledger_events (id, timestamp, event_type, entity_type, entity_id, event_data, severity, seq) "
         f"VALUES ('{forged}', 1790000000000050, 'ledger_retention', 'ledger_retention_rule', 'video_uploaded=7d', '{{}}', 'WARN', 0);",
         forged, "inserted"),
    ]:
        seq = 12 if first_bad is None else 13
        subprocess.run(["sqlite3", store, f"{setup} DELETE FROM ledger_events WHERE seq = {seq}; "
                        f"INSERT INTO ledger_tree_tombstones (seq, retention) VALUES ({seq}, '{name}')"], check=True)
        report = verify_ledger(client, key, page_size=16)
        swift = swift_verify_through(daemon)
        assert not report.verified and not swift["verified"]
        assert any(name in problem for problem in report.problems), report.problems
        assert any(name in problem for problem in swift["problems"]), swift["problems"]
        if first_bad is None:
            assert report.first_bad_leaf is None and swift["first_bad_leaf"] is None
        else:
            assert report.first_bad_leaf is not None and (report.first_bad_leaf.kind, str(report.first_bad_leaf.event_id)) == (first_bad, forged)
            assert (swift["first_bad_leaf"]["kind"], swift["first_bad_leaf"]["event_id"]) == (first_bad, forged)


def test_another_log_fails_verification_unless_only_the_given_log_is_judged(daemon: Daemon) -> None:
    logged(daemon, 10)
    key = open(os.path.join(daemon.directory, "ledger-signing.key.pub")).read()
    # A second log, as a daemon restarted with another key makes one, or as anyone who can write the
    # store could, to cover events inserted under a key of their own.
    daemon.stop()
    other = os.path.join(daemon.directory, "other.key")
    subprocess.run([binary("ledger-rpc"), "keygen", other], check=True, capture_output=True)
    daemon.extra = ["--signing-key", other]
    daemon.start()
    client = logged(daemon, 5, prefix="w")

    report = verify_ledger(client, key)
    assert not report.verified and any("its key was not given" in problem for problem in report.problems), report.problems
    judged = verify_ledger(client, key, ignore_other_logs=True)
    assert judged.verified and (judged.leaves, judged.events_checked) == (10, 15), judged
    assert verify_ledger(client, open(other + ".pub").read(), ignore_other_logs=True).verified


def test_a_ledger_verified_while_it_takes_events_verifies(daemon: Daemon) -> None:
    client = logged(daemon, 500)
    key = open(os.path.join(daemon.directory, "ledger-signing.key.pub")).read()
    stop = threading.Event()

    def load() -> None:
        writer = LedgerClient(daemon.socket)
        n = 0
        while not stop.is_set():
            for _ in range(50):
                writer.log_event("job_created", "job", f"j-{n}", {"n": n})
                n += 1
            writer.flush(30)

    thread = threading.Thread(target=load)
    thread.start()
    # Each within a deadline: a verifier that chased the newest commits would never end (it ends
    # once the fixture stops the daemon).
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        for _ in range(3):
            report = pool.submit(verify_ledger, client, key, 256).result(timeout=120)
            assert report.verified, report
    finally:
        stop.set()
        thread.join(60)
        pool.shutdown(wait=False)
