// What a worker reports is checked before anything is stored or served: a
// worker holding a worker token, speaking the protocol by hand, cannot make
// the scheduler serve invalid JSON, crash it, or end tasks that are not its own.
import { readdirSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import t from 'tap';
import { api, startScheduler, startWorker } from '../helpers/cluster.ts';
import { ROOT } from '../helpers/processes.ts';
import { RawWorker } from '../helpers/sockets.ts';

const CLIENT = 'client-token-aaaaaaaaaaaaaaaa';
const WORKER = 'worker-token-bbbbbbbbbbbbbbbb';
const ADMIN = 'admin-token-cccccccccccccccccc';
const TOKENS = ['--client-token', CLIENT, '--worker-token', WORKER, '--admin-token', ADMIN];
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The answer's text, and whether it is JSON at all. */
async function rawGet(url: string): Promise<{ status: number; text: string; json: any }> {
  const response = await fetch(url, { headers: bearer(CLIENT) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

const deep = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);

t.test('a result that is not JSON, or splices into the reply, fails its task with BadResult naming the worker', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: [...TOKENS, '--max-result-bytes', '1000'] });
  const http = api(scheduler.url, bearer(CLIENT));
  const rogue = await RawWorker.connect(scheduler.url, { token: WORKER, name: 'rogue-worker', functions: ['rogue'], teardown: t });

  const reports: Array<[string, string, string]> = [
    ['not-json', 'not json', 'BadResult'],
    ['injected', '1,"status":"error","injected":true', 'BadResult'],
    ['empty', '', 'BadResult'],
    ['two-values', '1 2', 'BadResult'],
    ['too-large', JSON.stringify('x'.repeat(2000)), 'ResultTooLarge'],
  ];
  // A dependant submitted before its dependency ends, for each.
  for (const [key] of reports) {
    const submitted = await http.post('/tasks', { tasks: [{ fn: 'rogue', key }, { fn: 'rogue', key: `${key}-dependant-before`, args: [{ $future: key }] }] });
    t.equal(submitted.status, 201);
  }
  for (const [key, result] of reports) rogue.finish(await rogue.run(key), result);

  for (const [key, , name] of reports) {
    const answer = await rawGet(`${scheduler.url}/futures/${key}/result?timeout=10`);
    t.equal(answer.status, 200, `${key}: answered`);
    t.ok(answer.json !== undefined, `${key}: the answer is JSON (${answer.text.slice(0, 80)})`);
    t.match(answer.json, { key, status: 'error', error: { name } }, `${key}: the task erred with ${name}`);
    t.match(answer.json?.error?.message, new RegExp(`worker rogue-worker \\(${rogue.id}\\)`), `${key}: the message names the worker: ${answer.json?.error?.message}`);
    t.notOk('injected' in (answer.json ?? {}), `${key}: nothing was spliced into the answer`);
    const info = await rawGet(`${scheduler.url}/futures/${key}`);
    t.match(info.json, { status: 'error', state: 'error' }, `${key}: GET /futures/:key is JSON too`);

    const before = await http.get(`/futures/${key}-dependant-before/result?timeout=10`);
    t.match(before.body, { status: 'error', error: { name, key } }, `${key}: its dependant erred with it`);
    const after = await http.post('/tasks', { fn: 'rogue', key: `${key}-dependant-after`, args: [{ $future: key }] });
    t.equal(after.status, 201, `${key}: a dependant submitted afterwards is accepted`);
    t.match((await http.get(`/futures/${key}-dependant-after`)).body, { status: 'error', state: 'error', error: { name, key } }, `${key}: and errs, stored as such`);
  }
  t.ok(scheduler.proc.running, 'the scheduler is running');
  t.equal(rogue.runs.filter((run) => run.key.includes('dependant')).length, 0, 'no dependant was sent to the worker');
  t.ok(scheduler.proc.lines.some((line) => /BadResult|not valid JSON/.test(line) && line.includes('rogue-worker')), 'the bad report is logged with the worker');

  // The worker is still connected and its good reports count.
  await http.post('/tasks', { fn: 'rogue', key: 'good' });
  rogue.finish(await rogue.run('good'), '{"ok": [1, 2]}');
  t.match((await http.get('/futures/good/result?timeout=10')).body, { status: 'finished', result: { ok: [1, 2] } });
});

t.test('a result nested 200,000 deep fails its task with ResultTooDeep; the scheduler and its dependants carry on', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: TOKENS });
  const http = api(scheduler.url, bearer(CLIENT));
  const rogue = await RawWorker.connect(scheduler.url, { token: WORKER, name: 'deep-worker', functions: ['rogue', 'inc'], teardown: t });
  await http.post('/tasks', { tasks: [{ fn: 'rogue', key: 'deep' }, { fn: 'inc', key: 'deep-dependant', args: [{ $future: 'deep' }] }] });
  rogue.finish(await rogue.run('deep'), deep(200_000));
  const answer = await rawGet(`${scheduler.url}/futures/deep/result?timeout=10`);
  t.match(answer.json, { status: 'error', error: { name: 'ResultTooDeep', message: /from worker deep-worker \(w-[0-9a-f]+\) nests more than 64 levels deep/ } });
  t.match((await http.get('/futures/deep-dependant/result?timeout=10')).body, { status: 'error', error: { name: 'ResultTooDeep', key: 'deep' } });
  // Just within the limit is fine, and so is a dependant of it, which gets it spliced into its args.
  await http.post('/tasks', { tasks: [{ fn: 'rogue', key: 'deep-ok' }, { fn: 'inc', key: 'deep-ok-dependant', args: [{ $future: 'deep-ok' }, [1]] }] });
  rogue.finish(await rogue.run('deep-ok'), deep(64));
  t.match((await http.get('/futures/deep-ok/result?timeout=10')).body, { status: 'finished' });
  const run = await rogue.run('deep-ok-dependant');
  t.equal(run.args, `[${deep(64)},[1]]`, 'the dependant got the result in place of the reference');
  t.ok(scheduler.proc.running, 'the scheduler is running');
});

t.test('reports a worker has no business sending change nothing, and it cannot speak for another task', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: TOKENS });
  const http = api(scheduler.url, bearer(CLIENT));
  const owner = await RawWorker.connect(scheduler.url, { token: WORKER, name: 'owner', functions: ['mine'], teardown: t });
  const other = await RawWorker.connect(scheduler.url, { token: WORKER, name: 'other', functions: ['theirs'], teardown: t });
  await http.post('/tasks', { tasks: [{ fn: 'mine', key: 'owned' }, { fn: 'theirs', key: 'theirs-1' }, { fn: 'theirs', key: 'theirs-2' }] });
  const run = await owner.run('owned');

  // Another worker reporting on it, the right worker with a wrong attempt, and keys nobody runs.
  other.finish(run, '"stolen"');
  owner.finish({ ...run, attempt: run.attempt + 1 }, '"from the future"');
  other.send({ type: 'report', items: [{ key: 'no-such-task', attempt: 1, status: 'finished', result: '1' }] });
  other.send({ type: 'report', items: [{ key: 'owned', attempt: run.attempt, status: 'error', error: { name: 'Stolen', message: 'x', traceback: '' } }] });
  t.match((await http.get('/futures/owned')).body, { status: 'pending', state: 'processing', worker: 'owner' }, 'still running on its worker');

  // Unknown fields are dropped; an error cannot claim to come from another task.
  owner.send({ type: 'report', items: [{ key: 'owned', attempt: run.attempt, status: 'finished', result: '"mine"', extra: 'x' }] });
  t.match((await http.get('/futures/owned/result?timeout=10')).body, { status: 'finished', result: 'mine' });
  const theirs = await other.run('theirs-1');
  other.send({ type: 'report', items: [{ key: 'theirs-1', attempt: theirs.attempt, status: 'error', error: { name: 'Oops', message: 'failed', traceback: '', key: 'owned' } }] });
  const erred = (await http.get('/futures/theirs-1/result?timeout=10')).body;
  t.match(erred, { status: 'error', error: { name: 'Oops', message: 'failed' } });
  t.notOk('key' in erred.error, 'the error does not say another task raised it');

  // An error over the protocol's sizes is a protocol error: the socket closes with the reason, the task goes elsewhere.
  const second = await other.run('theirs-2');
  other.send({ type: 'report', items: [{ key: 'theirs-2', attempt: second.attempt, status: 'error', error: { name: 'n'.repeat(2000), message: '', traceback: '' } }] });
  const closed = await other.closed;
  t.equal(closed.code, 1008);
  t.match(closed.reason, /name/);
  t.match((await http.get('/futures/theirs-2')).body, { status: 'pending', state: 'queued' }, 'its task waits for another worker');
  t.ok(scheduler.proc.running, 'the scheduler is running');
});

t.test('a database holding bad results from an older version starts, serves them as errors, and errs their dependants', async (t) => {
  const first = await startScheduler(t);
  const http = api(first.url);
  for (const [key, data] of [['old-bad', 1], ['old-deep', 2], ['old-good', 3]] as const) {
    t.equal((await http.post('/scatter', { data, key })).status, 201);
  }
  const pending = await http.post('/tasks', {
    tasks: [
      { fn: 'inc', key: 'old-bad-dependant', args: [{ $future: 'old-bad' }] },
      { fn: 'inc', key: 'old-deep-dependant', args: [{ $future: 'old-deep' }] },
      { fn: 'inc', key: 'old-good-dependant', args: [{ $future: 'old-good' }] },
    ],
  });
  t.equal(pending.status, 201, 'dependants wait: no worker runs inc');
  await first.proc.stop('SIGTERM');

  // What an older scheduler, which took reports on trust, could have stored; its schema version was the one before results were checked.
  const db = new Database(first.db);
  const migrations = readdirSync(`${ROOT}/migrations`).filter((file) => file.endsWith('.sql'));
  const checkedFrom = Number.parseInt(migrations.find((file) => file.includes('check_results')) ?? String(migrations.length + 1), 10);
  t.ok(checkedFrom > 1, `results are checked from schema version ${checkedFrom}`);
  db.prepare("UPDATE tasks SET result = ? WHERE key = 'old-bad'").run('1,"status":"error","injected":true');
  db.prepare("UPDATE tasks SET result = ? WHERE key = 'old-deep'").run(deep(200_000));
  // Back to that version: what the later migrations made is undone (they only create tables and indexes).
  for (const file of migrations.filter((name) => Number.parseInt(name, 10) > checkedFrom)) {
    const sql = readFileSync(`${ROOT}/migrations/${file}`, 'utf8');
    t.notMatch(sql, /\bALTER\b/i, `${file} only creates, so dropping what it made undoes it`);
    for (const [, kind, name] of sql.matchAll(/CREATE\s+(TABLE|INDEX)\s+(\w+)/gi)) db.exec(`DROP ${kind} IF EXISTS ${name}`);
  }
  db.pragma(`user_version = ${checkedFrom - 1}`);
  db.close();

  const second = await startScheduler(t, { db: first.db });
  const again = api(second.url);
  for (const key of ['old-bad', 'old-deep']) {
    const answer = await rawGet(`${second.url}/futures/${key}/result?timeout=0`);
    t.equal(answer.status, 200);
    t.match(answer.json, { key, status: 'error', error: { name: 'BadResult', message: /not valid JSON|older version/ } }, `${key}: served as an error`);
  }
  t.match((await again.get('/futures/old-good/result?timeout=0')).body, { status: 'finished', result: 3 }, 'a good result is served as it was');
  await startWorker(t, second.url);
  t.match((await again.get('/futures/old-bad-dependant/result?timeout=10')).body, { status: 'error', error: { name: 'BadResult', key: 'old-bad' } });
  t.match((await again.get('/futures/old-deep-dependant/result?timeout=10')).body, { status: 'error', error: { name: 'BadResult', key: 'old-deep' } });
  t.match((await again.get('/futures/old-good-dependant/result?timeout=10')).body, { status: 'finished', result: 4 });
  const late = await again.post('/tasks', { fn: 'inc', key: 'late-dependant', args: [{ $future: 'old-bad' }] });
  t.equal(late.status, 201);
  t.match((await again.get('/futures/late-dependant/result?timeout=10')).body, { status: 'error', error: { name: 'BadResult' } });
  t.ok(second.proc.running, 'the scheduler is running, with a worker joined');
});
