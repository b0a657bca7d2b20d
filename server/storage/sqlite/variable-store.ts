import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';
import { parseRefs } from './queue-store.ts';

/** SQLite persistence for variables: one row each, read on demand. */
export class VariableStore {
  readonly #tx: GroupCommit;
  readonly #selectVariable;
  readonly #selectRefs;
  readonly #upsertVariable;
  readonly #deleteVariable;
  readonly #countVariables;
  readonly #selectExists;

  constructor(db: Db, tx: GroupCommit) {
    this.#tx = tx;
    this.#selectVariable = db.prepare('SELECT value FROM variables WHERE name = ?');
    this.#selectRefs = db.prepare('SELECT refs FROM variables WHERE name = ?');
    this.#upsertVariable = db.prepare(
      `INSERT INTO variables (name, value, refs, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value, refs = excluded.refs, updated_at = excluded.updated_at`,
    );
    this.#deleteVariable = db.prepare('DELETE FROM variables WHERE name = ?');
    this.#countVariables = db.prepare('SELECT count(*) FROM variables').pluck();
    this.#selectExists = db.prepare('SELECT 1 FROM variables WHERE name = ?').pluck();
  }

  /** How many variables are set (counted once, at start). */
  count(): number {
    return this.#countVariables.get() as number;
  }

  isSet(name: string): boolean {
    return this.#selectExists.get(name) !== undefined;
  }

  /** The variable's value as JSON text, if it is set. */
  value(name: string): string | undefined {
    return (this.#selectVariable.get(name) as { value: string } | undefined)?.value;
  }

  /** The future keys the variable holds now (none if unset). */
  refs(name: string): string[] {
    const row = this.#selectRefs.get(name) as { refs: string | null } | undefined;
    return row ? parseRefs(row.refs) : [];
  }

  setVariable(name: string, value: string, refs: readonly string[], now: number): void {
    this.#tx.write();
    this.#upsertVariable.run(name, value, refs.length > 0 ? JSON.stringify(refs) : null, now);
  }

  /** Answers whether it was set. */
  deleteVariable(name: string): boolean {
    this.#tx.write();
    return this.#deleteVariable.run(name).changes > 0;
  }
}
