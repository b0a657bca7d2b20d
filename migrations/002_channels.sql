-- Channels: named, ordered deques of future keys. Entries are contiguous:
-- seqs first_seq..last_seq are present (entries fall off only at the front).
CREATE TABLE channels (
  name       TEXT PRIMARY KEY,
  maxlen     INTEGER,                    -- NULL: unbounded
  stopped    INTEGER NOT NULL DEFAULT 0,
  first_seq  INTEGER NOT NULL DEFAULT 1, -- the oldest entry still present
  last_seq   INTEGER NOT NULL DEFAULT 0, -- the newest entry; 0 before the first append
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Each entry holds its key as holder channel:<name>:<seq> (see holds).
CREATE TABLE channel_entries (
  channel TEXT NOT NULL,
  seq     INTEGER NOT NULL,
  key     TEXT NOT NULL,
  PRIMARY KEY (channel, seq)
) WITHOUT ROWID;

-- Answers to appends that carried an idempotencyKey, so a retry is a no-op.
CREATE TABLE channel_appends (
  channel         TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  answer          TEXT NOT NULL,         -- JSON {seqs, keys}
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (channel, idempotency_key)
) WITHOUT ROWID;
CREATE INDEX channel_appends_by_time ON channel_appends (created_at);
