"""SocialSyncLedger's Python client: the orchestrator's services log to ledgerd without ever waiting on it.

    from socialsync_ledger import LedgerClient
    ledger = LedgerClient()                      # LEDGER_SOCKET, else the per-user, else the system socket
    ledger.log_job_event(job.id, "job_processing_started", {"job_type": "cut_analysis"})
"""

from .aio import AsyncLedgerClient
from .client import ClientStatistics, LedgerClient, LedgerError
from .defaults import default_socket, socket_candidates
from .protocol import Event, EventCursor, Filter, Query, Severity, TailCursor, severities_at_least

__all__ = [
    "AsyncLedgerClient", "ClientStatistics", "Event", "EventCursor", "Filter", "LedgerClient", "LedgerError", "Query",
    "Severity", "TailCursor", "default_socket", "severities_at_least", "socket_candidates",
]

__version__ = "0.1.0"
