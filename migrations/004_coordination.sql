-- Coordination primitives (Dask's Queue, Variable, Event, Lock, Semaphore),
-- durable. Pub/sub topics are not persisted and have no tables.

-- Queues: configuration. A queue gets a row when it is configured or first put to.
CREATE TABLE queues (
  name       TEXT PRIMARY KEY,
  maxsize    INTEGER,                    -- NULL: unbounded
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Items in queues, in line by id (AUTOINCREMENT: an id is never reused, so
-- the holder queue:<name>:<id> names one item ever). An item stays here until
-- the reply that delivers it has been written, so a crash in between delivers
-- it again after the restart.
CREATE TABLE queue_items (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  queue  TEXT NOT NULL,
  value  TEXT NOT NULL,                  -- JSON, as put
  refs   TEXT,                           -- JSON array of the future keys it holds, or NULL
  put_at INTEGER NOT NULL
);
CREATE INDEX queue_items_by_queue ON queue_items (queue, id);

-- Answers to puts that carried an idempotencyKey, so a retry is a no-op.
CREATE TABLE queue_puts (
  queue           TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  answer          TEXT NOT NULL,         -- JSON {size}
  created_at      INTEGER NOT NULL,
  PRIMARY KEY (queue, idempotency_key)
) WITHOUT ROWID;
CREATE INDEX queue_puts_by_time ON queue_puts (created_at);

-- Variables: one JSON value each; its futures are held as variable:<name>.
CREATE TABLE variables (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  refs       TEXT,                       -- JSON array of the future keys it holds, or NULL
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Flags (Dask's Event): a row while the flag is set.
CREATE TABLE flags (
  name   TEXT PRIMARY KEY,
  set_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Locks and semaphores. Rows are never deleted: last_token must never go
-- back, or a fencing token could be handed out twice.
CREATE TABLE semaphores (
  kind       TEXT NOT NULL,              -- lock | semaphore
  name       TEXT NOT NULL,
  max_leases INTEGER NOT NULL,
  last_token INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (kind, name)
) WITHOUT ROWID;

-- Leases held now. Expiry is not stored: renewals are not written, and after
-- a restart every lease gets a full ttl from the start, so a holder that is
-- still alive can renew before anyone else is let in.
CREATE TABLE leases (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL,
  name        TEXT NOT NULL,
  token       INTEGER NOT NULL,
  client_id   TEXT,                      -- the session that acquired it: its end releases the lease
  holder      TEXT,                      -- a label the acquirer gave
  ttl_ms      INTEGER NOT NULL,
  acquired_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX leases_by_name ON leases (kind, name, token);
