// streamz's "Asynchronous Computation", second style, in sluice. There,
// code that is not a coroutine calls emit and blocks while a loop on another
// thread does the work. JavaScript has one thread and nothing blocks: code
// that cannot wait calls emit without awaiting it. The items queue up, in
// order, at the first step, and go through one at a time at the limited
// pace; `await source.end()` is the one place that waits, until the last one
// is written.
// Run:  node --import tsx examples/stream-without-await.ts
import { Stream } from 'sluice/stream';

const intervalMs = Number(process.env.INTERVAL_MS ?? 500);
const incrementMs = Number(process.env.INCREMENT_MS ?? 100);
const writeMs = Number(process.env.WRITE_MS ?? 200);

function increment(x: number): number {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, incrementMs);
  return x + 1;
}

async function write(x: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, writeMs));
  console.log(x);
}

const source = new Stream<number>();
source.map(increment).rateLimit(intervalMs).sink(write);

for (let x = 0; x < 10; x++) {
  source.emit(x).catch((error: unknown) => console.error(`item ${x} failed:`, error)); // returns at once
}
await source.end(); // every item written
