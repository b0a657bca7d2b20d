import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import { hasHolder, listHolders } from '../../server/state/holders.ts';
import { FIRE_AND_FORGET, isDependentHolder } from '../../server/state/holder-kinds.ts';
import { TaskScheduler } from '../../server/state/task-scheduler.ts';
import type { ActiveTask, EndedTask, NewTask, SchedulerEffects, TaskOutcome, WorkerState } from '../../server/state/types.ts';

/** The core with recording effects and an in-memory stand-in for the store. */
function harness(options: { allowedFailures?: number } = {}) {
  const ended = new Map<string, EndedTask & { outcome: TaskOutcome }>();
  const holds = new Map<string, Set<string>>();
  const log: string[] = [];
  const dispatched: Array<{ worker: string; key: string; attempt: number }> = [];
  const revoked: Array<{ worker: string; key: string; reason: string }> = [];
  const timers = new Set<string>();
  const effects: SchedulerEffects = {
    taskAdded: (task) => {
      log.push(`added ${task.key}`);
      for (const holder of listHolders(task.holders)) effects.holdAdded(task.key, holder);
    },
    taskEnded: (task, outcome) => {
      log.push(`ended ${task.key} ${outcome.status}`);
      const error = 'error' in outcome ? outcome.error : null;
      ended.set(task.key, { status: outcome.status, fn: task.fn, error, outcome });
    },
    taskRestarted: (task) => log.push(`restarted ${task.key} attempt=${task.attempt} failures=${task.failures}`),
    holdAdded: (key, holder) => {
      if (!holds.has(key)) holds.set(key, new Set());
      holds.get(key)?.add(holder);
    },
    holdReleased: (key, holder) => holds.get(key)?.delete(holder),
    dispatch: (worker: WorkerState, task: ActiveTask) => dispatched.push({ worker: worker.id, key: task.key, attempt: task.attempt }),
    revoke: (worker, task, reason) => revoked.push({ worker: worker.id, key: task.key, reason }),
    armTimeout: (task) => timers.add(task.key),
    disarmTimeout: (task) => timers.delete(task.key),
  };
  const lookup = {
    ended: (key: string) => ended.get(key),
    holdersOf: (key: string) => [...(holds.get(key) ?? [])].filter((h) => !isDependentHolder(h)),
  };
  const core = new TaskScheduler(effects, lookup, { allowedFailures: options.allowedFailures ?? 3 });
  const task = (key: string, extra: Partial<NewTask> = {}): NewTask => ({
    key,
    fn: 'f',
    args: '[]',
    kwargs: null,
    deps: [],
    priority: 0,
    retries: 0,
    timeoutMs: null,
    ...extra,
  });
  const join = (id: string, concurrency = 1, functions = ['f']) => core.workerJoined({ id, name: id, functions, concurrency });
  const order = () => dispatched.map((d) => d.key);
  return { core, ended, holds, log, dispatched, revoked, timers, task, join, order };
}

t.test('a task goes to a free worker, or queues until one joins', async (t) => {
  const h = harness();
  h.core.submit([h.task('a')], ['client:1']);
  t.same(h.order(), [], 'no worker yet');
  t.equal(h.core.get('a')?.state, 'queued');
  t.match(h.core.reason(h.core.get('a') as ActiveTask), /no connected worker has registered the function 'f'/);
  h.join('w1');
  t.same(h.dispatched, [{ worker: 'w1', key: 'a', attempt: 1 }]);
  t.equal(h.core.get('a')?.state, 'processing');
  t.ok(h.core.taskFinished('w1', 'a', 1, '2'));
  t.equal(h.ended.get('a')?.status, 'finished');
  t.equal(h.core.get('a'), undefined, 'an ended task leaves the active set');
});

t.test('higher priority first, FIFO within a priority', async (t) => {
  const h = harness();
  h.join('w1', 1);
  h.core.submit([h.task('blocker')], ['c']);
  h.core.submit([h.task('low1', { priority: -1 }), h.task('mid1'), h.task('high', { priority: 5 }), h.task('mid2'), h.task('low2', { priority: -1 })], ['c']);
  for (const key of ['blocker', 'high', 'mid1', 'mid2', 'low1']) {
    h.core.taskFinished('w1', key, 1, 'null');
  }
  t.same(h.order(), ['blocker', 'high', 'mid1', 'mid2', 'low1', 'low2']);
});

t.test('the least loaded worker with a free slot gets the task; only workers that registered the function', async (t) => {
  const h = harness();
  h.join('w1', 2);
  h.join('w2', 2);
  h.join('other', 8, ['g']);
  h.core.submit([h.task('a'), h.task('b'), h.task('c'), h.task('d'), h.task('e')], ['c']);
  const byWorker = (w: string) => h.dispatched.filter((d) => d.worker === w).length;
  t.equal(byWorker('w1'), 2);
  t.equal(byWorker('w2'), 2);
  t.equal(byWorker('other'), 0);
  t.equal(h.core.get('e')?.state, 'queued');
  t.same(h.core.counts(), { waiting: 0, queued: 1, processing: 4 });
  t.match(h.core.reason(h.core.get('e') as ActiveTask), /all 2 workers that run 'f' are busy/);
});

t.test('dependencies: waiting until they finish, errors and cancels propagate', async (t) => {
  const h = harness();
  h.join('w1', 4);
  h.core.submit([h.task('a'), h.task('b', { deps: ['a'] }), h.task('c', { deps: ['b'] })], ['c']);
  t.same(h.order(), ['a']);
  t.equal(h.core.get('b')?.state, 'waiting');
  t.match(h.core.reason(h.core.get('b') as ActiveTask), /waiting for 1 dependency to finish: a/);
  t.same([...(h.holds.get('a') ?? [])].sort(), ['c', 'task:b'], 'a dependent holds its dependency');
  h.core.taskFinished('w1', 'a', 1, '1');
  t.same(h.order(), ['a', 'b']);
  h.core.taskErred('w1', 'b', 1, { name: 'ValueError', message: 'bad', traceback: 'tb' });
  t.equal(h.ended.get('b')?.status, 'error');
  t.equal(h.ended.get('c')?.status, 'error', 'the dependent errs too');
  t.same(h.ended.get('c')?.error, { name: 'ValueError', message: 'bad', traceback: 'tb', key: 'b' }, 'with the original error and who raised it');
  t.notOk(h.holds.get('a')?.has('task:b'), 'an ended task lets go of its dependencies');

  h.core.submit([h.task('x'), h.task('y', { deps: ['x'] })], ['c']);
  h.core.cancel('x');
  t.equal(h.ended.get('x')?.status, 'cancelled');
  t.equal(h.ended.get('y')?.status, 'cancelled');
  t.same(h.revoked.map((r) => r.key), ['x'], 'the worker running x is told to drop it');
});

t.test('a dependency that already ended', async (t) => {
  const h = harness();
  h.join('w1', 4);
  h.core.submit([h.task('a')], ['c']);
  h.core.taskErred('w1', 'a', 1, { name: 'E', message: 'm', traceback: '' });
  h.core.submit([h.task('after-error', { deps: ['a'] })], ['c']);
  t.equal(h.ended.get('after-error')?.status, 'error');
  h.core.submit([h.task('ok')], ['c']);
  h.core.taskFinished('w1', 'ok', 1, '1');
  h.core.submit([h.task('after-ok', { deps: ['ok'] })], ['c']);
  t.equal(h.core.get('after-ok')?.state, 'processing');
});

t.test('a chain of 20,000 erring tasks does not overflow the stack', async (t) => {
  const h = harness();
  h.join('w1', 1);
  const chain = Array.from({ length: 20_000 }, (_, i) => h.task(`t${i}`, { deps: i === 0 ? [] : [`t${i - 1}`] }));
  h.core.submit(chain, ['c']);
  h.core.taskErred('w1', 't0', 1, { name: 'E', message: 'first', traceback: '' });
  t.equal(h.ended.get('t19999')?.status, 'error');
  t.equal(h.ended.get('t19999')?.error?.key, 't0');
  t.equal(h.core.size, 0);
  t.same(h.core.counts(), { waiting: 0, queued: 0, processing: 0 }, 'the counts follow every move');
});

t.test('counts by function follow every move, as a scan of the active tasks would find them', async (t) => {
  const fns = ['f', 'g', 'h'];
  const op = fc.oneof(
    fc.record({ kind: fc.constant('submit' as const), fn: fc.constantFrom(...fns), dep: fc.option(fc.nat(40)), retries: fc.nat(1) }),
    fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(40) }),
    fc.record({ kind: fc.constant('err' as const), pick: fc.nat(40) }),
    fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat(40) }),
    fc.record({ kind: fc.constant('release' as const), pick: fc.nat(40) }),
    fc.record({ kind: fc.constant('join' as const), id: fc.constantFrom('w1', 'w2', 'w3'), concurrency: fc.integer({ min: 1, max: 3 }), fns: fc.subarray(fns, { minLength: 1 }) }),
    fc.record({ kind: fc.constant('leave' as const), id: fc.constantFrom('w1', 'w2', 'w3') }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const h = harness({ allowedFailures: 1 });
      const keys: string[] = [];
      const joined = new Set<string>();
      const processing = (pick: number) => keys.map((k) => h.core.get(k)).filter((task) => task?.state === 'processing')[pick % Math.max(1, keys.length)];
      for (const o of ops) {
        if (o.kind === 'submit') {
          const key = `k${keys.length}`;
          const dep = o.dep === null || keys.length === 0 ? [] : [keys[o.dep % keys.length]];
          h.core.submit([h.task(key, { fn: o.fn, deps: dep, retries: o.retries })], ['c']);
          keys.push(key);
        } else if (o.kind === 'join') {
          if (joined.has(o.id)) continue;
          joined.add(o.id);
          h.join(o.id, o.concurrency, o.fns);
        } else if (o.kind === 'leave') {
          joined.delete(o.id);
          h.core.workerLeft(o.id);
        } else if (o.kind === 'cancel') {
          if (keys.length > 0) h.core.cancel(keys[o.pick % keys.length]);
        } else if (o.kind === 'release') {
          if (keys.length > 0) h.core.release([keys[o.pick % keys.length]], 'c');
        } else {
          const task = processing(o.pick);
          if (!task?.worker) continue;
          if (o.kind === 'finish') h.core.taskFinished(task.worker.id, task.key, task.attempt, 'null');
          else h.core.taskErred(task.worker.id, task.key, task.attempt, { name: 'E', message: 'm', traceback: '' });
        }
        const scanned = new Map<string, Record<string, number>>();
        for (const key of keys) {
          const task = h.core.get(key);
          if (!task) continue;
          const counts = scanned.get(task.fn) ?? { waiting: 0, queued: 0, processing: 0 };
          counts[task.state]++;
          scanned.set(task.fn, counts);
        }
        const kept = new Map([...h.core.countsByFunction()].map(([fn, counts]) => [fn, { ...counts }]));
        if (!isDeepStrictEqual(kept, scanned)) return false;
      }
      return true;
    }),
    { numRuns: 200 },
  );
  t.pass('200 runs of up to 120 operations');
});

t.test('retries: a task that throws runs again, then errs', async (t) => {
  const h = harness();
  h.join('w1', 1);
  h.core.submit([h.task('r', { retries: 2 })], ['c']);
  const boom = { name: 'E', message: 'm', traceback: '' };
  h.core.taskErred('w1', 'r', 1, boom);
  h.core.taskErred('w1', 'r', 2, boom);
  t.equal(h.core.get('r')?.attempt, 3);
  h.core.taskErred('w1', 'r', 3, boom);
  t.equal(h.ended.get('r')?.status, 'error');
  t.same(h.dispatched.map((d) => d.attempt), [1, 2, 3]);
});

t.test('a report for another attempt or from another worker is ignored', async (t) => {
  const h = harness();
  h.join('w1', 1);
  h.join('w2', 1);
  h.core.submit([h.task('a', { retries: 1 })], ['c']);
  const worker = h.dispatched[0].worker;
  const other = worker === 'w1' ? 'w2' : 'w1';
  t.notOk(h.core.taskFinished(other, 'a', 1, '1'), 'wrong worker');
  h.core.taskErred(worker, 'a', 1, { name: 'E', message: 'm', traceback: '' });
  const retry = h.dispatched[1];
  t.notOk(h.core.taskFinished(retry.worker, 'a', 1, '1'), 'stale attempt');
  t.ok(h.core.taskFinished(retry.worker, 'a', 2, '1'));
});

t.test('timeouts err with a clear message and count as attempts', async (t) => {
  const h = harness();
  h.join('w1', 1);
  h.core.submit([h.task('slow', { timeoutMs: 50, retries: 1 })], ['c']);
  t.ok(h.timers.has('slow'), 'the time limit is armed');
  h.core.taskTimedOut('slow', 1);
  t.same(h.revoked[0], { worker: 'w1', key: 'slow', reason: 'timeout' });
  t.equal(h.core.get('slow')?.attempt, 2, 'retried');
  h.core.taskTimedOut('slow', 1);
  t.equal(h.core.get('slow')?.attempt, 2, 'a stale timer does nothing');
  h.core.taskTimedOut('slow', 2);
  t.equal(h.ended.get('slow')?.status, 'error');
  t.match(h.ended.get('slow')?.error, { name: 'TimeoutError', message: /exceeded its time limit of 50 ms \(attempt 2\)/ });
  t.equal(h.timers.size, 0);
});

t.test('a worker that leaves: its tasks go elsewhere, and are lost after allowedFailures', async (t) => {
  const h = harness({ allowedFailures: 1 });
  h.join('w1', 1);
  h.core.submit([h.task('a'), h.task('dep', { deps: ['a'] })], ['c']);
  h.core.workerLeft('w1');
  t.equal(h.core.get('a')?.state, 'queued');
  t.equal(h.core.get('a')?.failures, 1);
  h.join('w2', 1);
  t.equal(h.dispatched.at(-1)?.worker, 'w2');
  h.core.workerLeft('w2');
  t.equal(h.ended.get('a')?.status, 'lost');
  t.match(h.ended.get('a')?.error?.message, /died 2 times \(allowedFailures is 1\)/);
  t.equal(h.ended.get('dep')?.status, 'lost', 'a dependent of a lost task is lost');
});

t.test('secede gives the slot back', async (t) => {
  const h = harness();
  h.join('w1', 1);
  h.core.submit([h.task('parent'), h.task('child')], ['c']);
  t.same(h.order(), ['parent']);
  h.core.secede('w1', 'parent', 1);
  t.same(h.order(), ['parent', 'child']);
  h.core.taskFinished('w1', 'child', 1, '1');
  h.core.taskFinished('w1', 'parent', 1, '1');
  t.equal(h.core.worker('w1')?.running, 0, 'a seceded task does not count when it ends');
});

t.test('holders: shared keys, release cancels what nobody wants, fire-and-forget keeps running', async (t) => {
  const h = harness();
  h.core.submit([h.task('shared')], ['client:1']);
  h.core.submit([h.task('shared')], ['client:2']);
  t.equal(h.log.filter((l) => l === 'added shared').length, 1, 'one task for one key');
  h.core.release(['shared'], 'client:1');
  t.ok(h.core.get('shared'), 'still held by client 2');
  h.core.release(['shared'], 'client:2');
  t.equal(h.ended.get('shared')?.status, 'cancelled', 'released by every holder before it finished');

  h.core.submit([h.task('ff')], ['client:1', FIRE_AND_FORGET]);
  h.core.release(['ff'], 'client:1');
  t.ok(h.core.get('ff'), 'fire-and-forget keeps it');
  h.join('w1');
  h.core.taskFinished('w1', 'ff', 1, '1');
  t.notOk(h.holds.get('ff')?.has(FIRE_AND_FORGET), 'ff is let go when it ends');

  h.core.submit([h.task('again')], ['client:1']);
  h.core.cancel('again');
  h.core.submit([h.task('again')], ['client:3']);
  t.ok(h.core.get('again'), 'a cancelled key runs again when submitted again');
  t.ok(hasHolder(h.core.get('again')?.holders, 'client:1'), 'keeping its earlier holders');
});

t.test('restore rebuilds queues and dependencies', async (t) => {
  const h = harness();
  const row = (key: string, seq: number, deps: string[] = []) => ({
    ...h.task(key, { deps }),
    seq,
    submittedAt: 0,
    attempt: 1,
    failures: 0,
    holders: ['client:1'],
  });
  h.core.restore([row('a', 7), row('b', 8, ['a'])]);
  t.equal(h.core.get('a')?.state, 'queued');
  t.equal(h.core.get('b')?.state, 'waiting');
  t.equal(h.core.seq, 9, 'new submissions continue the sequence');
  h.join('w1');
  h.core.taskFinished('w1', 'a', 2, '1');
  t.same(h.order(), ['a', 'b']);
});
