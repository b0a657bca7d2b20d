import type { FunctionProgress, TaskProgress } from '../../schemas/firehose.ts';
import type { ActiveTask } from '../state/types.ts';

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
const FIELDS = ['waiting', 'queued', 'processing', 'finished', 'error', 'cancelled', 'lost'] as const;

function row(fn: string, a: ActiveCounts | undefined, e: EndedCounts | undefined): FunctionProgress {
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
}

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
  /** Ended tasks of every function, those no longer counted one by one too. */
  readonly #totals = zeroEnded();
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
    this.#totals[status]++;
  }

  /**
   * The `limit` busiest functions (most active tasks, then most recently
   * ended), in name order; the others summed up in `other`. One pass over the
   * functions with active tasks, no sort of them all: `other` is what the
   * totals leave once the listed rows are taken out.
   */
  progress(active: ReadonlyMap<string, ActiveCounts>, limit: number): TaskProgress {
    // The top `limit`, kept sorted best first; most functions fail the first comparison with the worst kept.
    const top: Array<{ fn: string; busy: number; last: number }> = [];
    const consider = (fn: string, busy: number, lastOf: number | ((fn: string) => number)): void => {
      const worst = top.length === limit ? top[limit - 1] : undefined;
      if (worst && busy < worst.busy) return;
      const last = typeof lastOf === 'number' ? lastOf : lastOf(fn);
      if (worst && busy === worst.busy && last <= worst.last) return;
      let i = top.length;
      while (i > 0 && (busy > top[i - 1].busy || (busy === top[i - 1].busy && last > top[i - 1].last))) i--;
      top.splice(i, 0, { fn, busy, last });
      if (top.length > limit) top.pop();
    };
    const lastEnded = (fn: string): number => this.#ended.get(fn)?.last ?? 0;
    const other = { functions: 0, waiting: 0, queued: 0, processing: 0, ...this.#totals };
    for (const [fn, a] of active) {
      other.waiting += a.waiting;
      other.queued += a.queued;
      other.processing += a.processing;
      consider(fn, a.waiting + a.queued + a.processing, lastEnded);
    }
    let both = 0;
    for (const [fn, e] of this.#ended) {
      if (active.has(fn)) both++;
      else consider(fn, 0, e.last);
    }

    const functions = top
      .map(({ fn }) => row(fn, active.get(fn), this.#ended.get(fn)))
      .sort((x, y) => (x.fn < y.fn ? -1 : x.fn > y.fn ? 1 : 0));
    other.functions = active.size + this.#ended.size - both - functions.length;
    for (const f of functions) {
      for (const field of FIELDS) other[field] -= f[field];
    }
    const empty = FIELDS.every((field) => other[field] === 0) && other.functions === 0;
    return { functions, other: empty ? null : other };
  }

  /** Sum up the least recently active quarter of the functions counted one by one. */
  #fold(): void {
    const oldest = [...this.#ended].sort((a, b) => a[1].last - b[1].last).slice(0, Math.ceil(TRACKED / 4));
    for (const [fn] of oldest) this.#ended.delete(fn);
  }
}
