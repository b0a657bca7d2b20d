import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';

export interface QueueLeaseRow {
  id: string;
  queue: string;
  client_id: string | null;
  ttl_ms: number;
  leased_at: number;
}

/** SQLite persistence for leases on queue items (gets with ack). */
export class QueueLeaseStore {
  readonly #tx: GroupCommit;
  readonly #selectLeases;
  readonly #selectItems;
  readonly #insertLease;
  readonly #insertItem;
  readonly #deleteLease;
  readonly #deleteItem;
  readonly #deleteItemsOf;

  constructor(db: Db, tx: GroupCommit) {
    this.#tx = tx;
    this.#selectLeases = db.prepare('SELECT id, queue, client_id, ttl_ms, leased_at FROM queue_leases');
    this.#selectItems = db.prepare('SELECT item, lease FROM queue_leased_items ORDER BY item');
    this.#insertLease = db.prepare('INSERT INTO queue_leases (id, queue, client_id, ttl_ms, leased_at) VALUES (@id, @queue, @client_id, @ttl_ms, @leased_at)');
    this.#insertItem = db.prepare('INSERT INTO queue_leased_items (item, lease) VALUES (?, ?)');
    this.#deleteLease = db.prepare('DELETE FROM queue_leases WHERE id = ?');
    this.#deleteItem = db.prepare('DELETE FROM queue_leased_items WHERE item = ?');
    this.#deleteItemsOf = db.prepare('DELETE FROM queue_leased_items WHERE lease = ?');
  }

  /** The leases of a previous run, with their items. */
  leases(): Array<QueueLeaseRow & { items: number[] }> {
    const leases = new Map((this.#selectLeases.all() as QueueLeaseRow[]).map((row) => [row.id, { ...row, items: [] as number[] }]));
    for (const { item, lease } of this.#selectItems.all() as Array<{ item: number; lease: string }>) leases.get(lease)?.items.push(item);
    return [...leases.values()];
  }

  insert(row: QueueLeaseRow, items: readonly number[]): void {
    this.#tx.write();
    this.#insertLease.run(row);
    for (const item of items) this.#insertItem.run(item, row.id);
  }

  /** Some of a lease's items were acknowledged or given back. */
  removeItems(items: readonly number[]): void {
    this.#tx.write();
    for (const item of items) this.#deleteItem.run(item);
  }

  delete(id: string): void {
    this.#tx.write();
    this.#deleteItemsOf.run(id);
    this.#deleteLease.run(id);
  }
}
