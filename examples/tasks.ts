/**
 * The tasks module `npm start` loads: each exported function is a task,
 * callable by its export name (`{"fn": "inc", "args": [10]}`).
 */
import { getClient, getTask, secede } from 'sluice/worker';

export function inc(x: number): number {
  return x + 1;
}

export function add(a: number, b: number): number {
  return a + b;
}

export function double(x: number): number {
  return 2 * x;
}

export function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Resolves with `value` after `ms` milliseconds. */
export async function sleep(ms: number, value: unknown = null): Promise<unknown> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
}

/**
 * x + 1, after 100 ms: streamz's toy `increment`, "a computational function
 * that was not designed to work asynchronously". On a worker it runs while
 * the pipeline goes on (the streams examples). SLUICE_INCREMENT_MS changes
 * the 100 ms.
 */
export async function increment(x: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.SLUICE_INCREMENT_MS ?? 100)));
  return x + 1;
}

/** Always throws, to see how errors travel. */
export function fail(message = 'this task always fails'): never {
  throw new Error(message);
}

export function random(): number {
  return Math.random();
}

// ── Channels with a local client: Dask's channels example ────────────────

/**
 * Forever (until cancelled): submit random() and append its future to the
 * channel `name`, every `intervalMs`. Runs on a worker and submits through
 * getClient(), like Dask's local_client; secede() gives its slot back, since
 * it never ends on its own.
 */
export async function emit(name: string, intervalMs = 100): Promise<number> {
  const client = getClient();
  const channel = client.channel(name);
  const { signal } = getTask();
  secede();
  let emitted = 0;
  while (!signal.aborted) {
    channel.append(client.submit('random', [], { pure: false }));
    emitted++;
    await pause(intervalMs, signal);
  }
  return emitted;
}

/**
 * Zip channels `a` and `b`: for each pair of futures, submit add(x, y) and
 * append it to `out`. Ends when either channel is stopped.
 */
export async function combine(a = 'a', b = 'b', out = 'adds'): Promise<number> {
  const client = getClient();
  secede();
  const sums = client.channel(out);
  const left = client.channel(a)[Symbol.asyncIterator]();
  const right = client.channel(b)[Symbol.asyncIterator]();
  let combined = 0;
  for (;;) {
    const [x, y] = await Promise.all([left.next(), right.next()]);
    if (x.done || y.done) break;
    sums.append(client.submit('add', [x.value, y.value]));
    combined++;
  }
  await left.return?.();
  await right.return?.();
  await sums.flush();
  return combined;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
