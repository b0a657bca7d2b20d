-- PostgreSQL form of ../001_tasks.sql: the same tables, columns and meaning.
-- Every INTEGER of the SQLite schema is a BIGINT here (SQLite's integers are
-- 64-bit), JSON stays TEXT (sluice splices the stored text into replies and
-- arguments as it is), and identifiers compare byte by byte (COLLATE "C"), as
-- SQLite compares TEXT, whatever the database's own collation: the range
-- scans over holders and the name order of listings depend on it.

-- Tasks: one row per key. Pending tasks are rebuilt into memory at start;
-- ended tasks are read from here on demand.
CREATE TABLE tasks (
  key          TEXT COLLATE "C" PRIMARY KEY,
  seq          BIGINT NOT NULL,                -- submission order (FIFO within a priority)
  fn           TEXT NOT NULL,
  args         TEXT NOT NULL,                  -- JSON array
  kwargs       TEXT,                           -- JSON object or NULL
  deps         TEXT,                           -- JSON array of keys or NULL
  priority     BIGINT NOT NULL DEFAULT 0,
  retries      BIGINT NOT NULL DEFAULT 0,      -- retries left
  timeout_ms   BIGINT,
  status       TEXT COLLATE "C" NOT NULL,      -- pending | finished | error | cancelled | lost
  attempt      BIGINT NOT NULL DEFAULT 0,
  failures     BIGINT NOT NULL DEFAULT 0,
  result       TEXT,                           -- JSON, when finished
  error        TEXT,                           -- JSON {name, message, traceback, key?}
  worker       TEXT,
  submitted_at BIGINT NOT NULL,                -- ms since epoch
  started_at   BIGINT,
  finished_at  BIGINT,
  expires_at   BIGINT                          -- set when ended and nothing holds it
);
CREATE INDEX tasks_pending ON tasks (seq) WHERE status = 'pending';
CREATE INDEX tasks_expiry ON tasks (expires_at) WHERE expires_at IS NOT NULL;

-- Who keeps a key: client:<id>, channel:<name>, task:<dependent key>, ff, ...
CREATE TABLE holds (
  key    TEXT COLLATE "C" NOT NULL,
  holder TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (key, holder)
);
CREATE INDEX holds_by_holder ON holds (holder, key);

-- Keys dropped after their retention period, so that asking for one can say so.
CREATE TABLE forgotten (
  key          TEXT COLLATE "C" PRIMARY KEY,
  forgotten_at BIGINT NOT NULL
);
CREATE INDEX forgotten_by_time ON forgotten (forgotten_at);
