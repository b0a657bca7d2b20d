// npm run bench:python [-- --quick]: sluice driven from Python (the Python
// client and a Python worker), on the task workloads Dask and BullMQ run in
// bench:peers. Prints a peers document with this one column, which
// `npm run bench:table` puts beside Dask's; bench:peers runs it too.
import { loadavg } from 'node:os';
import { compare, type PeersDocument } from './compare.ts';
import { machine, quick } from './lib.ts';
import { runPython } from './peers/python.ts';

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));

const loadAtStart = loadavg().map((l) => Number(l.toFixed(2)));
const report = await runPython(quick);
if (!report.available) process.stderr.write(`bench:python: skipped (${report.reason}); to include it: ${report.install}\n`);
const peers = { python: report } as PeersDocument['peers'];
const document: PeersDocument = { suite: 'peers', date: new Date().toISOString(), quick, machine: { ...machine(), loadAverageAtStart: loadAtStart }, peers, sluice: [], comparison: compare(new Map(), peers) };
process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
