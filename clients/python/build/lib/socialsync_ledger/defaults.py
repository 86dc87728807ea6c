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
