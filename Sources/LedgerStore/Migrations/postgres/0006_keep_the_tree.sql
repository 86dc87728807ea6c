-- Tamper evidence (docs/VERIFY.md), as SQLite's migration 9 keeps it. Each log (one per signing
-- key, so one per ledgerd: several daemons on one database each keep their own) is an RFC 9162
-- Merkle tree over the events that daemon commits, in commit order. A commit adds one row of leaf
-- records and the frontier after them, in the same transaction as the events. The commit holds a
-- transaction advisory lock on its log while it takes its commit numbers, so a log's leaves
-- follow its events' commit numbers even if two daemons were given one key.
CREATE TABLE ledger_tree (
    log_id     bytea PRIMARY KEY,  -- SHA-256 of the log's raw Ed25519 public key
    public_key bytea NOT NULL      -- the raw 32-byte key
);

-- One row per commit: its leaves' records, 56 bytes each (commit sequence, id, leaf hash), in
-- leaf order, and the tree's frontier once they are in. Records outlive their events (retention
-- removes events, never records), which is how a purged event leaves its leaf hash behind.
CREATE TABLE ledger_tree_leaves (
    log_id     bytea  NOT NULL,
    first_leaf bigint NOT NULL,
    first_seq  bigint NOT NULL,
    last_seq   bigint NOT NULL,
    records    bytea  NOT NULL,
    frontier   bytea  NOT NULL,
    PRIMARY KEY (log_id, first_leaf)
);
CREATE INDEX idx_ledger_tree_leaves_seq ON ledger_tree_leaves (log_id, first_seq);
-- Hashes do not compress: kept out of line as they are, without a compression attempt per commit.
ALTER TABLE ledger_tree_leaves ALTER COLUMN records SET STORAGE EXTERNAL;

-- The signed tree heads, at least one a second while events arrive.
CREATE TABLE ledger_tree_heads (
    log_id    bytea  NOT NULL,
    size      bigint NOT NULL,
    root      bytea  NOT NULL,
    timestamp bigint NOT NULL,
    signature bytea  NOT NULL,
    PRIMARY KEY (log_id, size)
);

-- What retention removed, each row naming the pass's own ledger_retention event: an event whose
-- record has no row left and no tombstone was removed by something else.
CREATE TABLE ledger_tree_tombstones (
    seq       bigint PRIMARY KEY,
    retention text   NOT NULL
);
