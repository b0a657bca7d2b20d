// The client when things go wrong: closing mid-iteration, futures of other clients, a scheduler that is down or restarting.
import { createServer } from 'node:net';
import t from 'tap';
import { Client, type Future } from '../../client/index.ts';
import { api, startScheduler, startWorker } from '../helpers/cluster.ts';
import { sleep, waitFor } from '../helpers/processes.ts';

/** A port nothing listens on (it was free a moment ago). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What a promise came to within ms: its value, 'rejected: <code or message>', or 'still pending'. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.catch((error: { code?: string; message?: string }) => `rejected: ${error.code ?? error.message}`),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still pending'), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long a promise takes to settle, and what it rejected with. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; code?: string }> {
  const started = Date.now();
  try {
    await promise;
    return { ms: Date.now() - started };
  } catch (error) {
    return { ms: Date.now() - started, code: (error as { code?: string }).code };
  }
}

t.test('close ends every channel iteration of the client and settles its waits', async (t) => {
  const scheduler = await startScheduler(t);
  const client = await Client.connect(scheduler.url);
  t.teardown(() => client.close());
  const chan = client.channel(`open-${Date.now()}`);
  chan.append(client.submit('inc', [1], { pure: false }));
  await chan.flush();

  const seen: string[] = [];
  const iteration = (async () => {
    // (TypeScript types a for-await variable as the awaited type; it is the Future.)
    for await (const future of chan) seen.push((future as unknown as Future).key);
    return 'ended';
  })();
  const entries = (async () => {
    for await (const entry of chan.entries()) seen.push(`#${entry.seq}`);
    return 'ended';
  })();
  const empty = client.channel(`never-appended-${Date.now()}`);
  const waiting = empty[Symbol.asyncIterator]().next().then((step) => (step.done ? 'ended' : 'an entry'));
  const mirrored = client.channel(`mirrored-${Date.now()}`);
  void mirrored.futures;
  await waitFor(() => seen.length === 2, 'both iterations to see the entry');

  await client.close();
  t.equal(await within(iteration, 5_000), 'ended', 'for await over the channel ends');
  t.equal(await within(entries, 5_000), 'ended', 'chan.entries() ends');
  t.equal(await within(waiting, 5_000), 'ended', 'a next() waiting on an empty channel ends');
  t.equal(await within(mirrored.flush(), 5_000), undefined, 'flush of a closed channel settles');
  const after = chan[Symbol.asyncIterator]();
  t.same(await within(after.next(), 5_000), { done: true, value: undefined }, 'an iteration begun after close ends at once');
});

t.test('appending another client’s future waits until that client’s submission is acknowledged', async (t) => {
  const scheduler = await startScheduler(t);
  const http = api(scheduler.url);
  const appender = await Client.connect(scheduler.url);
  const submitter = await Client.connect(scheduler.url);
  t.teardown(() => Promise.all([appender.close(), submitter.close()]));
  const name = `cross-client-${Date.now()}`;
  const chan = appender.channel(name);
  const appended: Future[] = [];
  for (let round = 0; round < 5; round++) {
    // The submitter has a backlog to send first (no worker runs these; they wait).
    for (let i = 0; i < 2500; i++) submitter.submit('inc', [i], { pure: false });
    const future = submitter.submit('inc', [round], { pure: false });
    appended.push(future);
    chan.append(future);
    await chan.flush(); // refused with SLUICE_ERR_UNKNOWN_KEY if the append overtook the submission
  }
  const several = Array.from({ length: 20 }, (_, i) => submitter.submit('inc', [i], { pure: false }));
  chan.append(several);
  await chan.flush();
  const { body } = await http.get(`/channels/${name}?limit=100`);
  t.same(
    body.futures.map((f: { key: string }) => f.key),
    [...appended, ...several].map((f) => f.key),
    'every future appended, in order',
  );
});

t.test('the retry window is honoured: connect, and a submit to a scheduler that is down, give up after retryForMs', async (t) => {
  const port = await deadPort();
  const url = `http://127.0.0.1:${port}`;

  // Each case waits out its own window; they are independent, so they wait together.
  await Promise.all([
    (async () => {
      const connect = await timed(Client.connect(url, { retryForMs: 3_000 }));
      t.equal(connect.code, 'SLUICE_ERR_UNREACHABLE');
      t.ok(connect.ms >= 2_900 && connect.ms < 6_000, `connect gave up after ${connect.ms} ms (retryForMs 3000)`);
    })(),
    (async () => {
      const given = await timed(Client.connect(url, { retryForMs: 60_000, connectTimeoutMs: 500 }));
      t.ok(given.code === 'SLUICE_ERR_UNREACHABLE' && given.ms < 3_000, `connectTimeoutMs, when given, decides (${given.ms} ms)`);
    })(),
    (async () => {
      // A client made without connecting, on a scheduler that never comes: its submissions fail after the window.
      const unconnected = new Client(url, { retryForMs: 2_000 });
      t.teardown(() => unconnected.close({ timeoutMs: 0 }));
      const never = await timed(unconnected.submit('inc', [1]).result());
      t.equal(never.code, 'SLUICE_ERR_UNREACHABLE');
      t.ok(never.ms >= 1_900 && never.ms < 6_000, `a submission that could never be sent failed after ${never.ms} ms`);
    })(),
    (async () => {
      // A connected client whose scheduler dies: a submit and a read, made together, each give up after the window.
      const scheduler = await startScheduler(t);
      const client = await Client.connect(scheduler.url, { retryForMs: 3_000 });
      t.teardown(() => client.close({ timeoutMs: 0 }));
      await scheduler.proc.stop('SIGKILL');
      const [submit, read] = await Promise.all([timed(client.submit('inc', [2], { pure: false }).result()), timed(client.variable('v').read())]);
      t.equal(submit.code, 'SLUICE_ERR_UNREACHABLE');
      t.ok(submit.ms >= 2_900 && submit.ms < 6_000, `a submit to a dead scheduler gave up after ${submit.ms} ms (retryForMs 3000)`);
      t.ok(read.code === 'SLUICE_ERR_UNREACHABLE' && read.ms >= 2_900, `so did a read (${read.ms} ms)`);
    })(),
  ]);
});

t.test('a call made while the scheduler restarts goes through once it is back, within retryForMs', async (t) => {
  const first = await startScheduler(t);
  await startWorker(t, first.url, { concurrency: 1 });
  const client = await Client.connect(first.url, { retryForMs: 30_000 });
  t.teardown(() => client.close({ timeoutMs: 0 }));
  await first.proc.stop('SIGKILL');
  const submitted = client.submit<number>('inc', [41], { pure: false });
  const set = client.variable<string>('across-a-restart').set('kept');
  await sleep(1_500);
  await startScheduler(t, { db: first.db, port: first.port });
  t.equal(await submitted.result({ timeoutMs: 30_000 }), 42, 'the submission went through and ran');
  await set;
  t.same(await client.variable<string>('across-a-restart').get({ timeoutMs: 5_000 }), 'kept');
});
