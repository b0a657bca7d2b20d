-- PostgreSQL form of ../004_coordination.sql.

-- Coordination primitives (Dask's Queue, Variable, Event, Lock, Semaphore),
-- durable. Pub/sub topics are not persisted and have no tables.

-- Queues: configuration. A queue gets a row when it is configured or first put to.
CREATE TABLE queues (
  name       TEXT COLLATE "C" PRIMARY KEY,
  maxsize    BIGINT,                     -- NULL: unbounded
  created_at BIGINT NOT NULL
);

-- Items in queues, in line by id. An id is never reused, so the holder
-- queue:<name>:<id> names one item ever. SQLite's AUTOINCREMENT gives that
-- with the id known when the INSERT returns; here the scheduler needs the id
-- before the turn's pipelined transaction is answered, so it gives ids
-- itself, from blocks of 1024 taken from queue_item_id_blocks: nextval() = b
-- makes b .. b+1023 its own. A sequence never goes back, across a crash or a
-- new leader, for any value used in a committed row.
CREATE SEQUENCE queue_item_id_blocks AS BIGINT INCREMENT BY 1024 MINVALUE 1 START WITH 1;
-- An item stays here until the reply that delivers it has been written, so a
-- crash in between delivers it again after the restart.
CREATE TABLE queue_items (
  id     BIGINT PRIMARY KEY,
  queue  TEXT COLLATE "C" NOT NULL,
  value  TEXT NOT NULL,                  -- JSON, as put
  refs   TEXT,                           -- JSON array of the future keys it holds, or NULL
  put_at BIGINT NOT NULL
);
CREATE INDEX queue_items_by_queue ON queue_items (queue, id);

-- Answers to puts that carried an idempotencyKey, so a retry is a no-op.
CREATE TABLE queue_puts (
  queue           TEXT COLLATE "C" NOT NULL,
  idempotency_key TEXT COLLATE "C" NOT NULL,
  answer          TEXT NOT NULL,         -- JSON {size}
  created_at      BIGINT NOT NULL,
  PRIMARY KEY (queue, idempotency_key)
);
CREATE INDEX queue_puts_by_time ON queue_puts (created_at);

-- Variables: one JSON value each; its futures are held as variable:<name>.
CREATE TABLE variables (
  name       TEXT COLLATE "C" PRIMARY KEY,
  value      TEXT NOT NULL,
  refs       TEXT,                       -- JSON array of the future keys it holds, or NULL
  updated_at BIGINT NOT NULL
);

-- Flags (Dask's Event): a row while the flag is set.
CREATE TABLE flags (
  name   TEXT COLLATE "C" PRIMARY KEY,
  set_at BIGINT NOT NULL
);

-- Locks and semaphores. Rows are never deleted: last_token must never go
-- back, or a fencing token could be handed out twice.
CREATE TABLE semaphores (
  kind       TEXT COLLATE "C" NOT NULL,  -- lock | semaphore
  name       TEXT COLLATE "C" NOT NULL,
  max_leases BIGINT NOT NULL,
  last_token BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (kind, name)
);

-- Leases held now. Expiry is not stored: renewals are not written, and after
-- a restart every lease gets a full ttl from the start, so a holder that is
-- still alive can renew before anyone else is let in.
CREATE TABLE leases (
  id          TEXT COLLATE "C" PRIMARY KEY,
  kind        TEXT COLLATE "C" NOT NULL,
  name        TEXT COLLATE "C" NOT NULL,
  token       BIGINT NOT NULL,
  client_id   TEXT COLLATE "C",          -- the session that acquired it: its end releases the lease
  holder      TEXT,                      -- a label the acquirer gave
  ttl_ms      BIGINT NOT NULL,
  acquired_at BIGINT NOT NULL
);
CREATE INDEX leases_by_name ON leases (kind, name, token);
