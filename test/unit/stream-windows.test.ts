// Lists: partition (with key and timeout), partitionUnique, slidingWindow,
// timedWindow, timedWindowUnique, collect. Cases and expected outputs are
// streamz's (streamz/tests/test_core.py), in sluice's names; time runs on a
// ManualClock.
import t from 'tap';
import { ManualClock, Stream } from '../../stream/index.ts';
import { within } from '../helpers/streams.ts';

t.test('partition (streamz test_partition, test_partition_size_one)', async (t) => {
  const source = new Stream<number>();
  const L = source.partition(2).sinkToList();
  for (let i = 0; i < 10; i++) await source.emit(i);
  t.same(L, [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]);

  const clock = new ManualClock();
  const one = new Stream<number>({ clock });
  const ones = one.partition(1, { timeoutMs: 10 }).sinkToList();
  for (let i = 0; i < 10; i++) await one.emit(i);
  await clock.advance(100);
  t.equal(ones.length, 10, 'size one with a timeout: each item is a list, no timer fires an empty one');
});

t.test('partition timeout (streamz test_partition_timeout, test_partition_timeout_cancel)', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  const L = source.partition(10, { timeoutMs: 10 }).sinkToList();
  for (let i = 0; i < 5; i++) await source.emit(i);
  await clock.advance(100);
  t.same(L, [[0, 1, 2, 3, 4]]);

  const s = new Stream<number>({ clock });
  const M = s.partition(3, { timeoutMs: 100 }).sinkToList();
  for (let i = 0; i < 3; i++) await s.emit(i);
  await clock.advance(90);
  await s.emit(3);
  await clock.advance(20);
  t.same(M, [[0, 1, 2]], 'the full list cancelled its timer; the new one has its own');
  await clock.advance(90);
  t.same(M, [[0, 1, 2], [3]]);
});

t.test('partition by key (streamz test_partition_key, test_partition_key_callable), with a timeout per key', async (t) => {
  const source = new Stream<[number, number]>();
  const L = source.partition(2, { key: 0 }).sinkToList();
  for (let i = 0; i < 4; i++) await source.emit([i % 2, i]);
  t.same(L, [[[0, 0], [0, 2]], [[1, 1], [1, 3]]]);

  const s = new Stream<number>();
  const M = s.partition(2, { key: (x) => x % 2 }).sinkToList();
  for (let i = 0; i < 10; i++) await s.emit(i);
  t.same(M, [[0, 2], [1, 3], [4, 6], [5, 7]]);
  await s.end();
  t.same(M.slice(4), [[8], [9]], 'end() emits each key’s partial list, in the order they began');

  const clock = new ManualClock();
  const timed = new Stream<string>({ clock });
  const N = timed.partition(3, { key: (x) => x[0], timeoutMs: 50 }).sinkToList();
  await timed.emit('a1');
  await clock.advance(30);
  await timed.emit('b1');
  await clock.advance(30);
  t.same(N, [['a1']], 'a’s list timed out 50 ms after its first item');
  await timed.emit('a2');
  await clock.advance(30);
  t.same(N, [['a1'], ['b1']]);
  await clock.advance(30);
  t.same(N, [['a1'], ['b1'], ['a2']]);
});

t.test('partitionUnique (streamz test_partition_unique, every case)', async (t) => {
  const cases: Array<[number, ((x: never) => unknown) | string | undefined, 'first' | 'last', unknown[], unknown[]]> = [
    [3, undefined, 'first', [1, 2, 1, 3, 1, 3, 3, 2], [[1, 2, 3], [1, 3, 2]]],
    [3, undefined, 'last', [1, 2, 1, 3, 1, 3, 3, 2], [[2, 1, 3], [1, 3, 2]]],
    [3, (x: string) => x.length, 'last', ['f', 'fo', 'f', 'foo', 'f', 'foo', 'foo', 'fo'], [['fo', 'f', 'foo'], ['f', 'foo', 'fo']]],
    [2, 'id', 'first', [{ id: 0, foo: 'bar' }, { id: 0, foo: 'baz' }, { id: 1, foo: 'bat' }], [[{ id: 0, foo: 'bar' }, { id: 1, foo: 'bat' }]]],
    [2, 'id', 'last', [{ id: 0, foo: 'bar' }, { id: 0, foo: 'baz' }, { id: 1, foo: 'bat' }], [[{ id: 0, foo: 'baz' }, { id: 1, foo: 'bat' }]]],
  ];
  for (const [n, key, keep, elements, expected] of cases) {
    const source = new Stream<unknown>();
    const L = source.partitionUnique(n, { key: key as never, keep }).sinkToList();
    for (const x of elements) await source.emit(x);
    t.same(L, expected, `partitionUnique(${n}, key ${typeof key === 'function' ? 'len' : (key ?? 'identity')}, ${keep})`);
  }
  t.throws(() => new Stream().partitionUnique(2, { keep: 'middle' as never }), RangeError);
});

t.test('slidingWindow (streamz test_sliding_window): sluice’s default is full windows only', async (t) => {
  const source = new Stream<number>();
  const partial = source.slidingWindow(2, { partial: true }).sinkToList();
  const full = source.slidingWindow(2).sinkToList();
  for (let i = 0; i < 10; i++) await source.emit(i);
  t.same(partial, [[0], [0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7], [7, 8], [8, 9]], 'streamz’s default (return_partial=True)');
  t.same(full, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6], [6, 7], [7, 8], [8, 9]], 'return_partial=False');
});

t.test('timedWindow (streamz test_timed_window): every item once, lists per interval, no empty lists', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  const L = source.timedWindow(10).sinkToList();
  for (let i = 0; i < 10; i++) {
    await source.emit(i);
    await clock.advance(4);
  }
  await clock.advance(10);
  t.same(L.flat(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.ok(L.every((w) => w.length <= 3));
  t.ok(L.some((w) => w.length >= 2));
  await clock.advance(100);
  t.ok(L.at(-1)?.length, 'streamz ends with an empty tuple each interval; sluice emits nothing for an empty interval (deliberate)');
});

t.test('timedWindowUnique (streamz test_timed_window_unique, every case)', async (t) => {
  const cases: Array<[((x: never) => unknown) | string | undefined, 'first' | 'last', unknown[], unknown[]]> = [
    [undefined, 'first', [1, 2, 1, 3, 1, 3, 3, 2], [[1, 2, 3]]],
    [undefined, 'last', [1, 2, 1, 3, 1, 3, 3, 2], [[1, 3, 2]]],
    [(x: string) => x.length, 'last', ['f', 'fo', 'f', 'foo', 'f', 'foo', 'foo', 'fo'], [['f', 'foo', 'fo']]],
    ['id', 'first', [{ id: 0, foo: 'bar' }, { id: 1, foo: 'bat' }, { id: 0, foo: 'baz' }], [[{ id: 0, foo: 'bar' }, { id: 1, foo: 'bat' }]]],
    ['id', 'last', [{ id: 0, foo: 'bar' }, { id: 1, foo: 'bat' }, { id: 0, foo: 'baz' }], [[{ id: 1, foo: 'bat' }, { id: 0, foo: 'baz' }]]],
  ];
  for (const [key, keep, elements, expected] of cases) {
    const clock = new ManualClock();
    const source = new Stream<unknown>({ clock });
    const L = source.timedWindowUnique(50, { key: key as never, keep }).sinkToList();
    for (const x of elements) await source.emit(x);
    await clock.advance(50);
    t.same(L, expected, `timedWindowUnique(50, ${keep})`);
    await clock.advance(50);
    t.equal(L.length, 1, 'nothing for the empty interval after');
  }
  const clock = new ManualClock();
  const s = new Stream<number>({ clock });
  const M = s.timedWindowUnique(10).sinkToList();
  await s.emit(1);
  await s.emit(1);
  await within(s.end(), 2000, 'end');
  t.same(M, [[1]], 'end() emits the open window');
});

t.test('collect (streamz test_collect)', async (t) => {
  const source1 = new Stream<number>();
  const source2 = new Stream<string>();
  const collector = source1.collect();
  const L = collector.sinkToList();
  source2.sink(collector.flush);
  await source1.emit(1);
  await source1.emit(2);
  t.same(L, []);
  await source2.emit('anything');
  t.same(L, [[1, 2]]);
  await source2.emit('anything');
  t.same(L, [[1, 2], []]);
  await source1.emit(3);
  t.same(L, [[1, 2], []]);
  await source2.emit('anything');
  t.same(L, [[1, 2], [], [3]]);
});
