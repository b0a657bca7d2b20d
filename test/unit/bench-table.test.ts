import t from 'tap';
import { compare, parseDocuments, peerReports, ratio, sluiceFigures } from '../../bench/compare.ts';
import { END, renderTable, replaceSection, START } from '../../bench/results-table.ts';

const machine = { cpus: 2, cpu: 'Test CPU @ 2.0GHz', node: 'v20.0.0', platform: 'linux' };
const suite = (name: string, date: string, quick: boolean, results: Array<[string, number, string]>): object => ({
  suite: name,
  date,
  quick,
  machine,
  results: results.map(([workload, value, unit]) => ({ workload, value, unit, params: {} })),
});

// What running the suites one after another prints: pretty-printed documents, concatenated.
const suites = [
  suite('tasks', '2026-01-02T10:00:00.000Z', false, [
    ['trivial tasks: submit, run, gather (1 worker)', 9000, 'tasks/s'],
    ['one task at a time, submit to result, p50', 0.4, 'ms'],
    ['one task at a time, submit to result, p99', 3, 'ms'],
    ['chain of dependent tasks', 2000, 'tasks/s'],
  ]),
  suite('queues', '2026-01-02T10:01:00.000Z', false, [['queue put then get, one item per request, 1 client', 5000, 'ops/s']]),
]
  .map((d) => JSON.stringify(d, null, 2))
  .join('\n');

// `npm run bench`: one document with every suite; an older run, and a newer but --quick one, both to be outranked.
const runs = [
  { date: '2026-01-01T00:00:00.000Z', quick: false, machine, suites: [suite('tasks', '2026-01-01T00:00:00.000Z', false, [['trivial tasks: submit, run, gather (1 worker)', 1, 'tasks/s']])] },
  { date: '2026-01-03T00:00:00.000Z', quick: true, machine, suites: [suite('tasks', '2026-01-03T00:00:00.000Z', true, [['trivial tasks: submit, run, gather (1 worker)', 2, 'tasks/s']])] },
]
  .map((d) => JSON.stringify(d))
  .join('');

const peers = JSON.stringify({
  suite: 'peers',
  date: '2026-01-02T11:00:00.000Z',
  quick: false,
  machine,
  sluice: [],
  comparison: [],
  peers: {
    dask: {
      available: true,
      version: '2022.12.1',
      results: [
        { id: 'tasks-throughput', value: 450, unit: 'tasks/s' },
        { id: 'tasks-throughput', value: 1400, unit: 'tasks/s', variant: 'worker-saturation: inf' },
        { id: 'task-latency-p50', value: 10, unit: 'ms' },
        { id: 'chain', value: 160, unit: 'tasks/s' },
      ],
    },
    bullmq: { available: false, reason: 'no redis-server on the PATH', install: 'sudo apt-get install -y redis-server' },
  },
});

const documents = parseDocuments(`${suites}\n${runs}\n${peers}\n`);

t.test('parses documents printed one after another', async (t) => {
  t.equal(documents.length, 5);
  t.same(parseDocuments('{"a":1}'), [{ a: 1 }]);
  t.throws(() => parseDocuments('{"a":1} {"b":'));
});

t.test('a full run beats a --quick one, and the latest run wins', async (t) => {
  const figures = sluiceFigures(documents);
  t.equal(figures.get('tasks-throughput')?.value.value, 9000);
  t.equal(figures.get('queue-put-get')?.value.value, 5000);
  t.notOk(figures.has('memory'));
  t.equal(peerReports(documents).dask?.date, '2026-01-02T11:00:00.000Z');
});

t.test('ratios are above 1 when sluice is better, for throughput and latency alike', async (t) => {
  t.equal(ratio({ better: 'higher' }, 900, 450), 2);
  t.equal(ratio({ better: 'lower' }, 0.5, 10), 20);
  t.equal(ratio({ better: 'lower' }, 4, 2), 0.5);
  t.equal(ratio({ better: 'higher' }, 900, null), null);
  const rows = compare(new Map([['tasks-throughput', 9000], ['task-latency-p50', 0.4]]), { dask: { available: true, results: [{ id: 'tasks-throughput', value: 450, unit: 'tasks/s' }, { id: 'tasks-throughput', value: 1400, unit: 'tasks/s', variant: 'inf' }, { id: 'task-latency-p50', value: 10, unit: 'ms' }] } });
  const throughput = rows.find((r) => r.id === 'tasks-throughput');
  t.equal(throughput?.ratios.dask, 20);
  t.equal(throughput?.variantRatios.dask?.inf, 6.43);
  t.equal(rows.find((r) => r.id === 'task-latency-p50')?.ratios.dask, 25);
  t.equal(throughput?.ratios.bullmq, null, 'a peer without figures has no ratio');
});

t.test('renders one row per workload, with peers, ratios, targets, machine and dates', async (t) => {
  const table = renderTable(documents, ['a.json', 'b.json']);
  const row = (title: string): string => table.split('\n').find((line) => line.startsWith(`| ${title}`)) ?? '';
  const cells = (title: string): string[] => row(title).split('|').slice(1, -1).map((c) => c.trim());
  t.same(cells('trivial tasks, submit + run + gather'), ['trivial tasks, submit + run + gather (tasks/s)', '9,000', '450 (1,400 with worker-saturation: inf)', 'not installed', 'not run', 'Dask 20× (6.43×)', '≥ 20,000 ✗']);
  t.same(cells('one task at a time, submit → result, p50'), ['one task at a time, submit → result, p50 (ms)', '0.4', '10', 'not installed', 'not run', 'Dask 25×', '≤ 0.5 ✓']);
  t.same(cells('chain of 2000 dependent tasks').slice(1, 4), ['2,000', '160', '—'], 'BullMQ has no chain');
  t.same(cells('scheduler RSS with 100k queued tasks').slice(1), ['—', '—', '—', '—', '—', '≤ 150']);
  t.match(table, '- Measured on 2 CPUs, Test CPU @ 2.0GHz, Node v20.0.0 on linux.');
  t.match(table, "sluice's figures from 2026-01-02; Dask 2022.12.1, measured 2026-01-02.");
  t.match(table, 'npm run bench:table -- a.json b.json');
});

t.test('rewrites only what is between the markers', async (t) => {
  const mention = `Markers such as \`${START}\` and \`${END}\` in prose are not the section.`;
  const page = `# Title\n\n${mention}\n\n${START}\nold table\n${END}\n\nAfter.\n`;
  const once = replaceSection(page, '| new |\n');
  t.equal(once, `# Title\n\n${mention}\n\n${START}\n| new |\n${END}\n\nAfter.\n`);
  t.equal(replaceSection(once, '| new |\n'), once, 'running it again changes nothing');
  t.throws(() => replaceSection('# no markers\n', 'x'), /bench-table:start/);
  t.throws(() => replaceSection(`${END}\n${START}\n`, 'x'), /bench-table:start/, 'the end must follow the start');
});

t.test('sluice driven from Python is a column beside the peers, without a ratio', async (t) => {
  const python = JSON.stringify({
    suite: 'peers',
    date: '2026-01-04T00:00:00.000Z',
    quick: false,
    machine,
    sluice: [],
    comparison: [],
    peers: { python: { available: true, version: 'python/ 0.1.0', results: [{ id: 'tasks-throughput', value: 3000, unit: 'tasks/s' }] } },
  });
  const table = renderTable(parseDocuments(`${suites}\n${runs}\n${peers}\n${python}\n`));
  const row = table.split('\n').find((line) => line.startsWith('| trivial tasks')) ?? '';
  const cells = row.split('|').slice(1, -1).map((c) => c.trim());
  t.same(cells.slice(1, 6), ['9,000', '450 (1,400 with worker-saturation: inf)', 'not installed', '3,000', 'Dask 20× (6.43×)']);
  t.match(table, 'sluice from Python python/ 0.1.0, measured 2026-01-04');
});
