import type { FutureStatus } from '../../../schemas/common.ts';
import type { Db } from './database.ts';
import type { GroupCommit } from './group-commit.ts';

export interface ChannelRow {
  name: string;
  maxlen: number | null;
  stopped: number;
  first_seq: number;
  /** The newest entry's seq: the row's last_seq, or its newest entry's when that is newer (appends do not write the row). */
  lastSeq: number;
  created_at: number;
}

export interface EntryRow {
  seq: number;
  key: string;
  status: FutureStatus;
}

/** SQLite persistence for channels, their entries and append idempotency keys. */
export class ChannelStore {
  readonly #tx: GroupCommit;
  readonly #selectChannels;
  readonly #insertChannel;
  readonly #updateChannel;
  readonly #deleteChannel;
  readonly #insertEntry;
  readonly #deleteEntriesUpTo;
  readonly #deleteEntries;
  readonly #selectEntries;
  readonly #selectEntriesUpTo;
  readonly #selectAllEntries;
  readonly #selectAppend;
  readonly #insertAppend;
  readonly #deleteAppends;
  readonly #purgeAppends;

  constructor(db: Db, tx: GroupCommit) {
    this.#tx = tx;
    // last_seq is written with the rest of the row (create, configure, trim, stop), not by every
    // append: an append writes its entry only, and the newest entry is found through the primary key.
    this.#selectChannels = db.prepare(
      `SELECT name, maxlen, stopped, first_seq, created_at,
              max(last_seq, coalesce((SELECT max(seq) FROM channel_entries e WHERE e.channel = c.name), 0)) AS lastSeq
       FROM channels c`,
    );
    this.#insertChannel = db.prepare(
      'INSERT INTO channels (name, maxlen, stopped, first_seq, last_seq, created_at) VALUES (?, ?, 0, 1, 0, ?)',
    );
    this.#updateChannel = db.prepare('UPDATE channels SET maxlen = ?, stopped = ?, first_seq = ?, last_seq = ? WHERE name = ?');
    this.#deleteChannel = db.prepare('DELETE FROM channels WHERE name = ?');
    this.#insertEntry = db.prepare('INSERT INTO channel_entries (channel, seq, key) VALUES (?, ?, ?)');
    this.#deleteEntriesUpTo = db.prepare('DELETE FROM channel_entries WHERE channel = ? AND seq <= ?');
    this.#deleteEntries = db.prepare('DELETE FROM channel_entries WHERE channel = ?');
    // An entry's key is held, so its task row exists; the join gives its status.
    this.#selectEntries = db.prepare(
      `SELECT e.seq, e.key, coalesce(t.status, 'pending') AS status FROM channel_entries e
       LEFT JOIN tasks t ON t.key = e.key
       WHERE e.channel = ? AND e.seq >= ? AND e.seq <= ? ORDER BY e.seq LIMIT ?`,
    );
    this.#selectEntriesUpTo = db.prepare('SELECT seq, key FROM channel_entries WHERE channel = ? AND seq <= ? ORDER BY seq');
    this.#selectAllEntries = db.prepare('SELECT seq, key FROM channel_entries WHERE channel = ? ORDER BY seq');
    this.#selectAppend = db.prepare('SELECT answer FROM channel_appends WHERE channel = ? AND idempotency_key = ?');
    this.#insertAppend = db.prepare(
      'INSERT INTO channel_appends (channel, idempotency_key, answer, created_at) VALUES (?, ?, ?, ?)',
    );
    this.#deleteAppends = db.prepare('DELETE FROM channel_appends WHERE channel = ?');
    this.#purgeAppends = db.prepare('DELETE FROM channel_appends WHERE created_at < ?');
  }

  channels(): ChannelRow[] {
    return this.#selectChannels.all() as ChannelRow[];
  }

  create(name: string, maxlen: number | null, now: number): void {
    this.#tx.write();
    this.#insertChannel.run(name, maxlen, now);
  }

  update(name: string, fields: { maxlen: number | null; stopped: boolean; firstSeq: number; lastSeq: number }): void {
    this.#tx.write();
    this.#updateChannel.run(fields.maxlen, fields.stopped ? 1 : 0, fields.firstSeq, fields.lastSeq, name);
  }

  insertEntry(channel: string, seq: number, key: string): void {
    this.#tx.write();
    this.#insertEntry.run(channel, seq, key);
  }

  /** Remove entries up to seq; answers what was removed, to release their holds. */
  dropUpTo(channel: string, seq: number): Array<{ seq: number; key: string }> {
    const dropped = this.#selectEntriesUpTo.all(channel, seq) as Array<{ seq: number; key: string }>;
    this.#tx.write();
    this.#deleteEntriesUpTo.run(channel, seq);
    return dropped;
  }

  /** Remove the channel and everything in it; answers its entries, to release their holds. */
  delete(channel: string): Array<{ seq: number; key: string }> {
    const entries = this.#selectAllEntries.all(channel) as Array<{ seq: number; key: string }>;
    this.#tx.write();
    this.#deleteEntries.run(channel);
    this.#deleteAppends.run(channel);
    this.#deleteChannel.run(channel);
    return entries;
  }

  /** Entries with from <= seq <= to, oldest first, at most limit, with their futures' status. */
  entries(channel: string, from: number, to: number, limit: number): EntryRow[] {
    return this.#selectEntries.all(channel, from, to, limit) as EntryRow[];
  }

  /** The answer an earlier append with this idempotency key got. */
  previousAppend(channel: string, idempotencyKey: string): { seqs: number[]; keys: string[] } | undefined {
    const row = this.#selectAppend.get(channel, idempotencyKey) as { answer: string } | undefined;
    return row ? (JSON.parse(row.answer) as { seqs: number[]; keys: string[] }) : undefined;
  }

  recordAppend(channel: string, idempotencyKey: string, answer: { seqs: number[]; keys: string[] }, now: number): void {
    this.#tx.write();
    this.#insertAppend.run(channel, idempotencyKey, JSON.stringify(answer), now);
  }

  /** Forget idempotency keys older than the horizon. */
  purgeAppends(before: number): void {
    this.#tx.write();
    this.#purgeAppends.run(before);
  }
}
