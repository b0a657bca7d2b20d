-- PostgreSQL form of ../002_channels.sql.

-- Channels: named, ordered deques of future keys. Entries are contiguous:
-- seqs first_seq..last_seq are present (entries fall off only at the front).
CREATE TABLE channels (
  name       TEXT COLLATE "C" PRIMARY KEY,
  maxlen     BIGINT,                     -- NULL: unbounded
  stopped    BIGINT NOT NULL DEFAULT 0,  -- 0 or 1, as in SQLite
  first_seq  BIGINT NOT NULL DEFAULT 1,  -- the oldest entry still present
  last_seq   BIGINT NOT NULL DEFAULT 0,  -- the newest entry; 0 before the first append
  created_at BIGINT NOT NULL
);

-- Each entry holds its key as holder channel:<name>:<seq> (see holds).
CREATE TABLE channel_entries (
  channel TEXT COLLATE "C" NOT NULL,
  seq     BIGINT NOT NULL,
  key     TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (channel, seq)
);

-- Answers to appends that carried an idempotencyKey, so a retry is a no-op.
CREATE TABLE channel_appends (
  channel         TEXT COLLATE "C" NOT NULL,
  idempotency_key TEXT COLLATE "C" NOT NULL,
  answer          TEXT NOT NULL,         -- JSON {seqs, keys}
  created_at      BIGINT NOT NULL,
  PRIMARY KEY (channel, idempotency_key)
);
CREATE INDEX channel_appends_by_time ON channel_appends (created_at);
