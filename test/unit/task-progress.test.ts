import t from 'tap';
import type { TaskProgress } from '../../schemas/firehose.ts';
import { FunctionProgressCounter } from '../../server/services/task-progress.ts';

const active = (entries: Record<string, [waiting: number, queued: number, processing: number]>) =>
  new Map(Object.entries(entries).map(([fn, [waiting, queued, processing]]) => [fn, { waiting, queued, processing }]));

/** Every row, and other, summed up. */
function sums(progress: TaskProgress) {
  const rows = [...progress.functions, ...(progress.other ? [progress.other] : [])];
  const total = { waiting: 0, queued: 0, processing: 0, finished: 0, error: 0, cancelled: 0, lost: 0 };
  for (const row of rows) for (const field of Object.keys(total) as Array<keyof typeof total>) total[field] += row[field];
  return total;
}

t.test('a row per function: active tasks from the core, ended ones counted here; nothing else when all are listed', async (t) => {
  const counter = new FunctionProgressCounter();
  t.same(counter.progress(new Map(), 20), { functions: [], other: null }, 'nothing yet');
  counter.ended('inc', 'finished');
  counter.ended('inc', 'finished');
  counter.ended('inc', 'error');
  counter.ended('fail', 'lost');
  counter.ended('fail', 'cancelled');
  counter.ended('inc', 'pending'); // not an ended status: not counted
  t.same(counter.progress(active({ inc: [1, 2, 3], load: [0, 5, 0] }), 20), {
    functions: [
      { fn: 'fail', waiting: 0, queued: 0, processing: 0, finished: 0, error: 0, cancelled: 1, lost: 1 },
      { fn: 'inc', waiting: 1, queued: 2, processing: 3, finished: 2, error: 1, cancelled: 0, lost: 0 },
      { fn: 'load', waiting: 0, queued: 5, processing: 0, finished: 0, error: 0, cancelled: 0, lost: 0 },
    ],
    other: null,
  });
});

t.test('the busiest functions are listed, in name order; the rest summed up in other', async (t) => {
  const counter = new FunctionProgressCounter();
  for (const fn of ['a', 'b', 'c', 'd']) counter.ended(fn, 'finished');
  counter.ended('b', 'finished'); // b ended most recently, then d, then c
  counter.ended('d', 'error');
  const progress = counter.progress(active({ z: [0, 0, 1], y: [3, 0, 0] }), 3);
  t.same(
    progress.functions.map((f) => f.fn),
    ['d', 'y', 'z'],
    'those with active tasks first (y: 3, z: 1), then the most recently ended (d)',
  );
  t.same(progress.other, { functions: 3, waiting: 0, queued: 0, processing: 0, finished: 4, error: 0, cancelled: 0, lost: 0 }, 'a, b and c summed up');
  t.same(sums(progress), { waiting: 3, queued: 0, processing: 1, finished: 5, error: 1, cancelled: 0, lost: 0 }, 'the rows add up to every task');
});

t.test('thousands of function names: bounded, and the sums stay exact', async (t) => {
  const counter = new FunctionProgressCounter();
  for (let i = 0; i < 5000; i++) {
    counter.ended(`fn${i}`, 'finished');
    if (i % 10 === 0) counter.ended(`fn${i}`, 'error');
  }
  const progress = counter.progress(new Map(), 1000);
  t.equal(progress.functions.length, 1000);
  t.same(sums(progress), { waiting: 0, queued: 0, processing: 0, finished: 5000, error: 500, cancelled: 0, lost: 0 });
  t.ok(progress.functions.some((f) => f.fn === 'fn4999'), 'the newest are listed');
  t.equal(progress.other?.functions, 0, 'no more than a thousand functions are counted one by one');
  t.ok((progress.other?.finished ?? 0) >= 4000, 'the least recently active are summed up');
  const top = counter.progress(new Map(), 5);
  t.same(
    top.functions.map((f) => f.fn),
    ['fn4995', 'fn4996', 'fn4997', 'fn4998', 'fn4999'],
  );
});
