// streamz's "Asynchronous Computation", within the event loop, in sluice: a
// blocking increment, at most one item per 500 ms, an asynchronous write.
// `await source.emit(x)` returns when the pipeline is ready for the next
// item — after the rate limit and the write — so the loop runs at the
// limited pace and prints 1 to 10 in about 5 seconds.
// Run:  node --import tsx examples/stream-event-loop.ts
import { Stream } from 'sluice/stream';

const intervalMs = Number(process.env.INTERVAL_MS ?? 500);
const incrementMs = Number(process.env.INCREMENT_MS ?? 100);
const writeMs = Number(process.env.WRITE_MS ?? 200);

/** A blocking increment: it holds the thread, like time.sleep in the original. */
function increment(x: number): number {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, incrementMs);
  return x + 1;
}

/** A non-blocking write, like writing to a database asynchronously. */
async function write(x: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, writeMs));
  console.log(x);
}

const source = new Stream<number>();
source.map(increment).rateLimit(intervalMs).sink(write);

for (let x = 0; x < 10; x++) {
  await source.emit(x); // waits until the pipeline is ready
}
