// Time-based operators on a ManualClock: exact timings, no real waiting.
import t from 'tap';
import { ManualClock, Stream } from '../../stream/index.ts';
import { settled, within } from '../helpers/streams.ts';

t.test('streamz’s “within the event loop” example: increment, rateLimit(500), async write', async (t) => {
  const clock = new ManualClock();
  const increment = (x: number): number => x + 1;
  const written: Array<{ x: number; at: number }> = [];
  const write = async (x: number): Promise<void> => {
    await clock.sleep(200); // an asynchronous write that takes 200 ms
    written.push({ x, at: clock.now() });
  };
  const source = new Stream<number>({ clock });
  source.map(increment).rateLimit(500).sink(write);
  const emitted: number[] = [];
  const loop = (async () => {
    for (let x = 0; x < 10; x++) {
      await source.emit(x);
      emitted.push(clock.now());
    }
  })();
  await clock.advance(10_000);
  await within(loop, 2000, 'the emit loop');
  t.same(written.map((w) => w.x), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.same(written.map((w) => w.at), [200, 700, 1200, 1700, 2200, 2700, 3200, 3700, 4200, 4700], 'one item per 500 ms, each written 200 ms after it passed');
  t.same(emitted, [200, 700, 1200, 1700, 2200, 2700, 3200, 3700, 4200, 4700], 'each emit resolves once its write is done');
});

t.test('rateLimit: at most one item per interval, none dropped, order kept with concurrent emits', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  const seen: Array<[number, number]> = [];
  source.rateLimit(100).sink((x) => void seen.push([x, clock.now()]));
  const emits = [0, 1, 2, 3, 4].map((x) => source.emit(x));
  await clock.settle();
  t.same(seen, [[0, 0]], 'the first item goes at once');
  t.notOk(await settled(emits[1]), 'the second waits for its slot');
  await clock.advance(1000);
  await within(Promise.all(emits), 2000, 'emits');
  t.same(seen, [[0, 0], [1, 100], [2, 200], [3, 300], [4, 400]]);
  await clock.advance(50);
  await source.emit(5);
  t.same(seen.at(-1), [5, 1050], 'after a pause an item goes at once');
});

t.test('delay: each item ms after it arrived; emits do not wait while the downstream keeps up', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  const seen: Array<[number, number]> = [];
  source.delay(100).sink((x) => void seen.push([x, clock.now()]));
  for (const x of [0, 1, 2]) {
    const emitted = source.emit(x);
    t.ok(await settled(emitted), `emit(${x}) returns at once`);
    await clock.advance(10);
  }
  await clock.advance(200);
  t.same(seen, [[0, 100], [1, 110], [2, 120]]);
  const ended = source.end();
  await clock.settle();
  await within(ended, 2000, 'end');
});

t.test('delay passes backpressure through: an overdue item holds emits back', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  const seen: Array<[number, number]> = [];
  source.delay(100).sink(async (x) => {
    seen.push([x, clock.now()]);
    await clock.sleep(50); // slower than the 10 ms between items
  });
  const resolvedAt: number[] = [];
  const loop = (async () => {
    for (let x = 0; x < 30; x++) {
      await source.emit(x);
      resolvedAt.push(clock.now());
      await clock.sleep(10);
    }
  })();
  await clock.advance(5000);
  await within(loop, 2000, 'the emit loop');
  await within(source.end(), 2000, 'end');
  t.same(seen.map(([x]) => x), Array.from({ length: 30 }, (_, i) => i), 'every item, in order');
  for (const [i, [, at]] of seen.entries()) t.ok(at >= i * 10 + 100, `item ${i} delivered no sooner than 100 ms after it could arrive`);
  t.same(resolvedAt.slice(0, 10), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90], 'while nothing is overdue, emits return at once');
  t.ok(resolvedAt[29] >= 1200, `the emitter is slowed to the sink’s pace (last emit at ${resolvedAt[29]})`);
  const spacing = seen.slice(10).map(([, at], i) => at - seen[i + 9][1]);
  t.ok(spacing.every((d) => d >= 50), 'the sink is never run faster than it can go');
});

t.test('timedWindow: lists per interval on a fixed grid, no empty lists, end() flushes', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  const windows: Array<{ items: number[]; at: number }> = [];
  source.timedWindow(100).sink((items) => void windows.push({ items, at: clock.now() }));
  const arrivals: Array<[number, number]> = [[0, 0], [1, 30], [2, 60], [3, 90], [4, 130], [5, 170], [6, 420], [7, 450]];
  for (const [x, at] of arrivals) {
    await clock.advanceTo(at);
    await source.emit(x);
  }
  await clock.advanceTo(460);
  t.same(windows, [
    { items: [0, 1, 2, 3], at: 100 },
    { items: [4, 5], at: 200 },
  ], 'windows close at 100 and 200; nothing for 200-400');
  const ended = source.end();
  await within(ended, 2000, 'end');
  t.same(windows.at(-1), { items: [6, 7], at: 460 }, 'end() emits the open window at once');
});

t.test('timedWindow passes backpressure through: emits wait while a closed window is queued', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  const windows: Array<{ items: number[]; at: number }> = [];
  source.timedWindow(100).sink(async (items) => {
    windows.push({ items, at: clock.now() });
    await clock.sleep(250);
  });
  await source.emit(1); // window [0, 100)
  await clock.advanceTo(150);
  await source.emit(2); // window [100, 200), while [1] is being written until 350
  await clock.advanceTo(210);
  const blocked = source.emit(3);
  await clock.settle();
  t.notOk(await settled(blocked), 'window [2] is closed and waiting: the emit waits');
  await clock.advanceTo(349);
  t.notOk(await settled(blocked));
  await clock.advanceTo(350);
  t.ok(await settled(blocked), 'it goes on once [2] is being handed over');
  await clock.advance(1000);
  const ended = source.end();
  await clock.advance(1000);
  await within(ended, 2000, 'end');
  t.same(windows.map((w) => w.items), [[1], [2], [3]]);
  t.same(windows.map((w) => w.at), [100, 350, 600]);
});

t.test('partition: lists of n; with timeoutMs a partial list goes out; end() flushes the rest', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  const lists: Array<{ items: number[]; at: number }> = [];
  source.partition(3, { timeoutMs: 50 }).sink((items) => void lists.push({ items, at: clock.now() }));
  await source.emit(1);
  await source.emit(2);
  await clock.advance(49);
  t.same(lists, []);
  await clock.advance(1);
  t.same(lists, [{ items: [1, 2], at: 50 }], 'the partial list after 50 ms');
  for (const x of [3, 4, 5, 6]) await source.emit(x);
  t.same(lists.at(-1), { items: [3, 4, 5], at: 50 }, 'a full list at once');
  await clock.advance(20);
  await within(source.end(), 2000, 'end');
  t.same(lists.at(-1), { items: [6], at: 70 });
  t.equal(clock.pending, 0, 'no timer left behind');

  const plain = new Stream<number>();
  const out = plain.partition(3).sinkToList();
  for (let i = 0; i < 10; i++) await plain.emit(i);
  t.same(out, [[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
  await plain.end();
  t.same(out.at(-1), [9]);
});

t.test('fromInterval: one item per interval; a slow pipeline is not caught up in a burst', async (t) => {
  const clock = new ManualClock();
  const ticks = Stream.fromInterval(100, { clock, count: 5 });
  const seen: Array<[number, number]> = [];
  ticks.sink(async (i) => {
    seen.push([i, clock.now()]);
    if (i === 1) await clock.sleep(350);
  });
  const done = ticks.start();
  await clock.advance(2000);
  await within(done, 2000, 'the source to finish');
  t.same(seen, [[0, 100], [1, 200], [2, 550], [3, 650], [4, 750]]);
});
