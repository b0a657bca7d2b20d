import { colour, count } from './format.ts';
import type { FunctionProgress, Model } from './model.ts';

/** The parts of a bar, in the order drawn, with what the legend calls them. */
const PARTS = [
  ['finished', 'finished'],
  ['failed', 'error or lost'],
  ['processing', 'running'],
  ['queued', 'queued'],
  ['waiting', 'waiting'],
  ['cancelled', 'cancelled'],
] as const;

type Part = (typeof PARTS)[number][0];
type Row = Omit<FunctionProgress, 'fn'>;

const parts = (row: Row): Record<Part, number> => ({
  finished: row.finished,
  failed: row.error + row.lost,
  processing: row.processing,
  queued: row.queued,
  waiting: row.waiting,
  cancelled: row.cancelled,
});

const total = (row: Row): number => row.waiting + row.queued + row.processing + row.finished + row.error + row.cancelled + row.lost;

/**
 * Dask's progress: one bar per function, finished to waiting, with the
 * tasks done against all of them. Active tasks are those now; ended ones
 * since the scheduler started, like the counts above.
 */
export function Progress({ model }: { model: Model }) {
  const { functions, other } = model.progress;
  const all = [...functions, ...(other ? [other] : [])].reduce<Row>(
    (sum, row) => ({
      waiting: sum.waiting + row.waiting,
      queued: sum.queued + row.queued,
      processing: sum.processing + row.processing,
      finished: sum.finished + row.finished,
      error: sum.error + row.error,
      cancelled: sum.cancelled + row.cancelled,
      lost: sum.lost + row.lost,
    }),
    { waiting: 0, queued: 0, processing: 0, finished: 0, error: 0, cancelled: 0, lost: 0 },
  );
  return (
    <section class="panel">
      <h2>
        Progress <small>by function; ended tasks since the scheduler started</small>
      </h2>
      <ul class="legend">
        {PARTS.map(([part, label]) => (
          <li key={part}>
            <i class={`swatch part-${part}`} />
            {label}
          </li>
        ))}
      </ul>
      {functions.length === 0 && !other && <p class="empty">no tasks yet</p>}
      <div class="progress" data-testid="progress">
        {functions.map((row) => (
          <ProgressRow key={row.fn} name={row.fn} row={row} swatch={colour(row.fn)} />
        ))}
        {other && <ProgressRow name={other.functions > 0 ? `other (${count(other.functions)} functions)` : 'other'} row={other} testId="other" />}
        {(functions.length > 1 || other) && <ProgressRow name="all" row={all} testId="all" />}
      </div>
    </section>
  );
}

function ProgressRow({ name, row, swatch, testId }: { name: string; row: Row; swatch?: string; testId?: string }) {
  const sum = total(row);
  const shares = parts(row);
  const details = PARTS.filter(([part]) => shares[part] > 0 && part !== 'finished').map(([part, label]) => `${count(shares[part])} ${label}`);
  return (
    <div
      class={`progress-row${testId === 'all' ? ' all' : ''}`}
      data-fn={testId ? undefined : name}
      data-testid={testId ? `progress-${testId}` : undefined}
      data-waiting={row.waiting}
      data-queued={row.queued}
      data-processing={row.processing}
      data-finished={row.finished}
      data-error={row.error}
      data-cancelled={row.cancelled}
      data-lost={row.lost}
      title={PARTS.map(([part, label]) => `${label}: ${count(shares[part])}`).join('\n')}
    >
      <span class="fn">
        {swatch && <i class="swatch" style={{ background: swatch }} />}
        {name}
      </span>
      <span class="done">
        {count(row.finished)} / {count(sum)}
      </span>
      <span class="bar">
        {PARTS.map(([part]) => shares[part] > 0 && <i key={part} class={`part-${part}`} style={{ width: `${(shares[part] / sum) * 100}%` }} />)}
      </span>
      <span class="details">{details.join(' · ')}</span>
    </div>
  );
}
