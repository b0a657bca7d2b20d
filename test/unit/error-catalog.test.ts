// Every error sluice builds comes from the one catalog of factories
// (schemas/error-catalog.ts): no code outside the two SluiceError classes constructs
// one, every factory gives a code of the catalog (so its status), and the
// server's and the client's SluiceError carry the same fields. That every
// code is in docs/http-api.md with its status is test/unit/docs.test.ts's.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { SluiceError as ClientError, decodeError, errors as clientErrors } from '../../client/errors.ts';
import { CLIENT_ERROR_CATALOG } from '../../schemas/client-error-catalog.ts';
import { ERROR_CATALOG, type ErrorCatalog, ERRORS } from '../../schemas/errors.ts';
import { SluiceError as ServerError, errors as serverErrors } from '../../server/errors.ts';
import { ROOT } from '../helpers/processes.ts';

/** Where SluiceError is defined and bound to the catalog: the only places that may construct one. */
const CLASS_FILES = new Set(['server/errors.ts', 'client/errors.ts']);
const SOURCE_DIRS = ['schemas', 'server', 'client', 'worker', 'stream', 'cli', 'dashboard/src'];
const RAW = /new\s+(?:[\w$.]+\.)?SluiceError\b|Reflect\.construct\(\s*(?:[\w$.]+\.)?SluiceError\b|extends\s+(?:[\w$.]+\.)?SluiceError\b/;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|tsx)$/.test(name)) out.push(path);
  }
  return out;
}

t.test('no error is built outside the catalog', async (t) => {
  const files = SOURCE_DIRS.flatMap(sources);
  t.ok(files.length > 50, `${files.length} source files scanned`);
  const raw: string[] = [];
  for (const file of files) {
    if (CLASS_FILES.has(file)) continue;
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (RAW.test(line)) raw.push(`${relative('.', file)}:${i + 1}: ${line.trim()}`);
      });
  }
  t.same(raw, [], 'every error is made by a factory of the catalog (errors.<name>(...)), never with new SluiceError');
  for (const file of CLASS_FILES) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    t.equal(text.match(/class SluiceError\b/g)?.length, 1, `${file} defines one SluiceError`);
  }
});

/** Arguments for each factory; a factory added to the catalog must be added here (the type says so). */
const SAMPLES: { [K in keyof ErrorCatalog]: Parameters<ErrorCatalog[K]> } = {
  invalidRequest: ['body.fn: required', [{ path: 'body.fn', message: 'required' }]],
  notJsonBody: ['text/plain'],
  invalidJson: ['Unexpected token'],
  framework: [418, 'a teapot'],
  bodyTooLarge: [1024],
  tooLarge: ['a batch of 5 tasks', 4],
  gatherTooLarge: [5, 4],
  tooDeep: ['body.value', 3],
  badPath: ['/futures/%zz'],
  pathSegmentTooLong: ['/futures/aaaa', 300],
  noRoute: ['GET', '/nowhere'],
  requestNotReceived: [1000, 500],
  headersTooLarge: [16384],
  chunkExtensionsTooLarge: [],
  invalidHttp: ['HPE_INVALID_METHOD'],
  badLastEventId: ['x'],
  internal: [],
  tokenNeeded: ['admin'],
  unknownToken: [],
  noCredentials: [],
  scopeTooLow: ['client', 'admin'],
  cookieRefused: ['a session cookie is taken only from this scheduler’s own origin'],
  insecureForeignHost: ['evil.example'],
  insecureForeignOrigin: ['http://localhost:8786', 'http://evil.example'],
  authFailuresLimited: [10, 30, 30_000],
  clientRequired: [],
  sessionStreamNeedsCredential: ['c1'],
  sessionStreamForeign: ['c1'],
  sessionEndForbidden: ['c1'],
  cancelForbidden: ['k1'],
  severalSessionCredentials: [],
  sessionIdAlone: [],
  notSessionCredential: [],
  sessionNotIssued: [],
  sessionEnded: ['c1'],
  sessionForeign: ['c1'],
  tooManySessions: [100, 100],
  rateLimited: [600, '1 minute', 60_000],
  underPressure: ['its event loop lags 900 ms', 'eventLoopDelay'],
  tooManyStreams: [1000, 1000],
  streamsLimited: ['8 are open for this token, the limit is 8', 8],
  tooManyWaiting: [10, 10],
  tooManyPending: [10, 10],
  batchNeverFits: [2000, 1000],
  pendingBytesFull: [900, 200, 1000],
  shuttingDown: [],
  standby: ['http://sched-b.internal:8786'],
  timedOut: ['key k1', 2],
  callerGone: [],
  storageFailed: [Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })],
  storageRefusing: [undefined],
  unknownKey: ['k1'],
  forgottenKey: ['k1'],
  missingDependency: ['k0', 'k1', true],
  keyConflict: ['k1', 'a pending task'],
  selfDependency: ['k1'],
  dependencyCycle: [['a', 'b', 'a']],
  scatterKeysMismatch: [2, 3],
  resultsTooLarge: [5, 1000],
  outcomesTooLarge: [5, 1000],
  taskFailed: [{ key: 'k1', status: 'error', error: { name: 'ValueError', message: 'bad' } }],
  unknownChannel: ['c'],
  channelStopped: ['c'],
  maxlenDropsEntries: ['c', 10, 5],
  tooManyChannels: [100, 100],
  consumerPastEnd: [9, 'c', 3],
  unknownQueue: ['q'],
  tooManyQueues: [100, 100],
  queueItemsFull: [100, 5, 100],
  putNeverWaits: [2000, 1000],
  waitingPutsFull: [900, 200, 1000],
  putNeverFits: [5, 'q', 3],
  queueLeaseNotHeld: ['q', 'l1'],
  idsNotUnderLease: [[4, 5], 'l1'],
  variableUnset: ['v'],
  messageTooLarge: [2000, 1000],
  tooManyTopics: [100, 100],
  maxLeasesConflict: ['s', 2, 3],
  leaseIdElsewhere: ['l1', 'lock'],
  staleToken: ['lock', 'l', 3, [4]],
  tooManyLeases: [100, 100],
  leaseNotHeld: ['semaphore', 's', 'l1'],
  unreachable: ['http://127.0.0.1:1', 'fetch failed', 'ECONNREFUSED'],
  noAnswer: ['http://127.0.0.1:1', 1000],
  closed: [],
  clientClosed: [],
  closedBeforeSent: [],
  closedBeforeEnded: [],
  leaseLost: ['lock', 'l', 1000],
  queueLeaseLost: ['l1', 'q', 1000],
  noLeaseHeld: ['lock', 'l'],
  lockAlreadyHeld: ['l'],
};

type Factory = (...args: unknown[]) => { code: string; message: string; details?: unknown };

t.test('every factory gives a code of the catalog, with its status, and a message from its parameters', async (t) => {
  t.same(Object.keys(SAMPLES).sort(), Object.keys(ERROR_CATALOG).sort(), 'a sample for every factory');
  for (const [name, args] of Object.entries(SAMPLES) as Array<[keyof ErrorCatalog, unknown[]]>) {
    const spec = (ERROR_CATALOG[name] as unknown as Factory)(...args);
    t.ok(spec.code in ERRORS, `${name}: ${spec.code} is in the catalog`);
    t.ok(spec.message.length > 0 && !/undefined|\[object /.test(spec.message), `${name}: "${spec.message.slice(0, 80)}"`);

    const server = (serverErrors[name] as unknown as (...a: unknown[]) => ServerError)(...args);
    t.ok(server instanceof ServerError, `${name}: the server's factory makes its SluiceError`);
    t.same({ code: server.code, status: server.status, message: server.message, details: server.details }, { ...spec, status: ERRORS[server.code].status, details: spec.details });

    if (!(name in CLIENT_ERROR_CATALOG)) continue;
    const client = (clientErrors[name as keyof typeof clientErrors] as unknown as (...a: unknown[]) => ClientError)(...args);
    t.ok(client instanceof ClientError, `${name}: the client's factory makes its SluiceError`);
    t.same({ code: client.code, status: client.status, message: client.message, details: client.details }, { ...spec, status: 0, details: spec.details }, 'raised by the client itself: status 0');
  }
  t.same(Object.keys(clientErrors).sort(), Object.keys(CLIENT_ERROR_CATALOG).sort(), 'the client carries only the errors it raises itself');
  t.equal(serverErrors.framework(413, 'too big').code, 'SLUICE_ERR_TOO_LARGE', "a framework's status gets its code");
  t.equal(serverErrors.framework(418, 'a teapot').code, 'SLUICE_ERR_VALIDATION', 'and a status without one a validation error');
});

t.test("the server's and the client's SluiceError have the same fields", async (t) => {
  const server = serverErrors.unknownKey('k1');
  const answered = decodeError(server.status, JSON.stringify(server.toJSON()));
  for (const error of [server, answered]) t.same(Object.keys(error).sort(), ['code', 'details', 'name', 'status'], `${error.constructor.name}: own fields`);
  t.same(
    { name: answered.name, code: answered.code, status: answered.status, message: answered.message, details: answered.details },
    { name: server.name, code: server.code, status: server.status, message: server.message, details: server.details },
    'an answer decoded by the client is the error the server built',
  );
  t.equal(answered.statusCode, 404, "the client's deprecated statusCode is status");
  const proxy = decodeError(502, '<html>Bad Gateway</html>');
  t.same({ code: proxy.code, status: proxy.status }, { code: 'HTTP_502', status: 502 }, 'an answer that is not sluice’s keeps its status');
});
