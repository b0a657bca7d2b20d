// The OpenAPI document the scheduler serves (/docs/json): the tools people
// use accept it, a client generated from it works against the scheduler, and
// the replies it lists are the ones the scheduler gives.
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { api, startScheduler, startWorker, tempDir } from '../helpers/cluster.ts';
import { ROOT } from '../helpers/processes.ts';

const run = promisify(execFile);
const BIN = join(ROOT, 'node_modules/.bin');
const TSC = join(ROOT, 'node_modules/typescript/lib/tsc.js'); // not bin/tsc: see bin/build.js
/** The environment of a plain `node`: none of the hooks tap or tsx put in NODE_OPTIONS. */
const plainEnv = { ...process.env, NODE_OPTIONS: '' };
const BODY_LIMIT = 65_536;

interface Operation {
  operationId?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { description: string; content?: Record<string, { schema: { $ref?: string; type?: string; items?: unknown } }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

const scheduler = await startScheduler(t, { args: ['--body-limit', String(BODY_LIMIT)] });
await startWorker(t, scheduler.url);
const http = api(scheduler.url);
const documentText = JSON.stringify((await http.get('/docs/json')).body);
const doc = JSON.parse(documentText) as Document;
const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

t.test('@redocly/cli lint with its recommended rules: no errors, and no warnings', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'openapi.json'), documentText);
  // Redocly exits 1 when it finds errors; its report is on stdout either way.
  const { stdout } = await run(join(BIN, 'redocly'), ['lint', '--extends=recommended', '--format=json', 'openapi.json'], {
    cwd: dir,
    env: { ...plainEnv, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    timeout: 120_000,
  }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; severity: string; message: string }> };
  const problems = report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message}`);
  t.equal(report.totals.errors, 0, 'no errors', { problems });
  t.equal(report.totals.warnings, 0, 'no warnings', { problems });
});

t.test('every operation: an operationId, a tag, a security requirement, described replies, errors in the envelope', async (t) => {
  t.equal(doc.openapi, '3.1.0');
  t.ok(operations.length >= 60, `${operations.length} operations`);
  for (const { path, method, op } of operations) {
    const at = `${method.toUpperCase()} ${path}`;
    t.match(op.operationId, /^[a-z][A-Za-z]+$/, `${at}: a camelCase operationId`);
    t.equal(op.tags?.length, 1, `${at}: one tag`);
    t.ok(Array.isArray(op.security), `${at}: a security requirement`);
    for (const [status, reply] of Object.entries(op.responses)) {
      t.not(reply.description, 'Default Response', `${at} ${status}: described`);
      const ownBody = status === '406' || (op.operationId === 'health' && status === '503'); // @fastify/sse's refusal; GET /health's own answer
      if (Number(status) >= 400 && !ownBody) t.equal(reply.content?.['application/json'].schema.$ref, '#/components/schemas/Error', `${at} ${status}: the error envelope`);
    }
    t.ok(Object.keys(op.responses).some((s) => s.startsWith('4')), `${at}: documents its 4xx replies`);
  }
  const ids = operations.map((o) => o.op.operationId);
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  for (const id of ['submit', 'gather', 'scatter', 'cancel', 'fireAndForget', 'channelAppend', 'queuePut', 'variableSet', 'topicPublish', 'lockAcquire']) {
    t.ok(ids.includes(id), `${id}, as the TypeScript client names it`);
  }
  const byId = (id: string) => operations.find((o) => o.op.operationId === id) as (typeof operations)[number];
  t.same(byId('health').op.security, [], 'a public route needs nothing');
  // A full disk: every write is refused 507 (test/integration/disk-full.test.ts answers it for real); reads go on.
  t.ok(byId('queuePut').op.responses['507'], 'a write documents 507 SLUICE_ERR_STORAGE');
  t.match(byId('queuePut').op.responses['507']?.description, 'SLUICE_ERR_STORAGE');
  t.notOk(byId('health').op.responses['507'], 'a read does not');
  t.same(byId('channelStop').op.security, [{ bearerToken: ['admin'] }, { sessionCookie: ['admin'] }], 'stopping a channel needs an admin token');
  t.same(byId('workerExited').op.security, [{ bearerToken: ['worker'] }, { sessionCookie: ['worker'] }]);
  t.same(byId('channelEntries').op.security, [{ bearerToken: ['client'] }, { sessionCookie: ['client'] }, { accessToken: ['client'] }], 'an SSE route also takes ?access_token=');
  t.same(Object.keys(doc.components.securitySchemes).sort(), ['accessToken', 'bearerToken', 'sessionCookie']);
  for (const name of ['Task', 'Future', 'FutureResult', 'ChannelEntry', 'QueueItem', 'Error', 'Lease', 'SnapshotFrame']) t.ok(doc.components.schemas[name], `a component schema named ${name}`);
  t.same(Object.keys(doc.components.schemas).filter((name) => name.endsWith('Input')), [], 'no <name>Input left over');
  t.match(byId('submit').op.responses['201'].content?.['application/json'].schema, { anyOf: [{ $ref: '#/components/schemas/Submitted' }, { $ref: '#/components/schemas/SubmittedBatch' }] }, 'replies refer to the named schemas');
});

t.test('the SSE routes document their events, with the schemas of their data', async (t) => {
  const events = (id: string): string[] => {
    const { op } = operations.find((o) => o.op.operationId === id) as (typeof operations)[number];
    const stream = op.responses['200'].content?.['text/event-stream'].schema as { type: string; items: { anyOf?: unknown[] } & Record<string, unknown> };
    t.equal(stream.type, 'array', `${id}: a sequence of events`);
    const variants = (stream.items.anyOf ?? [stream.items]) as Array<{ properties: { event: { enum: string[] }; data: { $ref?: string } } }>;
    return variants.map((v) => `${v.properties.event.enum[0]}:${v.properties.data.$ref?.split('/').pop() ?? 'inline'}`);
  };
  t.same(events('firehose'), ['snapshot:SnapshotFrame', 'tasks:TasksFrame', 'worker:WorkerFrame', 'channel:ChannelFrame', 'queues:QueuesFrame', 'leases:LeasesFrame', 'variables:VariablesFrame', 'flags:FlagsFrame', 'topics:TopicsFrame']);
  t.same(events('channelEntries'), ['append:ChannelEntry', 'status:ChannelEntry', 'stop:ChannelStop']);
  t.same(events('clientEvents'), ['ready:ClientReady', 'status:FutureOutcome']);
  t.same(events('futureEvents'), ['status:FutureOutcome']);
  t.same(events('topicSubscribe'), ['message:inline', 'gap:TopicGap']);
});

t.test('the error replies the scheduler gives are the ones the document lists', async (t) => {
  const pending = (await http.post('/tasks', { fn: 'offeredByNoWorker', pure: false })).body.key as string;
  const cancelled = (await http.post('/tasks', { fn: 'offeredByNoWorker', pure: false })).body.key as string;
  await http.post(`/futures/${cancelled}/cancel`);
  await http.post('/channels/stopped/append', { tasks: [{ fn: 'inc', args: [1] }] });
  await http.post('/channels/stopped/stop');
  await http.put('/semaphores/one', { maxLeases: 1 });
  const cases: Array<[method: string, path: string, body: unknown, status: number, code: string]> = [
    ['GET', '/futures/never-was', undefined, 404, 'SLUICE_ERR_UNKNOWN_KEY'],
    ['GET', `/futures/${pending}/result?timeout=0`, undefined, 408, 'SLUICE_ERR_TIMEOUT'],
    ['POST', '/tasks', { fn: 1 }, 400, 'SLUICE_ERR_VALIDATION'],
    ['POST', '/tasks', { fn: 'inc', args: ['x'.repeat(BODY_LIMIT)] }, 413, 'SLUICE_ERR_TOO_LARGE'],
    ['POST', '/tasks', { fn: 'inc', args: [{ $future: 'never-was' }] }, 404, 'SLUICE_ERR_UNKNOWN_KEY'],
    ['POST', '/gather', { keys: [cancelled] }, 422, 'SLUICE_ERR_TASK_FAILED'],
    ['POST', '/futures/hold', { keys: [pending] }, 400, 'SLUICE_ERR_CLIENT_REQUIRED'],
    ['POST', '/channels/somewhere/append', { key: 'never-was' }, 404, 'SLUICE_ERR_UNKNOWN_KEY'],
    ['POST', '/channels/stopped/append', { key: pending }, 409, 'SLUICE_ERR_CHANNEL_STOPPED'],
    ['GET', '/channels/never-was', undefined, 404, 'SLUICE_ERR_UNKNOWN_CHANNEL'],
    ['GET', '/channels/never-was/consumers', undefined, 404, 'SLUICE_ERR_UNKNOWN_CHANNEL'],
    ['GET', '/queues/never-was', undefined, 404, 'SLUICE_ERR_UNKNOWN_QUEUE'],
    ['POST', '/queues/jobs/ack', { leaseId: 'never-was' }, 409, 'SLUICE_ERR_LEASE_EXPIRED'],
    ['POST', '/queues/jobs/get?timeout=0', undefined, 408, 'SLUICE_ERR_TIMEOUT'],
    ['GET', '/variables/never-set', undefined, 404, 'SLUICE_ERR_VARIABLE_UNSET'],
    ['PUT', '/variables/fenced', { value: 1, fence: { lock: 'nobody-holds', token: 7 } }, 409, 'SLUICE_ERR_STALE_TOKEN'],
    ['POST', '/semaphores/one/acquire', { maxLeases: 2 }, 409, 'SLUICE_ERR_MAX_LEASES_CONFLICT'],
    ['POST', '/locks/door/renew', { leaseId: 'never-was-a-lease' }, 409, 'SLUICE_ERR_LEASE_EXPIRED'],
    ['GET', '/flags/never-set?timeout=0', undefined, 408, 'SLUICE_ERR_TIMEOUT'],
    ['GET', `/futures/${'k'.repeat(1100)}`, undefined, 414, 'SLUICE_ERR_URI_TOO_LONG'],
  ];
  for (const [method, path, body, status, code] of cases) {
    const answer = await (method === 'GET' ? http.get(path) : method === 'PUT' ? http.put(path, body) : http.post(path, body));
    t.equal(answer.status, status, `${method} ${path.slice(0, 60)} answers ${status}`);
    t.equal(answer.body?.error?.code, code);
    t.match(documented(method, path, status), code, `and the document lists ${code} under ${status}`);
  }

  // The hooks' replies: another site on a scheduler run --insecure, and a reader that refuses text/event-stream.
  const foreign = await raw('GET', '/health', { host: 'evil.example' });
  t.equal(foreign.status, 403);
  t.match(documented('GET', '/health', 403), 'SLUICE_ERR_FORBIDDEN');
  const notSse = await raw('GET', '/channels/stopped/events', { accept: 'application/json' });
  t.equal(notSse.status, 406);
  t.ok(documented('GET', '/channels/stopped/events', 406));
});

t.test('a client generated with openapi-typescript type-checks, and works against the scheduler', async (t) => {
  const dir = tempDir(t);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const tsconfig = { compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', allowImportingTsExtensions: true, types: ['node'] } };
  // What the README says to run, against this scheduler.
  await run(join(BIN, 'openapi-typescript'), [`${scheduler.url}/docs/json`, '-o', join(dir, 'sluice-api.d.ts')], { env: plainEnv, timeout: 60_000 });
  t.match(readFileSync(join(dir, 'sluice-api.d.ts'), 'utf8'), /TaskSubmission: \{/, 'named types');
  copyFileSync(join(ROOT, 'examples/openapi-client.ts'), join(dir, 'client.ts'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['client.ts'] }));
  await t.resolves(run(process.execPath, [TSC, '-p', dir], { env: plainEnv, timeout: 180_000 }), 'the example type-checks against the generated types');

  // The types are not `any`: a wrong body and a wrong reading of the reply are refused.
  const wrong = readFileSync(join(dir, 'client.ts'), 'utf8')
    .replace("{ fn: 'inc', args: [10], pure: false }", "{ fn: 'inc', args: [10], pure: 'no' }")
    .replace('console.log(data.status, data.result);', 'const done: number = data.status;');
  writeFileSync(join(dir, 'wrong.ts'), wrong);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['wrong.ts'] }));
  const refused = await run(process.execPath, [TSC, '-p', dir], { env: plainEnv, timeout: 180_000 }).then(
    () => '',
    (error: { stdout?: string }) => error.stdout ?? '',
  );
  t.match(refused, /wrong\.ts\(\d+,\d+\): error TS2322/, 'a pure that is not a boolean');
  t.match(refused, /Type '"pending" \| "finished"|is not assignable to type 'number'/, 'a status that is not a number');

  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'client.ts'], { cwd: dir, env: { ...plainEnv, SLUICE_SCHEDULER: scheduler.url }, timeout: 60_000 });
  t.equal(stdout, 'finished 11\n', 'it submits a task and reads its result');
});

/** The description of the document's reply for this request's route and status ('' if there is none). */
function documented(method: string, url: string, status: number): string {
  const path = url.split('?')[0];
  const match = operations.find((o) => o.method === method.toLowerCase() && new RegExp(`^${o.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
  return match?.op.responses[String(status)]?.description ?? '';
}

/** A GET with headers fetch will not send as given (Host). */
function raw(method: string, path: string, headers: Record<string, string>): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${scheduler.url}${path}`, { method, headers }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
      req.destroy();
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}
