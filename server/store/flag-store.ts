import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';

/** SQLite persistence for flags (Dask's Event): a row while a flag is set. */
export class FlagStore {
  readonly #tx: GroupCommit;
  readonly #selectFlags;
  readonly #insertFlag;
  readonly #deleteFlag;

  constructor(db: Db, tx: GroupCommit) {
    this.#tx = tx;
    this.#selectFlags = db.prepare('SELECT name FROM flags');
    this.#insertFlag = db.prepare('INSERT OR IGNORE INTO flags (name, set_at) VALUES (?, ?)');
    this.#deleteFlag = db.prepare('DELETE FROM flags WHERE name = ?');
  }

  /** The names of the flags that are set. */
  setFlags(): string[] {
    return (this.#selectFlags.all() as Array<{ name: string }>).map((r) => r.name);
  }

  set(name: string, now: number): void {
    this.#tx.write();
    this.#insertFlag.run(name, now);
  }

  clear(name: string): void {
    this.#tx.write();
    this.#deleteFlag.run(name);
  }
}
