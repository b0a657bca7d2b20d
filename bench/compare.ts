// What the benchmarks compare: the workloads of issue 8 (sluice's figure, its
// target, and the peers' figures for the same work), and how to pick figures
// out of the JSON documents that `npm run bench`, its suites and
// `npm run bench:peers` print. Shared by bench/peers.ts and bench/table.ts.
import { JSONParser } from '@streamparser/json';
import type { Result } from './lib.ts';

export type PeerName = 'dask' | 'bullmq' | 'python';
/**
 * The columns beside sluice's. `python` is sluice itself driven from Python
 * (the Python client and a Python worker): shown beside Dask's figures for
 * Python users, not a peer to compare sluice against (`ratio: false`).
 */
export const PEERS: Record<PeerName, { label: string; install: string; ratio?: false }> = {
  dask: { label: 'Dask', install: 'sudo apt-get install -y python3-distributed' },
  bullmq: { label: 'BullMQ', install: 'sudo apt-get install -y redis-server && npm i -D bullmq ioredis' },
  python: { label: 'sluice from Python', install: 'sudo apt-get install -y python3-aiohttp', ratio: false },
};

export interface Workload {
  /** Stable id; the peers' scripts report their figures under it. */
  id: string;
  /** The row of the results table (docs/performance.md). */
  title: string;
  unit: string;
  /** Throughput is better higher, latency and memory lower; ratios are oriented so that above 1, sluice is better. */
  better: 'higher' | 'lower';
  /** The workload's name in sluice's own suites (bench/tasks.ts, bench/queues.ts...). */
  sluice: string;
  /** Issue 8's target for sluice, in `unit`. */
  target?: number;
  /** Which peers run it; the others print "—". */
  peers: PeerName[];
}

export const WORKLOADS: Workload[] = [
  { id: 'tasks-throughput', title: 'trivial tasks, submit + run + gather', unit: 'tasks/s', better: 'higher', sluice: 'trivial tasks: submit, run, gather (1 worker)', target: 20_000, peers: ['dask', 'bullmq', 'python'] },
  { id: 'task-latency-p50', title: 'one task at a time, submit → result, p50', unit: 'ms', better: 'lower', sluice: 'one task at a time, submit to result, p50', target: 0.5, peers: ['dask', 'bullmq', 'python'] },
  { id: 'task-latency-p99', title: 'one task at a time, submit → result, p99', unit: 'ms', better: 'lower', sluice: 'one task at a time, submit to result, p99', target: 2, peers: ['dask', 'bullmq', 'python'] },
  // Every run warms up with 5000 tasks one at a time; the first 1000 have rows of their own.
  { id: 'task-latency-first-p50', title: 'one task at a time, the first 1000, p50', unit: 'ms', better: 'lower', sluice: 'one task at a time, submit to result, the first tasks, p50', peers: ['dask', 'bullmq', 'python'] },
  { id: 'task-latency-first-p99', title: 'one task at a time, the first 1000, p99', unit: 'ms', better: 'lower', sluice: 'one task at a time, submit to result, the first tasks, p99', peers: ['dask', 'bullmq', 'python'] },
  // Both runs warm up with a chain of the same length (V8 and Python alike); the first chain is its own row.
  { id: 'chain', title: 'chain of 2000 dependent tasks', unit: 'tasks/s', better: 'higher', sluice: 'chain of dependent tasks', target: 5_000, peers: ['dask'] },
  { id: 'chain-first', title: 'chain of 2000, the first one after start', unit: 'tasks/s', better: 'higher', sluice: 'chain of dependent tasks, the first one', peers: ['dask'] },
  // The 20,000 ops/s target is for many callers or batches: one caller waiting for each answer is bound by the round trip.
  { id: 'queue-put-get', title: 'queue put then get, 1 client', unit: 'ops/s', better: 'higher', sluice: 'queue put then get, one item per request, 1 client', peers: ['dask', 'bullmq'] },
  { id: 'queue-put-get-50', title: 'queue put and get, 25 putters + 25 getters', unit: 'ops/s', better: 'higher', sluice: 'queue put and get, one item per request, 25 putters + 25 getters', target: 20_000, peers: [] },
  { id: 'queue-put-get-batched', title: 'queue put and get, batches of 100, 1 putter + 1 getter', unit: 'items/s', better: 'higher', sluice: 'queue put and get in batches of 100, 1 putter + 1 getter', target: 20_000, peers: [] },
  { id: 'pubsub-latency-p50', title: 'pub/sub one-way latency, 1 subscriber, p50', unit: 'ms', better: 'lower', sluice: 'pub/sub one-way latency, publish to receipt, 1 subscriber(s), p50', peers: ['dask'] },
  { id: 'pubsub-latency-p99', title: 'pub/sub one-way latency, 1 subscriber, p99', unit: 'ms', better: 'lower', sluice: 'pub/sub one-way latency, publish to receipt, 1 subscriber(s), p99', peers: ['dask'] },
  { id: 'channel-append-batched', title: 'durable channel appends, batches of 1000', unit: 'appends/s', better: 'higher', sluice: 'channel append, batches of 1000, 1 appender(s)', target: 50_000, peers: [] },
  { id: 'channel-append-50', title: 'channel appends, one per request, 50 concurrent clients', unit: 'appends/s', better: 'higher', sluice: 'channel append, one key per request, 50 concurrent clients', target: 15_000, peers: [] },
  { id: 'sse-fanout-p99', title: 'SSE fan-out, 1000 readers at 100 appends/s, p99', unit: 'ms', better: 'lower', sluice: 'SSE delivery, append to receipt, 1000 reader(s), p99', target: 50, peers: [] },
  { id: 'restart', title: 'restart with 1M channel entries + 100k unfinished tasks, to serving', unit: 'ms', better: 'lower', sluice: 'restart: serving requests', target: 2_000, peers: [] },
  // Right after 100k submissions V8 still holds their garbage; it gives it back once the scheduler is quiet (its memory reducer).
  { id: 'memory', title: 'scheduler RSS with 100k queued tasks, settled', unit: 'MB', better: 'lower', sluice: 'memory: scheduler RSS with 100k queued tasks, 47 s after (settled)', target: 150, peers: [] },
  { id: 'memory-burst', title: 'scheduler RSS with 100k queued tasks, 2 s after submitting them', unit: 'MB', better: 'lower', sluice: 'memory: scheduler RSS with 100k queued tasks, 2 s after the last submission', peers: [] },
];

/** One figure of a peer, reported under a workload id; `value: null` when the peer has nothing comparable (`note` says why). */
export interface PeerResult {
  id: string;
  value: number | null;
  unit: string;
  params?: Record<string, unknown>;
  /** A configuration other than the default, reported beside the default figure (Dask's `worker-saturation: inf`). */
  variant?: string;
  note?: string;
}

export type PeerReport =
  | { available: true; version?: string; setup?: string; results: PeerResult[]; error?: undefined; [more: string]: unknown }
  | { available: true; error: string; results?: undefined }
  | { available: false; reason: string; install: string };

export interface Machine {
  cpus?: number;
  cpu?: string;
  node?: string;
  platform?: string;
  [more: string]: unknown;
}

/** What one sluice suite prints (bench/lib.ts `print`), or its failure as bench/run.ts records it. */
export interface SuiteDocument {
  suite: string;
  date?: string;
  quick?: boolean;
  machine?: Machine;
  results?: Result[];
  error?: string;
}

/** What `npm run bench` prints: every suite in one document. */
export interface RunDocument {
  date: string;
  quick: boolean;
  machine: Machine;
  suites: SuiteDocument[];
}

export interface ComparisonRow {
  id: string;
  title: string;
  unit: string;
  better: 'higher' | 'lower';
  target: number | null;
  sluice: number | null;
  peers: Partial<Record<PeerName, number | null>>;
  /** Peer figures in a non-default configuration, by peer, then variant. */
  variants: Partial<Record<PeerName, Record<string, number>>>;
  /** sluice ÷ peer (throughput) or peer ÷ sluice (latency): above 1, sluice is better. */
  ratios: Partial<Record<PeerName, number | null>>;
  /** The same, against each variant. */
  variantRatios: Partial<Record<PeerName, Record<string, number | null>>>;
}

/** What `npm run bench:peers` prints. */
export interface PeersDocument {
  suite: 'peers';
  date: string;
  quick: boolean;
  machine: Machine;
  peers: Record<PeerName, PeerReport>;
  /** sluice's suites, run in the same invocation. */
  sluice: SuiteDocument[];
  comparison: ComparisonRow[];
}

/** Every JSON document in a text: one, or several printed one after another (`node bench/tasks.ts; node bench/queues.ts`). */
export function parseDocuments(text: string): unknown[] {
  const documents: unknown[] = [];
  const parser = new JSONParser({ separator: '', paths: ['$'], keepStack: false });
  parser.onValue = ({ value }) => documents.push(value);
  parser.write(text);
  if (!parser.isEnded) parser.end();
  return documents;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
export const isPeersDocument = (value: unknown): value is PeersDocument => isObject(value) && value.suite === 'peers' && isObject(value.peers);
const isRunDocument = (value: unknown): value is RunDocument => isObject(value) && Array.isArray(value.suites);
const isSuiteDocument = (value: unknown): value is SuiteDocument => isObject(value) && typeof value.suite === 'string' && value.suite !== 'peers';

/** A figure and where it came from. */
export interface Sourced<T> {
  value: T;
  date: string;
  quick: boolean;
  machine?: Machine;
}

/** A full run beats a `--quick` one; then the latest wins. */
function preferred<T>(candidates: Sourced<T>[]): Sourced<T> | undefined {
  const rank = (c: Sourced<T>): string => `${c.quick ? 0 : 1}${c.date}`;
  return candidates.reduce<Sourced<T> | undefined>((best, c) => (best === undefined || rank(c) >= rank(best) ? c : best), undefined);
}

/** Every sluice suite document inside the given documents, with the date and machine it ran on. */
export function sluiceSuites(documents: unknown[]): Sourced<SuiteDocument>[] {
  const suites: Sourced<SuiteDocument>[] = [];
  const add = (suite: SuiteDocument, outer?: { date?: string; quick?: boolean; machine?: Machine }): void => {
    suites.push({ value: suite, date: suite.date ?? outer?.date ?? '', quick: suite.quick ?? outer?.quick ?? false, machine: suite.machine ?? outer?.machine });
  };
  for (const document of documents) {
    if (isPeersDocument(document)) for (const suite of document.sluice ?? []) add(suite, document);
    else if (isRunDocument(document)) for (const suite of document.suites) add(suite, document);
    else if (isSuiteDocument(document)) add(document);
  }
  return suites;
}

/** sluice's figure for each workload id, from the preferred document that has it. */
export function sluiceFigures(documents: unknown[]): Map<string, Sourced<Result>> {
  const suites = sluiceSuites(documents);
  const figures = new Map<string, Sourced<Result>>();
  for (const workload of WORKLOADS) {
    const candidates = suites.flatMap(({ value, ...source }) => (value.results ?? []).filter((r) => r.workload === workload.sluice).map((r) => ({ ...source, value: r })));
    const best = preferred(candidates);
    if (best) figures.set(workload.id, best);
  }
  return figures;
}

/** Each peer's report from the preferred `bench:peers` document in which it ran. */
export function peerReports(documents: unknown[]): Partial<Record<PeerName, Sourced<PeerReport>>> {
  const reports: Partial<Record<PeerName, Sourced<PeerReport>>> = {};
  for (const peer of Object.keys(PEERS) as PeerName[]) {
    const candidates = documents.filter(isPeersDocument).map((d) => ({ value: d.peers[peer], date: d.date, quick: d.quick, machine: d.machine }));
    const ran = candidates.filter((c) => c.value?.available && c.value.results);
    const best = preferred(ran.length > 0 ? ran : candidates.filter((c) => c.value));
    if (best) reports[peer] = best;
  }
  return reports;
}

const round = (n: number): number => Number(n.toPrecision(3));

/** Oriented so that above 1, sluice is better. */
export function ratio(workload: Pick<Workload, 'better'>, sluice: number | null | undefined, peer: number | null | undefined): number | null {
  if (sluice == null || peer == null || sluice <= 0 || peer <= 0) return null;
  return round(workload.better === 'higher' ? sluice / peer : peer / sluice);
}

/** One row per workload: sluice's figure, each peer's, and the ratios. */
export function compare(sluice: ReadonlyMap<string, number>, peers: Partial<Record<PeerName, PeerReport>>): ComparisonRow[] {
  return WORKLOADS.map((workload) => {
    const own = sluice.get(workload.id) ?? null;
    const row: ComparisonRow = { id: workload.id, title: workload.title, unit: workload.unit, better: workload.better, target: workload.target ?? null, sluice: own, peers: {}, variants: {}, ratios: {}, variantRatios: {} };
    for (const peer of workload.peers) {
      const report = peers[peer];
      const results = report?.available ? (report.results ?? []) : [];
      const figures = results.filter((r) => r.id === workload.id);
      const plain = figures.find((r) => r.variant === undefined);
      row.peers[peer] = plain?.value ?? null;
      row.ratios[peer] = ratio(workload, own, plain?.value);
      for (const variant of figures.filter((r) => r.variant !== undefined && r.value !== null)) {
        (row.variants[peer] ??= {})[variant.variant as string] = variant.value as number;
        (row.variantRatios[peer] ??= {})[variant.variant as string] = ratio(workload, own, variant.value);
      }
    }
    return row;
  });
}
