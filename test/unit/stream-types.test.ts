// The item type travels through operators, and a cluster stream offers no
// operator that would apply a local function to a future. The compile-time
// half of this file is checked by `npm run typecheck` (every @ts-expect-error
// must be an error); the run-time half checks the same things on objects.
import t from 'tap';
import type { Client } from '../../client/index.ts';
import { ClusterStream, Stream } from '../../stream/index.ts';

const fakeClient = {} as Client;

t.test('item types flow through operators', async (t) => {
  const numbers = new Stream<number>();
  const strings: Stream<string> = numbers.map(String);
  const awaited: Stream<number> = numbers.map(async (x) => x + 1);
  const lists: Stream<number[]> = numbers.partition(2);
  const flat: Stream<number> = lists.flatten();
  const pairs: Stream<[number, string]> = numbers.zip(strings);
  const latest: Stream<[number, string]> = numbers.combineLatest(strings, { emitOn: [0] });
  const either: Stream<number | string> = numbers.union(strings);
  const records = new Stream<{ id: number; name: string }>();
  const ids: Stream<number> = records.pluck('id');
  const tuples: Stream<[string, number]> = records.pluck(['name', 'id']);
  const sums: Stream<string> = numbers.scan((acc: string, x) => acc + x, { start: '' });
  const onCluster: ClusterStream<number> = numbers.scatter(fakeClient);
  const back: Stream<boolean> = onCluster.map<boolean>('isEven').buffer(3).gather();
  const windows: ClusterStream<number[]> = onCluster.partition(4);
  const withLiteral: Stream<[number, string, number]> = numbers.zip('x', numbers);
  const staticZip: Stream<[number, boolean]> = Stream.zip([numbers, true]);
  const starred: Stream<string> = numbers.zip(numbers).starmap((a, b) => `${a + b}`);
  const counts: Stream<Map<number, number>> = numbers.frequencies();
  const stated: Stream<[number, number]> = numbers.scan((acc, x) => acc + x, { withState: true });
  const keyed: Stream<{ id: number; name: string }[]> = records.partition(2, { key: 'id' });
  const lossless: Stream<[number, string]> = numbers.zipLatest(strings);
  const clusterScan: ClusterStream<number> = onCluster.scan<number>('add');

  // Compile-time only: never called, but every line must fail to type check.
  const misuses = (): void => {
    // @ts-expect-error a Stream<string> is not a Stream<number>
    const wrong: Stream<number> = numbers.map(String);
    // @ts-expect-error emit takes the stream's item type
    void numbers.emit('one');
    // @ts-expect-error no such key
    void records.pluck('missing');
    // @ts-expect-error a cluster stream has no local operators: gather() first
    void onCluster.filter((x: number) => x > 1);
    // @ts-expect-error map on a cluster stream takes a task name, not a function
    void onCluster.map((x: number) => x + 1);
    // @ts-expect-error no sink of local functions on futures
    void onCluster.sink(console.log);
    // @ts-expect-error starmap spreads lists: a stream of numbers has none
    void numbers.starmap((a: number) => a);
    // @ts-expect-error partition's key is a property of the item
    void records.partition(2, { key: (r: { other: number }) => r.other });
    // @ts-expect-error scan on a cluster stream takes a task name
    void onCluster.scan((acc: number, x: number) => acc + x);
    void wrong;
  };
  void misuses;
  void [strings, awaited, flat, pairs, latest, either, ids, tuples, sums, back, windows, withLiteral, staticZip, starred, counts, stated, keyed, lossless, clusterScan];

  t.equal(back.operator, 'gather');
  t.equal(windows.operator, 'partition(4)');
});

t.test('at run time too, a cluster stream has no local operators', async (t) => {
  const local = new Stream<number>();
  const remote = local.scatter(fakeClient);
  t.type(remote, ClusterStream);
  t.notOk(remote instanceof Stream, 'a ClusterStream is not a Stream');
  for (const name of ['filter', 'sink', 'sinkToList', 'flatten', 'unique', 'pluck', 'latest', 'combineLatest', 'slidingWindow', 'collect', 'sinkToFile', 'mapAsync']) {
    t.notOk(name in remote, `no ${name} on a cluster stream`);
  }
  for (const name of ['map', 'starmap', 'scan', 'accumulate', 'buffer', 'gather', 'rateLimit', 'delay', 'partition', 'timedWindow', 'zip', 'union', 'sinkToChannel', 'start']) {
    t.ok(name in remote, `${name} on a cluster stream`);
  }
});
