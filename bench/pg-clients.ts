// PostgreSQL client libraries compared on what sluice's group commit needs:
// node-postgres (`pg`) and postgres.js (`postgres`), against a private
// server on loopback with synchronous_commit on.
//
//   npm run bench:pg-clients -- [--runs 5] [--quick] [--only pg|postgres] [--workload turn,read,...]
//
// sluice depends on pg (chosen by these figures; docs/postgresql.md says
// why). postgres.js is measured when it is installed: to compare again,
// `npm install --no-save postgres@3` first.
//
// Every workload runs in a fresh process (one per library, workload and
// run): "cold" is its first turns there, before anything is prepared or
// compiled; "warm" is a timed stretch after a warm-up. The JSON printed gives
// min, median and max over the runs.
//
// Workloads:
//   turn      a turn's N small writes (INSERT and UPDATE of ~200-byte rows,
//             named prepared statements) as one transaction: pipelined
//             (BEGIN, statements, COMMIT sent without waiting) or each
//             statement awaited; for postgres.js also its own sql.begin()
//   inflight  turns of 10 writes, pipelined, several turns sent before the
//             previous commits (depth) on one connection, or spread over
//             several connections
//   read      single-row primary-key reads, one at a time: latency
//   batch     1000 rows in one statement (unnest of arrays, multi-row
//             VALUES) or as 1000 pipelined INSERTs in one transaction
//   fence     a 10-write turn with the leadership check every write
//             transaction would carry: none, SELECT … FOR SHARE, the check
//             as a function that raises, an UPDATE of the leader row
//   notify    LISTEN/NOTIFY: from sending a NOTIFY on one connection to its
//             arrival at a listening one, one at a time: latency
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { launchPostgres } from '../test/helpers/postgres.ts';
import { machine, percentile, round } from './lib.ts';

type Lib = 'pg' | 'postgres';

interface Spec {
  lib: Lib;
  workload: 'turn' | 'inflight' | 'read' | 'batch' | 'fence' | 'notify';
  /** pipelined | sequential | begin (turn); depth-N | connections-N (inflight); unnest | values | statements (batch); none | share | function | update (fence); listen (notify) */
  mode: string;
  /** Writes per turn, rows per batch. */
  n: number;
}

interface Figure {
  value: number;
  unit: string;
}

interface ChildResult {
  cold: Record<string, Figure>;
  warm: Record<string, Figure>;
}

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');

// ── the parent: a server, fresh processes, the figures ───────────────────

async function main(): Promise<void> {
  const runs = Number(flag('--runs') ?? (quick ? 1 : 5));
  const only = flag('--only') as Lib | undefined;
  const workloads = flag('--workload')?.split(',');
  const libs: Lib[] = ['pg'];
  if (await loadPostgresJs()) libs.push('postgres');
  else process.stderr.write('postgres.js is not installed: measuring pg alone (npm install --no-save postgres@3 to compare)\n');
  const all: Spec[] = [];
  for (const lib of libs) {
    if (only && only !== lib) continue;
    const specs = all;
    for (const n of [1, 10, 100, 1000]) {
      for (const mode of ['pipelined', 'sequential', ...(lib === 'postgres' ? ['begin'] : [])]) specs.push({ lib, workload: 'turn', mode, n });
    }
    for (const mode of ['depth-1', 'depth-4', 'connections-2', 'connections-4']) specs.push({ lib, workload: 'inflight', mode, n: 10 });
    specs.push({ lib, workload: 'read', mode: 'prepared', n: 1 });
    for (const mode of ['unnest', 'values', 'statements']) specs.push({ lib, workload: 'batch', mode, n: 1000 });
    for (const mode of ['none', 'share', 'function', 'update']) specs.push({ lib, workload: 'fence', mode, n: 10 });
    specs.push({ lib, workload: 'notify', mode: 'listen', n: 1 });
  }
  const specs = all.filter((spec) => !workloads || workloads.includes(spec.workload));

  const server = await launchPostgres();
  const figures = new Map<string, { spec: Spec; cold: Record<string, number[]>; warm: Record<string, number[]>; units: Record<string, string> }>();
  try {
    await prepareDatabase(server.url);
    // Runs interleave the libraries and workloads, so that a slow moment of the machine is spread over them all.
    for (let run = 0; run < runs; run++) {
      for (const spec of specs) {
        const result = await child(server.url, spec);
        const key = `${spec.lib} ${spec.workload} ${spec.mode} ${spec.n}`;
        let entry = figures.get(key);
        if (!entry) figures.set(key, (entry = { spec, cold: {}, warm: {}, units: {} }));
        for (const phase of ['cold', 'warm'] as const) {
          for (const [name, figure] of Object.entries(result[phase])) {
            (entry[phase][name] ??= []).push(figure.value);
            entry.units[name] = figure.unit;
          }
        }
      }
    }
  } finally {
    await server.stop();
  }

  const spread = (values: number[]): { min: number; median: number; max: number } => {
    const sorted = [...values].sort((a, b) => a - b);
    return { min: sorted[0], median: sorted[Math.floor((sorted.length - 1) / 2)], max: sorted[sorted.length - 1] };
  };
  const results = [...figures.values()].map(({ spec, cold, warm, units }) => ({
    library: `${spec.lib} ${versionOf(spec.lib)}`,
    workload: spec.workload,
    mode: spec.mode,
    n: spec.n,
    cold: Object.fromEntries(Object.entries(cold).map(([name, values]) => [name, { ...spread(values), unit: units[name] }])),
    warm: Object.fromEntries(Object.entries(warm).map(([name, values]) => [name, { ...spread(values), unit: units[name] }])),
  }));
  process.stdout.write(
    `${JSON.stringify({ suite: 'pg-clients', date: new Date().toISOString(), quick, runs, machine: machine(), postgres: serverVersion, results }, null, 2)}\n`,
  );
}

function child(url: string, spec: Spec): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', '--url', url, '--spec', JSON.stringify(spec), ...(quick ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${JSON.stringify(spec)}: exit ${code ?? signal}`));
      resolve(JSON.parse(out) as ChildResult);
    });
  });
}

let serverVersion = '';
async function prepareDatabase(url: string): Promise<void> {
  await withClient(url, async (client) => {
    serverVersion = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0].v;
    await client.query(`
      CREATE TABLE bench_leader (id INT PRIMARY KEY CHECK (id = 1), epoch BIGINT NOT NULL);
      INSERT INTO bench_leader VALUES (1, 1);
      CREATE FUNCTION bench_fence(mine BIGINT) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM 1 FROM bench_leader WHERE id = 1 AND epoch = mine FOR SHARE;
        IF NOT FOUND THEN RAISE EXCEPTION 'not the leader at epoch %', mine USING ERRCODE = 'SLF01'; END IF;
      END $$;`);
  });
}

/** Run fn with a connection of its own (setup, not measured). */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The parts of postgres.js this benchmark uses. */
interface PostgresJs {
  unsafe(text: string, params?: unknown[], options?: { prepare?: boolean; simple?: boolean }): Promise<unknown>;
  begin(fn: (tx: PostgresJs) => unknown): Promise<unknown>;
  listen(channel: string, onnotify: (payload: string) => void): Promise<unknown>;
  notify(channel: string, payload: string): Promise<unknown>;
  end(): Promise<void>;
}

/** postgres.js, when installed (it is not a dependency of sluice). */
async function loadPostgresJs(): Promise<((url: string, options: Record<string, unknown>) => PostgresJs) | undefined> {
  const name = 'postgres';
  try {
    return ((await import(name)) as { default: (url: string, options: Record<string, unknown>) => PostgresJs }).default;
  } catch {
    return undefined;
  }
}

function versionOf(name: string): string {
  return (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
}

// ── the child: one library, one workload ─────────────────────────────────

/** The statements a workload sends, through one library. */
interface Driver {
  begin(): Promise<unknown>;
  commit(): Promise<unknown>;
  insert(id: number, k: string, payload: string): Promise<unknown>;
  update(id: number, payload: string): Promise<unknown>;
  read(id: number): Promise<unknown>;
  fence(mode: string, epoch: number): Promise<unknown>;
  batchUnnest(rows: Row[]): Promise<unknown>;
  batchValues(rows: Row[]): Promise<unknown>;
  /** LISTEN on channel (a connection of its own where the library makes one); resolves once listening. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<unknown>;
  notify(channel: string, payload: string): Promise<unknown>;
  /** The library's own transaction helper, where it has one worth measuring. */
  idiomaticTurn?(ops: Op[]): Promise<unknown>;
  end(): Promise<void>;
}

type Row = [number, string, string, number];
type Op = { kind: 'insert'; id: number; k: string; payload: string } | { kind: 'update'; id: number; payload: string };

let table = '';

async function makeDriver(url: string, lib: Lib, pipelined: boolean): Promise<Driver> {
  const t = table;
  const insertText = `INSERT INTO ${t} (id, k, payload, n) VALUES ($1, $2, $3, 0)`;
  const updateText = `UPDATE ${t} SET payload = $2, n = n + 1 WHERE id = $1`;
  const readText = `SELECT id, k, payload, n FROM ${t} WHERE id = $1`;
  const unnestText = `INSERT INTO ${t} (id, k, payload, n) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[])`;
  const fenceText: Record<string, string> = {
    share: 'SELECT 1 FROM bench_leader WHERE id = 1 AND epoch = $1 FOR SHARE',
    function: 'SELECT bench_fence($1)',
    update: 'UPDATE bench_leader SET epoch = epoch WHERE id = 1 AND epoch = $1',
  };
  if (lib === 'pg') {
    const client = new pg.Client({ connectionString: url, pipeline: pipelined });
    await client.connect();
    const valuesTexts = new Map<number, string>();
    return {
      begin: () => client.query('BEGIN'),
      commit: () => client.query('COMMIT'),
      insert: (id, k, payload) => client.query({ name: 'insert', text: insertText, values: [id, k, payload] }),
      update: (id, payload) => client.query({ name: 'update', text: updateText, values: [id, payload] }),
      read: (id) => client.query({ name: 'read', text: readText, values: [id] }),
      fence: (mode, epoch) => client.query({ name: `fence-${mode}`, text: fenceText[mode], values: [epoch] }),
      batchUnnest: (rows) =>
        client.query({ name: 'unnest', text: unnestText, values: [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])] }),
      batchValues: (rows) => {
        let text = valuesTexts.get(rows.length);
        if (!text) {
          text = `INSERT INTO ${t} (id, k, payload, n) VALUES ${rows.map((_, i) => `($${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`).join(', ')}`;
          valuesTexts.set(rows.length, text);
        }
        return client.query({ name: `values-${rows.length}`, text, values: rows.flat() });
      },
      listen: async (channel, onPayload) => {
        client.on('notification', (message) => {
          if (message.channel === channel) onPayload(message.payload ?? '');
        });
        return client.query(`LISTEN ${channel}`);
      },
      notify: (channel, payload) => client.query({ name: 'notify', text: 'SELECT pg_notify($1, $2)', values: [channel, payload] }),
      end: () => client.end(),
    };
  }
  const postgres = await loadPostgresJs();
  if (!postgres) throw new Error('postgres.js is not installed');
  // One connection (BEGIN … COMMIT as separate queries needs it), and no cap on
  // the queries written ahead of their answers (100 by default).
  const sql = postgres(url, { max: 1, onnotice: () => {}, max_pipeline: 100_000 });
  const prepared = { prepare: true, simple: false };
  const valuesTexts = new Map<number, string>();
  return {
    begin: () => sql.unsafe('BEGIN', [], prepared),
    commit: () => sql.unsafe('COMMIT', [], prepared),
    insert: (id, k, payload) => sql.unsafe(insertText, [id, k, payload], prepared),
    update: (id, payload) => sql.unsafe(updateText, [id, payload], prepared),
    read: (id) => sql.unsafe(readText, [id], prepared),
    fence: (mode, epoch) => sql.unsafe(fenceText[mode], [epoch], prepared),
    batchUnnest: (rows) => sql.unsafe(unnestText, [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])], prepared),
    batchValues: (rows) => {
      let text = valuesTexts.get(rows.length);
      if (!text) {
        text = `INSERT INTO ${t} (id, k, payload, n) VALUES ${rows.map((_, i) => `($${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`).join(', ')}`;
        valuesTexts.set(rows.length, text);
      }
      return sql.unsafe(text, rows.flat(), prepared);
    },
    // postgres.js listens on a connection of its own, made by listen().
    listen: (channel, onPayload) => sql.listen(channel, onPayload),
    notify: (channel, payload) => sql.notify(channel, payload),
    idiomaticTurn: (ops) =>
      sql.begin((tx) =>
        ops.map((op) => (op.kind === 'insert' ? tx.unsafe(insertText, [op.id, op.k, op.payload], prepared) : tx.unsafe(updateText, [op.id, op.payload], prepared))),
      ),
    end: () => sql.end(),
  };
}

async function measure(url: string, spec: Spec): Promise<ChildResult> {
  table = `bench_${process.pid}`;
  const setup = new pg.Client(url);
  await setup.connect();
  await setup.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, k TEXT NOT NULL, payload TEXT NOT NULL, n BIGINT NOT NULL)`);
  try {
    switch (spec.workload) {
      case 'turn':
      case 'fence':
        return await measureTurns(url, spec);
      case 'inflight':
        return await measureInflight(url, spec);
      case 'read':
        return await measureReads(url, spec, setup);
      case 'batch':
        return await measureBatches(url, spec);
      case 'notify':
        return await measureNotify(url, spec);
    }
  } finally {
    await setup.query(`DROP TABLE ${table}`);
    await setup.end();
  }
}

let nextId = 1;
let opCount = 0;
const PAYLOAD = 'x'.repeat(160);

/** The next write of a turn: inserts and updates of earlier rows, alternately. */
function nextOp(): Op {
  opCount++;
  if (opCount % 2 === 1 || nextId < 8) {
    const id = nextId++;
    return { kind: 'insert', id, k: `task-${id.toString(36).padStart(12, '0')}`, payload: PAYLOAD };
  }
  return { kind: 'update', id: nextId - 5, payload: PAYLOAD.replace('x', String(opCount % 10)) };
}

function turnOps(n: number): Op[] {
  return Array.from({ length: n }, nextOp);
}

function send(driver: Driver, op: Op): Promise<unknown> {
  return op.kind === 'insert' ? driver.insert(op.id, op.k, op.payload) : driver.update(op.id, op.payload);
}

/** One turn as one transaction, by the spec's mode. */
function turnRunner(driver: Driver, spec: Spec): () => Promise<unknown> {
  const fence = spec.workload === 'fence' && spec.mode !== 'none' ? spec.mode : undefined;
  if (spec.mode === 'begin') return () => (driver.idiomaticTurn as (ops: Op[]) => Promise<unknown>)(turnOps(spec.n));
  if (spec.mode === 'sequential') {
    return async () => {
      await driver.begin();
      for (const op of turnOps(spec.n)) await send(driver, op);
      await driver.commit();
    };
  }
  return () => {
    const sent: Array<Promise<unknown>> = [driver.begin()];
    if (fence) sent.push(driver.fence(fence, 1));
    for (const op of turnOps(spec.n)) sent.push(send(driver, op));
    sent.push(driver.commit());
    return Promise.all(sent);
  };
}

/** How long the warm stretch lasts, and how many turns count as cold. */
const WARM_MS = quick ? 150 : 700;
const WARMUP_MS = quick ? 50 : 300;

function coldTurns(n: number): number {
  return Math.max(3, Math.ceil(30 / n));
}

async function timeTurns(runTurn: () => Promise<unknown>, turns: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < turns; i++) await runTurn();
  return performance.now() - start;
}

async function timeFor(ms: number, runTurn: () => Promise<unknown>): Promise<{ turns: number; elapsed: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let turns = 0;
  while (performance.now() - start < ms || turns < 3) {
    await runTurn();
    turns++;
  }
  const used = process.cpuUsage(cpu);
  return { turns, elapsed: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

/**
 * Transactions and rows per second; with cpuMs, also the client's CPU time per
 * row (the library's own cost, which the machine's other load disturbs less
 * than the rates).
 */
function rates(turns: number, elapsedMs: number, n: number, cpuMs?: number): Record<string, Figure> {
  const perSecond = (count: number) => round((count * 1000) / elapsedMs, 1);
  const figures: Record<string, Figure> = {
    transactions: { value: perSecond(turns), unit: 'transactions/s' },
    rows: { value: perSecond(turns * n), unit: 'rows/s' },
  };
  if (cpuMs !== undefined) figures.clientCpuPerRow = { value: round((cpuMs * 1000) / (turns * n), 1), unit: 'µs' };
  return figures;
}

async function measureTurns(url: string, spec: Spec): Promise<ChildResult> {
  const driver = await makeDriver(url, spec.lib, spec.mode !== 'sequential');
  try {
    const runTurn = turnRunner(driver, spec);
    const cold = coldTurns(spec.n);
    const coldMs = await timeTurns(runTurn, cold);
    await timeFor(WARMUP_MS, runTurn);
    const warm = await timeFor(WARM_MS, runTurn);
    return { cold: rates(cold, coldMs, spec.n), warm: rates(warm.turns, warm.elapsed, spec.n, warm.cpu) };
  } finally {
    await driver.end();
  }
}

/**
 * Turns kept in flight: depth-D sends up to D turns on one connection before
 * the oldest commits; connections-C spreads turns over C connections (their
 * commits can share a WAL flush, which one connection's cannot).
 */
async function measureInflight(url: string, spec: Spec): Promise<ChildResult> {
  const [kind, count] = spec.mode.split('-') as ['depth' | 'connections', string];
  const width = Number(count);
  const drivers = await Promise.all(Array.from({ length: kind === 'connections' ? width : 1 }, () => makeDriver(url, spec.lib, true)));
  try {
    const runners = drivers.map((d) => turnRunner(d, { ...spec, mode: 'pipelined' }));
    let next = 0;
    const inflight = async (turns: number | undefined, ms: number): Promise<{ turns: number; elapsed: number; cpu: number }> => {
      const cpu = process.cpuUsage();
      const start = performance.now();
      let started = 0;
      let done = 0;
      const more = (): boolean => (turns !== undefined ? started < turns : performance.now() - start < ms);
      await new Promise<void>((resolve, reject) => {
        const launch = (): void => {
          while (started - done < width && more()) {
            started++;
            runners[next++ % runners.length]().then(() => {
              done++;
              if (done === started && !more()) resolve();
              else launch();
            }, reject);
          }
        };
        launch();
      });
      const used = process.cpuUsage(cpu);
      return { turns: done, elapsed: performance.now() - start, cpu: (used.user + used.system) / 1000 };
    };
    const cold = await inflight(coldTurns(spec.n) * width, 0);
    await inflight(undefined, WARMUP_MS);
    const warm = await inflight(undefined, WARM_MS);
    return { cold: rates(cold.turns, cold.elapsed, spec.n), warm: rates(warm.turns, warm.elapsed, spec.n, warm.cpu) };
  } finally {
    await Promise.all(drivers.map((d) => d.end()));
  }
}

async function measureReads(url: string, spec: Spec, setup: pg.Client): Promise<ChildResult> {
  const rows = 10_000;
  await setup.query(`INSERT INTO ${table} (id, k, payload, n) SELECT i, 'task-' || i, repeat('x', 160), 0 FROM generate_series(1, ${rows}) i`);
  await setup.query(`VACUUM ANALYZE ${table}`);
  const driver = await makeDriver(url, spec.lib, false);
  try {
    let seed = 1;
    const randomId = (): number => ((seed = (seed * 48271) % 2147483647) % rows) + 1;
    const latencies = async (count: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        await driver.read(randomId());
        out.push(performance.now() - start);
      }
      return out.sort((a, b) => a - b);
    };
    const figures = (sorted: number[]): Record<string, Figure> => ({
      p50: { value: round(percentile(sorted, 50) * 1000, 1), unit: 'µs' },
      p99: { value: round(percentile(sorted, 99) * 1000, 1), unit: 'µs' },
    });
    const cold = await latencies(100);
    await latencies(quick ? 200 : 2000);
    const warm = await latencies(quick ? 500 : 5000);
    return { cold: figures(cold), warm: figures(warm) };
  } finally {
    await driver.end();
  }
}

async function measureBatches(url: string, spec: Spec): Promise<ChildResult> {
  const driver = await makeDriver(url, spec.lib, true);
  try {
    const rowsOf = (): Row[] =>
      Array.from({ length: spec.n }, () => {
        const id = nextId++;
        return [id, `task-${id.toString(36).padStart(12, '0')}`, PAYLOAD, 0];
      });
    const runBatch = async (): Promise<unknown> => {
      const rows = rowsOf();
      if (spec.mode === 'unnest') return driver.batchUnnest(rows);
      if (spec.mode === 'values') return driver.batchValues(rows);
      return Promise.all([driver.begin(), ...rows.map(([id, k, payload]) => driver.insert(id, k, payload)), driver.commit()]);
    };
    const coldMs = await timeTurns(runBatch, 3);
    await timeFor(WARMUP_MS, runBatch);
    const warm = await timeFor(WARM_MS, runBatch);
    return { cold: rates(3, coldMs, spec.n), warm: rates(warm.turns, warm.elapsed, spec.n, warm.cpu) };
  } finally {
    await driver.end();
  }
}

/**
 * NOTIFY on one connection, LISTEN on another: the time from sending a
 * notification to its arrival, one at a time (how soon a standby hears the
 * leader's news).
 */
async function measureNotify(url: string, spec: Spec): Promise<ChildResult> {
  const channel = `bench_${process.pid}`;
  const listener = await makeDriver(url, spec.lib, false);
  const sender = await makeDriver(url, spec.lib, false);
  try {
    let waiting: { payload: string; resolve: () => void } | undefined;
    await listener.listen(channel, (payload) => {
      if (waiting?.payload === payload) waiting.resolve();
    });
    let count = 0;
    const latencies = async (n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const payload = String(++count);
        const start = performance.now();
        const heard = new Promise<void>((resolve) => (waiting = { payload, resolve }));
        await Promise.all([sender.notify(channel, payload), heard]);
        out.push(performance.now() - start);
      }
      return out.sort((a, b) => a - b);
    };
    const figures = (sorted: number[]): Record<string, Figure> => ({
      p50: { value: round(percentile(sorted, 50) * 1000, 1), unit: 'µs' },
      p99: { value: round(percentile(sorted, 99) * 1000, 1), unit: 'µs' },
    });
    const cold = await latencies(20);
    await latencies(quick ? 100 : 500);
    const warm = await latencies(quick ? 300 : 2000);
    return { cold: figures(cold), warm: figures(warm) };
  } finally {
    await Promise.all([listener.end(), sender.end()]);
  }
}

// Last, so that every declaration above is initialised before it runs.
if (args.includes('--child')) {
  const spec = JSON.parse(flag('--spec') as string) as Spec;
  const result = await measure(flag('--url') as string, spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} else {
  await main();
}
