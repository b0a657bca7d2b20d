import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';

/**
 * SQLite persistence for ended browser sessions: a cookie's id is refused
 * once it is here. Rows outlive a restart and go once their session would
 * have expired anyway. Looked up per cookie request, not kept in memory: how
 * many sessions get ended is up to the callers.
 */
export class BrowserSessionStore {
  readonly #tx: GroupCommit;
  readonly #select;
  readonly #insert;
  readonly #sweep;

  constructor(db: Db, tx: GroupCommit) {
    this.#tx = tx;
    this.#select = db.prepare('SELECT 1 FROM revoked_browser_sessions WHERE id = ?').pluck();
    this.#insert = db.prepare('INSERT INTO revoked_browser_sessions (id, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.#sweep = db.prepare('DELETE FROM revoked_browser_sessions WHERE expires_at < ?');
  }

  isRevoked(id: string): boolean {
    this.#tx.read();
    return this.#select.get(id) !== undefined;
  }

  /** End a session; resolves once that is committed. Forgets the ended sessions that have expired since. */
  async revoke(id: string, expiresAt: number, now = Date.now()): Promise<void> {
    this.#tx.write();
    this.#insert.run(id, expiresAt);
    this.#sweep.run(now);
    await this.#tx.committed();
  }

  /** Forget the ended sessions that have expired (their cookies are refused for that already). */
  sweep(now = Date.now()): void {
    this.#tx.write();
    this.#sweep.run(now);
  }
}
