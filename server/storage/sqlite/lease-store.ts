import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';

export type LeaseKind = 'lock' | 'semaphore';

export interface SemaphoreRow {
  kind: LeaseKind;
  name: string;
  max_leases: number;
  last_token: number;
}

export interface LeaseRow {
  id: string;
  kind: LeaseKind;
  name: string;
  token: number;
  client_id: string | null;
  holder: string | null;
  ttl_ms: number;
  acquired_at: number;
}

/** SQLite persistence for locks, semaphores and the leases held on them. */
export class LeaseStore {
  readonly #tx: GroupCommit;
  readonly #selectSemaphore;
  readonly #selectSomeSemaphores;
  readonly #countSemaphores;
  readonly #selectLeases;
  readonly #upsertSemaphore;
  readonly #insertLease;
  readonly #deleteLease;

  constructor(db: Db, tx: GroupCommit) {
    this.#tx = tx;
    this.#selectSemaphore = db.prepare('SELECT kind, name, max_leases, last_token FROM semaphores WHERE kind = ? AND name = ?');
    this.#selectSomeSemaphores = db.prepare('SELECT kind, name, max_leases, last_token FROM semaphores LIMIT ?');
    this.#countSemaphores = db.prepare('SELECT count(*) FROM semaphores').pluck();
    this.#selectLeases = db.prepare('SELECT * FROM leases ORDER BY kind, name, token');
    this.#upsertSemaphore = db.prepare(
      `INSERT INTO semaphores (kind, name, max_leases, last_token) VALUES (?, ?, ?, ?)
       ON CONFLICT (kind, name) DO UPDATE SET max_leases = excluded.max_leases, last_token = excluded.last_token`,
    );
    this.#insertLease = db.prepare(
      `INSERT INTO leases (id, kind, name, token, client_id, holder, ttl_ms, acquired_at)
       VALUES (@id, @kind, @name, @token, @client_id, @holder, @ttl_ms, @acquired_at)`,
    );
    this.#deleteLease = db.prepare('DELETE FROM leases WHERE id = ?');
  }

  /** The lock or semaphore as stored, if it was ever configured or acquired. */
  semaphore(kind: LeaseKind, name: string): SemaphoreRow | undefined {
    return this.#selectSemaphore.get(kind, name) as SemaphoreRow | undefined;
  }

  /** Up to `limit` locks and semaphores, in no particular order. */
  someSemaphores(limit: number): SemaphoreRow[] {
    return this.#selectSomeSemaphores.all(limit) as SemaphoreRow[];
  }

  /** How many locks and semaphores were ever configured or acquired (they are never deleted). */
  semaphoreCount(): number {
    return this.#countSemaphores.get() as number;
  }

  leases(): LeaseRow[] {
    return this.#selectLeases.all() as LeaseRow[];
  }

  saveSemaphore(kind: LeaseKind, name: string, maxLeases: number, lastToken: number): void {
    this.#tx.write();
    this.#upsertSemaphore.run(kind, name, maxLeases, lastToken);
  }

  /** A granted lease, with its semaphore's new last token, in the same transaction. */
  insertLease(row: LeaseRow, maxLeases: number): void {
    this.#tx.write();
    this.#upsertSemaphore.run(row.kind, row.name, maxLeases, row.token);
    this.#insertLease.run(row);
  }

  deleteLease(id: string): void {
    this.#tx.write();
    this.#deleteLease.run(id);
  }
}
