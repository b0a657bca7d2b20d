// mapAsync: calls in flight at once, results in order (streamz's map_async,
// streamz/tests/test_core.py test_map_async), on a ManualClock.
import t from 'tap';
import { ManualClock, Stream, StreamError } from '../../stream/index.ts';
import { settled, within } from '../helpers/streams.ts';

t.test('mapAsync (streamz test_map_async): two stages, parallelism 2, results in order', async (t) => {
  const clock = new ManualClock();
  const addTor = async (x: number): Promise<number> => x + 1;
  const addNative = async (x: number): Promise<number> => {
    await clock.sleep(100);
    return x + 2;
  };
  const source = new Stream<number>({ clock });
  const L = source.mapAsync(addTor).mapAsync(addNative, { parallelism: 2 }).sinkToList();
  const emitted: number[] = [];
  const emits = (async () => {
    for (const x of [0, 1, 2]) {
      await source.emit(x);
      emitted.push(clock.now());
    }
  })();
  await clock.advance(100);
  t.same(L, [3, 4], 'two calls ran at once');
  await clock.advance(100);
  await within(emits, 2000, 'emits');
  t.same(L, [3, 4, 5]);
  t.same(emitted, [0, 0, 0], 'each emit returned once the first stage had started its call');
});

t.test('mapAsync: a result ready early waits for the ones before it; at most `parallelism` calls in flight', async (t) => {
  const clock = new ManualClock();
  const source = new Stream<number>({ clock });
  let inFlight = 0;
  let most = 0;
  const out: Array<[number, number]> = [];
  source
    .mapAsync(
      async (x: number) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await clock.sleep((5 - x) * 10); // later items finish first
        inFlight--;
        return x;
      },
      { parallelism: 3 },
    )
    .sink((x) => void out.push([x, clock.now()]));
  const emits = [0, 1, 2, 3, 4].map((x) => source.emit(x));
  await clock.settle();
  t.ok(await settled(emits[2]), 'three calls start at once');
  t.notOk(await settled(emits[3]), 'the fourth waits');
  await clock.advance(1000);
  await within(Promise.all(emits), 2000, 'emits');
  await within(source.end(), 2000, 'end');
  t.same(out.map(([x]) => x), [0, 1, 2, 3, 4]);
  t.equal(most, 3);
  t.same(out[0], [0, 50], 'item 0 (50 ms) goes first though items 1 and 2 were ready before it');
});

t.test('mapAsync errors: propagate reaches the next emit and end() as a StreamError; skip drops the item', async (t) => {
  const source = new Stream<number>();
  const out = source
    .mapAsync(async (x: number) => {
      if (x === 1) throw new RangeError('one');
      return x;
    })
    .sinkToList();
  await source.emit(0);
  await source.emit(1);
  await new Promise((r) => setImmediate(r));
  await t.rejects(source.emit(2), StreamError, 'the next emit hears of it');
  await source.end();
  t.same(out, [0, 2]);

  const other = new Stream<number>();
  const kept = other.mapAsync((x: number) => (x === 1 ? Promise.reject(new Error('no')) : x), { onError: 'skip', parallelism: 2 });
  const list = kept.sinkToList();
  for (const x of [0, 1, 2]) await other.emit(x);
  await other.end();
  t.same(list, [0, 2]);
  t.equal(kept.skipped, 1);
  t.throws(() => other.mapAsync((x) => x, { parallelism: 0 }), RangeError);
});
