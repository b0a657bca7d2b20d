// Joining streams: zip, combineLatest, zipLatest and union, with inputs that
// join (connect) and leave (disconnect) at any time. The cases and expected
// outputs are streamz's (streamz/tests/test_core.py), in sluice's names.
import t from 'tap';
import { Stream } from '../../stream/index.ts';
import { settled, within } from '../helpers/streams.ts';

t.test('zip (streamz test_zip): two streams, then three', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number | string>();
  const L = a.zip(b).sinkToList();
  await a.emit(1);
  await b.emit('a');
  await a.emit(2);
  await b.emit('b');
  t.same(L, [
    [1, 'a'],
    [2, 'b'],
  ]);
  const d = new Stream<number>();
  const L2 = a.zip(b, d).sinkToList();
  await a.emit(1);
  await b.emit(2);
  await d.emit(3);
  t.same(L2, [[1, 2, 3]]);
});

t.test('zip: an input connected later takes part (streamz test_connect_zip)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  const c = new Stream<number>();
  const x = a.zip(b);
  const L = x.sinkToList();
  c.connect(x);
  await a.emit(1);
  await b.emit(1);
  t.same(L, [], 'waits for the third input');
  await c.emit(1);
  t.same(L, [[1, 1, 1]]);
  await a.emit(2);
  await c.emit(2);
  await b.emit(2);
  t.same(L, [
    [1, 1, 1],
    [2, 2, 2],
  ]);
});

t.test('zip: an input that leaves no longer takes part (streamz test_disconnect_zip)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  const c = new Stream<number>();
  const x = a.zip(b, c);
  const L = x.sinkToList();
  b.disconnect(x);
  await a.emit(1);
  await b.emit(1);
  t.same(L, []);
  await c.emit(1);
  t.same(L, [[1, 1]]);
});

t.test('zip: an input that leaves while others wait behind maxsize frees them', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  const c = new Stream<number>();
  const x = Stream.zip([a, b, c], { maxsize: 1 });
  const L = x.sinkToList();
  await a.emit(1);
  await c.emit(1);
  const waiting = a.emit(2);
  t.notOk(await settled(waiting), 'a is past maxsize: its emit waits for b');
  b.disconnect(x);
  await within(waiting, 2000, 'the waiting emit once b left');
  t.same(L, [[1, 1]], 'the tuple b held up went out');
});

t.test('combineLatest: an input connected later is waited for and emits (streamz test_connect_combine_latest)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  const c = new Stream<number>();
  const x = a.combineLatest(b, { emitOn: [0] });
  const L = x.sinkToList();
  c.connect(x);
  await b.emit(1);
  await c.emit(1);
  await a.emit(1);
  t.same(L, [[1, 1, 1]]);

  const p = new Stream<string>();
  const q = new Stream<string>();
  const r = new Stream<string>();
  const y = p.combineLatest(q);
  const M = y.sinkToList();
  r.connect(y);
  await p.emit('p1');
  await q.emit('q1');
  t.same(M, [], 'without emitOn, nothing goes out before the new input has a value');
  await r.emit('r1');
  t.same(M, [['p1', 'q1', 'r1']], "the new input's items trigger emissions");
  await r.emit('r2');
  t.same(M, [
    ['p1', 'q1', 'r1'],
    ['p1', 'q1', 'r2'],
  ]);
});

t.test('combineLatest: an input that leaves no longer takes part (streamz test_connect_discombine_latest)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  const c = new Stream<number>();
  const x = a.combineLatest(b, c, { emitOn: [0] });
  const L = x.sinkToList();
  c.disconnect(x);
  await b.emit(1);
  await c.emit(1);
  await a.emit(1);
  t.same(L, [[1, 1]]);

  const p = new Stream<number>();
  const q = new Stream<number>();
  const r = new Stream<number>();
  const y = p.combineLatest(q, r);
  const M = y.sinkToList();
  await p.emit(1);
  await q.emit(2);
  q.disconnect(y);
  await r.emit(3);
  t.same(M, [[1, 3]], 'q left before it mattered: the tuple has two places');
  t.throws(() => a.disconnect(x), /emitOn/, 'the only input it emits on cannot leave');
});

t.test('zip with literals (streamz test_zip_literals) and the same stream twice (test_zip_same)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  const c: Stream<[number, number, number]> = Stream.zip([a, 123, b]);
  const L = c.sinkToList();
  await a.emit(1);
  await b.emit(2);
  t.same(L, [[1, 123, 2]]);
  await a.emit(4);
  await b.emit(5);
  t.same(L, [
    [1, 123, 2],
    [4, 123, 5],
  ]);
  const M = a.zip('x', b, 'y').sinkToList();
  await a.emit(6);
  await b.emit(7);
  t.same(M, [[6, 'x', 7, 'y']], 'literals given to the method keep their places too');

  const s = new Stream<number>();
  const pairs: Array<[number, number]> = s.zip(s).sinkToList();
  await s.emit(1);
  await s.emit(2);
  t.same(pairs, [
    [1, 1],
    [2, 2],
  ]);
  t.throws(() => Stream.zip([1, 2]), /at least one Stream/);
  t.throws(() => Stream.zip([a], { maxsize: 0 }), RangeError);
});

t.test('zip maxsize (streamz test_zip_timeout): the emit past maxsize waits for the others', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<string>();
  const L = Stream.zip([a, b], { maxsize: 2 }).sinkToList();
  await a.emit(1);
  await a.emit(2);
  const third = a.emit(3);
  t.notOk(await settled(third), 'a holds 3 items, more than maxsize 2');
  await b.emit('a');
  await within(third, 2000, 'the third emit');
  t.same(L, [[1, 'a']]);
});

t.test('combineLatest (streamz test_combine_latest, _emit_on, _emit_on_stream)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<string>();
  const L = a.combineLatest(b).sinkToList();
  const L2 = a.combineLatest(b, { emitOn: [a, b] }).sinkToList();
  await a.emit(1);
  await a.emit(2);
  await b.emit('a');
  await a.emit(3);
  await b.emit('b');
  const expected = [
    [2, 'a'],
    [3, 'a'],
    [3, 'b'],
  ];
  t.same(L, expected);
  t.same(L2, expected);

  for (const emitOn of [a, 0] as const) {
    const p = new Stream<number>();
    const q = new Stream<string>();
    const M = p.combineLatest(q, { emitOn: emitOn === 0 ? 0 : p }).sinkToList();
    await p.emit(1);
    await q.emit('a');
    await p.emit(2);
    await p.emit(3);
    await q.emit('b');
    await p.emit(4);
    t.same(M, [
      [2, 'a'],
      [3, 'a'],
      [4, 'b'],
    ], `emitOn ${emitOn === 0 ? 'position 0' : 'the stream'}`);
  }
  t.throws(() => a.combineLatest(b, { emitOn: 2 }), RangeError);
  t.throws(() => a.combineLatest(b, { emitOn: new Stream() }), RangeError);
});

t.test('combineLatest: execution order follows the order branches were made (streamz test_execution_order)', async (t) => {
  const run = async (pluckFirst: 0 | 1): Promise<unknown[]> => {
    const s = new Stream<[number, string]>();
    const first = s.pluck(pluckFirst);
    const second = s.pluck(pluckFirst === 0 ? 1 : 0);
    const [a, b] = pluckFirst === 0 ? [first, second] : [second, first];
    const li = (a as Stream<unknown>).combineLatest(b as Stream<unknown>, { emitOn: [0] }).sinkToList();
    for (const z of [[1, 'red'], [2, 'blue'], [3, 'green']] as Array<[number, string]>) await s.emit(z);
    return li;
  };
  const one = await run(1);
  t.same(await run(1), one, 'the same graph gives the same output every time');
  t.notSame(await run(0), one, 'a graph built in the other order gives another output');
});

t.test('zipLatest (streamz test_zip_latest, _reverse, test_triple_zip_latest)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<string>();
  const L = a.zipLatest(b).sinkToList();
  const L2 = a.combineLatest(b, { emitOn: a }).sinkToList();
  await a.emit(1);
  await a.emit(2);
  await b.emit('a');
  await b.emit('b');
  await a.emit(3);
  t.same(L, [
    [1, 'a'],
    [2, 'a'],
    [3, 'b'],
  ]);
  t.same(L2, [[3, 'b']]);

  const p = new Stream<number>();
  const q = new Stream<string>();
  const M = p.zipLatest(q).sinkToList();
  await q.emit('a');
  for (const x of [1, 2, 3]) await p.emit(x);
  await q.emit('b');
  await p.emit(4);
  t.same(M, [
    [1, 'a'],
    [2, 'a'],
    [3, 'a'],
    [4, 'b'],
  ]);

  const s1 = new Stream<number>();
  const s2 = new Stream<string>();
  const s3 = new Stream<string>();
  const N = s1.zipLatest(s2, s3).sinkToList();
  await s1.emit(1);
  await s2.emit('I');
  await s2.emit('II');
  await s1.emit(2);
  await s2.emit('III');
  await s3.emit('a');
  await s3.emit('b');
  await s1.emit(3);
  t.same(N, [
    [1, 'III', 'a'],
    [2, 'III', 'a'],
    [3, 'III', 'b'],
  ]);
});

t.test('union (streamz test_union) and connect into a union (test_multi_connect)', async (t) => {
  const a = new Stream<number>();
  const b = new Stream<number>();
  const c = new Stream<number>();
  const L = a.union(b, c).sinkToList();
  await a.emit(1);
  t.same(L, [1]);
  await b.emit(2);
  t.same(L, [1, 2]);
  await a.emit(3);
  t.same(L, [1, 2, 3]);
  await c.emit(4);
  t.same(L, [1, 2, 3, 4]);

  const s0 = new Stream<number>();
  const s1 = new Stream<number>();
  const joined = s0.union(s1);
  const upstream = new Stream<number>();
  const M: number[] = [];
  joined.map((x) => x + 1).sink((x) => void M.push(x));
  upstream.connect(joined);
  await upstream.emit(2);
  await upstream.emit(4);
  t.same(M, [3, 5]);
});
