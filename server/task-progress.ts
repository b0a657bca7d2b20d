import type { FunctionProgress, TaskProgress } from '../schemas/firehose.ts';
import type { ActiveTask } from './state/types.ts';

/** Functions whose ended tasks are counted one by one, at most; past it the least recently active are summed up. */
const TRACKED = 1000;

type EndedStatus = 'finished' | 'error' | 'cancelled' | 'lost';
type EndedCounts = Record<EndedStatus, number>;
type ActiveCounts = Readonly<Record<ActiveTask['state'], number>>;

interface Tracked extends EndedCounts {
  /** Order of the latest ended task: larger is more recent. */
  last: number;
}

const zeroEnded = (): EndedCounts => ({ finished: 0, error: 0, cancelled: 0, lost: 0 });

/**
 * Tasks by function, Dask's progress: the scheduling core counts active tasks
 * by function and state as they move; this counts the ended ones by status.
 * Counting costs one map lookup per ended task; the list is made only when a
 * frame or a request asks for it. A caller that runs thousands of differently
 * named functions costs at most TRACKED entries: the least recently active
 * are summed up, and show in `other`.
 */
export class FunctionProgressCounter {
  readonly #ended = new Map<string, Tracked>();
  /** Ended tasks of functions no longer counted one by one. */
  readonly #folded = zeroEnded();
  #order = 0;

  ended(fn: string, status: string): void {
    if (status !== 'finished' && status !== 'error' && status !== 'cancelled' && status !== 'lost') return;
    let counts = this.#ended.get(fn);
    if (!counts) {
      if (this.#ended.size >= TRACKED) this.#fold();
      counts = { ...zeroEnded(), last: 0 };
      this.#ended.set(fn, counts);
    }
    counts[status]++;
    counts.last = ++this.#order;
  }

  /**
   * The `limit` busiest functions (most active tasks, then most recently
   * ended), in name order; the others summed up in `other`.
   */
  progress(active: ReadonlyMap<string, ActiveCounts>, limit: number): TaskProgress {
    const rank = (fn: string): [number, number] => {
      const a = active.get(fn);
      return [a ? a.waiting + a.queued + a.processing : 0, this.#ended.get(fn)?.last ?? 0];
    };
    const before = (x: [number, number], y: [number, number]): boolean => x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
    // The top `limit` by rank, kept sorted best first: one pass, no sort of every function.
    const top: Array<{ fn: string; rank: [number, number] }> = [];
    const consider = (fn: string): void => {
      const r = rank(fn);
      if (top.length === limit && !before(r, top[top.length - 1].rank)) return;
      let i = top.length;
      while (i > 0 && before(r, top[i - 1].rank)) i--;
      top.splice(i, 0, { fn, rank: r });
      if (top.length > limit) top.pop();
    };
    for (const fn of active.keys()) consider(fn);
    for (const fn of this.#ended.keys()) if (!active.has(fn)) consider(fn);

    const listed = new Set(top.map((t) => t.fn));
    const row = (fn: string): FunctionProgress => {
      const a = active.get(fn);
      const e = this.#ended.get(fn);
      return {
        fn,
        waiting: a?.waiting ?? 0,
        queued: a?.queued ?? 0,
        processing: a?.processing ?? 0,
        finished: e?.finished ?? 0,
        error: e?.error ?? 0,
        cancelled: e?.cancelled ?? 0,
        lost: e?.lost ?? 0,
      };
    };
    const functions = [...listed].sort().map(row);

    const other = { functions: 0, waiting: 0, queued: 0, processing: 0, ...this.#folded };
    for (const [fn, a] of active) {
      if (listed.has(fn)) continue;
      other.functions++;
      other.waiting += a.waiting;
      other.queued += a.queued;
      other.processing += a.processing;
    }
    for (const [fn, e] of this.#ended) {
      if (listed.has(fn)) continue;
      if (!active.has(fn)) other.functions++;
      other.finished += e.finished;
      other.error += e.error;
      other.cancelled += e.cancelled;
      other.lost += e.lost;
    }
    const empty = other.functions === 0 && Object.values(this.#folded).every((n) => n === 0);
    return { functions, other: empty ? null : other };
  }

  /** Sum up the least recently active quarter of the functions counted one by one. */
  #fold(): void {
    const oldest = [...this.#ended].sort((a, b) => a[1].last - b[1].last).slice(0, Math.ceil(TRACKED / 4));
    for (const [fn, counts] of oldest) {
      this.#folded.finished += counts.finished;
      this.#folded.error += counts.error;
      this.#folded.cancelled += counts.cancelled;
      this.#folded.lost += counts.lost;
      this.#ended.delete(fn);
    }
  }
}
