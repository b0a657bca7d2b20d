// Metadata and reference counting through every operator (streamz's
// metadata= and RefCounter; the *_ref_counts and *_metadata cases of
// streamz/tests/test_core.py), and what sluice adds: failures recorded on
// the counter, done callbacks, branches, sources and error policies.
import t from 'tap';
import { ManualClock, type Metadata, RefCounter, Stream, StreamError } from '../../stream/index.ts';
import { deferred, settled, within } from '../helpers/streams.ts';

/** streamz's utils_test.metadata: the metadata list of each item, as the item. */
const metadata = <T>(s: Stream<T>): Stream<readonly Metadata[]> => s.withMetadata().map((m) => m.metadata);
const md = (v: number): Metadata => ({ v });

t.test('RefCounter (streamz): count, retain, release, a callback at zero', async (t) => {
  const ref = new RefCounter();
  t.equal(String(ref), '<RefCounter count=0>');
  let done = 0;
  const counted = new RefCounter({ initial: 2, onDone: () => done++ });
  counted.release();
  await Promise.resolve();
  t.equal(done, 0);
  counted.release();
  await Promise.resolve();
  t.equal(done, 1, 'called when the count reaches zero');
  t.equal(counted.failed, false);
});

t.test('an item is done when every branch is done with it; a failure is recorded on its counter', async (t) => {
  const source = new Stream<number>();
  const gate = deferred();
  source.map((x) => x + 1).sink(() => gate.promise);
  source.filter((x) => x > 100).sinkToList();
  const done: RefCounter[] = [];
  const ref = new RefCounter({ onDone: (r) => done.push(r) });
  const emitted = source.emit(1, { metadata: [{ ref }] });
  t.equal(ref.count, 1, 'held by the emit while a branch works');
  gate.resolve();
  await within(emitted, 2000, 'emit');
  await Promise.resolve();
  t.equal(ref.count, 0);
  t.same(done, [ref]);
  t.notOk(ref.failed);

  const failing = new Stream<number>();
  failing.map(() => {
    throw new Error('bad item');
  });
  failing.sinkToList();
  const bad = new RefCounter();
  await t.rejects(failing.emit(1, { metadata: [{ ref: bad }] }), { message: 'bad item' });
  t.equal(bad.count, 0);
  t.ok(bad.failed, 'the counter knows a step failed on the item');
  t.match(bad.error, { message: 'bad item' });
});

t.test("onError 'skip' and an error branch: the item is done, not failed; the failure carries its metadata", async (t) => {
  const source = new Stream<number>();
  source.map(() => {
    throw new Error('skipped');
  }, { onError: 'skip' });
  const ref = new RefCounter();
  await source.emit(1, { metadata: [{ ref }] });
  t.equal(ref.count, 0);
  t.notOk(ref.failed);

  const errors = new Stream<{ error: unknown; item: unknown; operator: string }>();
  const seen = metadata(errors).sinkToList();
  const other = new Stream<number>();
  other.map(() => {
    throw new Error('to the branch');
  }, { onError: errors });
  const ref2 = new RefCounter();
  await other.emit(2, { metadata: [{ ref: ref2, n: 2 }] });
  t.same(seen, [[{ ref: ref2, n: 2 }]]);
  t.equal(ref2.count, 0);
  t.notOk(ref2.failed);
});

t.test('slidingWindow ref counts and metadata (streamz test_sliding_window_ref_counts, _metadata)', async (t) => {
  const source = new Stream<number>();
  source.slidingWindow(2, { partial: true });
  let prev = new RefCounter();
  await source.emit(-2);
  await source.emit(-1, { metadata: [{ ref: prev }] });
  for (let i = 0; i < 10; i++) {
    const r = new RefCounter();
    t.equal(prev.count, 1);
    await source.emit(i, { metadata: [{ ref: r }] });
    t.equal(prev.count, 0);
    t.equal(r.count, 1);
    prev = r;
  }

  const s = new Stream<number>();
  const L = metadata(s.slidingWindow(2, { partial: true })).sinkToList();
  await s.emit(0);
  await s.emit(1, { metadata: [md(1)] });
  await s.emit(2, { metadata: [md(2)] });
  await s.emit(3, { metadata: [md(3)] });
  t.same(L, [[], [md(1)], [md(1), md(2)], [md(2), md(3)]], 'sluice emits the first (partial) window too, with no metadata');
});

t.test('timedWindow ref counts and metadata (streamz test_timed_window_ref_counts, _metadata)', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  source.timedWindow(10);
  const ref1 = new RefCounter();
  await source.emit(1, { metadata: [{ ref: ref1 }] });
  t.equal(ref1.count, 1);
  await clock.advance(50);
  const ref2 = new RefCounter();
  await source.emit(2, { metadata: [{ ref: ref2 }] });
  t.equal(ref1.count, 0);
  t.equal(ref2.count, 1);

  const s = new Stream<number>({ clock });
  const L = metadata(s.timedWindow(60)).sinkToList();
  await s.emit(0);
  await s.emit(1, { metadata: [md(1)] });
  await clock.advance(100);
  await s.emit(2, { metadata: [md(2)] });
  await s.emit(3, { metadata: [md(3)] });
  await clock.advance(100);
  t.same(L, [[md(1)], [md(2), md(3)]]);
});

t.test('delay and buffer ref counts (streamz test_delay_ref_counts, test_buffer_ref_counts)', async (t) => {
  const clock = new ManualClock();
  for (const make of [(s: Stream<number>) => s.delay(10), (s: Stream<number>) => s.buffer(5)]) {
    const source = new Stream<number>({ clock });
    const gate = deferred();
    make(source).sink(() => gate.promise);
    const refs: RefCounter[] = [];
    for (let i = 0; i < 5; i++) {
      const r = new RefCounter();
      refs.push(r);
      t.ok(await settled(source.emit(i, { metadata: [{ ref: r }] })), 'the emit returns at once');
    }
    t.ok(refs.every((r) => r.count === 1), 'each item is held where it waits');
    gate.resolve();
    await clock.advance(50);
    await within(source.end(), 2000, 'end');
    t.ok(refs.every((r) => r.count === 0), 'handed on: done');
  }
});

t.test('combineLatest ref counts and metadata (streamz test_combine_latest_ref_counts, _metadata)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  a.combineLatest(b);
  const ref1 = new RefCounter();
  await a.emit(1, { metadata: [{ ref: ref1 }] });
  t.equal(ref1.count, 1);
  const ref2 = new RefCounter();
  await a.emit(2, { metadata: [{ ref: ref2 }] });
  t.equal(ref1.count, 0, 'the new value kicks out the old one');
  t.equal(ref2.count, 1);
  const ref3 = new RefCounter();
  await b.emit(3, { metadata: [{ ref: ref3 }] });
  t.equal(ref2.count, 1);
  t.equal(ref3.count, 1);

  const p = new Stream<number>();
  const q = new Stream<number>();
  const L = metadata(p.combineLatest(q)).sinkToList();
  await p.emit(1, { metadata: [md(1)] });
  await q.emit(2, { metadata: [md(2)] });
  await q.emit(3);
  await q.emit(4, { metadata: [md(4)] });
  t.same(L, [[md(1), md(2)], [md(1)], [md(1), md(4)]]);
});

t.test('zip ref counts and metadata (streamz test_zip_ref_counts, _metadata)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  a.zip(b);
  const ref1 = new RefCounter();
  await a.emit(1, { metadata: [{ ref: ref1 }] });
  t.equal(ref1.count, 1);
  const ref2 = new RefCounter();
  await a.emit(2, { metadata: [{ ref: ref2 }] });
  t.equal(ref1.count, 1);
  t.equal(ref2.count, 1);
  const ref3 = new RefCounter();
  await b.emit(3, { metadata: [{ ref: ref3 }] });
  t.equal(ref1.count, 0);
  t.equal(ref2.count, 1, 'still in the buffer');
  t.equal(ref3.count, 0);

  const p = new Stream<number>();
  const q = new Stream<number>();
  const L = metadata(p.zip(q)).sinkToList();
  await p.emit(1, { metadata: [md(1)] });
  await q.emit(2, { metadata: [md(2)] });
  await p.emit(3);
  await q.emit(4, { metadata: [md(4)] });
  t.same(L, [[md(1), md(2)], [md(4)]]);
});

t.test('zipLatest ref counts and metadata (streamz test_zip_latest_ref_counts, _metadata)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  a.zipLatest(b);
  const ref1 = new RefCounter();
  await a.emit(1, { metadata: [{ ref: ref1 }] });
  t.equal(ref1.count, 1, 'retained until b has a value');
  const ref2 = new RefCounter();
  await b.emit(2, { metadata: [{ ref: ref2 }] });
  t.equal(ref1.count, 0);
  t.equal(ref2.count, 1);
  const ref3 = new RefCounter();
  await b.emit(3, { metadata: [{ ref: ref3 }] });
  t.equal(ref2.count, 0);
  t.equal(ref3.count, 1);
  const ref4 = new RefCounter();
  await a.emit(3, { metadata: [{ ref: ref4 }] });
  t.equal(ref3.count, 1);
  t.equal(ref4.count, 0);

  const p = new Stream<number>();
  const q = new Stream<number>();
  const L = metadata(p.zipLatest(q)).sinkToList();
  await p.emit(1, { metadata: [md(1)] });
  await q.emit(2, { metadata: [md(2)] });
  await p.emit(3);
  await q.emit(4, { metadata: [md(4)] });
  t.same(L, [[md(1), md(2)], [md(2)]]);
});

t.test('unique, partition, collect: metadata and ref counts (streamz test_unique_metadata, test_partition_*, test_collect_*)', async (t) => {
  const source = new Stream<number>();
  const L = metadata(source.unique()).flatten().sinkToList();
  for (let i = 0; i < 5; i++) await source.emit(i, { metadata: [md(i)] });
  t.same(L, [0, 1, 2, 3, 4].map(md));

  const p = new Stream<number>();
  p.partition(2);
  for (let i = 0; i < 10; i++) {
    const r = new RefCounter();
    await p.emit(i, { metadata: [{ ref: r }] });
    t.equal(r.count, i % 2 === 0 ? 1 : 0, `item ${i}`);
  }
  const pm = new Stream<number>();
  const PL = metadata(pm.partition(2)).sinkToList();
  await pm.emit(0);
  for (const i of [1, 2, 3]) await pm.emit(i, { metadata: [md(i)] });
  t.same(PL, [[md(1)], [md(2), md(3)]]);

  const c = new Stream<number>();
  const collector = c.collect();
  const refs: RefCounter[] = [];
  for (let i = 0; i < 10; i++) {
    const r = new RefCounter();
    refs.push(r);
    await c.emit(i, { metadata: [{ ref: r }] });
  }
  t.ok(refs.every((r) => r.count === 1));
  await collector.flush();
  t.ok(refs.every((r) => r.count === 0));

  const cm = new Stream<number>();
  const cc = cm.collect();
  const CL = metadata(cc).sinkToList();
  await cm.emit(0);
  await cm.emit(1, { metadata: [md(1)] });
  await cm.emit(2, { metadata: [md(2)] });
  await cc.flush();
  await cm.emit(3, { metadata: [md(3)] });
  await cm.emit(4, { metadata: [md(4)] });
  await cc.flush();
  t.same(CL, [[md(1), md(2)], [md(3), md(4)]]);
});

t.test('latest ref counts (streamz test_latest_ref_counts): held while the downstream is busy, replaced ones are done', async (t) => {
  const source = new Stream<number>();
  const gate = deferred();
  source.latest().sink(() => gate.promise);
  const ref0 = new RefCounter();
  await source.emit(0, { metadata: [{ ref: ref0 }] }); // being written
  const ref1 = new RefCounter();
  await source.emit(1, { metadata: [{ ref: ref1 }] });
  t.equal(ref1.count, 1);
  const ref2 = new RefCounter();
  await source.emit(2, { metadata: [{ ref: ref2 }] });
  t.equal(ref1.count, 0, 'replaced');
  t.equal(ref2.count, 1);
  gate.resolve();
  await within(source.end(), 2000, 'end');
  t.equal(ref0.count + ref2.count, 0);
});

t.test('flatten, mapAsync, partitionUnique, timedWindowUnique, slice, starmap carry metadata; failures past a buffer are recorded', async (t) => {
  const source = new Stream<number[]>();
  const L = metadata(source.flatten()).sinkToList();
  await source.emit([1, 2], { metadata: [md(9)] });
  t.same(L, [[md(9)], [md(9)]], 'every element carries the list’s metadata (streamz: the last one only)');

  const s = new Stream<number>();
  const gate = deferred();
  s.mapAsync(async (x) => {
    await gate.promise;
    return x;
  }, { parallelism: 2 });
  const r = new RefCounter();
  await s.emit(1, { metadata: [{ ref: r }] });
  t.equal(r.count, 1, 'held while its call runs');
  gate.resolve();
  await within(s.end(), 2000, 'end');
  t.equal(r.count, 0);

  const u = new Stream<number>();
  const UL = metadata(u.partitionUnique(2, { keep: 'last' })).sinkToList();
  const dropped = new RefCounter();
  await u.emit(1, { metadata: [{ ref: dropped }] });
  await u.emit(1, { metadata: [md(1)] });
  t.equal(dropped.count, 0, 'a replaced duplicate is done with');
  await u.emit(2, { metadata: [md(2)] });
  t.same(UL, [[md(1), md(2)]]);

  const clock = new ManualClock();
  const w = new Stream<number>({ clock });
  const WL = metadata(w.timedWindowUnique(10)).sinkToList();
  await w.emit(1, { metadata: [md(1)] });
  await w.emit(1, { metadata: [md(2)] });
  await clock.advance(10);
  t.same(WL, [[md(1)]]);

  const sl = new Stream<[number, number]>();
  const SL = metadata(sl.slice(1).starmap((x, y) => x + y)).sinkToList();
  await sl.emit([1, 2], { metadata: [md(1)] });
  await sl.emit([3, 4], { metadata: [md(2)] });
  t.same(SL, [[md(2)]]);

  const b = new Stream<number>();
  b.buffer(2).map(() => {
    throw new Error('late');
  });
  const late = new RefCounter();
  await t.rejects(b.emit(1, { metadata: [{ ref: late }] }), StreamError, 'the map failed at once: the emit hears of it as it leaves the buffer');
  await b.end();
  t.equal(late.count, 0);
  t.ok(late.failed, 'a failure past the buffer is recorded on the item');
});
