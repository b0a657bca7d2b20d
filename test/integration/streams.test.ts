// Cluster pipelines against a real scheduler and real workers: order,
// bounded futures in flight, errors, end and cancel, a worker killed
// mid-pipeline, channels in and out, SSE from the scheduler.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Client, TaskError } from '../../client/index.ts';
import { RefCounter, type ServerSentEvent, Stream, StreamError } from '../../stream/index.ts';
import { api, startScheduler, startWorker } from '../helpers/cluster.ts';
import { Proc, waitFor } from '../helpers/processes.ts';
import { within } from '../helpers/streams.ts';

const scheduler = await startScheduler(t);
await startWorker(t, scheduler.url, { concurrency: 4 });
const curl = api(scheduler.url);
const PIPELINE = fileURLToPath(new URL('../fixtures/stream-pipeline.ts', import.meta.url));

async function connect(t: Tap): Promise<Client> {
  const client = await Client.connect(scheduler.url);
  t.teardown(() => client.close());
  return client;
}
type Tap = { teardown(fn: () => unknown): void };

t.test('scatter → map → gather: results in input order, with a local branch beside the cluster one', async (t) => {
  const client = await connect(t);
  const source = new Stream<number>();
  const results = source.scatter(client).map<number>('increment').buffer(5).gather().sinkToList();
  const local = source.sinkToList(); // a second, local branch: both see every item
  for (let x = 0; x < 30; x++) await within(source.emit(x), 15_000, `emit(${x})`);
  await within(source.end(), 15_000, 'end');
  t.same(results, Array.from({ length: 30 }, (_, i) => i + 1));
  t.same(local, Array.from({ length: 30 }, (_, i) => i));
});

t.test('buffer(n) keeps up to n futures running while the pipeline goes on; gather keeps order although later tasks end first', async (t) => {
  const client = await connect(t);
  const source = new Stream<number>();
  let started = 0;
  let finished = 0;
  let most = 0;
  const order: number[] = [];
  source
    .map((x) => {
      started++;
      most = Math.max(most, started - finished);
      return x;
    })
    .scatter(client)
    .map<number>('incrementSlowFirst') // 200 ms for item 0 down to 20 ms for item 9: later items end first
    .buffer(4)
    .gather()
    .sink((x) => {
      finished++;
      order.push(x);
    });
  for (let x = 0; x < 12; x++) await within(source.emit(x), 15_000, `emit(${x})`);
  await within(source.end(), 15_000, 'end');
  t.same(order, Array.from({ length: 12 }, (_, i) => i + 1));
  t.ok(most >= 4, `up to ${most} items were in flight at once, not one at a time`);
  t.ok(most <= 4 + 2, `${most} in flight: at most the buffer's 4, one waiting in scatter and one in the first map`);
});

t.test('scatter({ batch }): items go in batches, emits run ahead, results still in order; a failed batch reaches end()', async (t) => {
  const client = await connect(t);
  const source = new Stream<number>();
  const out = source.scatter(client, { batch: 10 }).map<number>('increment').buffer(8).gather().sinkToList();
  for (let x = 0; x < 200; x++) await within(source.emit(x), 15_000, `emit(${x})`);
  t.ok(out.length < 200, `the emits ran ahead of the results (${out.length} of 200 back when the last emit returned)`);
  await within(source.end(), 15_000, 'end');
  t.same(out, Array.from({ length: 200 }, (_, i) => i + 1));

  const refused = new Stream<unknown>();
  const got = refused.scatter(client, { batch: 4 }).gather().sinkToList();
  const errors: unknown[] = [];
  await refused.emit('fine');
  await within(refused.emit(10n), 15_000, 'emit of a value JSON cannot carry').catch((e: unknown) => errors.push(e));
  await within(refused.end(), 15_000, 'end').catch((e: unknown) => errors.push(e));
  t.same(got, ['fine']);
  t.equal(errors.length, 1, 'the failed scatter surfaced once');
  t.type(errors[0], StreamError);
  t.equal((errors[0] as StreamError).item, 10n);
});

t.test('end() waits for the futures in flight; the results are all there when it resolves', async (t) => {
  const client = await connect(t);
  const source = new Stream<number>();
  const out = source.scatter(client).map<number>('increment', { args: [100] }).buffer(10).gather().sinkToList();
  for (let x = 0; x < 8; x++) await source.emit(x);
  t.ok(out.length < 8, `emits returned before the tasks ended (${out.length} results so far)`);
  await within(source.end(), 15_000, 'end');
  t.same(out, [1, 2, 3, 4, 5, 6, 7, 8]);
});

t.test('a failing task: rejects its emit; past a buffer, the next emit or end(); skip drops and counts it', async (t) => {
  const client = await connect(t);
  const direct = new Stream<number>();
  const directOut = direct.scatter(client).map<number>('rejectIf', { args: [2] }).gather().sinkToList();
  const outcomes: string[] = [];
  for (let x = 0; x < 4; x++) {
    await within(direct.emit(x), 15_000, `emit(${x})`).then(
      () => outcomes.push('ok'),
      (e: unknown) => outcomes.push(e instanceof TaskError ? `TaskError: ${e.message}` : String(e)),
    );
  }
  t.same(outcomes, ['ok', 'ok', 'TaskError: 2 is not welcome', 'ok'], 'without a buffer the emit waits for the result, so it gets the task’s error');
  t.same(directOut, [0, 1, 3]);

  const buffered = new Stream<number>();
  const bufferedOut = buffered.scatter(client).map<number>('rejectIf', { args: [2] }).buffer(3).gather().sinkToList();
  const errors: unknown[] = [];
  for (let x = 0; x < 4; x++) await within(buffered.emit(x), 15_000, `emit(${x})`).catch((e: unknown) => errors.push(e));
  await within(buffered.end(), 15_000, 'end').catch((e: unknown) => errors.push(e));
  t.equal(errors.length, 1, 'the failure surfaced exactly once');
  t.type(errors[0], StreamError);
  t.type((errors[0] as StreamError).cause, TaskError);
  t.same(bufferedOut, [0, 1, 3]);

  const skipping = new Stream<number>();
  const gathered = skipping.scatter(client).map<number>('rejectIf', { args: [1] }).gather({ onError: 'skip' });
  const skippedOut = gathered.sinkToList();
  for (let x = 0; x < 3; x++) await skipping.emit(x);
  await skipping.end();
  t.same(skippedOut, [0, 2]);
  t.equal(gathered.skipped, 1);
});

t.test('cancel(): futures in flight are let go and the scheduler cancels the tasks nobody wants', async (t) => {
  const client = await connect(t);
  const source = new Stream<number>();
  source.scatter(client).map('hang').buffer(6).gather().sinkToList();
  for (let x = 0; x < 6; x++) await source.emit(x);
  await waitFor(async () => (await curl.get<Array<{ processing: number }>>('/workers')).body.some((w) => w.processing > 0), 'tasks to run', 15_000);
  const ended = source.end().then(
    () => undefined,
    (e: unknown) => e,
  );
  source.cancel();
  t.match(await within(ended, 5000, 'end to reject'), { name: 'AbortError' });
  await waitFor(async () => (await curl.get<Array<{ processing: number }>>('/workers')).body.every((w) => w.processing === 0), 'the hanging tasks to be cancelled', 15_000);
  t.pass('no task runs any more');
});

t.test('partition and zip hand lists of futures to one task', async (t) => {
  const client = await connect(t);
  const source = new Stream<number>();
  const onCluster = source.scatter(client);
  const sums = onCluster.partition(3).map<number>('total').gather().sinkToList();
  const pairs = onCluster.zip(onCluster.map<number>('increment')).map<number>('total').gather().sinkToList();
  for (let x = 1; x <= 7; x++) await source.emit(x);
  await within(source.end(), 15_000, 'end');
  t.same(sums, [6, 15, 7], 'lists of 3, the last one partial at end()');
  t.same(pairs, [3, 5, 7, 9, 11, 13, 15], 'x + (x + 1)');
});

t.test('scan/accumulate and starmap on the cluster (streamz test_dask: test_scan, test_scan_state, test_accumulate, test_starmap, test_zip)', async (t) => {
  const client = await connect(t);
  const source = new Stream<number>();
  const onCluster = source.scatter(client);
  const sums = onCluster.map<number>('inc').scan<number>('add').gather().sinkToList();
  const fromTen = onCluster.scan<number>('add', { start: 10 }).gather().sinkToList();
  for (let i = 0; i < 5; i++) await within(source.emit(i), 15_000, `emit(${i})`);
  await within(source.end(), 15_000, 'end');
  t.same(sums, [1, 3, 6, 10, 15], 'test_scan');
  t.same(fromTen, [10, 11, 13, 16, 20], 'a JSON start value');

  const states = new Stream<number>();
  const split = states.scatter(client).scan<number>('addReturningState', { returnsState: true }).gather().sinkToList();
  const withState = states.scatter(client).accumulate<[number, number]>('add', { withState: true }).gather().sinkToList();
  for (let i = 0; i < 3; i++) await within(states.emit(i), 15_000, `emit(${i})`);
  await within(states.end(), 15_000, 'end');
  t.same(split, [0, 1, 3], 'test_scan_state');
  t.same(withState, [[0, 0], [1, 1], [3, 3]], 'test_accumulate: [state, value]');

  const pairs = new Stream<[number, number]>();
  const starred = pairs.scatter(client).starmap<number>('addXYZ', { kwargs: { z: 10 } }).gather().sinkToList();
  for (let i = 0; i < 5; i++) await within(pairs.emit([i, i]), 15_000, `emit([${i}, ${i}])`);
  await within(pairs.end(), 15_000, 'end');
  t.same(starred, [10, 12, 14, 16, 18], 'test_starmap: a future whose value is a list of arguments');

  const a = new Stream<number>();
  const b = new Stream<string>();
  const zipped = a.scatter(client).zip(b.scatter(client));
  const L = zipped.gather().sinkToList();
  const asArgs = zipped.starmap<unknown[]>('echo').gather().sinkToList();
  await a.emit(1);
  await b.emit('a');
  await a.emit(2);
  await b.emit('b');
  await within(Promise.all([a.end(), b.end()]), 15_000, 'end');
  t.same(L, [[1, 'a'], [2, 'b']], 'test_zip');
  t.same(asArgs, [[1, 'a'], [2, 'b']], 'starmap spreads a zip’s futures as arguments');

  const same = new Stream<number>();
  const doubled = same.scatter(client).zip(same.scatter(client)).map<number>('total').gather().sinkToList();
  const onceScattered = same.scatter(client);
  const selfZip = onceScattered.zip(onceScattered).map<number>('total').gather().sinkToList();
  for (const x of [1, 2]) await same.emit(x);
  await within(same.end(), 15_000, 'end');
  t.same(doubled, [2, 4]);
  t.same(selfZip, [2, 4], 'zip(a, a) on the cluster: the same future twice');
});

t.test('metadata rides along on the cluster: buffer and gather hold an item until its result is taken (streamz test_partition_then_scatter)', async (t) => {
  const client = await connect(t);
  const source = new Stream<number>();
  const L = source.partition(2, { timeoutMs: 100 }).scatter(client).map<number[]>('incEach').buffer(2).gather().flatten().sinkToList();
  let done = 0;
  const rc = new RefCounter({ onDone: () => done++ });
  for (let i = 0; i < 3; i++) await source.emit(i, { metadata: [{ ref: rc }] });
  t.ok(rc.count > 0, 'held while on the cluster');
  await waitFor(() => rc.count === 0, 'every item to be done', 15_000);
  t.same(L, [1, 2, 3]);
  t.ok(done >= 1);
  t.notOk(rc.failed);

  const failing = new Stream<number>();
  failing.scatter(client).map('rejectIf', { args: [1] }).buffer(2).gather({ onError: 'skip' });
  const ok = new RefCounter();
  const bad = new RefCounter();
  await failing.emit(0, { metadata: [{ ref: ok }] });
  await failing.emit(1, { metadata: [{ ref: bad }] });
  await within(failing.end(), 15_000, 'end');
  t.same([ok.count, bad.count, ok.failed, bad.failed], [0, 0, false, false], 'a skipped failure is done, not failed');
});

t.test('channels: sinkToChannel from local and cluster streams; fromChannel reads, stops with the channel, resumes from lastSeq', async (t) => {
  const client = await connect(t);
  const name = `stream-in-${Date.now()}`;
  const local = new Stream<number>();
  local.sinkToChannel(client, name);
  for (const x of [10, 20, 30]) await local.emit(x);
  await local.end();
  t.same((await curl.get(`/channels/${name}`)).body.futures.map((f: { seq: number }) => f.seq), [1, 2, 3], 'each emit returned once its append was acknowledged');

  const out = `stream-out-${Date.now()}`;
  const reader = Stream.fromChannel<number>(client, name);
  const seen = reader.gather().sinkToList();
  reader.map<number>('increment').buffer(2).sinkToChannel(out);
  const done = reader.start();
  await waitFor(() => seen.length === 3, 'the three entries', 15_000);
  t.same(seen, [10, 20, 30]);
  t.equal(reader.lastSeq, 3);
  await client.channel(name).stop();
  await within(done, 15_000, 'the source to end when the channel stops');
  const written = (await curl.get(`/channels/${out}`)).body.futures as Array<{ key: string }>;
  const values = await Promise.all(written.map(async (f) => (await curl.get(`/futures/${f.key}/result?timeout=10`)).body.result));
  t.same(values, [11, 21, 31], 'the cluster branch appended its futures, in order');

  const resumed = Stream.fromChannel<number>(client, name, { from: 3 });
  const rest = resumed.gather().sinkToList();
  await within(resumed.start(), 15_000, 'a resumed reader');
  t.same(rest, [30], 'from: lastSeq reads on from there');

  const windows = new Stream<number>();
  windows.scatter(client).partition(2).sinkToChannel(`bad-${Date.now()}`);
  await t.rejects(windows.emit(1).then(() => windows.emit(2)), { name: 'TypeError', message: /one future per item/ });
});

t.test('fromQueue reads a sluice queue that another client fills; once ended it takes nothing more', async (t) => {
  const producer = await connect(t);
  const consumer = await connect(t);
  const name = `jobs-${Date.now()}`;
  await producer.queue<number>(name).putMany([1, 2, 3]);
  const source = Stream.fromQueue(consumer.queue<number>(name));
  const doubled = source.map((x) => x * 2).sinkToList();
  const done = source.start();
  await waitFor(() => doubled.length === 3, 'the three items put before', 15_000);
  await producer.queue<number>(name).put(4);
  await waitFor(() => doubled.length === 4, 'an item put while the pipeline waits', 15_000);
  t.same(doubled, [2, 4, 6, 8]);
  await source.end();
  await done;
  // The scheduler learns that the get was given up when the connection's
  // close reaches it; an item put before that could still go to the closed
  // connection (the window docs/coordination.md describes under Queues).
  await waitFor(async () => (await producer.queue(name).info()).getters === 0, 'the scheduler to see the get given up', 15_000);
  await producer.queue<number>(name).put(5);
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(await producer.queue(name).qsize(), 1, 'the ended pipeline’s wait was given up: the item put later is still in the queue');
  t.same(doubled, [2, 4, 6, 8]);
});

t.test('fromEventSource reads the scheduler’s SSE: a channel’s append events', async (t) => {
  const client = await connect(t);
  const name = `sse-${Date.now()}`;
  const chan = client.channel(name);
  const [a, b] = await client.scatter(['first', 'second']);
  chan.append([a, b]);
  await chan.flush();
  const events = Stream.fromEventSource(`${scheduler.url}/channels/${name}/events`, { events: ['append'] });
  t.teardown(() => events.cancel());
  const seqs = events.map((e: ServerSentEvent) => (JSON.parse(e.data) as { seq: number }).seq).sinkToList();
  const done = events.start();
  await waitFor(() => seqs.length === 2, 'two append events', 15_000);
  t.same(seqs, [1, 2]);
  await events.end();
  await done;
});

t.test('a worker killed mid-pipeline: every result still arrives, in order', async (t) => {
  const victim = await startWorker(t, scheduler.url, { concurrency: 3, name: `victim-${process.pid}` });
  const client = await connect(t);
  const source = new Stream<number>();
  const results = source.scatter(client).map<number>('increment', { args: [300] }).buffer(8).gather().sinkToList();
  const feeding = (async () => {
    for (let x = 0; x < 24; x++) await within(source.emit(x), 30_000, `emit(${x})`);
  })();
  const busy = await waitFor(
    async () => (await curl.get<Array<{ name: string; processing: number }>>('/workers')).body.find((w) => w.name === victim.name && w.processing >= 2),
    'the victim to be running tasks',
    15_000,
    10,
  );
  t.ok(busy.processing > 0, `the victim had ${busy.processing} tasks in flight when killed`);
  await victim.stop('SIGKILL');
  await within(feeding, 60_000, 'the emits');
  await within(source.end(), 60_000, 'end');
  t.same(results, Array.from({ length: 24 }, (_, i) => i + 1));
});

t.test('fromChannel goes on across a kill -9 and restart of the scheduler: no entry missed, none repeated', async (t) => {
  const first = await startScheduler(t);
  const client = await Client.connect(first.url);
  t.teardown(() => client.close());
  const name = 'survives';
  const writer = new Stream<number>();
  writer.sinkToChannel(client, name);
  for (const x of [1, 2, 3]) await writer.emit(x);
  const reader = Stream.fromChannel<number>(client, name);
  const seen = reader.gather().sinkToList();
  const done = reader.start();
  await waitFor(() => seen.length === 3, 'the first entries', 15_000);
  await first.proc.stop('SIGKILL');
  const second = await startScheduler(t, { db: first.db, port: first.port });
  for (const x of [4, 5]) await within(writer.emit(x), 30_000, `emit(${x}) after the restart`);
  await waitFor(() => seen.length >= 5, 'the entries appended after the restart', 30_000);
  await writer.end();
  await api(second.url).post(`/channels/${name}/stop`);
  await within(done, 30_000, 'the reader to end with the channel');
  t.same(seen, [1, 2, 3, 4, 5]);
  t.equal(reader.lastSeq, 5);
});

t.test('consumer positions over HTTP: forward only unless rewound, bounded by the channel, gone with it', async (t) => {
  const name = `positions-${Date.now()}`;
  const path = `/channels/${name}/consumers`;
  t.equal((await curl.get(`${path}/billing`)).status, 404, 'unknown channel');
  await curl.post(`/channels/${name}/append`, { tasks: [1, 2, 3].map((x) => ({ fn: 'inc', args: [x] })) });
  t.match((await curl.get(`${path}/billing`)).body, { channel: name, consumer: 'billing', seq: 0, updatedAt: null }, 'a consumer that never committed is at 0');
  t.match((await curl.put(`${path}/billing`, { seq: 2 })).body, { seq: 2 });
  t.match((await curl.put(`${path}/billing`, { seq: 1 })).body, { seq: 2 }, 'a lower seq leaves it where it is');
  t.match((await curl.put(`${path}/billing`, { seq: 1, rewind: true })).body, { seq: 1 }, 'unless rewind');
  const past = await curl.put(`${path}/billing`, { seq: 4 });
  t.equal(past.status, 400);
  t.match(past.body, { error: { code: 'SLUICE_ERR_VALIDATION', message: /past the last entry/ } });
  for (const bad of [{ seq: -1 }, { seq: 1.5 }, {}, { seq: 1, extra: true }]) t.equal((await curl.put(`${path}/billing`, bad)).status, 400, JSON.stringify(bad));
  t.equal((await curl.put(`${path}/bad%20name`, { seq: 1 })).status, 400, 'a consumer name is checked like a channel name');
  await curl.put(`${path}/audit`, { seq: 3 });
  t.same((await curl.get(path)).body.map((c: { consumer: string; seq: number }) => [c.consumer, c.seq]), [['audit', 3], ['billing', 1]]);
  t.equal((await curl.delete(`${path}/audit`)).status, 204);
  t.match((await curl.get(`${path}/audit`)).body, { seq: 0 });
  await curl.delete(`/channels/${name}`);
  await curl.post(`/channels/${name}/append`, { tasks: [{ fn: 'inc', args: [9] }] });
  t.match((await curl.get(`${path}/billing`)).body, { seq: 0 }, 'a channel made again under a deleted one’s name has no consumers');
  const docs = (await curl.get('/docs/json')).body as { paths: Record<string, unknown> };
  t.ok(docs.paths['/channels/{name}/consumers/{consumer}'], 'in the OpenAPI document');
});

t.test('fromChannel as a consumer: resumes after its committed position; an entry that failed holds the position before it', async (t) => {
  const client = await connect(t);
  const name = `consumed-${Date.now()}`;
  const writer = new Stream<number>();
  writer.sinkToChannel(client, name);
  for (let x = 1; x <= 5; x++) await writer.emit(x);

  const first = Stream.fromChannel<number>(client, name, { consumer: 'c1' });
  const seen = first.gather().sinkToList();
  const running = first.start();
  await waitFor(() => seen.length === 5, 'five entries', 15_000);
  await first.end();
  await within(running, 15_000, 'start() after end()');
  t.equal(first.committedSeq, 5, 'every entry done with: position 5');
  t.match((await curl.get(`/channels/${name}/consumers/c1`)).body, { seq: 5 });

  for (let x = 6; x <= 8; x++) await writer.emit(x);
  const second = Stream.fromChannel<number>(client, name, { consumer: 'c1' });
  const more = second
    .gather()
    .map((x) => {
      if (x === 7) throw new Error('cannot handle 7');
      return x;
    })
    .sinkToList();
  await t.rejects(within(second.start(), 15_000, 'the source to stop on the error'), { message: 'cannot handle 7' });
  t.same(more, [6], 'a new pipeline under the same name starts after the position');
  t.equal(second.committedSeq, 6, 'the failed entry 7 holds the position at 6');
  t.match((await curl.get(`/channels/${name}/consumers/c1`)).body, { seq: 6 });

  await client.channel(name).stop();
  const third = Stream.fromChannel<number>(client, name, { consumer: 'c1', onError: 'skip' });
  const rest = third
    .gather()
    .map((x) => {
      if (x === 7) throw new Error('still not 7');
      return x;
    })
    .sinkToList();
  await within(third.start(), 15_000, 'to the end of the stopped channel');
  t.same(rest, [8], '7 failed again, and was skipped this time');
  t.equal(third.skipped, 1);
  t.equal(third.committedSeq, 8, 'a skipped entry is done with');
});

t.test('a pipeline process killed (SIGKILL) mid-run and started again: every entry processed, none skipped, repeats only after the committed position', async (t) => {
  const client = await connect(t);
  const name = `killed-${Date.now()}`;
  const total = 150;
  const writer = new Stream<number>();
  writer.sinkToChannel(client, name);
  for (let x = 1; x <= total; x++) await writer.emit(x);
  await writer.end();
  await client.channel(name).stop();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pipeline-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'processed.txt');
  const env = { SLUICE_SCHEDULER: scheduler.url, MODE: 'channel', NAME: name, CONSUMER: 'killable', OUT: out, DELAY_MS: '10' };
  const processed = async (): Promise<number[]> => (await readFile(out, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);

  const run1 = new Proc([], { script: PIPELINE, env });
  t.teardown(() => run1.stop('SIGKILL'));
  await waitFor(async () => (await processed()).length >= 40, 'the first run to process 40 entries', 30_000);
  await run1.stop('SIGKILL');
  const before = await processed();
  const committed = (await curl.get(`/channels/${name}/consumers/killable`)).body.seq as number;
  t.ok(committed > 0 && committed <= before.length, `the position committed before the kill (${committed}) is at most what was processed (${before.length})`);
  t.ok(before.length < total, 'killed before the end');

  const run2 = new Proc([], { script: PIPELINE, env });
  t.teardown(() => run2.stop('SIGKILL'));
  t.match(await within(run2.exited, 60_000, 'the second run to finish'), { code: 0 });
  const all = await processed();
  const second = all.slice(before.length);
  t.same([...new Set(all)].sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1), 'every entry processed at least once, none skipped');
  t.equal(second[0], committed + 1, 'the second run started just after the committed position');
  const repeated = second.filter((seq) => before.includes(seq));
  t.ok(
    repeated.every((seq) => seq > committed),
    `repeats (${repeated.length}: ${repeated.join(', ')}) are all after the committed position ${committed}`,
  );
  t.equal(new Set(before).size, before.length, 'no repeats within a run');
  t.match((await curl.get(`/channels/${name}/consumers/killable`)).body, { seq: total });
});

t.test('a committed position survives a kill -9 of the scheduler', async (t) => {
  const first = await startScheduler(t);
  const http = api(first.url);
  await http.post('/channels/kept/append', { tasks: [{ fn: 'inc', args: [1] }, { fn: 'inc', args: [2] }] });
  t.match((await http.put('/channels/kept/consumers/c', { seq: 2 })).body, { seq: 2 });
  await first.proc.stop('SIGKILL');
  const second = await startScheduler(t, { db: first.db, port: first.port });
  t.match((await api(second.url).get('/channels/kept/consumers/c')).body, { seq: 2 }, 'acknowledged, so on disk');
});

t.test('fromQueue with ack on a sluice queue: acknowledged once processed; a failed item goes back; the client’s lease API', async (t) => {
  const producer = await connect(t);
  const consumer = await connect(t);
  const name = `acked-${Date.now()}`;
  await producer.queue<number>(name).putMany([1, 2, 3, 4]);
  const queue = consumer.queue<number>(name);
  const source = Stream.fromQueue(queue, { ack: true, ttlMs: 10_000 });
  const seen: number[] = [];
  source
    .map((x) => {
      if (x === 3) throw new Error('three fails');
      return x;
    })
    .sink((x) => void seen.push(x));
  await t.rejects(within(source.start(), 15_000, 'the source to stop on the failure'), { message: 'three fails' });
  t.same(seen, [1, 2]);
  t.equal(source.acked, 2);
  t.equal(source.returned, 1);
  t.match((await curl.get(`/queues/${name}`)).body, { size: 2, leased: 0 }, '3 went back, 4 was never taken');
  t.same(await producer.queue<number>(name).getBatch(5), [3, 4], 'in order');

  await producer.queue<number>(name).putMany([5, 6]);
  const lease = await queue.lease({ batch: 2, ttlMs: 600 });
  t.same(lease.items, [5, 6]);
  await new Promise((r) => setTimeout(r, 1500));
  t.match((await curl.get(`/queues/${name}`)).body, { leased: 2 }, 'renewed in the background past its ttl');
  await lease.ack([lease.ids[0]]);
  await lease.release();
  t.same(await producer.queue<number>(name).getBatch(5), [6]);
  t.equal(lease.held, 0, 'nothing is held any more');
  await lease.ack(); // a no-op
});

t.test('a queue pipeline process killed (SIGKILL) mid-run and started again: every item processed, none lost, repeats only among the items it had leased', async (t) => {
  const client = await connect(t);
  const name = `killed-queue-${Date.now()}`;
  const total = 120;
  await client.queue<number>(name).putMany([...Array.from({ length: total }, (_, i) => i + 1), -1]);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pipeline-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'processed.txt');
  const env = { SLUICE_SCHEDULER: scheduler.url, MODE: 'queue', NAME: name, OUT: out, DELAY_MS: '10', TTL_MS: '5000' };
  const processed = async (): Promise<number[]> => (await readFile(out, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);

  const run1 = new Proc([], { script: PIPELINE, env });
  t.teardown(() => run1.stop('SIGKILL'));
  await waitFor(async () => (await processed()).length >= 40, 'the first run to process 40 items', 30_000);
  await run1.stop('SIGKILL');
  const before = await processed();
  const atKill = (await curl.get(`/queues/${name}`)).body as { size: number; leased: number };
  t.ok(atKill.leased > 0, `the killed pipeline held ${atKill.leased} items under lease`);
  await waitFor(async () => (await curl.get(`/queues/${name}`)).body.leased === 0, 'the dead consumer’s leases to lapse', 30_000);
  t.match((await curl.get(`/queues/${name}`)).body, { size: atKill.size + atKill.leased }, 'its unacknowledged items are back in the queue');

  const run2 = new Proc([], { script: PIPELINE, env });
  t.teardown(() => run2.stop('SIGKILL'));
  t.match(await within(run2.exited, 60_000, 'the second run to finish'), { code: 0 });
  const all = await processed();
  const second = all.slice(before.length);
  t.same([...new Set(all)].sort((a, b) => a - b), Array.from({ length: total }, (_, i) => i + 1), 'every item processed at least once, none lost');
  const repeated = second.filter((x) => before.includes(x));
  t.ok(repeated.length <= atKill.leased, `repeats (${repeated.length}: ${repeated.join(', ')}) are among the ${atKill.leased} items still leased when the pipeline died`);
  t.same(second, [...second].sort((a, b) => a - b), 'the second run took the items in queue order: those given back first, at the front');
  t.equal(new Set(before).size, before.length, 'no repeats within a run');
  t.match((await curl.get(`/queues/${name}`)).body, { size: 0, leased: 0 });
});
