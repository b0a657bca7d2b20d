-- PostgreSQL form of ../008_stream_consumers.sql.

-- What stream pipelines need to resume after a crash without skipping
-- anything: a consumer's position in a channel, and queue items taken with
-- an acknowledgement still to come.

-- The last entry of a channel that a named consumer has finished with
-- (committed before it is acknowledged). A pipeline resumes after it.
-- Deleting the channel deletes its consumers in the same transaction.
CREATE TABLE channel_consumers (
  channel    TEXT COLLATE "C" NOT NULL,
  consumer   TEXT COLLATE "C" NOT NULL,
  seq        BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (channel, consumer)
);

-- Leases on queue items taken with ack: the items stay in queue_items, out
-- of line, until acknowledged (deleted) or given back (the lease is released,
-- lapses, or its client session ends). Renewals are not written: after a
-- restart every lease gets its full ttl from the start, so a consumer that is
-- still alive can acknowledge before its items go back in line.
CREATE TABLE queue_leases (
  id        TEXT COLLATE "C" PRIMARY KEY,
  queue     TEXT COLLATE "C" NOT NULL,
  client_id TEXT COLLATE "C",            -- the session that took them: its end gives them back
  ttl_ms    BIGINT NOT NULL,
  leased_at BIGINT NOT NULL
);

CREATE TABLE queue_leased_items (
  item  BIGINT PRIMARY KEY,              -- queue_items.id
  lease TEXT COLLATE "C" NOT NULL        -- queue_leases.id
);
CREATE INDEX queue_leased_items_by_lease ON queue_leased_items (lease);
