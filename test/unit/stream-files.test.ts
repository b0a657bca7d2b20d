// Files (Node only): sinkToFile, fromTextFile and filenames, with streamz's
// cases (test_sink_to_file, test_from_file, test_from_file_end,
// test_filenames) on real files in a temporary directory.
import { appendFile, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Stream } from '../../stream/node-index.ts';
import { waitFor } from '../helpers/processes.ts';
import { within } from '../helpers/streams.ts';

async function tempDir(t: Tap): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
type Tap = { teardown(fn: () => unknown): void };

t.test('sinkToFile (streamz test_sink_to_file): each item and a newline; end() closes the file', async (t) => {
  const fn = join(await tempDir(t), 'out.txt');
  const source = new Stream<string>();
  source.sinkToFile(fn);
  await source.emit('a');
  t.equal(await readFile(fn, 'utf8'), 'a\n', 'written once the emit resolved');
  await source.emit('b');
  await source.end();
  t.equal(await readFile(fn, 'utf8'), 'a\nb\n');

  const more = new Stream<number>();
  more.sinkToFile(fn, { mode: 'a', prefix: '> ', suffix: ';\n', fsync: true });
  await Promise.all([1, 2, 3].map((x) => more.emit(x)));
  await more.end();
  t.equal(await readFile(fn, 'utf8'), 'a\nb\n> 1;\n> 2;\n> 3;\n', "mode 'a' appends; items emitted together are written in order");

  const bad = new Stream<string>();
  bad.sinkToFile(join(fn, 'not-a-dir', 'x'));
  await t.rejects(bad.emit('x'), { code: 'ENOTDIR' }, 'a file that cannot be opened rejects the emit');
});

t.test('fromTextFile (streamz test_from_file): the lines there, then the lines appended', async (t) => {
  const fn = join(await tempDir(t), 'log.jsonl');
  await writeFile(fn, '{"x": 1, "y": 2}\n{"x": 2, "y": 2}\n{"x": 3, "y": 2}\n');
  const source = Stream.fromTextFile(fn, { pollIntervalMs: 10 });
  const L = source.map((line) => JSON.parse(line) as { x: number }).pluck('x').sinkToList();
  t.same(L, [], 'nothing before start()');
  const running = source.start();
  await waitFor(() => L.length === 3, 'the first three lines');
  t.same(L, [1, 2, 3]);
  await appendFile(fn, '{"x": 4, "y": 2}\n{"x": 5, ');
  await waitFor(() => L.length === 4, 'the fourth line');
  await appendFile(fn, '"y": 2}\n');
  await waitFor(() => L.length === 5, 'the fifth line, once its end was written');
  t.same(L, [1, 2, 3, 4, 5]);
  t.equal(source.position, (await readFile(fn)).length, 'position: after the last line taken');
  await within(source.end(), 2000, 'end');
  await within(running, 2000, 'start() to resolve');
});

t.test('fromTextFile fromEnd (streamz test_from_file_end), from a position, follow: false, a truncated file', async (t) => {
  const fn = join(await tempDir(t), 'log.txt');
  await writeFile(fn, 'data1\n');
  const source = Stream.fromTextFile(fn, { pollIntervalMs: 10, fromEnd: true });
  const out = source.sinkToList();
  const running = source.start();
  await waitFor(() => source.position === 6, 'the source to be at the end');
  await appendFile(fn, 'data2\n');
  await waitFor(() => out.length === 1, 'data2');
  t.same(out, ['data2\n'], 'lines keep their delimiter, as in streamz');
  await source.end();
  await running;

  const resumed = Stream.fromTextFile(fn, { position: 6, follow: false });
  t.same(await collect(resumed), ['data2\n'], 'from a saved position; follow: false stops at the end');
  const whole = Stream.fromTextFile(fn, { follow: false, delimiter: 'a' });
  t.same(await collect(whole), ['da', 'ta', '1\nda', 'ta'], 'another delimiter; the unterminated tail is not a line');

  const rotating = Stream.fromTextFile(fn, { pollIntervalMs: 10 });
  const seen = rotating.sinkToList();
  const r = rotating.start();
  await waitFor(() => seen.length === 2, 'two lines');
  await truncate(fn, 0);
  await appendFile(fn, 'fresh\n');
  await waitFor(() => seen.length === 3, 'the line after truncation');
  t.same(seen, ['data1\n', 'data2\n', 'fresh\n'], 'a file that shrank is read again from its start');
  await rotating.end();
  await r;

  await t.rejects(Stream.fromTextFile(join(fn, 'missing')).start(), { code: 'ENOTDIR' });
  t.throws(() => Stream.fromTextFile(fn, { delimiter: '' }), RangeError);
});

t.test('filenames (streamz test_filenames): the files there, then each new one', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a'), '');
  await writeFile(join(dir, 'b'), '');
  await mkdir(join(dir, 'subdir'));
  const source = Stream.filenames(dir, { pollIntervalMs: 10 });
  const L = source.sinkToList();
  const running = source.start();
  await waitFor(() => L.length >= 2, 'a and b');
  t.same(L, [join(dir, 'a'), join(dir, 'b')], 'files only, in name order');
  await writeFile(join(dir, 'c'), '');
  await waitFor(() => L.length >= 3, 'c');
  t.same(L, ['a', 'b', 'c'].map((x) => join(dir, x)));
  await source.end();
  await running;

  const csv = Stream.filenames(dir, { match: /^[bc]$/ });
  const M = csv.sinkToList();
  const r = csv.start();
  await waitFor(() => M.length >= 2, 'b and c');
  await csv.end();
  await r;
  t.same(M, ['b', 'c'].map((x) => join(dir, x)));
});

async function collect(source: Stream<string> & { start(): Promise<void> }): Promise<string[]> {
  const out = source.sinkToList();
  await within(source.start(), 5000, 'the file to be read');
  return out;
}
