import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';

export interface ConsumerRow {
  consumer: string;
  seq: number;
  updated_at: number;
}

/** SQLite persistence for consumers' positions in channels. */
export class ConsumerStore {
  readonly #tx: GroupCommit;
  readonly #select;
  readonly #selectAll;
  readonly #upsert;
  readonly #delete;
  readonly #deleteAll;

  constructor(db: Db, tx: GroupCommit) {
    this.#tx = tx;
    this.#select = db.prepare('SELECT consumer, seq, updated_at FROM channel_consumers WHERE channel = ? AND consumer = ?');
    this.#selectAll = db.prepare('SELECT consumer, seq, updated_at FROM channel_consumers WHERE channel = ? ORDER BY consumer');
    this.#upsert = db.prepare(
      `INSERT INTO channel_consumers (channel, consumer, seq, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (channel, consumer) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
    );
    this.#delete = db.prepare('DELETE FROM channel_consumers WHERE channel = ? AND consumer = ?');
    this.#deleteAll = db.prepare('DELETE FROM channel_consumers WHERE channel = ?');
  }

  get(channel: string, consumer: string): ConsumerRow | undefined {
    this.#tx.read();
    return this.#select.get(channel, consumer) as ConsumerRow | undefined;
  }

  list(channel: string): ConsumerRow[] {
    this.#tx.read();
    return this.#selectAll.all(channel) as ConsumerRow[];
  }

  save(channel: string, consumer: string, seq: number, now: number): void {
    this.#tx.write();
    this.#upsert.run(channel, consumer, seq, now);
  }

  /** Answers whether there was such a consumer. */
  delete(channel: string, consumer: string): boolean {
    this.#tx.write();
    return this.#delete.run(channel, consumer).changes > 0;
  }

  deleteAll(channel: string): void {
    this.#tx.write();
    this.#deleteAll.run(channel);
  }
}
