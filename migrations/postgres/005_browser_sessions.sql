-- PostgreSQL form of ../005_browser_sessions.sql.

-- Browser sessions (POST /auth/session) ended by DELETE /auth/session before
-- they expired. A session cookie whose id is here is refused, after a restart
-- too; a row goes once its session would have expired anyway.
CREATE TABLE revoked_browser_sessions (
  id         TEXT COLLATE "C" PRIMARY KEY, -- the random id in the cookie
  expires_at BIGINT NOT NULL               -- when the session expires (ms since the epoch)
);
CREATE INDEX revoked_browser_sessions_by_expiry ON revoked_browser_sessions (expires_at);
