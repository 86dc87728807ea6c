"""Where the daemon listens when nobody says otherwise: the same search as ledger-rpc."""

from __future__ import annotations

import os
from typing import List, Mapping, Optional

SYSTEM_SOCKET = "/run/ledgerd/ledgerd.sock"


def socket_candidates(environment: Optional[Mapping[str, str]] = None, uid: Optional[int] = None) -> List[str]:
    """`$LEDGER_SOCKET` alone when set; else this user's default path, then the system daemon's."""
    env = os.environ if environment is None else environment
    user = os.getuid() if uid is None else uid
    explicit = env.get("LEDGER_SOCKET")
    if explicit:
        return [explicit]
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        own = f"{runtime}/ledgerd.sock"
    elif user == 0:
        own = SYSTEM_SOCKET
    else:
        own = f"/tmp/ledgerd-{user}/ledgerd.sock"
    return [own] if own == SYSTEM_SOCKET else [own, SYSTEM_SOCKET]


def default_socket(environment: Optional[Mapping[str, str]] = None, uid: Optional[int] = None) -> str:
    """The first candidate whose socket exists, else the first."""
    candidates = socket_candidates(environment, uid)
    for path in candidates:
        if os.path.exists(path):
            return path
    return candidates[0]


def untrusted_directory(socket_path: str) -> Optional[str]:
    """Why the default socket's directory may not be trusted, or None.

    As ledgerd and ledger-rpc check it: the default path may lie in /tmp, where another user
    could have made the directory first and answer in the daemon's place. It must be a directory
    (not a link to one), owned by this user or root, and writable by nobody else. A directory that
    is not there only means the daemon is not running.
    """
    import stat

    directory = os.path.dirname(socket_path) or "."
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"the socket directory {directory} cannot be read: {error.strerror}"
    if not stat.S_ISDIR(info.st_mode):
        return f"the socket directory {directory} is not a directory (a link is not trusted)"
    if info.st_uid not in (os.getuid(), 0):
        return f"the socket directory {directory} belongs to uid {info.st_uid}, not to uid {os.getuid()}"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"the socket directory {directory} is writable by others (mode {stat.S_IMODE(info.st_mode):o})"
    return None
