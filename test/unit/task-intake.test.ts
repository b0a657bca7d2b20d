import t from 'tap';
import type { TaskSpec } from '../../schemas/tasks.ts';
import { SluiceError } from '../../server/errors.ts';
import { checkBatch, checkPendingBytes, findCycle, type KnownKeys, newTasks } from '../../server/services/task-intake.ts';
import type { EndedTask, NewTask } from '../../server/state/types.ts';

const LIMITS = { maxBatch: 10, maxDepth: 4, maxPending: 20, maxPendingBytes: 10_000 };

function spec(fn: string, args: unknown[] = [], extra: Partial<TaskSpec> = {}): TaskSpec {
  return { fn, args, priority: 0, retries: 0, pure: true, ...extra } as TaskSpec;
}

function task(key: string, deps: string[] = [], fn = 'f'): NewTask {
  return { key, fn, args: '[]', kwargs: null, deps, priority: 0, retries: 0, timeoutMs: null };
}

function keys(active: Record<string, string> = {}, ended: Record<string, string> = {}, forgotten: string[] = []): KnownKeys {
  return {
    active: (key) => (key in active ? { fn: active[key] } : undefined),
    ended: (key) => (key in ended ? ({ fn: ended[key], status: 'finished' } as EndedTask) : undefined),
    isForgotten: (key) => forgotten.includes(key),
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof SluiceError ? error.code : String(error);
  }
  return undefined;
}

t.test('specs become new tasks: pure keys derived, arguments as JSON text, dependencies found', async (t) => {
  const [a, b] = newTasks([spec('add', [1, 2]), spec('inc', [{ $future: 'add-x' }], { key: 'mine', timeoutMs: 5 })], 0, LIMITS);
  t.match(a.key, /^add-/);
  t.equal(a.args, '[1,2]');
  t.equal(a.kwargs, null);
  t.same(a.deps, []);
  t.equal(b.key, 'mine');
  t.same(b.deps, ['add-x']);
  t.equal(b.timeoutMs, 5);
  t.equal(newTasks([spec('add', [1, 2])], 0, LIMITS)[0].key, a.key, 'the same pure task, the same key');
});

t.test('a batch over the limits is refused before anything is made', async (t) => {
  t.equal(codeOf(() => newTasks(Array.from({ length: 11 }, () => spec('f')), 0, LIMITS)), 'SLUICE_ERR_TOO_LARGE');
  t.equal(codeOf(() => newTasks([spec('f')], 20, LIMITS)), 'SLUICE_ERR_OVERLOADED');
  t.equal(codeOf(() => newTasks([spec('f', [[[[[[1]]]]]])], 0, LIMITS)), 'SLUICE_ERR_VALIDATION');
  t.equal(codeOf(() => checkPendingBytes([task('k'.repeat(20_000))], 0, 10_000)), 'SLUICE_ERR_TOO_LARGE', 'a batch that could never fit');
  t.equal(codeOf(() => checkPendingBytes([task('k')], 9_999, 10_000)), 'SLUICE_ERR_OVERLOADED', 'a batch that does not fit now');
  t.equal(codeOf(() => checkPendingBytes([task('k')], 0, 10_000)), undefined);
});

t.test('dependencies must exist, keys keep their function, and a batch has no cycle', async (t) => {
  t.equal(codeOf(() => checkBatch([task('a', ['gone'])], keys())), 'SLUICE_ERR_UNKNOWN_KEY');
  t.equal(codeOf(() => checkBatch([task('a', ['old'])], keys({}, {}, ['old']))), 'SLUICE_ERR_FORGOTTEN');
  t.equal(codeOf(() => checkBatch([task('a', ['a'])], keys())), 'SLUICE_ERR_VALIDATION');
  t.equal(codeOf(() => checkBatch([task('a', [], 'f')], keys({ a: 'g' }))), 'SLUICE_ERR_KEY_CONFLICT');
  t.equal(codeOf(() => checkBatch([task('a', [], 'f')], keys({}, { a: 'g' }))), 'SLUICE_ERR_KEY_CONFLICT');
  t.equal(codeOf(() => checkBatch([task('a', ['b']), task('b', ['a'])], keys())), 'SLUICE_ERR_VALIDATION');
  const known = checkBatch([task('a', ['p', 'e']), task('b', ['a']), task('e')], keys({ p: 'f' }, { e: 'f' }));
  t.same([...known.keys()], ['a', 'b', 'e'], 'the keys not active, looked up once');
  t.equal(known.get('e')?.fn, 'f', 'with their ended task when there is one');
});

t.test('findCycle names the keys of a cycle in order, and ignores dependencies outside the batch', async (t) => {
  const byKey = (tasks: NewTask[]) => new Map(tasks.map((x) => [x.key, x]));
  t.same(findCycle(byKey([task('a', ['b']), task('b', ['c']), task('c', ['a'])])), ['a', 'b', 'c', 'a']);
  t.equal(findCycle(byKey([task('a', ['b', 'outside']), task('b'), task('c', ['a', 'b'])])), undefined);
  // A long chain does not overflow the stack.
  const chain = Array.from({ length: 50_000 }, (_, i) => task(`k${i}`, i > 0 ? [`k${i - 1}`] : []));
  t.equal(findCycle(byKey(chain)), undefined);
});
