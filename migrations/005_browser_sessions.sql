-- Browser sessions (POST /auth/session) ended by DELETE /auth/session before
-- they expired. A session cookie whose id is here is refused, after a restart
-- too; a row goes once its session would have expired anyway.
CREATE TABLE revoked_browser_sessions (
  id         TEXT PRIMARY KEY,           -- the random id in the cookie
  expires_at INTEGER NOT NULL            -- when the session expires (ms since the epoch)
) WITHOUT ROWID;
CREATE INDEX revoked_browser_sessions_by_expiry ON revoked_browser_sessions (expires_at);
