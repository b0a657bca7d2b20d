import { randomBytes } from 'node:crypto';
import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';

export interface SessionRow {
  id: string;
  identity: string;
  created_at: number;
}

const SESSION_SECRET = 'client-sessions';

/** SQLite persistence for client sessions and the secret their credentials are signed with. */
export class SessionStore {
  readonly #tx: GroupCommit;
  readonly #insertSecret;
  readonly #selectSecret;
  readonly #selectSessions;
  readonly #insertSession;
  readonly #deleteSession;

  constructor(db: Db, tx: GroupCommit) {
    this.#tx = tx;
    this.#insertSecret = db.prepare('INSERT INTO scheduler_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING');
    this.#selectSecret = db.prepare('SELECT value FROM scheduler_secrets WHERE name = ?');
    this.#selectSessions = db.prepare('SELECT id, identity, created_at FROM client_sessions');
    this.#insertSession = db.prepare('INSERT INTO client_sessions (id, identity, created_at) VALUES (?, ?, ?)');
    this.#deleteSession = db.prepare('DELETE FROM client_sessions WHERE id = ?');
  }

  /**
   * The secret session credentials are signed with: 32 random bytes, made at
   * the first start and kept. Nothing is signed with a new one before it is
   * committed: a session is answered only once its own row is.
   */
  secret(): Buffer {
    this.#tx.write();
    this.#insertSecret.run(SESSION_SECRET, randomBytes(32));
    return (this.#selectSecret.get(SESSION_SECRET) as { value: Buffer }).value;
  }

  sessions(): SessionRow[] {
    return this.#selectSessions.all() as SessionRow[];
  }

  insert(id: string, identity: string, createdAt: number): void {
    this.#tx.write();
    this.#insertSession.run(id, identity, createdAt);
  }

  delete(id: string): void {
    this.#tx.write();
    this.#deleteSession.run(id);
  }
}
