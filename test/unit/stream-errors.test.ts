// Errors never vanish and never hang a pipeline: they reject the emit that fed
// the item, or (past a node that had already taken it) the next emit and end();
// other policies skip-and-report or send failures down an error branch.
import t from 'tap';
import { ManualClock, Stream, StreamError, type StreamFailure } from '../../stream/index.ts';
import { within } from '../helpers/streams.ts';

const failOn =
  (bad: number) =>
  (x: number): number => {
    if (x === bad) throw new TypeError(`bad item ${x}`);
    return x;
  };

t.test('a throwing map (sync or async) or sink rejects the emit that fed it; the pipeline goes on', async (t) => {
  const source = new Stream<number>();
  const syncOut = source.map(failOn(2)).sinkToList();
  const asyncOut = source
    .map(async (x) => {
      await new Promise((r) => setTimeout(r, 1));
      return failOn(3)(x);
    })
    .sinkToList();
  const sunk: number[] = [];
  source.sink(async (x) => {
    if (x === 4) throw new RangeError('sink refused 4');
    sunk.push(x);
  });
  const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map((x) => within(source.emit(x), 2000, `emit(${x})`)));
  t.same(
    results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as Error).message)),
    ['ok', 'ok', 'bad item 2', 'bad item 3', 'sink refused 4', 'ok'],
    'each emit rejects with exactly the error its item caused',
  );
  t.type((results[2] as PromiseRejectedResult).reason, TypeError, 'the original error, not a wrapper');
  t.same(syncOut, [0, 1, 3, 4, 5], 'the other branches still got the failing items');
  t.same(asyncOut, [0, 1, 2, 4, 5]);
  t.same(sunk, [0, 1, 2, 3, 5]);
  await within(source.end(), 2000, 'end');
});

t.test('errors in several branches come back together (AggregateError)', async (t) => {
  const source = new Stream<number>();
  source.map(failOn(1));
  source.map(failOn(1)).map((x) => x);
  const error = await source.emit(1).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, AggregateError);
  t.equal((error as AggregateError).errors.length, 2);
});

t.test('past a buffer: the next emit reaching it and end() get the error; the pump keeps going', async (t) => {
  const source = new Stream<number>();
  const out: number[] = [];
  source
    .buffer(2)
    .map(async (x) => {
      await new Promise((r) => setTimeout(r, 1));
      return failOn(1)(x);
    })
    .sink((x) => void out.push(x));
  await within(source.emit(0), 2000, 'emit 0');
  await within(source.emit(1), 2000, 'emit 1 (the buffer took it)');
  await new Promise((r) => setTimeout(r, 20));
  const error = await source.emit(2).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, StreamError, 'the next emit learns that an earlier item failed');
  t.equal((error as StreamError).item, 1, 'it names the item');
  t.equal((error as StreamError).operator, 'buffer(2)');
  t.match(((error as StreamError).cause as Error).message, 'bad item 1');
  for (let x = 3; x < 6; x++) await within(source.emit(x), 2000, `emit(${x})`);
  await within(source.end(), 2000, 'end');
  t.same(out, [0, 2, 3, 4, 5], 'item 2 was taken although its emit reported item 1’s failure');
});

t.test('a buffer whose every item fails never hangs: errors reach emits and end()', async (t) => {
  const source = new Stream<number>();
  source.buffer(3).sink(async () => {
    await new Promise((r) => setTimeout(r, 1));
    throw new Error('always');
  });
  let rejected = 0;
  for (let x = 0; x < 20; x++) {
    await within(source.emit(x), 2000, `emit(${x})`).catch((e: unknown) => {
      if (e instanceof StreamError) rejected++;
      else throw e;
    });
  }
  const ended = await within(source.end(), 2000, 'end').then(
    () => undefined,
    (e: unknown) => e,
  );
  const atEnd = ended instanceof AggregateError ? ended.errors.length : ended ? 1 : 0;
  t.equal(rejected + atEnd, 20, `all 20 failures surfaced: ${rejected} at emits, ${atEnd} at end()`);
});

t.test('errors after delay, timedWindow and partition’s timeout reach end()', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  source.delay(10).map(failOn(1));
  source.timedWindow(50).sink(() => {
    throw new Error('window sink failed');
  });
  source.partition(5, { timeoutMs: 20 }).sink(() => {
    throw new Error('partition sink failed');
  });
  await source.emit(1);
  await clock.advance(100);
  const ended = source.end().then(
    () => undefined,
    (e: unknown) => e,
  );
  await clock.advance(100);
  const error = (await within(ended, 2000, 'end')) as AggregateError;
  t.type(error, AggregateError);
  const causes = error.errors.map((e: StreamError) => `${e.operator}: ${(e.cause as Error).message}`).sort();
  t.same(causes, ['delay(10): bad item 1', 'partition(5, 20 ms): partition sink failed', 'timedWindow(50): window sink failed']);
});

t.test("onError 'skip': the item is dropped, reported and counted; the emit succeeds", async (t) => {
  const source = new Stream<number>();
  const reported: StreamFailure[] = [];
  const mapped = source.map(failOn(2), { onError: 'skip', report: (f) => reported.push(f) });
  const out = mapped.sinkToList();
  for (let x = 0; x < 4; x++) await source.emit(x);
  t.same(out, [0, 1, 3]);
  t.equal(mapped.skipped, 1);
  t.equal(reported.length, 1);
  t.equal(reported[0].item, 2);
  t.equal(reported[0].operator, 'map');
  t.match((reported[0].error as Error).message, 'bad item 2');
});

t.test('an error branch receives the failures; its backpressure applies', async (t) => {
  const source = new Stream<number>();
  const errors = new Stream<StreamFailure>();
  const failures: StreamFailure[] = [];
  errors.sink(async (f) => {
    await new Promise((r) => setTimeout(r, 5));
    failures.push(f);
  });
  const out = source.filter((x) => failOn(1)(x) >= 0, { onError: errors }).sinkToList();
  await source.emit(0);
  await source.emit(1);
  t.equal(failures.length, 1, 'the emit waited for the error branch to take the failure');
  await source.emit(2);
  t.same(out, [0, 2]);
  t.same(failures.map((f) => [f.item, f.operator]), [[1, 'filter']]);
});

t.test('a source stops on an error that comes back, finishes what it took, and start() rejects', async (t) => {
  const pulled: number[] = [];
  function* numbers(): Generator<number> {
    for (let i = 0; i < 100; i++) {
      pulled.push(i);
      yield i;
    }
  }
  const source = Stream.fromIterable(numbers());
  const out = source.map(failOn(3)).buffer(2).sinkToList();
  await t.rejects(within(source.start(), 2000, 'start'), { message: 'bad item 3' });
  t.same(out, [0, 1, 2]);
  t.same(pulled, [0, 1, 2, 3], 'nothing after the failing item was read');

  const skipping = Stream.fromIterable([0, 1, 2, 3, 4, 5], { onError: 'skip' });
  const kept = skipping.map(failOn(3)).sinkToList();
  await within(skipping.start(), 2000, 'a skipping source');
  t.same(kept, [0, 1, 2, 4, 5]);
  t.equal(skipping.skipped, 1);
});

t.test('rateLimit keeps its pace when the sink throws', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  const at: number[] = [];
  source.rateLimit(100).sink((x) => {
    at.push(clock.now());
    if (x === 1) throw new Error('no');
  });
  const emits = [0, 1, 2].map((x) => source.emit(x).then(
    () => 'ok',
    (e: Error) => e.message,
  ));
  await clock.advance(500);
  t.same(await Promise.all(emits), ['ok', 'no', 'ok']);
  t.same(at, [0, 100, 200]);
});
