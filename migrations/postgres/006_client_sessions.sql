-- PostgreSQL form of ../006_client_sessions.sql.

-- Client sessions. A session's credential is "<id>.<HMAC-SHA256 under the
-- scheduler's secret of the id and the identity of the token that created
-- it>", so only the scheduler can issue one and it works only with that
-- token. The secret is made once (random, at the first start) and kept here,
-- so credentials outlive a restart. A session is live while it has a row:
-- ending it (DELETE /clients/:id, or idle longer than its lease) deletes the
-- row, and its credential never works again.
CREATE TABLE scheduler_secrets (
  name  TEXT COLLATE "C" PRIMARY KEY,
  value BYTEA NOT NULL
);

CREATE TABLE client_sessions (
  id TEXT COLLATE "C" PRIMARY KEY,
  -- The token that created it, as a fingerprint ("token:<hash>"), never the token itself.
  identity   TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
