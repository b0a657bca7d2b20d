-- What stream pipelines need to resume after a crash without skipping
-- anything: a consumer's position in a channel, and queue items taken with
-- an acknowledgement still to come.

-- The last entry of a channel that a named consumer has finished with
-- (committed before it is acknowledged). A pipeline resumes after it.
-- Deleting the channel deletes its consumers in the same transaction.
CREATE TABLE channel_consumers (
  channel    TEXT NOT NULL,
  consumer   TEXT NOT NULL,
  seq        INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel, consumer)
) WITHOUT ROWID;

-- Leases on queue items taken with ack: the items stay in queue_items, out
-- of line, until acknowledged (deleted) or given back (the lease is released,
-- lapses, or its client session ends). Renewals are not written: after a
-- restart every lease gets its full ttl from the start, so a consumer that is
-- still alive can acknowledge before its items go back in line.
CREATE TABLE queue_leases (
  id        TEXT PRIMARY KEY,
  queue     TEXT NOT NULL,
  client_id TEXT,                        -- the session that took them: its end gives them back
  ttl_ms    INTEGER NOT NULL,
  leased_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE queue_leased_items (
  item  INTEGER PRIMARY KEY,             -- queue_items.id
  lease TEXT NOT NULL                    -- queue_leases.id
);
CREATE INDEX queue_leased_items_by_lease ON queue_leased_items (lease);
