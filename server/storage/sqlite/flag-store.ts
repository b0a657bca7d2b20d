import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';

/** SQLite persistence for flags (Dask's Event): a row while a flag is set. */
export class FlagStore {
  readonly #tx: GroupCommit;
  readonly #selectFlag;
  readonly #selectNames;
  readonly #countFlags;
  readonly #insertFlag;
  readonly #deleteFlag;

  constructor(db: Db, tx: GroupCommit) {
    this.#tx = tx;
    this.#selectFlag = db.prepare('SELECT 1 FROM flags WHERE name = ?').pluck();
    this.#selectNames = db.prepare('SELECT name FROM flags ORDER BY name LIMIT ?').pluck();
    this.#countFlags = db.prepare('SELECT count(*) FROM flags').pluck();
    this.#insertFlag = db.prepare('INSERT INTO flags (name, set_at) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.#deleteFlag = db.prepare('DELETE FROM flags WHERE name = ?');
  }

  isSet(name: string): boolean {
    return this.#selectFlag.get(name) !== undefined;
  }

  /** How many flags are set (counted once, at start). */
  count(): number {
    return this.#countFlags.get() as number;
  }

  /** Up to `limit` names of flags that are set, in name order. */
  names(limit: number): string[] {
    return this.#selectNames.all(limit) as string[];
  }

  /** Set the flag; answers whether it was clear. */
  set(name: string, now: number): boolean {
    this.#tx.write();
    return this.#insertFlag.run(name, now).changes > 0;
  }

  /** Clear the flag; answers whether it was set. */
  clear(name: string): boolean {
    this.#tx.write();
    return this.#deleteFlag.run(name).changes > 0;
  }
}
