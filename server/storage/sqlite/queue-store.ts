import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';

export interface QueueRow {
  name: string;
  maxsize: number | null;
}

export interface ItemRow {
  id: number;
  value: string;
  refs: readonly string[];
}

/** SQLite persistence for queues, their items and put idempotency keys. */
export class QueueStore {
  readonly #tx: GroupCommit;
  readonly #selectQueues;
  readonly #upsertQueue;
  readonly #deleteQueue;
  readonly #selectIds;
  readonly #insertItem;
  readonly #selectItem;
  readonly #deleteItem;
  readonly #selectItemsOf;
  readonly #deleteItemsOf;
  readonly #selectPut;
  readonly #insertPut;
  readonly #deletePutsOf;
  readonly #purgePuts;
  /** The highest item id used so far. */
  #lastId: number;

  constructor(db: Db, tx: GroupCommit) {
    this.#tx = tx;
    this.#selectQueues = db.prepare('SELECT name, maxsize FROM queues');
    this.#upsertQueue = db.prepare(
      'INSERT INTO queues (name, maxsize, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET maxsize = excluded.maxsize',
    );
    this.#deleteQueue = db.prepare('DELETE FROM queues WHERE name = ?');
    this.#selectIds = db.prepare('SELECT id, queue FROM queue_items ORDER BY id');
    // Ids are taken here, not by SQLite, so that a copy shipped elsewhere inserts the same ones;
    // they continue from the highest ever used (AUTOINCREMENT's record), never reusing one.
    this.#lastId = db
      .prepare("SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'queue_items'), 0), coalesce((SELECT max(id) FROM queue_items), 0))")
      .pluck()
      .get() as number;
    this.#insertItem = db.prepare('INSERT INTO queue_items (id, queue, value, refs, put_at) VALUES (?, ?, ?, ?, ?)');
    this.#selectItem = db.prepare('SELECT value, refs FROM queue_items WHERE id = ?');
    this.#deleteItem = db.prepare('DELETE FROM queue_items WHERE id = ?');
    this.#selectItemsOf = db.prepare('SELECT id, refs FROM queue_items WHERE queue = ? ORDER BY id');
    this.#deleteItemsOf = db.prepare('DELETE FROM queue_items WHERE queue = ?');
    this.#selectPut = db.prepare('SELECT answer FROM queue_puts WHERE queue = ? AND idempotency_key = ?');
    this.#insertPut = db.prepare('INSERT INTO queue_puts (queue, idempotency_key, answer, created_at) VALUES (?, ?, ?, ?)');
    this.#deletePutsOf = db.prepare('DELETE FROM queue_puts WHERE queue = ?');
    this.#purgePuts = db.prepare('DELETE FROM queue_puts WHERE created_at < ?');
  }

  queues(): QueueRow[] {
    return this.#selectQueues.all() as QueueRow[];
  }

  /** Every stored item id with its queue, oldest first: the lines to rebuild at start. */
  itemIds(): Array<{ id: number; queue: string }> {
    return this.#selectIds.all() as Array<{ id: number; queue: string }>;
  }

  saveQueue(name: string, maxsize: number | null, now: number): void {
    this.#tx.write();
    this.#upsertQueue.run(name, maxsize, now);
  }

  /** Store an item; answers its id, its place in line. */
  insertItem(queue: string, value: string, refs: readonly string[], now: number): number {
    this.#tx.write();
    const id = this.#lastId + 1;
    this.#insertItem.run(id, queue, value, refs.length > 0 ? JSON.stringify(refs) : null, now);
    this.#lastId = id;
    return id;
  }

  item(id: number): ItemRow | undefined {
    const row = this.#selectItem.get(id) as { value: string; refs: string | null } | undefined;
    return row ? { id, value: row.value, refs: parseRefs(row.refs) } : undefined;
  }

  deleteItem(id: number): void {
    this.#tx.write();
    this.#deleteItem.run(id);
  }

  /** Remove the queue and its items; answers the items' refs, to release their holds. */
  deleteQueue(name: string): Array<{ id: number; refs: string[] }> {
    const items = (this.#selectItemsOf.all(name) as Array<{ id: number; refs: string | null }>).map((r) => ({ id: r.id, refs: parseRefs(r.refs) }));
    this.#tx.write();
    this.#deleteItemsOf.run(name);
    this.#deletePutsOf.run(name);
    this.#deleteQueue.run(name);
    return items;
  }

  /** The answer an earlier put with this idempotency key got. */
  previousPut(queue: string, idempotencyKey: string): { size: number } | undefined {
    const row = this.#selectPut.get(queue, idempotencyKey) as { answer: string } | undefined;
    return row ? (JSON.parse(row.answer) as { size: number }) : undefined;
  }

  recordPut(queue: string, idempotencyKey: string, answer: { size: number }, now: number): void {
    this.#tx.write();
    this.#insertPut.run(queue, idempotencyKey, JSON.stringify(answer), now);
  }

  /** Forget idempotency keys older than the horizon. */
  purgePuts(before: number): void {
    this.#tx.write();
    this.#purgePuts.run(before);
  }
}

export function parseRefs(refs: string | null): string[] {
  return refs === null ? [] : (JSON.parse(refs) as string[]);
}
