// One-in operators: unique, starmap, remove, slice, frequencies, filter
// without a predicate, scan with its state. Cases and expected outputs are
// streamz's (streamz/tests/test_core.py), in sluice's names.
import t from 'tap';
import { Stream } from '../../stream/index.ts';

t.test('unique: history is an LRU, a repeated value is refreshed (streamz test_unique_history)', async (t) => {
  const source = new Stream<number>();
  const L = source.unique({ history: 2 }).sinkToList();
  for (const x of [1, 2, 1, 2, 1, 2]) await source.emit(x);
  t.same(L, [1, 2]);
  await source.emit(3);
  await source.emit(2);
  t.same(L, [1, 2, 3]);
  await source.emit(1);
  t.same(L, [1, 2, 3, 1]);
  await source.emit(2); // refreshes 2
  await source.emit(3); // knocks out 1
  await source.emit(2); // refreshes 2
  t.same(L, [1, 2, 3, 1, 3]);

  const other = new Stream<number>();
  const M = other.unique({ history: 2 }).sinkToList();
  for (const x of [1, 2, 1, 3, 1]) await other.emit(x);
  t.same(M, [1, 2, 3], '1 was seen again before 3 came, so 3 evicted 2, not 1');
});

t.test('unique: default, key with history 1 (streamz test_unique, test_unique_key), objects as keys (test_unique_history_dict)', async (t) => {
  const source = new Stream<number>();
  const L = source.unique().sinkToList();
  for (const x of [1, 2, 1]) await source.emit(x);
  t.same(L, [1, 2]);

  const s = new Stream<number>();
  const M = s.unique({ key: (x) => x % 2, history: 1 }).sinkToList();
  for (const x of [1, 2, 4, 6, 3]) await s.emit(x);
  t.same(M, [1, 2, 3]);

  const d = new Stream<Record<string, string>>();
  const N = d.unique({ history: 2 }).sinkToList();
  const a = { hi: 'world' };
  const b = { hi: 'bar' };
  const c = { foo: 'bar' };
  for (const x of [a, b, a, b, a, b]) await d.emit(x);
  t.same(N, [a, b]);
  await d.emit(c);
  await d.emit(b);
  t.same(N, [a, b, c]);
  await d.emit(a);
  t.same(N, [a, b, c, a]);
});

t.test('starmap (streamz test_starmap), remove (test_remove), filter without a predicate (test_filter_none)', async (t) => {
  const source = new Stream<[number, number]>();
  const L = source.starmap((x, y) => x + y).sinkToList();
  const asyncL = source.starmap(async (x, y) => x * y).sinkToList();
  await source.emit([1, 10]);
  t.same(L, [11]);
  t.same(asyncL, [10]);

  const numbers = new Stream<number>();
  const odd = numbers.remove((x) => x % 2 === 0).sinkToList();
  const truthy = numbers.map((x) => x % 3).filter().sinkToList();
  for (let i = 0; i < 10; i++) await numbers.emit(i);
  t.same(odd, [1, 3, 5, 7, 9]);
  t.same(truthy, [1, 2, 1, 2, 1, 2]);
});

t.test('slice (streamz test_slice, test_slice_err)', async (t) => {
  const cases: Array<[[number?, number?, number?], number[]]> = [
    [[], [0, 1, 2, 3, 4, 5]],
    [[undefined, undefined, undefined], [0, 1, 2, 3, 4, 5]],
    [[1, undefined, undefined], [1, 2, 3, 4, 5]],
    [[undefined, 4, undefined], [0, 1, 2, 3]],
    [[undefined, 4, 2], [0, 2]],
    [[3, 1, undefined], []],
    [[1, undefined, 2], [1, 3, 5]], // list[1::2]
  ];
  for (const [args, expected] of cases) {
    const a = new Stream<number>();
    const out = a.slice(...args).sinkToList();
    for (let i = 0; i < 6; i++) await a.emit(i);
    t.same(out, expected, `slice(${args.join(', ')})`);
  }
  t.throws(() => new Stream().slice(undefined, -1), RangeError);
  t.throws(() => new Stream().slice(0, 5, 0), RangeError);
});

t.test('frequencies (streamz test_frequencies)', async (t) => {
  const source = new Stream<string>();
  const L = source.frequencies().sinkToList();
  for (const x of ['a', 'b', 'a']) await source.emit(x);
  t.same(L.at(-1), new Map([['a', 2], ['b', 1]]));
  t.same(L[0], new Map([['a', 1]]), 'each emission is a Map of its own');
});

t.test('scan: returnsState (streamz test_scan), withState (test_accumulate with_state), errors reject the emit (test_accumulate_errors_raises)', async (t) => {
  const source = new Stream<number>();
  const L = source.scan((acc: number, i) => [acc + i, acc + i] as const, { start: 0, returnsState: true }).sinkToList();
  const withState = source.accumulate((acc, x) => acc + x, { withState: true }).sinkToList();
  const both = source.scan((acc: number, i) => [acc + 1, acc * i] as const, { start: 0, returnsState: true, withState: true }).sinkToList();
  for (let i = 0; i < 3; i++) await source.emit(i);
  t.same(L, [0, 1, 3]);
  t.same(withState, [[0, 0], [1, 1], [3, 3]]);
  t.same(both, [[1, 0], [2, 1], [3, 4]]);

  const a = new Stream<number>();
  a.accumulate((x, y) => {
    if (y === 0) throw new RangeError('division by zero');
    return x / y;
  }, { withState: true });
  await a.emit(1);
  await t.rejects(a.emit(0), RangeError);

  const b = new Stream<number>();
  const sums = b.scan((acc, x) => acc + x).sinkToList();
  const incs = b.map((x) => x + 1);
  const doubles = b.map((x) => x * 2).sinkToList();
  const incSums = incs.scan((acc, x) => acc + x).sinkToList();
  for (let i = 0; i < 4; i++) await b.emit(i);
  t.same(incSums, [1, 3, 6, 10], 'streamz test_basic');
  t.same(doubles, [0, 2, 4, 6]);
  t.same(sums, [0, 1, 3, 6]);
});

t.test('map errors reject the emit (streamz test_map_errors_raises); pluck (test_pluck, test_pluck_list)', async (t) => {
  const a = new Stream<number>();
  a.map((x) => {
    if (x === 0) throw new RangeError('division by zero');
    return 1 / x;
  });
  await t.rejects(a.emit(0), RangeError);

  const p = new Stream<number[]>();
  const one = p.pluck(1).sinkToList();
  const pairs = p.pluck([0, 2]).sinkToList();
  await p.emit([1, 2, 3]);
  await p.emit([4, 5, 6, 7, 8, 9]);
  t.same(one, [2, 5]);
  t.same(pairs, [[1, 3], [4, 6]]);
  await p.emit([1]);
  t.same(one.at(-1), undefined, 'a missing index gives undefined, where Python raises IndexError (a deliberate difference: JavaScript indexing)');
});

t.test('start() on any node starts the sources upstream (streamz test_start)', async (t) => {
  const source = Stream.fromIterable([1, 2, 3]);
  const out = source.map((x) => x + 1).sinkToList();
  const mapped = source.map((x) => x * 10);
  await mapped.start();
  t.same(out, [2, 3, 4]);
  t.same(await new Stream().map((x) => x).start(), undefined, 'no source: resolves at once');

  const a = Stream.fromIterable([1, 2]);
  const b = Stream.fromIterable([10, 20]);
  const zipped = a.zip(b);
  const pairs = zipped.sinkToList();
  await zipped.start();
  t.same(pairs, [[1, 10], [2, 20]], 'both sources of a zip are started');
});
