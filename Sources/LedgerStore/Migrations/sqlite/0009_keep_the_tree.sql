-- Tamper evidence (docs/VERIFY.md). Each log (one per signing key, so one per daemon) keeps an
-- RFC 9162 Merkle tree over the events it commits, in commit order. A commit adds one row of
-- leaf records (commit sequence, id and leaf hash of each event it stored) and the tree's frontier
-- after them, in the same transaction as the events, so that the tree never disagrees with what
-- was committed, whatever stops the daemon. Only appends: no commit rewrites an earlier page.
CREATE TABLE ledger_tree (
    log_id     BLOB PRIMARY KEY,  -- SHA-256 of the log's raw Ed25519 public key
    public_key BLOB NOT NULL      -- the raw 32-byte key
);

-- One row per commit: its leaves' records, 56 bytes each, in leaf order, and the frontier once
-- they are in (the tree's size, then the roots of its perfect subtrees: TreeFrontier), which the
-- log's newest row gives the daemon to continue from. Records outlive their events (retention
-- removes events, never records), which is how a purged event leaves its leaf hash behind.
CREATE TABLE ledger_tree_leaves (
    log_id     BLOB    NOT NULL,
    first_leaf INTEGER NOT NULL,
    first_seq  INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    records    BLOB    NOT NULL,
    frontier   BLOB    NOT NULL,
    PRIMARY KEY (log_id, first_leaf)
) WITHOUT ROWID;
CREATE INDEX idx_ledger_tree_leaves_seq ON ledger_tree_leaves (log_id, first_seq);

-- The signed tree heads, at least one a second while events arrive.
CREATE TABLE ledger_tree_heads (
    log_id    BLOB    NOT NULL,
    size      INTEGER NOT NULL,
    root      BLOB    NOT NULL,
    timestamp INTEGER NOT NULL,
    signature BLOB    NOT NULL,
    PRIMARY KEY (log_id, size)
) WITHOUT ROWID;

-- What retention removed, each row naming the pass's own ledger_retention event: an event whose
-- record has no row left and no tombstone was removed by something else.
CREATE TABLE ledger_tree_tombstones (
    seq       INTEGER PRIMARY KEY,
    retention TEXT    NOT NULL
);
