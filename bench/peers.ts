// npm run bench:peers [-- --quick]: sluice's task and queue suites, then the
// same workloads on Dask and on BullMQ (and sluice driven from Python), one after the other on this machine,
// and one JSON document with every figure and the sluice/peer ratios (above 1,
// sluice is better). A peer that is not installed is reported with how to
// install it, on stderr and in the JSON; the exit code stays 0.
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compare, PEERS, type PeerName, type PeerReport, type PeersDocument, type SuiteDocument, sluiceFigures } from './compare.ts';
import { machine, quick } from './lib.ts';
import { runBullmq } from './peers/bullmq.ts';
import { runDask } from './peers/dask.ts';
import { runPython } from './peers/python.ts';

const SUITES = ['tasks.ts', 'queues.ts'];
const RUNNERS: Record<PeerName, (quick: boolean) => Promise<PeerReport>> = { dask: runDask, bullmq: runBullmq, python: runPython };

// A signal becomes an exit, so that the peers' exit hooks stop redis-server and the Dask script.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));

// Anything else running on the machine moves every figure: the load average at the start is kept with them.
const loadAtStart = loadavg().map((l) => Number(l.toFixed(2)));
const run = promisify(execFile);
const sluice: SuiteDocument[] = [];
for (const suite of SUITES) {
  process.stderr.write(`bench:peers: sluice ${suite}\n`);
  const file = fileURLToPath(new URL(suite, import.meta.url));
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file, ...(quick ? ['--quick'] : [])], { maxBuffer: 64 * 1024 * 1024 });
    sluice.push(JSON.parse(stdout) as SuiteDocument);
  } catch (error) {
    sluice.push({ suite: suite.replace(/\.ts$/, ''), error: String((error as { stderr?: string }).stderr || error).slice(-2000) });
  }
}

const peers = {} as Record<PeerName, PeerReport>;
for (const peer of Object.keys(RUNNERS) as PeerName[]) {
  process.stderr.write(`bench:peers: ${PEERS[peer].label}\n`);
  try {
    peers[peer] = await RUNNERS[peer](quick);
  } catch (error) {
    peers[peer] = { available: true, error: String((error as Error).stack ?? error).slice(-2000) };
  }
  const report = peers[peer];
  if (!report.available) process.stderr.write(`bench:peers: ${PEERS[peer].label} skipped (${report.reason}); to include it: ${report.install}\n`);
  else if (report.error !== undefined) process.stderr.write(`bench:peers: ${PEERS[peer].label} failed: ${report.error}\n`);
}

const figures = new Map([...sluiceFigures(sluice)].map(([id, figure]) => [id, figure.value.value]));
const document: PeersDocument = { suite: 'peers', date: new Date().toISOString(), quick, machine: { ...machine(), loadAverageAtStart: loadAtStart }, peers, sluice, comparison: compare(figures, peers) };
process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
