import type { FutureStatus, TaskErrorInfo } from '../../../schemas/common.ts';
import { CLIENT_PREFIX, parseClientHolder, prefixEnd, TASK_PREFIX } from '../../state/holder-kinds.ts';
import { listHolders } from '../../state/holders.ts';
import type { ActiveTask, EndedTask, RestoredTask, StoreLookup, TaskOutcome } from '../../state/types.ts';
import type { SqliteStorage } from './sqlite-storage.ts';

/** A row of the tasks table, as SQLite returns it. */
export interface TaskRow {
  key: string;
  seq: number;
  fn: string;
  args: string;
  kwargs: string | null;
  deps: string | null;
  priority: number;
  retries: number;
  timeout_ms: number | null;
  status: FutureStatus;
  attempt: number;
  failures: number;
  result: string | null;
  error: string | null;
  worker: string | null;
  submitted_at: number;
  started_at: number | null;
  finished_at: number | null;
  expires_at: number | null;
}

export interface TaskStoreOptions {
  /** How long an ended task that nothing holds is kept before it is forgotten. */
  retentionMs: number;
  /** How long a forgotten key is remembered as forgotten (to say so on a 404). */
  tombstoneMs?: number;
  now?: () => number;
}

/**
 * SQLite persistence for tasks, holds and forgotten keys. Writes join the
 * turn's transaction through the storage, held back while it holds writes
 * (SqliteStorage.holdingWrites); every statement is prepared once.
 */
export class TaskStore implements StoreLookup {
  readonly #storage: SqliteStorage;
  readonly #retentionMs: number;
  readonly #tombstoneMs: number;
  readonly #now: () => number;

  readonly #insertTask;
  readonly #endTask;
  readonly #restartTask;
  readonly #insertHold;
  readonly #keepHeld;
  readonly #deleteHold;
  readonly #clearOwner;
  readonly #deleteHoldsBy;
  readonly #releaseOwned;
  readonly #startRetention;
  readonly #selectEnded;
  readonly #selectHolders;
  readonly #selectTask;
  readonly #selectResult;
  readonly #selectForgotten;
  readonly #selectPending;
  readonly #selectPendingHolds;
  readonly #selectHeldBy;
  readonly #selectClientHolders;
  readonly #selectExpired;
  readonly #deleteTask;
  readonly #deleteHoldsOf;
  readonly #insertForgotten;
  readonly #purgeForgotten;
  readonly #countByStatus;

  constructor(storage: SqliteStorage, options: TaskStoreOptions) {
    this.#storage = storage;
    const db = storage.db;
    this.#retentionMs = options.retentionMs;
    this.#tombstoneMs = options.tombstoneMs ?? 7 * 24 * 3600 * 1000;
    this.#now = options.now ?? Date.now;

    this.#insertTask = db.prepare(
      // A row replaced whole: the columns not given go back to their defaults.
      `INSERT INTO tasks (key, seq, fn, args, kwargs, deps, priority, retries, timeout_ms, status,
         attempt, failures, submitted_at, owner)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET seq = excluded.seq, fn = excluded.fn, args = excluded.args, kwargs = excluded.kwargs,
         deps = excluded.deps, priority = excluded.priority, retries = excluded.retries, timeout_ms = excluded.timeout_ms,
         status = excluded.status, attempt = excluded.attempt, failures = excluded.failures, submitted_at = excluded.submitted_at,
         owner = excluded.owner, result = NULL, error = NULL, worker = NULL, started_at = NULL, finished_at = NULL, expires_at = NULL`,
    );
    this.#endTask = db.prepare(
      `UPDATE tasks SET status = ?, result = ?, error = ?, worker = ?, started_at = ?, finished_at = ?, attempt = ?,
         expires_at = CASE WHEN owner IS NOT NULL OR EXISTS (SELECT 1 FROM holds WHERE key = ?) THEN NULL ELSE CAST(? AS BIGINT) END
       WHERE key = ?`,
    );
    this.#restartTask = db.prepare('UPDATE tasks SET attempt = ?, failures = ?, retries = ? WHERE key = ?');
    this.#insertHold = db.prepare('INSERT INTO holds (key, holder) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.#keepHeld = db.prepare('UPDATE tasks SET expires_at = NULL WHERE key = ? AND expires_at IS NOT NULL');
    this.#deleteHold = db.prepare('DELETE FROM holds WHERE key = ? AND holder = ?');
    this.#clearOwner = db.prepare('UPDATE tasks SET owner = NULL WHERE key = ? AND owner = ?');
    this.#deleteHoldsBy = db.prepare('DELETE FROM holds WHERE holder = ? RETURNING key').raw();
    this.#releaseOwned = db.prepare(
      `UPDATE tasks SET owner = NULL,
         expires_at = CASE WHEN status != 'pending' AND expires_at IS NULL AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.key = tasks.key)
                      THEN ? ELSE expires_at END
       WHERE owner = ?`,
    );
    this.#startRetention = db.prepare(
      `UPDATE tasks SET expires_at = ? WHERE key = ? AND status != 'pending' AND expires_at IS NULL AND owner IS NULL
         AND NOT EXISTS (SELECT 1 FROM holds WHERE key = ?)`,
    );
    this.#selectEnded = db.prepare("SELECT status, fn, error FROM tasks WHERE key = ? AND status != 'pending'");
    this.#selectHolders = db.prepare(
      `SELECT owner AS holder FROM tasks WHERE key = @key AND owner IS NOT NULL
       UNION SELECT holder FROM holds WHERE key = @key AND holder NOT LIKE '${TASK_PREFIX}%'`,
    );
    this.#selectTask = db.prepare('SELECT * FROM tasks WHERE key = ?');
    this.#selectResult = db.prepare("SELECT result FROM tasks WHERE key = ? AND status = 'finished'");
    this.#selectForgotten = db.prepare('SELECT 1 FROM forgotten WHERE key = ?');
    // Rows as arrays of just these columns: a restart reads every pending task.
    this.#selectPending = db
      .prepare(
        `SELECT key, fn, args, kwargs, deps, priority, retries, timeout_ms, seq, submitted_at, attempt, failures, owner
         FROM tasks WHERE status = 'pending' ORDER BY seq`,
      )
      .raw();
    this.#selectPendingHolds = db
      .prepare(
        // CROSS JOIN keeps this order: the pending tasks first (by their index),
        // then their holds; the other way round would read every hold there is.
        `SELECT t.key, h.holder FROM tasks t CROSS JOIN holds h ON h.key = t.key
         WHERE t.status = 'pending' AND h.holder NOT LIKE '${TASK_PREFIX}%'`,
      )
      .raw();
    this.#selectHeldBy = db.prepare('SELECT key FROM tasks WHERE owner = @holder UNION SELECT key FROM holds WHERE holder = @holder');
    // Ranges rather than LIKE, so that the indexes on owner and holder serve.
    this.#selectClientHolders = db.prepare(
      `SELECT DISTINCT owner AS holder FROM tasks WHERE owner >= '${CLIENT_PREFIX}' AND owner < '${prefixEnd(CLIENT_PREFIX)}'
       UNION SELECT DISTINCT holder FROM holds WHERE holder >= '${CLIENT_PREFIX}' AND holder < '${prefixEnd(CLIENT_PREFIX)}'`,
    );
    this.#selectExpired = db.prepare('SELECT key FROM tasks WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?');
    this.#deleteTask = db.prepare('DELETE FROM tasks WHERE key = ?');
    this.#deleteHoldsOf = db.prepare('DELETE FROM holds WHERE key = ?');
    this.#insertForgotten = db.prepare('INSERT INTO forgotten (key, forgotten_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET forgotten_at = excluded.forgotten_at');
    this.#purgeForgotten = db.prepare('DELETE FROM forgotten WHERE forgotten_at < ?');
    this.#countByStatus = db.prepare('SELECT status, count(*) AS n FROM tasks GROUP BY status');
  }

  /** The results of tasks ended while writes are held, for the dispatch of their dependents (until their write runs). */
  readonly #heldResults = new Map<string, string>();

  #write(write: () => void): void {
    this.#storage.write(write);
  }

  #read(): void {
    this.#storage.read();
  }

  // ── writes ─────────────────────────────────────────────────────────────

  insertTask(task: ActiveTask): void {
    const [owner, ...others] = listHolders(task.holders);
    const row = [
      task.key,
      task.seq,
      task.fn,
      task.args,
      task.kwargs,
      task.deps.length > 0 ? JSON.stringify(task.deps) : null,
      task.priority,
      task.retries,
      task.timeoutMs,
      task.attempt,
      task.failures,
      task.submittedAt,
      owner ?? null,
    ];
    const key = task.key;
    this.#write(() => {
      this.#insertTask.run(row);
      for (const holder of others) this.#insertHold.run(key, holder);
    });
  }

  endTask(task: ActiveTask, outcome: TaskOutcome, finishedAt: number): void {
    const result = outcome.status === 'finished' ? outcome.result : null;
    const held = result !== null && this.#storage.holding;
    if (held) this.#heldResults.set(task.key, result);
    const row = [
      outcome.status,
      result,
      errorJson(outcome),
      task.worker?.name ?? null,
      task.startedAt,
      finishedAt,
      task.attempt,
      task.key,
      finishedAt + this.#retentionMs,
      task.key,
    ];
    const key = task.key;
    this.#write(() => {
      this.#endTask.run(row);
      if (held) this.#heldResults.delete(key);
    });
  }

  restartTask(task: ActiveTask): void {
    const { attempt, failures, retries, key } = task;
    this.#write(() => this.#restartTask.run(attempt, failures, retries, key));
  }

  /** A value given by a client (scatter): stored as a finished task. */
  insertValue(key: string, result: string, holder: string | null): void {
    const now = this.#now();
    this.#write(() => {
      this.#insertTask.run(key, 0, 'scatter', '[]', null, null, 0, 0, null, 0, 0, now, holder);
      this.#endTask.run('finished', result, null, null, now, now, 0, key, now + this.#retentionMs, key);
    });
  }

  addHold(key: string, holder: string): void {
    this.#write(() => {
      if (this.#insertHold.run(key, holder).changes > 0) this.#keepHeld.run(key);
    });
  }

  /** Drop a hold; an ended task that nothing holds any more starts its retention period. */
  releaseHold(key: string, holder: string): void {
    const expiresAt = this.#now() + this.#retentionMs;
    this.#write(() => {
      const released = this.#clearOwner.run(key, holder).changes + this.#deleteHold.run(key, holder).changes;
      if (released > 0) this.#startRetention.run(expiresAt, key, key);
    });
  }

  /** The holder lets go of everything it holds; ended tasks nothing else holds start their retention. */
  releaseHolder(holder: string): void {
    const expiresAt = this.#now() + this.#retentionMs;
    this.#write(() => {
      const fromHolds = this.#deleteHoldsBy.all(holder) as Array<[string]>;
      this.#releaseOwned.run(expiresAt, holder);
      for (const [key] of fromHolds) this.#startRetention.run(expiresAt, key, key);
    });
  }

  /** Forget ended tasks whose retention period is over. Returns the keys forgotten. */
  sweep(limit = 10_000): string[] {
    this.#read();
    const now = this.#now();
    const keys = (this.#selectExpired.all(now, limit) as Array<{ key: string }>).map((r) => r.key);
    this.#write(() => {
      for (const key of keys) {
        this.#deleteTask.run(key);
        this.#deleteHoldsOf.run(key);
        this.#insertForgotten.run(key, now);
      }
      this.#purgeForgotten.run(now - this.#tombstoneMs);
    });
    return keys;
  }

  // ── reads ──────────────────────────────────────────────────────────────

  ended(key: string): EndedTask | undefined {
    this.#read();
    const row = this.#selectEnded.get(key) as { status: FutureStatus; fn: string; error: string | null } | undefined;
    if (!row) return undefined;
    return { status: row.status, fn: row.fn, error: row.error ? (JSON.parse(row.error) as TaskErrorInfo) : null };
  }

  holdersOf(key: string): string[] {
    this.#read();
    return (this.#selectHolders.all({ key }) as Array<{ holder: string }>).map((r) => r.holder);
  }

  task(key: string): TaskRow | undefined {
    this.#read();
    return this.#selectTask.get(key) as TaskRow | undefined;
  }

  /** The JSON text of a finished task's result. */
  result(key: string): string | undefined {
    if (this.#heldResults.size > 0) {
      if (!this.#storage.holding) this.#heldResults.clear(); // their writes ran
      else {
        const held = this.#heldResults.get(key);
        if (held !== undefined) return held;
      }
    }
    this.#read();
    return (this.#selectResult.get(key) as { result: string } | undefined)?.result;
  }

  isForgotten(key: string): boolean {
    this.#read();
    return this.#selectForgotten.get(key) !== undefined;
  }

  /** Pending tasks of a previous run, with their holders, in submission order. */
  pending(): RestoredTask[] {
    const others = new Map<string, string[]>();
    for (const [key, holder] of this.#selectPendingHolds.iterate() as Iterable<[string, string]>) {
      const list = others.get(key);
      if (list) list.push(holder);
      else others.set(key, [holder]);
    }
    const rows: RestoredTask[] = [];
    type Row = [string, string, string, string | null, string | null, number, number, number | null, number, number, number, number, string | null];
    for (const [key, fn, args, kwargs, deps, priority, retries, timeoutMs, seq, submittedAt, attempt, failures, owner] of this.#selectPending.iterate() as Iterable<Row>) {
      const holders = others.get(key) ?? [];
      if (owner !== null) holders.unshift(owner);
      rows.push({ key, fn, args, kwargs, deps: deps ? (JSON.parse(deps) as string[]) : [], priority, retries, timeoutMs, seq, submittedAt, attempt, failures, holders });
    }
    return rows;
  }

  keysHeldBy(holder: string): string[] {
    return (this.#selectHeldBy.all({ holder }) as Array<{ key: string }>).map((r) => r.key);
  }

  /** Every client id that holds something. */
  clientIds(): string[] {
    return (this.#selectClientHolders.all() as Array<{ holder: string }>).flatMap((r) => parseClientHolder(r.holder) ?? []);
  }

  countsByStatus(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const row of this.#countByStatus.all() as Array<{ status: string; n: number }>) counts[row.status] = row.n;
    return counts;
  }
}

function errorJson(outcome: TaskOutcome): string | null {
  if (outcome.status === 'error' || outcome.status === 'lost') return JSON.stringify(outcome.error);
  if (outcome.status === 'cancelled') return JSON.stringify({ name: 'CancelledError', message: outcome.reason, traceback: '' });
  return null;
}
