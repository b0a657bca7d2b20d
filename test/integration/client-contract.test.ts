// The client's replies are what the route table says: a client whose
// transport checks every reply and every SSE event it receives against the
// table's schemas (schemas/http-api.ts), used against the real scheduler and
// worker. The client does not check them itself (that would carry zod into
// browsers); the scheduler checks the replies it serializes, and this test
// those it sends as JSON text of its own (results, values, items, outcomes).
import { isDeepStrictEqual } from 'node:util';
import { createParser } from 'eventsource-parser';
import t from 'tap';
import type { z } from 'zod';
import { Client, Future } from '../../client/node.ts';
import { undiciTransport } from '../../client/node-transport.ts';
import type { Transport } from '../../client/transport.ts';
import { HTTP_API, type HttpRoute } from '../../schemas/http-api.ts';
import { startScheduler, startWorker } from '../helpers/cluster.ts';

const INLINE_BYTES = 1000;

interface Contract {
  route: HttpRoute;
  pattern: RegExp;
  status?: number;
  reply?: z.ZodType;
  events?: Record<string, z.ZodType>;
}

/** The table's routes, those with fewer parameters first (GET /futures/events before GET /futures/:key). */
const contracts: Contract[] = Object.values(HTTP_API)
  .map((route) => ({ ...(route as Partial<Contract>), route, pattern: new RegExp(`^${route.path.replace(/:\w+/g, '[^/]+')}$`) }))
  .sort((a, b) => (a.route.path.match(/:/g)?.length ?? 0) - (b.route.path.match(/:/g)?.length ?? 0));

function contractOf(method: string, url: string): Contract | undefined {
  const path = new URL(url).pathname;
  return contracts.find((c) => c.route.method === method && c.pattern.test(path));
}

/** What the schema makes of the value, and whether it is the value itself: parsing strips fields the schema does not name. */
function check(schema: z.ZodType, value: unknown): string | undefined {
  const parsed = schema.safeParse(value);
  if (!parsed.success) return parsed.error.message;
  const kept = JSON.parse(JSON.stringify(parsed.data ?? null)) as unknown;
  return isDeepStrictEqual(kept, value ?? null) ? undefined : `fields the schema does not name: ${JSON.stringify(value).slice(0, 300)}`;
}

/** A transport that checks, on the way, each reply and event against the route's contract. */
function checking(inner: Transport, seen: Set<string>, problems: string[]): Transport {
  return {
    async request(method, url, headers, body, signal) {
      const answer = await inner.request(method, url, headers, body, signal);
      const contract = contractOf(method, url);
      if (!contract) {
        problems.push(`${method} ${url}: not a route of the table`);
        return answer;
      }
      const id = contract.route.operationId;
      if (answer.status < 200 || answer.status >= 300) return answer;
      seen.add(id);
      if (answer.status !== (contract.status ?? 200)) problems.push(`${id}: answered ${answer.status}, the table says ${contract.status ?? 200}`);
      if (answer.status === 204) {
        if (answer.text !== '') problems.push(`${id}: a 204 with a body`);
      } else if (contract.reply) {
        const problem = check(contract.reply, JSON.parse(answer.text));
        if (problem) problems.push(`${id}: ${problem}`);
      }
      return answer;
    },
    async stream(url, headers, signal) {
      const response = await inner.stream(url, headers, signal);
      const contract = contractOf('GET', url);
      if (!contract?.events) {
        problems.push(`GET ${url}: not an SSE route of the table`);
        return response;
      }
      const { route, events } = contract;
      const parser = createParser({
        onEvent: (event) => {
          seen.add(`${route.operationId} ${event.event}`);
          const schema = events[event.event ?? 'message'];
          const problem = schema ? check(schema, JSON.parse(event.data)) : 'an event the table does not list';
          if (problem) problems.push(`${route.operationId} event ${event.event}: ${problem}`);
        },
      });
      const decoder = new TextDecoder();
      return {
        ...response,
        chunks: {
          async *[Symbol.asyncIterator]() {
            for await (const chunk of response.chunks) {
              if (response.status === 200) parser.feed(decoder.decode(chunk, { stream: true }));
              yield chunk;
            }
          },
        },
      };
    },
  };
}

async function until(what: string, condition: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('every reply and event the client receives is as the route table says', async (t) => {
  const scheduler = await startScheduler(t, { env: { SLUICE_INLINE_RESULT_BYTES: String(INLINE_BYTES) } });
  await startWorker(t, scheduler.url, { concurrency: 2 });
  const seen = new Set<string>();
  const problems: string[] = [];
  const transport = checking(undiciTransport(), seen, problems);
  const client = await Client.connect(scheduler.url, { transport });
  const other = await Client.connect(scheduler.url, { transport });
  t.teardown(() => Promise.all([client.close(), other.close()]));

  // Tasks and futures, with results inline and past the inline limit.
  t.equal(await client.submit<number>('inc', [1]), 2);
  t.match(await client.submit('fail', ['no']).exception(), { name: 'Error', message: 'no' });
  t.same(await client.gather(client.map<number>('inc', [[2], [3]])), [3, 4]);
  const large = 'x'.repeat(INLINE_BYTES * 2);
  const big = client.submit<unknown[]>('echo', [large]);
  t.same(await big, [large], 'a result past the inline limit, read with GET /futures/:key/result');
  const held = new Future<unknown[]>(big.key, other);
  t.same(await held.result({ timeoutMs: 20_000 }), [large], 'held by another client: its hold answers the outcome without the result');
  held.release();
  const [scattered] = await client.scatter([{ a: 1 }]);
  t.same(await scattered, { a: 1 });
  const slow = client.submit('sleep', [60_000], { pure: false });
  await client.flush();
  t.equal(await slow.cancel(), 'cancelled');
  client.fireAndForget(client.submit('inc', [9]));
  await client.flush();

  // A channel, its consumers and its stream.
  const channel = client.channel<number>('contract', { maxlen: 100 });
  channel.append([client.submit<number>('inc', [10]), client.submit<number>('inc', [11])]);
  await channel.flush();
  t.equal((await channel.info()).length, 2);
  t.equal(await channel.commit('reader', 1), 1);
  t.equal(await channel.position('reader'), 1);
  const entries = channel.entries();
  t.equal((await entries.next()).value?.seq, 1);
  await channel.stop();
  t.equal((await entries.next()).value?.seq, 2);
  t.ok((await entries.next()).done, 'the stream ends with the stop');

  // A queue: put, get, and items taken under a lease that is renewed, acknowledged and given back.
  const queue = client.queue<unknown>('contract', { maxsize: 10 });
  t.equal(await queue.putMany([1, { two: 2 }, 'three', 4]), 4);
  t.equal(await queue.get({ timeoutMs: 10_000 }), 1);
  t.equal((await queue.info()).size, 3);
  const lease = await queue.lease({ batch: 2, ttlMs: 900, timeoutMs: 10_000 });
  await until('a renewal of the queue lease', () => seen.has('queueLeaseRenew'));
  await lease.ack([lease.ids[0]]);
  await lease.release();
  await queue.delete();

  // A variable, fenced with a lock; a semaphore; a flag; a topic.
  const lock = client.lock('contract');
  const lockLease = await lock.acquire({ ttlMs: 900, timeoutMs: 10_000 });
  await until('a renewal of the lock', () => seen.has('lockRenew'));
  t.ok(await lock.locked());
  const variable = client.variable<unknown>('contract');
  await variable.set({ n: 1 }, { fence: lockLease });
  t.same(await variable.get({ timeoutMs: 10_000 }), { n: 1 });
  await lockLease.release();
  await variable.delete();
  const semaphore = client.semaphore('contract', 2);
  const permit = await semaphore.acquire({ ttlMs: 900, timeoutMs: 10_000 });
  await until('a renewal of the semaphore lease', () => seen.has('semaphoreRenew'));
  t.equal((await semaphore.info()).leases.length, 1);
  await permit.release();
  const flag = client.event('contract');
  await flag.set();
  t.ok(await flag.isSet());
  t.ok(await flag.wait({ timeoutMs: 10_000 }));
  await flag.clear();
  const topic = client.topic<unknown>('contract');
  const subscription = await topic.subscribe();
  t.equal(await topic.publish({ hello: 'world' }), 1);
  t.same((await subscription.next()).value, { hello: 'world' });
  t.equal((await topic.info()).subscribers, 1);
  subscription.close();

  await client.close();
  await other.close();
  t.same(problems, [], 'no reply or event out of step with the table');
  const expected = [
    'clientStart', 'clientClose', 'clientEvents ready', 'clientEvents status',
    'submit', 'hold', 'release', 'fireAndForget', 'futureResult', 'cancel', 'scatter',
    'channelConfigure', 'channelAppend', 'channelInfo', 'channelCommit', 'channelPosition', 'channelStop', 'channelEntries append', 'channelEntries stop',
    'queueConfigure', 'queuePut', 'queueGet', 'queueInfo', 'queueLeaseRenew', 'queueLeaseAck', 'queueLeaseRelease', 'queueDelete',
    'lockAcquire', 'lockRenew', 'lockInfo', 'lockRelease', 'semaphoreAcquire', 'semaphoreRenew', 'semaphoreInfo', 'semaphoreRelease',
    'variableSet', 'variableGet', 'variableDelete', 'flagSet', 'flagIsSet', 'flagClear', 'topicPublish', 'topicInfo', 'topicSubscribe message',
  ];
  t.same(expected.filter((id) => !seen.has(id)), [], 'each of the client’s calls was checked');
});
