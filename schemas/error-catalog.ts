/**
 * The error catalog without zod, for the client: it runs in browsers, where
 * it should not carry the schemas' weight. schemas/errors.ts re-exports it.
 */
import { type BoundFactories, bindFactories, CLIENT_ERROR_CATALOG } from './client-error-catalog.ts';
import { CLIENT_HEADER } from './constants.ts';

/**
 * The one error catalog. Every error sluice answers has a stable code from this
 * list; codes are a public contract and are never reused for something else.
 * The server builds its error classes from it, the client turns a code back
 * into a typed error.
 */
export const ERRORS = {
  SLUICE_ERR_VALIDATION: { status: 400, message: 'The request is not valid' },
  SLUICE_ERR_CLIENT_REQUIRED: { status: 400, message: 'This call needs a client session' },
  SLUICE_ERR_UNAUTHORIZED: { status: 401, message: 'A token is needed' },
  SLUICE_ERR_SESSION_INVALID: { status: 401, message: 'The sluice-client header is not a session credential this scheduler issued' },
  SLUICE_ERR_SESSION_ENDED: { status: 401, message: 'The client session has ended; start a new one with POST /clients' },
  SLUICE_ERR_FORBIDDEN: { status: 403, message: 'The token does not allow this' },
  SLUICE_ERR_SESSION_FOREIGN: { status: 403, message: 'The client session was started with another token' },
  SLUICE_ERR_NOT_FOUND: { status: 404, message: 'No such route' },
  SLUICE_ERR_UNKNOWN_KEY: { status: 404, message: 'Unknown key' },
  SLUICE_ERR_FORGOTTEN: { status: 404, message: 'The key was forgotten' },
  SLUICE_ERR_UNKNOWN_CHANNEL: { status: 404, message: 'Unknown channel' },
  SLUICE_ERR_UNKNOWN_QUEUE: { status: 404, message: 'Unknown queue' },
  SLUICE_ERR_VARIABLE_UNSET: { status: 404, message: 'The variable is not set' },
  SLUICE_ERR_TIMEOUT: { status: 408, message: 'Timed out waiting' },
  SLUICE_ERR_KEY_CONFLICT: { status: 409, message: 'The key already names another task' },
  SLUICE_ERR_CHANNEL_STOPPED: { status: 409, message: 'The channel is stopped' },
  SLUICE_ERR_LEASE_EXPIRED: { status: 409, message: 'The lease is not held: it expired or was released' },
  SLUICE_ERR_STALE_TOKEN: { status: 409, message: 'The fencing token does not belong to a lease that is held' },
  SLUICE_ERR_MAX_LEASES_CONFLICT: { status: 409, message: 'The semaphore exists with another maxLeases' },
  SLUICE_ERR_TOO_LARGE: { status: 413, message: 'The request is too large' },
  SLUICE_ERR_URI_TOO_LONG: { status: 414, message: 'The URL is too long' },
  SLUICE_ERR_TASK_FAILED: { status: 422, message: 'A task did not finish' },
  SLUICE_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests' },
  SLUICE_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  SLUICE_ERR_INTERNAL: { status: 500, message: 'Internal error' },
  SLUICE_ERR_SHUTTING_DOWN: { status: 503, message: 'The scheduler is shutting down' },
  SLUICE_ERR_OVERLOADED: { status: 503, message: 'The scheduler is overloaded' },
  SLUICE_ERR_STANDBY: { status: 503, message: 'This scheduler stands by: another one leads' },
  SLUICE_ERR_STORAGE: { status: 507, message: 'The store cannot take writes now (disk full or failing); nothing was stored' },
  /** Client side only: the scheduler could not be reached. */
  SLUICE_ERR_UNREACHABLE: { status: 0, message: 'The scheduler could not be reached' },
  /** Client side only: the client was closed. */
  SLUICE_ERR_CLOSED: { status: 0, message: 'The client is closed' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** What an error is made of, before a side (server or client) makes its error class from it. */
export interface ErrorSpec {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: unknown;
}

const spec = (code: ErrorCode, message: string, details?: unknown): ErrorSpec => (details === undefined ? { code, message } : { code, message, details });
const article = (scope: string): string => (scope === 'admin' ? 'an' : 'a');
const unknownKeyMessage = (key: string): string => `unknown key: ${key}`;
const forgottenKeyMessage = (key: string): string => `key ${key} was forgotten: nothing held it and its retention period ended`;
const causeOf = (cause: Error): unknown => (cause as { code?: string }).code ?? cause.message;

/** The status a framework or plugin answered, as the code the catalog gives it. */
const BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: 'SLUICE_ERR_VALIDATION',
  401: 'SLUICE_ERR_UNAUTHORIZED',
  403: 'SLUICE_ERR_FORBIDDEN',
  404: 'SLUICE_ERR_NOT_FOUND',
  408: 'SLUICE_ERR_TIMEOUT',
  413: 'SLUICE_ERR_TOO_LARGE',
  414: 'SLUICE_ERR_URI_TOO_LONG',
  429: 'SLUICE_ERR_RATE_LIMITED',
  431: 'SLUICE_ERR_HEADERS_TOO_LARGE',
  503: 'SLUICE_ERR_SHUTTING_DOWN',
};

/**
 * Every error sluice builds, one factory each: its code (so its status) and
 * its message, from typed parameters. The server and the client each bind
 * these to their own SluiceError class (server/errors.ts, client/errors.ts);
 * nothing else constructs one.
 */
export const ERROR_CATALOG = {
  // ── the request itself ──────────────────────────────────────────────────
  /** Validation failures, as describeValidation words them (each failing field named). */
  invalidRequest: (message: string, issues: unknown) => spec('SLUICE_ERR_VALIDATION', message, { issues }),
  notJsonBody: (contentType: string | undefined) => spec('SLUICE_ERR_VALIDATION', `bodies are JSON: send content-type application/json (got ${contentType})`),
  invalidJson: (reason: string) => spec('SLUICE_ERR_VALIDATION', `the body is not valid JSON: ${reason}`),
  /** A client error Fastify or a plugin raised: its status's code (a validation error for a status the catalog has no code for). */
  framework: (status: number, message: string) => spec(BY_STATUS[status] ?? 'SLUICE_ERR_VALIDATION', message),
  bodyTooLarge: (limit: number | undefined) => spec('SLUICE_ERR_TOO_LARGE', `the body is over the limit of ${limit} bytes`, { limit }),
  tooLarge: (what: string, limit: number) => spec('SLUICE_ERR_TOO_LARGE', `${what} is over the limit of ${limit}`, { limit }),
  gatherTooLarge: (count: number, limit: number) => spec('SLUICE_ERR_TOO_LARGE', `a gather of ${count} keys is over the limit of ${limit}`),
  tooDeep: (field: string, limit: number) =>
    spec('SLUICE_ERR_VALIDATION', `${field}: nests more than ${limit} levels deep; values may nest at most ${limit} levels deep (--max-depth)`, { field, limit }),
  badPath: (path: string) => spec('SLUICE_ERR_VALIDATION', `the path is not a valid URL (a bad percent-encoding?): ${path}`),
  pathSegmentTooLong: (path: string, limit: number) =>
    spec('SLUICE_ERR_URI_TOO_LONG', `a path segment is over ${limit} characters (keys are at most 256): ${path}`, { limit }),
  noRoute: (method: string, path: string) => spec('SLUICE_ERR_NOT_FOUND', `no route ${method} ${path}`),
  requestNotReceived: (requestTimeoutMs: number, headersTimeoutMs: number) =>
    spec('SLUICE_ERR_TIMEOUT', `the request was not received within ${requestTimeoutMs} ms (its headers within ${headersTimeoutMs} ms): send it whole, promptly`, {
      requestTimeoutMs,
      headersTimeoutMs,
    }),
  headersTooLarge: (limit: number) => spec('SLUICE_ERR_HEADERS_TOO_LARGE', `the request line and headers are over ${limit} bytes`, { limit }),
  chunkExtensionsTooLarge: () => spec('SLUICE_ERR_TOO_LARGE', 'the chunk extensions are too large'),
  invalidHttp: (reason: string) => spec('SLUICE_ERR_VALIDATION', `the request is not valid HTTP (${reason})`),
  badLastEventId: (value: string) => spec('SLUICE_ERR_VALIDATION', `header last-event-id: expected a sequence number, got ${JSON.stringify(value)}`),
  internal: () => spec('SLUICE_ERR_INTERNAL', ERRORS.SLUICE_ERR_INTERNAL.message),

  // ── authentication and sessions ────────────────────────────────────────
  tokenNeeded: (need: string) => spec('SLUICE_ERR_UNAUTHORIZED', `this needs ${article(need)} ${need} token: send Authorization: Bearer <token>`),
  unknownToken: () => spec('SLUICE_ERR_UNAUTHORIZED', 'that token is not one of this scheduler’s'),
  noCredentials: () => spec('SLUICE_ERR_UNAUTHORIZED', 'no token and no session: send Authorization: Bearer <token>, or POST /auth/session'),
  scopeTooLow: (scope: string, need: string) =>
    spec('SLUICE_ERR_FORBIDDEN', `${article(scope)} ${scope} token does not allow this; it needs ${article(need)} ${need} token`),
  /** A session cookie refused, for the reason the auth plugin found. */
  cookieRefused: (reason: string) => spec('SLUICE_ERR_FORBIDDEN', reason),
  insecureForeignHost: (host: string | undefined) =>
    spec(
      'SLUICE_ERR_FORBIDDEN',
      `running --insecure (no authentication), the scheduler takes only requests addressed to a loopback name (localhost, 127.0.0.1, [::1], or --host); this one names ${JSON.stringify(host?.slice(0, 200))} in its Host header, as a page of another site whose name was made to resolve here would`,
    ),
  insecureForeignOrigin: (own: string, foreign: string) =>
    spec(
      'SLUICE_ERR_FORBIDDEN',
      `running --insecure (no authentication), the scheduler takes requests from its own pages (${own}) and origins in --cors-origins only, not from other pages a browser has open: ${foreign}. Give tokens to serve other origins`,
    ),
  authFailuresLimited: (perMinute: number, seconds: number, retryAfterMs: number) =>
    spec(
      'SLUICE_ERR_RATE_LIMITED',
      `more than ${perMinute} failed authentications a minute from this address: credentials from it are not checked for ${seconds} s, except ones that already worked from it`,
      { limit: perMinute, retryAfterMs },
    ),
  clientRequired: () =>
    spec('SLUICE_ERR_CLIENT_REQUIRED', `this call needs a client session: start one with POST /clients and send its credential in the ${CLIENT_HEADER} header`),
  sessionStreamNeedsCredential: (id: string) =>
    spec('SLUICE_ERR_CLIENT_REQUIRED', `this is client session ${id}'s stream: send its credential in the ${CLIENT_HEADER} header`),
  sessionStreamForeign: (id: string) => spec('SLUICE_ERR_FORBIDDEN', `this is client session ${id}'s stream; only that session reads it`),
  sessionEndForbidden: (id: string) =>
    spec('SLUICE_ERR_FORBIDDEN', `only the session itself (its credential in the ${CLIENT_HEADER} header) or an admin token may end client session ${id}`),
  cancelForbidden: (key: string) => spec('SLUICE_ERR_FORBIDDEN', `task ${key} is not held by this client session: cancelling it needs an admin token`),
  severalSessionCredentials: () => spec('SLUICE_ERR_SESSION_INVALID', `header ${CLIENT_HEADER}: one session credential, not several`),
  sessionIdAlone: () =>
    spec(
      'SLUICE_ERR_SESSION_INVALID',
      `header ${CLIENT_HEADER}: a session id alone does not act as the session; send the credential POST /clients answered ("session": "<id>.<signature>")`,
    ),
  notSessionCredential: () => spec('SLUICE_ERR_SESSION_INVALID', `header ${CLIENT_HEADER}: not a session credential; POST /clients answers one ("session": "<id>.<signature>")`),
  sessionNotIssued: () =>
    spec('SLUICE_ERR_SESSION_INVALID', `header ${CLIENT_HEADER}: a session credential not issued by this scheduler (its signature does not match); POST /clients starts a session`),
  sessionEnded: (id: string) =>
    spec(
      'SLUICE_ERR_SESSION_ENDED',
      `client session ${id} has ended (DELETE /clients/${id}, or no stream and no request for longer than its lease); start a new one with POST /clients`,
      { clientId: id },
    ),
  sessionForeign: (id: string) =>
    spec('SLUICE_ERR_SESSION_FOREIGN', `client session ${id} was started with another token; a session acts only with the token that started it`, { clientId: id }),
  tooManySessions: (count: number, limit: number) =>
    spec(
      'SLUICE_ERR_RATE_LIMITED',
      `too many client sessions: ${count} are open for this token, the limit is ${limit}; end sessions with DELETE /clients/:id (Client.close() does)`,
      { limit },
    ),

  // ── load and limits ────────────────────────────────────────────────────
  rateLimited: (max: number, after: string, retryAfterMs: number) =>
    spec('SLUICE_ERR_RATE_LIMITED', `more than ${max} requests a minute from this caller; retry in ${after}`, { limit: max, retryAfterMs }),
  underPressure: (why: string, pressure: string) => spec('SLUICE_ERR_OVERLOADED', `the scheduler is overloaded: ${why}; retry shortly`, { pressure }),
  tooManyStreams: (open: number, limit: number) =>
    spec('SLUICE_ERR_OVERLOADED', `${open} SSE streams are open, the most this scheduler serves (--max-sse); retry shortly`, { limit }),
  /** Too many streams for one caller: `what` says how many are open for whom. */
  streamsLimited: (what: string, limit: number) => spec('SLUICE_ERR_RATE_LIMITED', `too many open streams: ${what}`, { limit }),
  tooManyWaiting: (waiting: number, limit: number) =>
    spec(
      'SLUICE_ERR_OVERLOADED',
      `${waiting} callers are waiting, and the scheduler lets at most --max-waiting-calls (${limit}) wait at once: retry later`,
      { waiting, limit },
    ),
  tooManyPending: (pending: number, limit: number) =>
    spec('SLUICE_ERR_OVERLOADED', `the scheduler holds ${pending} pending tasks and takes at most ${limit}: retry later`, { pending, limit }),
  batchNeverFits: (bytes: number, limit: number) =>
    spec(
      'SLUICE_ERR_TOO_LARGE',
      `a batch of ${bytes} characters of keys and arguments can never fit in what pending tasks may hold, --max-pending-bytes (${limit})`,
      { bytes, limit },
    ),
  pendingBytesFull: (pendingBytes: number, bytes: number, limit: number) =>
    spec(
      'SLUICE_ERR_OVERLOADED',
      `pending tasks hold ${pendingBytes} characters of keys and arguments, and this batch's ${bytes} more would pass --max-pending-bytes (${limit}): retry once some have ended`,
      { pendingBytes, bytes, limit },
    ),
  shuttingDown: () => spec('SLUICE_ERR_SHUTTING_DOWN', 'the scheduler is shutting down; retry against its next run'),
  /** Several schedulers on one store: this one does not lead. `leader`: the leader's URL, null while none is known. */
  standby: (leader: string | null) =>
    spec(
      'SLUICE_ERR_STANDBY',
      leader
        ? `this scheduler stands by: the one at ${leader} leads; send requests there`
        : 'this scheduler stands by, and no scheduler leads now (one is taking over): retry shortly',
      { leader },
    ),
  timedOut: (what: string, seconds: number) => spec('SLUICE_ERR_TIMEOUT', `timed out after ${seconds} s waiting for ${what}`),
  callerGone: () => spec('SLUICE_ERR_TIMEOUT', 'the caller closed its connection while waiting'),

  // ── the store ──────────────────────────────────────────────────────────
  /** A commit (or a write in it) failed: nothing of the writes it carried was stored. */
  storageFailed: (cause: Error) =>
    spec(
      'SLUICE_ERR_STORAGE',
      `the store could not commit (${cause.message}); nothing of this request was stored. Writes are refused until the store takes them again, which the scheduler checks every second; reads go on`,
      { cause: causeOf(cause) },
    ),
  /** Writes are refused while the store cannot take them. */
  storageRefusing: (cause: Error | undefined) =>
    spec(
      'SLUICE_ERR_STORAGE',
      `the store cannot take writes now${cause ? ` (${cause.message})` : ''}; nothing was stored. Writes resume by themselves once it can, which the scheduler checks every second; reads go on`,
      cause ? { cause: causeOf(cause) } : undefined,
    ),

  // ── tasks and data ─────────────────────────────────────────────────────
  unknownKey: (key: string) => spec('SLUICE_ERR_UNKNOWN_KEY', unknownKeyMessage(key), { key }),
  forgottenKey: (key: string) => spec('SLUICE_ERR_FORGOTTEN', forgottenKeyMessage(key), { key }),
  /** A dependency that is not known (or was forgotten), named with the task that needs it. */
  missingDependency: (key: string, dependent: string, forgotten: boolean) =>
    forgotten
      ? spec('SLUICE_ERR_FORGOTTEN', `${forgottenKeyMessage(key)} (a dependency of ${dependent})`, { key, dependent })
      : spec('SLUICE_ERR_UNKNOWN_KEY', `${unknownKeyMessage(key)} (a dependency of ${dependent})`, { key, dependent }),
  keyConflict: (key: string, what: string) => spec('SLUICE_ERR_KEY_CONFLICT', `key ${key} already names ${what}`, { key }),
  selfDependency: (key: string) => spec('SLUICE_ERR_VALIDATION', `task ${key} depends on itself`, { key }),
  dependencyCycle: (cycle: readonly string[]) => spec('SLUICE_ERR_VALIDATION', `dependency cycle: ${cycle.join(' → ')}`, { cycle }),
  scatterKeysMismatch: (keys: number, values: number) => spec('SLUICE_ERR_VALIDATION', `body.keys: ${keys} keys given for ${values} values`),
  resultsTooLarge: (count: number, limit: number) =>
    spec('SLUICE_ERR_TOO_LARGE', `the results of these ${count} keys are over the largest reply, --max-reply-bytes (${limit} characters): gather fewer at a time`, { limit }),
  outcomesTooLarge: (count: number, limit: number) =>
    spec(
      'SLUICE_ERR_TOO_LARGE',
      `the outcomes of these ${count} keys are over the largest reply, --max-reply-bytes (${limit} characters): ask for fewer keys, or a smaller resultChars`,
      { limit },
    ),
  /** A gathered task that did not finish; the details are its outcome. */
  taskFailed: (outcome: { key: string; status: string; error?: { name: string; message: string } | null }) =>
    spec(
      'SLUICE_ERR_TASK_FAILED',
      `task ${outcome.key} ended with status ${outcome.status}: ${outcome.error ? `${outcome.error.name}: ${outcome.error.message}` : outcome.status}`,
      outcome,
    ),

  // ── channels ───────────────────────────────────────────────────────────
  unknownChannel: (name: string) =>
    spec('SLUICE_ERR_UNKNOWN_CHANNEL', `unknown channel: ${name} (appending to it, or PUT /channels/${name}, creates it)`, { channel: name }),
  channelStopped: (name: string) => spec('SLUICE_ERR_CHANNEL_STOPPED', `channel ${name} is stopped: it takes no more appends`, { channel: name }),
  maxlenDropsEntries: (name: string, length: number, maxlen: number) =>
    spec(
      'SLUICE_ERR_FORBIDDEN',
      `channel ${name} holds ${length} entries: a maxlen of ${maxlen} would drop ${length - maxlen} of them, which needs an admin token (or a maxlen of at least ${length})`,
      { channel: name, length, maxlen },
    ),
  tooManyChannels: (count: number, limit: number) =>
    spec(
      'SLUICE_ERR_OVERLOADED',
      `${count} channels exist, the most the scheduler keeps, --max-channels (${limit}): append to an existing channel, or delete one (admin)`,
      { limit },
    ),
  consumerPastEnd: (seq: number, channel: string, lastSeq: number) =>
    spec(
      'SLUICE_ERR_VALIDATION',
      `body.seq: ${seq} is past the last entry of channel ${channel} (${lastSeq}); a consumer cannot have finished with an entry that does not exist`,
      { channel, lastSeq },
    ),

  // ── queues ─────────────────────────────────────────────────────────────
  unknownQueue: (name: string) => spec('SLUICE_ERR_UNKNOWN_QUEUE', `unknown queue: ${name} (putting to it, or PUT /queues/${name}, creates it)`, { queue: name }),
  tooManyQueues: (count: number, limit: number) =>
    spec(
      'SLUICE_ERR_OVERLOADED',
      `${count} queues exist, the most the scheduler keeps, --max-queues (${limit}): put to an existing queue, or delete one (admin)`,
      { limit },
    ),
  queueItemsFull: (items: number, count: number, limit: number) =>
    spec('SLUICE_ERR_OVERLOADED', `the queues hold ${items} items, and ${count} more would pass --max-queue-items (${limit}): retry once some are taken`, { items, limit }),
  putNeverWaits: (bytes: number, limit: number) =>
    spec('SLUICE_ERR_TOO_LARGE', `a put of ${bytes} characters cannot wait for room: puts waiting hold at most --max-waiting-put-bytes (${limit})`, { limit }),
  waitingPutsFull: (waitingPutBytes: number, bytes: number, limit: number) =>
    spec(
      'SLUICE_ERR_OVERLOADED',
      `puts waiting for room hold ${waitingPutBytes} characters, and this one's ${bytes} more would pass --max-waiting-put-bytes (${limit}): retry later`,
      { waitingPutBytes, limit },
    ),
  putNeverFits: (count: number, queue: string, maxsize: number | null) =>
    spec('SLUICE_ERR_TOO_LARGE', `a put of ${count} items can never fit queue ${queue}, whose maxsize is ${maxsize}`, { limit: maxsize }),
  queueLeaseNotHeld: (queue: string, leaseId: string) =>
    spec(
      'SLUICE_ERR_LEASE_EXPIRED',
      `lease ${leaseId} on queue ${queue} is not held: it lapsed (not renewed within its ttl), was released or fully acknowledged, or its client session ended; its items not acknowledged are back in the queue`,
      { queue, leaseId },
    ),
  idsNotUnderLease: (ids: readonly number[], leaseId: string) =>
    spec(
      'SLUICE_ERR_VALIDATION',
      `body.ids: ${ids.join(', ')} ${ids.length === 1 ? 'is' : 'are'} not under lease ${leaseId} (never were, or already acknowledged or given back)`,
      { ids },
    ),

  // ── variables and topics ───────────────────────────────────────────────
  variableUnset: (name: string) => spec('SLUICE_ERR_VARIABLE_UNSET', `variable ${name} is not set (GET with ?timeout= waits until it is)`, { variable: name }),
  messageTooLarge: (chars: number, limit: number) =>
    spec('SLUICE_ERR_TOO_LARGE', `a message of ${chars} characters of JSON is over the largest a publish may carry, --max-message-bytes (${limit})`, { limit }),
  tooManyTopics: (count: number, limit: number) =>
    spec(
      'SLUICE_ERR_OVERLOADED',
      `the scheduler keeps ${count} topics in memory, each with a subscriber, and takes no more than --max-topics (${limit}): retry once one is idle`,
      { limit },
    ),

  // ── locks and semaphores ───────────────────────────────────────────────
  maxLeasesConflict: (name: string, maxLeases: number, asked: number) =>
    spec('SLUICE_ERR_MAX_LEASES_CONFLICT', `semaphore ${name} has maxLeases ${maxLeases}, not ${asked} (PUT /semaphores/${name} changes it)`, { semaphore: name, maxLeases }),
  leaseIdElsewhere: (leaseId: string, kind: string) => spec('SLUICE_ERR_VALIDATION', `body.leaseId: lease ${leaseId} is held on another ${kind}`),
  staleToken: (kind: 'lock' | 'semaphore', name: string, token: number, held: readonly number[]) =>
    spec(
      'SLUICE_ERR_STALE_TOKEN',
      `fencing token ${token} of ${kind} ${name} is not held (its lease expired or was released); ` + (held.length > 0 ? `held now: ${held.join(', ')}` : 'nobody holds it now'),
      { [kind]: name, token, held },
    ),
  tooManyLeases: (count: number, limit: number) =>
    spec(
      'SLUICE_ERR_OVERLOADED',
      `${count} leases are held, the most the scheduler grants at once, --max-leases (${limit}): retry once some are released`,
      { limit },
    ),
  leaseNotHeld: (kind: 'lock' | 'semaphore', name: string, leaseId: string) =>
    spec(
      'SLUICE_ERR_LEASE_EXPIRED',
      `lease ${leaseId} on ${kind} ${name} is not held: it expired (it was not renewed within its ttl) or was released`,
      { [kind]: name, leaseId },
    ),

  // ── the client's own (client-error-catalog.ts, kept apart for the browser bundle) ──
  ...CLIENT_ERROR_CATALOG,
} satisfies Record<string, (...args: never[]) => ErrorSpec>;

export type ErrorCatalog = typeof ERROR_CATALOG;

/** The catalog's factories, each making a side's own error class. */
export type ErrorFactories<E> = BoundFactories<ErrorCatalog, E>;

/** Bind every factory of the catalog to `make`, which builds a side's error from a spec. */
export function errorFactories<E>(make: (spec: ErrorSpec) => E): ErrorFactories<E> {
  return bindFactories(ERROR_CATALOG, make);
}
