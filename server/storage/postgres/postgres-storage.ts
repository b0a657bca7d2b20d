import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import type { Db } from '../sqlite/database.ts';
import type { Shipper } from '../sqlite/group-commit.ts';
import { SqliteStorage } from '../sqlite/sqlite-storage.ts';
import { captureWrites, type RecordedWrite } from './capture.ts';
import { type Fence, FencedError, fencedTransaction, Leadership } from './leadership.ts';
import { migrate } from './migrate.ts';

/** Whether --db names a PostgreSQL database (a postgres:// or postgresql:// URL) rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(db);
}

/** The URL without its password (for logs and `location`): credentials are never logged. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    parsed.searchParams.delete('password');
    return parsed.toString();
  } catch {
    return 'postgres://… (a URL that does not parse)';
  }
}

/** PostgreSQL's int8 (BIGINT, count(*)) as a JS number, as SQLite answers it; refused beyond 2^53. */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`the integer ${text} read from PostgreSQL is beyond what sluice keeps exactly (2^53)`);
  return value;
}

/** pg's type parsers, with int8 as a number. */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** SQLite AUTOINCREMENT tables and the PostgreSQL sequence that keeps their high-water mark. */
const SEQUENCES: Record<string, string> = { queue_items: 'queue_item_id_blocks' };

const COPY_PREFIX = 'sluice-pg-copy-';

export interface PostgresStorageOptions {
  /** Told when a commit fails or leadership is lost: from then on nothing more is committed. */
  onFailure: (error: Error) => void;
  log?: FastifyBaseLogger;
  /** The leadership lease (ms); 5000 by default. */
  leaseMs?: number;
  /** The URL others should use for this scheduler, recorded with the leadership. */
  advertiseUrl?: string | null;
  /**
   * A leadership that leads already, kept by the caller (SchedulerHost): the
   * store fences its writes with the term it leads at now, and neither
   * starts nor closes it. Without one, open() contends itself and waits.
   */
  leadership?: Leadership;
}

/**
 * A turn's writes, recorded as they run on the copy, sent to PostgreSQL when
 * the copy commits: one fenced transaction at a time, pipelined (BEGIN, the
 * fence, the writes, COMMIT in one burst); the turns committed locally while
 * one is on its way join the next, in order. Once one fails (the database
 * refused it, the connection dropped, the fence says another scheduler
 * leads), every later one fails with it: nothing is sent after a gap.
 */
class PostgresShipper implements Shipper {
  readonly #client: pg.Client;
  readonly #leadership: Leadership;
  /** The term the copy was loaded at: a later term (lost, then gained again) is not this copy's to write. */
  readonly #term: number;
  readonly #copy: () => Db;
  #turn: RecordedWrite[] = [];
  #next: Batch | undefined;
  #sending: Batch | undefined;
  #failed: Error | undefined;
  /** The highest value shipped for each AUTOINCREMENT table. */
  readonly #shippedSeq = new Map<string, number>();
  readonly #names = new Map<string, string>();

  constructor(client: pg.Client, leadership: Leadership, term: number, copy: () => Db) {
    this.#client = client;
    this.#leadership = leadership;
    this.#term = term;
    this.#copy = copy;
  }

  capture(db: Db): Db {
    return captureWrites(db, (write) => this.#turn.push(write));
  }

  /** Start from the sequences' values as loaded. */
  loaded(table: string, seq: number): void {
    this.#shippedSeq.set(table, seq);
  }

  discard(): void {
    this.#turn = [];
  }

  ship(): Promise<void> | undefined {
    const turn = this.#turn;
    this.#turn = [];
    if (this.#failed) return rejected(this.#failed);
    if (turn.length === 0) return (this.#next ?? this.#sending)?.done;
    const queries: pg.QueryConfig[] = turn.map(({ statement, values }) => ({ name: this.#nameOf(statement.text), text: statement.text, values }));
    for (const table of new Set(turn.map((w) => w.statement.table))) {
      const sequence = SEQUENCES[table];
      if (!sequence) continue;
      const seq = (this.#copy().prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(table) as number | undefined) ?? 0;
      if (seq <= (this.#shippedSeq.get(table) ?? 0)) continue;
      this.#shippedSeq.set(table, seq);
      queries.push({ name: `sluice-seq-${sequence}`, text: `SELECT setval('${sequence}', GREATEST($1::bigint, (SELECT last_value FROM ${sequence})))`, values: [seq] });
    }
    const batch = (this.#next ??= new Batch());
    batch.queries.push(...queries);
    if (!this.#sending) void this.#send();
    return batch.done;
  }

  /** Resolves once everything shipped so far has been answered (committed or failed). */
  async drained(): Promise<void> {
    while (this.#sending) await this.#sending.done.catch(() => undefined);
  }

  /** Nothing more is sent: what waits is told this error. */
  fail(error: Error): void {
    this.#failed ??= error;
    const next = this.#next;
    this.#next = undefined;
    next?.settle(this.#failed);
  }

  async #send(): Promise<void> {
    while (this.#next && !this.#failed) {
      const batch = this.#next;
      this.#next = undefined;
      this.#sending = batch;
      try {
        const fence = this.fence();
        await fencedTransaction(this.#client, fence, batch.queries);
        batch.settle(undefined);
      } catch (error) {
        this.fail(error as Error);
        batch.settle(this.#failed);
      }
    }
    this.#sending = undefined;
  }

  /** The fence of the term the copy was loaded at; FencedError once that term no longer leads. */
  fence(): Fence {
    const fence = this.#leadership.fence;
    if (!fence || fence.term !== this.#term) throw new FencedError(this.#leadership.name, this.#term);
    return fence;
  }

  #nameOf(text: string): string {
    let name = this.#names.get(text);
    if (!name) this.#names.set(text, (name = `sluice-w${this.#names.size}`));
    return name;
  }
}

class Batch {
  readonly queries: pg.QueryConfig[] = [];
  readonly done: Promise<void>;
  settle!: (failure: Error | undefined) => void;
  constructor() {
    this.done = new Promise((resolve, reject) => {
      this.settle = (failure) => (failure ? reject(failure) : resolve());
    });
    // Whoever waits attaches its own handlers; a batch nobody waits for must not crash the process.
    this.done.catch(() => undefined);
  }
}

function rejected(error: Error): Promise<void> {
  const promise = Promise.reject(error);
  promise.catch(() => undefined);
  return promise;
}

/**
 * The Storage port over PostgreSQL, as the store of record. The scheduler
 * leads (Leadership) before it reads anything; it then loads every sluice
 * table into a private SQLite file, its working set, and the stores run on
 * that copy as they do on SQLite: reads are answered by the copy (exact,
 * since only the fenced leader writes), and every write is also recorded and
 * shipped at the end of its turn as one fenced transaction (PostgresShipper).
 * A turn counts as committed (committed(), afterCommit()) once PostgreSQL
 * has committed it.
 *
 * A failed or fenced commit, and a lost leadership, are final for this
 * store: onFailure is told, and nothing more is committed. Its owner stops
 * serving it (SchedulerHost stands by and, when it leads again, opens a
 * fresh store that loads what PostgreSQL holds then).
 */
export class PostgresStorage extends SqliteStorage {
  override readonly location: string;
  readonly leadership: Leadership;
  readonly #client: pg.Client;
  readonly #shipper: PostgresShipper;
  readonly #dir: string;
  /** Whether the leadership is this store's own (made by open()), to close with it. */
  readonly #ownsLeadership: boolean;
  /** Told when leadership is lost while serving (not when it is given up by close()). */
  #onLost: ((lost: { term: number; reason: string }) => void) | undefined;

  private constructor(copy: string, location: string, client: pg.Client, leadership: Leadership, shipper: PostgresShipper, options: PostgresStorageOptions) {
    super(copy, { onFailure: options.onFailure, log: options.log, copyOf: shipper });
    this.location = location;
    this.#client = client;
    this.leadership = leadership;
    this.#ownsLeadership = !options.leadership;
    this.#shipper = shipper;
    this.#dir = join(copy, '..');
  }

  /**
   * Lead (waiting while another scheduler does; or with options.leadership,
   * which leads already), apply the PostgreSQL migrations, and load the
   * database into a fresh private copy.
   */
  static async open(url: string, options: PostgresStorageOptions): Promise<PostgresStorage> {
    const location = withoutPassword(url);
    const log = options.log;
    const leaseMs = options.leadership?.leaseMs ?? options.leaseMs ?? 5000;
    const started = performance.now();
    const owned = !options.leadership;
    const leadership = options.leadership ?? new Leadership({ connection: url, leaseMs, url: options.advertiseUrl ?? null });
    if (owned) {
      leadership.on('leadership:error', (error) => log?.warn({ err: error, db: location }, 'leadership: a round trip to PostgreSQL failed'));
      try {
        await leadership.start();
      } catch (error) {
        await leadership.close().catch(() => undefined);
        throw new Error(`the PostgreSQL store ${location} could not be reached: ${(error as Error).message}`, { cause: error });
      }
      if (leadership.role !== 'leader') {
        log?.warn({ db: location, leader: leadership.leader }, 'another scheduler leads this database: waiting to take over');
        await new Promise<void>((resolve) => leadership.once('leadership:gained', () => resolve()));
      }
    }
    const term = leadership.term;
    if (term === undefined) throw new Error(`the PostgreSQL store ${location} could not be opened: this scheduler no longer leads`);
    log?.info({ db: location, term }, 'leading the PostgreSQL store');
    const settings: pg.ClientConfig = {
      connectionString: url,
      types: PG_TYPES,
      // A transaction left open (a paused leader) holds a takeover off: the server ends it after a lease.
      idle_in_transaction_session_timeout: leaseMs,
      statement_timeout: leaseMs * 2,
      keepAlive: true,
    };
    // The writer: pipelined, so that a turn's transaction goes out as one burst.
    const client = new pg.Client({ ...settings, pipeline: true } as pg.ClientConfig);
    const loader = new pg.Client(settings);
    let storage: PostgresStorage | undefined;
    let shipper: PostgresShipper | undefined;
    const lost = (error: Error): void => {
      shipper?.fail(error);
      options.onFailure(error);
    };
    client.on('error', (error) => lost(error));
    loader.on('error', () => undefined);
    try {
      await loader.connect();
      const version = await migrate(loader);
      await client.connect();
      const dir = makeCopyDir();
      shipper = new PostgresShipper(client, leadership, term, () => (storage as PostgresStorage).sqlite);
      storage = new PostgresStorage(join(dir, 'copy.db'), location, client, leadership, shipper, options);
      const rows = await loadCopy(loader, storage.sqlite, shipper);
      // Leadership lost while loading: what was loaded may be stale already, and nothing could be written.
      if (leadership.term !== term) throw new Error('leadership was lost while the database was being loaded');
      log?.info({ db: location, schemaVersion: version, rows, ms: Math.round(performance.now() - started) }, 'PostgreSQL store loaded into the working copy');
    } catch (error) {
      await storage?.close().catch(() => undefined);
      await client.end().catch(() => undefined);
      if (owned) await leadership.close().catch(() => undefined);
      throw new Error(`the PostgreSQL store ${location} could not be opened: ${(error as Error).message}`, { cause: error });
    } finally {
      await loader.end().catch(() => undefined);
    }
    const onLost = ({ term, reason }: { term: number; reason: string }): void => lost(new FencedError(leadership.name, term, { cause: new Error(reason) }));
    leadership.on('leadership:lost', onLost);
    storage.#onLost = onLost;
    return storage;
  }

  /** Whether PostgreSQL takes this leader's writes: a fenced transaction of no writes. */
  override async probe(): Promise<void> {
    if (this.failed) throw this.failed;
    await fencedTransaction(this.#client, this.#shipper.fence(), []);
  }

  /** Commit and ship what is pending, give the leadership up (if it is the store's own), and remove the copy. */
  override async close(): Promise<void> {
    super.closeNow();
    await this.#shipper.drained();
    if (this.#onLost) this.leadership.off('leadership:lost', this.#onLost);
    if (this.#ownsLeadership) await this.leadership.close().catch(() => undefined);
    await this.#client.end().catch(() => undefined);
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** A directory for the copy; those of processes that died without removing theirs are removed. */
function makeCopyDir(): string {
  const base = tmpdir();
  for (const name of readdirSync(base)) {
    if (!name.startsWith(COPY_PREFIX)) continue;
    const owner = Number.parseInt(readFileIfAny(join(base, name, 'owner.pid')), 10);
    // This process's own id on an old directory: a previous run in a container, where ids repeat.
    if (owner && (owner === process.pid || !isRunning(owner))) rmSync(join(base, name), { recursive: true, force: true });
  }
  const dir = join(base, `${COPY_PREFIX}${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  return dir;
}

function readFileIfAny(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Rows inserted into the copy between two yields to the event loop. */
const LOAD_CHUNK = 5000;

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * Copy every table the copy's schema has from PostgreSQL, column by column,
 * in one snapshot; and the AUTOINCREMENT high-water marks, so that an id is
 * never used twice. Answers how many rows were loaded.
 */
export async function loadCopy(client: pg.ClientBase, db: Db, shipper?: { loaded(table: string, seq: number): void }): Promise<number> {
  let total = 0;
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    for (const table of tables) {
      const columns = (db.pragma(`table_info(${quote(table)})`) as Array<{ name: string }>).map((c) => quote(c.name));
      const { rows } = await client.query<unknown[]>({ text: `SELECT ${columns.join(', ')} FROM ${quote(table)}`, rowMode: 'array' });
      const insert = db.prepare(`INSERT INTO ${quote(table)} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
      const some = db.transaction((from: number) => {
        for (const row of rows.slice(from, from + LOAD_CHUNK)) insert.run(row);
      });
      for (let from = 0; from < rows.length; from += LOAD_CHUNK) {
        some(from);
        // The leadership's renewals run meanwhile: a long load must not let the lease lapse.
        await new Promise((resolve) => setImmediate(resolve));
      }
      total += rows.length;
    }
    for (const [table, sequence] of Object.entries(SEQUENCES)) {
      const { rows } = await client.query<{ last_value: number; is_called: boolean }>(`SELECT last_value, is_called FROM ${sequence}`);
      const fromSequence = rows[0]?.is_called ? rows[0].last_value : 0;
      const fromRows = (db.prepare(`SELECT coalesce(max(rowid), 0) FROM ${quote(table)}`).pluck().get() as number) ?? 0;
      const seq = Math.max(fromSequence, fromRows);
      db.prepare('DELETE FROM sqlite_sequence WHERE name = ?').run(table);
      if (seq > 0) db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table, seq);
      shipper?.loaded(table, seq);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return total;
}
