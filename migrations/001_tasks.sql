-- Tasks: one row per key. Pending tasks are rebuilt into memory at start;
-- ended tasks are read from here on demand.
CREATE TABLE tasks (
  key          TEXT PRIMARY KEY,
  seq          INTEGER NOT NULL,               -- submission order (FIFO within a priority)
  fn           TEXT NOT NULL,
  args         TEXT NOT NULL,                  -- JSON array
  kwargs       TEXT,                           -- JSON object or NULL
  deps         TEXT,                           -- JSON array of keys or NULL
  priority     INTEGER NOT NULL DEFAULT 0,
  retries      INTEGER NOT NULL DEFAULT 0,     -- retries left
  timeout_ms   INTEGER,
  status       TEXT NOT NULL,                  -- pending | finished | error | cancelled | lost
  attempt      INTEGER NOT NULL DEFAULT 0,
  failures     INTEGER NOT NULL DEFAULT 0,
  result       TEXT,                           -- JSON, when finished
  error        TEXT,                           -- JSON {name, message, traceback, key?}
  worker       TEXT,
  submitted_at INTEGER NOT NULL,               -- ms since epoch
  started_at   INTEGER,
  finished_at  INTEGER,
  expires_at   INTEGER                         -- set when ended and nothing holds it
);
CREATE INDEX tasks_pending ON tasks (seq) WHERE status = 'pending';
CREATE INDEX tasks_expiry ON tasks (expires_at) WHERE expires_at IS NOT NULL;

-- Who keeps a key: client:<id>, channel:<name>, task:<dependent key>, ff, ...
CREATE TABLE holds (
  key    TEXT NOT NULL,
  holder TEXT NOT NULL,
  PRIMARY KEY (key, holder)
) WITHOUT ROWID;
CREATE INDEX holds_by_holder ON holds (holder, key);

-- Keys dropped after their retention period, so that asking for one can say so.
CREATE TABLE forgotten (
  key          TEXT PRIMARY KEY,
  forgotten_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX forgotten_by_time ON forgotten (forgotten_at);
