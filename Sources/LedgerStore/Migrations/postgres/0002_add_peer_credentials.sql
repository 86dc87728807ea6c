-- Who sent each event, as the kernel saw the Unix socket peer (SO_PEERCRED):
-- kept apart from worker_id, which the client claims. NULL for TLS peers and
-- for events stored before this migration.
ALTER TABLE ledger_events ADD COLUMN peer_uid bigint CHECK (peer_uid IS NULL OR peer_uid >= 0);
ALTER TABLE ledger_events ADD COLUMN peer_pid integer;
