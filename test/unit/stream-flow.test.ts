// buffer, latest, joining streams (zip, combineLatest, union) and lists (slidingWindow, collect).
import t from 'tap';
import { ManualClock, Stream } from '../../stream/index.ts';
import { deferred, settled, within } from '../helpers/streams.ts';

t.test('buffer(n): emits return at once until n items are held, then wait; order kept; end() drains', async (t) => {
  const source = new Stream<number>();
  const release: Array<() => void> = [];
  const out: number[] = [];
  source.buffer(3).sink(async (x) => {
    const gate = deferred();
    release.push(gate.resolve);
    await gate.promise;
    out.push(x);
  });
  const emits = [0, 1, 2, 3, 4].map((x) => source.emit(x));
  t.ok(await settled(emits[0]), 'item 0: being handed on (counts towards n)');
  t.ok(await settled(emits[1]));
  t.ok(await settled(emits[2]), 'three items held');
  t.notOk(await settled(emits[3]), 'the fourth waits for room');
  release.shift()?.();
  t.ok(await settled(emits[3]), 'room after the sink took item 0');
  t.notOk(await settled(emits[4]));
  const ended = source.end();
  while (out.length < 5) {
    await within(new Promise<void>((r) => setImmediate(r)), 1000, 'a turn');
    release.shift()?.();
  }
  await within(ended, 2000, 'end to drain the buffer');
  t.same(out, [0, 1, 2, 3, 4]);
});

t.test('latest(): a busy downstream gets only the newest item; emits never wait', async (t) => {
  const source = new Stream<number>();
  const gate = deferred();
  const out: number[] = [];
  source.latest().sink(async (x) => {
    out.push(x);
    if (x === 0) await gate.promise;
  });
  for (let i = 0; i < 5; i++) t.ok(await settled(source.emit(i)), `emit(${i}) returns at once`);
  gate.resolve();
  await within(source.end(), 2000, 'end');
  t.same(out, [0, 4], '1, 2 and 3 were replaced while 0 was being written');
});

t.test('zip: tuples in order; a stream that runs ahead waits past maxsize; leftovers dropped at the end', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<string>();
  const pairs: Array<[number, string]> = a.zip(b).sinkToList();
  for (let i = 0; i < 3; i++) await a.emit(i);
  await b.emit('x');
  await b.emit('y');
  t.same(pairs, [[0, 'x'], [1, 'y']]);
  const emits: Array<Promise<void>> = [];
  for (let i = 3; i < 15; i++) emits.push(a.emit(i));
  const last = emits.at(-1) as Promise<void>;
  t.ok(await settled(emits[7]), 'a may run up to 10 items ahead');
  t.notOk(await settled(last), 'a is 13 items ahead: its emit waits');
  await b.emit('z');
  await b.emit('w');
  t.notOk(await settled(last), 'still 11 ahead');
  await b.emit('v');
  t.ok(await settled(last), 'back to 10 ahead: the waiting emits return');
  t.same(pairs.at(-1), [4, 'v']);
  await b.end();
  await within(a.end(), 2000, 'end');
  t.equal(pairs.length, 5, 'the unpaired items of a are dropped, as zip drops the tail of the longer list');

  const c = new Stream<number>();
  const d = new Stream<number>();
  const e = new Stream<boolean>();
  const triples: Array<[number, number, boolean]> = c.zip(d, e).sinkToList();
  await c.emit(1);
  await d.emit(2);
  await e.emit(true);
  t.same(triples, [[1, 2, true]], 'typed tuple of three');
});

t.test('combineLatest: the latest of each once all have sent, emitOn limits when', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<string>();
  const all: Array<[number, string]> = a.combineLatest(b).sinkToList();
  const onA: Array<[number, string]> = a.combineLatest(b, { emitOn: [0] }).sinkToList();
  await a.emit(1);
  t.same(all, [], 'nothing until b has sent something');
  await b.emit('x');
  await a.emit(2);
  await b.emit('y');
  t.same(all, [[1, 'x'], [2, 'x'], [2, 'y']]);
  t.same(onA, [[2, 'x']], 'only a’s items trigger');
});

t.test('union: items of every input as they come; ends when all inputs have', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<string>();
  const both = a.union(b);
  const out: Array<number | string> = both.sinkToList();
  const collected = both.collect();
  const lists = collected.sinkToList();
  await a.emit(1);
  await b.emit('one');
  await a.emit(2);
  t.same(out, [1, 'one', 2]);
  await a.end();
  t.same(lists, [], 'b is still open: the union has not ended');
  await b.end();
  t.same(lists, [[1, 'one', 2]], 'now it has, and collect flushed');
});

t.test('collect + flush: as a method and as a sink of another stream', async (t) => {
  const source = new Stream<number>();
  const trigger = new Stream<string>();
  const collector = source.collect();
  const out = collector.sinkToList();
  trigger.sink(collector.flush);
  await source.emit(1);
  await source.emit(2);
  await trigger.emit('anything');
  t.same(out, [[1, 2]]);
  await source.emit(3);
  await collector.flush();
  t.same(out, [[1, 2], [3]]);
});

t.test('slidingWindow: overlapping lists of n, partial on request', async (t) => {
  const source = new Stream<number>();
  const full = source.slidingWindow(3).sinkToList();
  const partial = source.slidingWindow(2, { partial: true }).sinkToList();
  for (let i = 0; i < 5; i++) await source.emit(i);
  t.same(full, [[0, 1, 2], [1, 2, 3], [2, 3, 4]]);
  t.same(partial, [[0], [0, 1], [1, 2], [2, 3], [3, 4]]);
});

t.test('joining pipelines that run on different clocks is refused', async (t) => {
  const a = new Stream<number>({ clock: new ManualClock() });
  const b = new Stream<number>({ clock: new ManualClock() });
  t.throws(() => a.union(b), /different clocks/);
  const c = new Stream<number>();
  const joined = c.union(a).timedWindow(10);
  t.equal(joined.operator, 'timedWindow(10)', 'a default clock gives way to a chosen one');
});
