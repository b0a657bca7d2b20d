// Channel benchmarks: durable appends per second (single, concurrent, batched)
// and SSE delivery latency, append to receipt, with 1, 100 and 1000 readers.
// Prints one JSON document. `--quick` for a smoke run.
import { readSse } from '../test/helpers/cluster.ts';
import { Cleanup, cluster, percentile, postJson, print, quick, type Result, round } from './lib.ts';

const cleanup = new Cleanup();
const results: Result[] = [];

try {
  const { url } = await cluster(cleanup);
  const scale = quick ? 0.1 : 1;
  const keyCount = Math.round(20_000 * scale);
  const keys: string[] = [];
  for (let i = 0; i < keyCount; i += 1000) {
    const { keys: batch } = (await postJson(`${url}/scatter`, { data: Array.from({ length: Math.min(1000, keyCount - i) }, (_, j) => i + j) })) as { keys: string[] };
    keys.push(...batch);
  }

  // One client, one key per request, each waiting for its acknowledgement.
  {
    const n = Math.round(2000 * scale);
    const started = performance.now();
    for (let i = 0; i < n; i++) await postJson(`${url}/channels/single/append`, { key: keys[i] });
    const seconds = (performance.now() - started) / 1000;
    results.push({ workload: 'channel append, one key per request, 1 client', value: round(n / seconds, 0), unit: 'appends/s', params: { appends: n } });
  }

  // Many HTTP clients at once, one key per request: group commit shares transactions.
  for (const clients of [10, 50]) {
    const n = keyCount;
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < n) await postJson(`${url}/channels/concurrent-${clients}/append`, { key: keys[next++] });
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    results.push({ workload: `channel append, one key per request, ${clients} concurrent clients`, value: round(n / seconds, 0), unit: 'appends/s', params: { appends: n, clients } });
  }

  // Batches of keys per request, from one and from four appenders.
  for (const appenders of [1, 4]) {
    const batch = 1000;
    const rounds = Math.max(1, Math.round((50 * scale) / appenders));
    const started = performance.now();
    await Promise.all(
      Array.from({ length: appenders }, async () => {
        for (let r = 0; r < rounds; r++) await postJson(`${url}/channels/batched-${appenders}/append`, { keys: keys.slice(0, batch) });
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const n = batch * rounds * appenders;
    results.push({ workload: `channel append, batches of ${batch}, ${appenders} appender(s)`, value: round(n / seconds, 0), unit: 'appends/s', params: { appends: n, batch, appenders } });
  }

  // SSE fan-out: R readers on one channel, 100 appends/s; latency from the append request to each reader's receipt.
  for (const readers of quick ? [1, 100] : [1, 100, 1000]) {
    const channel = `fanout-${readers}`;
    await postJson(`${url}/channels/${channel}`, {}, 'PUT');
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    const streams = await Promise.all(
      Array.from({ length: readers }, () =>
        readSse(`${url}/channels/${channel}/events`, {}, undefined, (event) => {
          if (event.event !== 'append') return;
          const sent = sentAt.get(Number(event.id));
          if (sent !== undefined) latencies.push(performance.now() - sent);
        }),
      ),
    );
    const appends = quick ? 50 : 300;
    for (let i = 0; i < appends; i++) {
      const tick = performance.now();
      const seq = i + 1;
      sentAt.set(seq, tick);
      await postJson(`${url}/channels/${channel}/append`, { key: keys[i] });
      const wait = 10 - (performance.now() - tick);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const deadline = Date.now() + 10_000;
    while (latencies.length < appends * readers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const stream of streams) stream.close();
    latencies.sort((a, b) => a - b);
    const params = { readers, appendsPerSecond: 100, appends, received: latencies.length, expected: appends * readers };
    results.push({ workload: `SSE delivery, append to receipt, ${readers} reader(s), p50`, value: round(percentile(latencies, 50)), unit: 'ms', params });
    results.push({ workload: `SSE delivery, append to receipt, ${readers} reader(s), p99`, value: round(percentile(latencies, 99)), unit: 'ms', params });
  }
} finally {
  await cleanup.run();
}

print('channels', results);
