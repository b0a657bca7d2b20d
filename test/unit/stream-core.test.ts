// Stream basics: the one-in operators, branching, ordering, backpressure of emit, end and cancel.
import t from 'tap';
import { Stream, StreamEndedError } from '../../stream/index.ts';
import { deferred, settled, within } from '../helpers/streams.ts';

t.test('map, filter, sinkToList: sync and async functions, in order', async (t) => {
  const source = new Stream<number>();
  const doubled = source.map((x) => x * 2);
  const evens = doubled.filter((x) => x % 4 === 0).sinkToList();
  const strings = doubled.map(async (x) => `<${x}>`).sinkToList();
  for (let i = 0; i < 6; i++) await source.emit(i);
  t.same(evens, [0, 4, 8]);
  t.same(strings, ['<0>', '<2>', '<4>', '<6>', '<8>', '<10>'], 'every branch gets every item');
});

t.test('a type guard in filter narrows the item type', async (t) => {
  const source = new Stream<number | string>();
  const numbers: Stream<number> = source.filter((x): x is number => typeof x === 'number');
  const out = numbers.map((x) => x + 1).sinkToList();
  for (const x of [1, 'a', 2]) await source.emit(x);
  t.same(out, [2, 3]);
});

t.test('scan: start value, first item as state, returnsState; accumulate is scan', async (t) => {
  const source = new Stream<number>();
  const sums = source.scan((acc, x) => acc + x).sinkToList();
  const fromTen = source.scan((acc: number, x) => acc + x, { start: 10 }).sinkToList();
  const counts = source
    .scan((seen: number, x) => [seen + 1, `${x} is item ${seen + 1}`] as const, { start: 0, returnsState: true })
    .sinkToList();
  const products = source.accumulate(async (acc, x) => acc * (x + 1)).sinkToList();
  for (let i = 1; i <= 4; i++) await source.emit(i);
  t.same(sums, [1, 3, 6, 10], 'without start the first item is the state and is emitted');
  t.same(fromTen, [11, 13, 16, 20]);
  t.same(counts, ['1 is item 1', '2 is item 2', '3 is item 3', '4 is item 4']);
  t.same(products, [1, 3, 12, 60]);
});

t.test('pluck, unique (with history and key), flatten', async (t) => {
  const source = new Stream<{ name: string; x: number }>();
  const names = source.pluck('name').sinkToList();
  const pairs = source.pluck(['x', 'name']).sinkToList();
  const distinctNames = source.pluck('name').unique().sinkToList();
  for (const r of [{ name: 'Alice', x: 1 }, { name: 'Bob', x: 2 }, { name: 'Alice', x: 3 }]) await source.emit(r);
  t.same(names, ['Alice', 'Bob', 'Alice']);
  t.same(pairs, [[1, 'Alice'], [2, 'Bob'], [3, 'Alice']]);
  t.same(distinctNames, ['Alice', 'Bob']);

  const values = new Stream<number>();
  const lastOne = values.unique({ history: 1 }).sinkToList();
  const byParity = values.unique({ key: (x) => x % 2 }).sinkToList();
  for (const x of [1, 1, 2, 2, 2, 1, 3]) await values.emit(x);
  t.same(lastOne, [1, 2, 1, 3], 'history 1 drops only immediate repeats (streamz example)');
  t.same(byParity, [1, 2]);

  const lists = new Stream<number[]>();
  const flat = lists.flatten().sinkToList();
  for (const l of [[1, 2, 3], [4, 5], [], [6, 7, 7]]) await lists.emit(l);
  t.same(flat, [1, 2, 3, 4, 5, 6, 7, 7]);
  t.throws(() => values.unique({ history: 0 }), RangeError);
});

t.test('emit resolves only when every branch, async sinks included, has taken the item', async (t) => {
  const source = new Stream<number>();
  const gate = deferred();
  const written: number[] = [];
  source.sink(async (x) => {
    await gate.promise;
    written.push(x);
  });
  const fast = source.sinkToList();
  const emitted = source.emit(1);
  t.same(fast, [1], 'the sync branch has it at once');
  t.notOk(await settled(emitted), 'emit waits for the async sink');
  gate.resolve();
  await within(emitted, 2000, 'emit after the sink finished');
  t.same(written, [1]);
});

t.test('items emitted without awaiting are handled one at a time, in order', async (t) => {
  const source = new Stream<number>();
  let running = 0;
  let most = 0;
  const out = source
    .map(async (x) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, (5 - x) * 2)); // later items would finish first if run at once
      running--;
      return x;
    })
    .sinkToList();
  await within(Promise.all([0, 1, 2, 3, 4].map((x) => source.emit(x))), 5000, 'all emits');
  t.same(out, [0, 1, 2, 3, 4]);
  t.equal(most, 1, 'map runs one item at a time');
});

t.test('end(): waits for work in flight, then emit rejects with StreamEndedError', async (t) => {
  const source = new Stream<number>();
  const gate = deferred();
  const out: number[] = [];
  source.sink(async (x) => {
    await gate.promise;
    out.push(x);
  });
  const first = source.emit(1);
  const ended = source.end();
  t.notOk(await settled(ended), 'end waits for the item in flight');
  gate.resolve();
  await within(Promise.all([first, ended]), 2000, 'end');
  t.same(out, [1]);
  await t.rejects(source.emit(2), StreamEndedError);
});

t.test('connect and disconnect', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  const out = b.sinkToList();
  a.connect(b);
  await a.emit(1);
  await b.emit(2);
  a.disconnect(b);
  await a.emit(3);
  t.same(out, [1, 2], 'b got a’s items while connected, and its own');
});

t.test('cancel(): pending emits reject with the reason, held items are dropped, the signal option cancels too', async (t) => {
  const source = new Stream<number>();
  const never = new Promise<void>(() => undefined);
  source.sink(() => never);
  const pending = source.emit(1);
  source.cancel(new Error('stop now'));
  await t.rejects(within(pending, 2000, 'rejection'), { message: 'stop now' }, 'an emit stuck in a sink that never returns is released');
  await t.rejects(source.emit(2), { message: 'stop now' });
  await t.rejects(source.end(), { message: 'stop now' });

  const controller = new AbortController();
  const other = new Stream<number>({ signal: controller.signal });
  const buffered = other.buffer(10);
  buffered.sink(() => never);
  await other.emit(1);
  await other.emit(2);
  controller.abort();
  await t.rejects(other.emit(3), { name: 'AbortError' });
  await t.rejects(other.end(), { name: 'AbortError' });
});

t.test('operators reject bad arguments at once', async (t) => {
  const s = new Stream<number>();
  t.throws(() => s.buffer(0), RangeError);
  t.throws(() => s.partition(1.5), RangeError);
  t.throws(() => s.rateLimit(-1), RangeError);
  t.throws(() => s.timedWindow(0), RangeError);
  t.throws(() => s.combineLatest(s), /same stream/);
});
