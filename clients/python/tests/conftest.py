"""The real ledgerd, built by scripts/test.sh, started per test on a fresh socket and store."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

REPOSITORY = Path(__file__).resolve().parents[3]


def binary(name: str) -> str:
    directory = os.environ.get("LEDGER_BIN_DIR") or str(REPOSITORY / ".build" / "debug")
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: build with `swift build` or run scripts/test.sh")
    return path


class Daemon:
    """One ledgerd process; restartable on the same socket and store."""

    def __init__(self, directory: str, store: Optional[str] = None, extra: Optional[List[str]] = None) -> None:
        self.directory = directory
        self.socket = os.path.join(directory, "ledgerd.sock")
        self.store = store or f"sqlite:{directory}/ledger.sqlite"
        self.extra = extra or []
        self.process: Optional[subprocess.Popen] = None
        self.start()

    def start(self) -> None:
        log = open(os.path.join(self.directory, "ledgerd.log"), "ab")
        self.process = subprocess.Popen(
            [binary("ledgerd"), "--socket", self.socket, "--store", self.store] + self.extra,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ledgerd exited with {self.process.returncode}: {self.log()}")
            if "ready socket=" in self.log():
                if self.log().count("ready socket=") > self.starts:
                    self.starts += 1
                    return
            time.sleep(0.02)
        raise RuntimeError(f"ledgerd did not become ready: {self.log()}")

    starts = 0

    def log(self) -> str:
        try:
            return Path(self.directory, "ledgerd.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def workdir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="ledger-py-") as directory:
        os.chmod(directory, 0o700)
        yield directory


@pytest.fixture
def daemon(workdir: str) -> Iterator[Daemon]:
    running = Daemon(workdir)
    yield running
    running.stop()


@pytest.fixture
def postgres_daemon(workdir: str) -> Iterator[Daemon]:
    uri = os.environ.get("LEDGER_TEST_POSTGRES_URI")
    if not uri:
        if os.environ.get("CI"):
            pytest.fail("LEDGER_TEST_POSTGRES_URI is not set; scripts/test.sh starts PostgreSQL and sets it")
        pytest.skip("no test PostgreSQL (scripts/test.sh starts one)")
    # A key of the test's own: the default one, in the system's data directory, would be held to the
    # tree it last signed in another database.
    key = os.path.join(workdir, "ledger.key")
    subprocess.run([binary("ledger-rpc"), "keygen", key], check=True, capture_output=True)
    running = Daemon(workdir, store=uri, extra=["--signing-key", key])
    yield running
    running.stop()


def rpc(daemon: Daemon, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary("ledger-rpc"), *arguments, "--socket", daemon.socket], capture_output=True, text=True, timeout=60)
