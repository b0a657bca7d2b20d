/**
 * The scheduler's HTTP routes: each one's operation id, method and path, by
 * area (its OpenAPI tag). Without zod, so that the client carries it into
 * browsers; the schemas of each route's params, query, body and reply are in
 * http-api.ts, under the same operation ids, and the two are one table
 * (HTTP_API). The scheduler registers exactly these routes (a route outside
 * the table does not start), and the client builds its requests from them.
 */

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One route: `operationId` is its name in the OpenAPI document and in this table. */
export interface Route<Id extends string = string, M extends Method = Method, P extends string = string> {
  readonly operationId: Id;
  readonly method: M;
  readonly path: P;
  /** The area of the API it belongs to: its OpenAPI tag. */
  readonly tag: string;
}

type Line = `${Method} /${string}`;
type Areas = Record<string, Record<string, Line>>;
type IdsOf<A extends Areas> = { [T in keyof A]: keyof A[T] & string }[keyof A];
type LineOf<A extends Areas, Id extends string> = { [T in keyof A]: Id extends keyof A[T] ? A[T][Id] : never }[keyof A];
type RouteOf<Id extends string, L> = L extends `${infer M extends Method} ${infer P}` ? Route<Id, M, P> : never;
type Flat<A extends Areas> = { readonly [Id in IdsOf<A>]: RouteOf<Id, LineOf<A, Id>> };

function routeTable<const A extends Areas>(areas: A): Flat<A> {
  const table: Record<string, Route> = {};
  for (const [tag, lines] of Object.entries(areas)) {
    for (const [operationId, line] of Object.entries(lines)) {
      if (operationId in table) throw new Error(`operation id ${operationId} is used twice`);
      const [method, path] = line.split(' ') as [Method, string];
      table[operationId] = { operationId, method, path, tag };
    }
  }
  return table as Flat<A>;
}

export const ROUTES = routeTable({
  tasks: {
    submit: 'POST /tasks',
    taskProgress: 'GET /tasks/progress',
  },
  futures: {
    futureInfo: 'GET /futures/:key',
    futureResult: 'GET /futures/:key/result',
    cancel: 'POST /futures/:key/cancel',
    futureRelease: 'DELETE /futures/:key',
    hold: 'POST /futures/hold',
    outcomes: 'POST /futures/outcomes',
    release: 'POST /futures/release',
    fireAndForget: 'POST /futures/fire-and-forget',
    futureEvents: 'GET /futures/events',
    gather: 'POST /gather',
    scatter: 'POST /scatter',
  },
  clients: {
    clientStart: 'POST /clients',
    clientEvents: 'GET /clients/:id/events',
    clientClose: 'DELETE /clients/:id',
  },
  channels: {
    channelList: 'GET /channels',
    channelConfigure: 'PUT /channels/:name',
    channelAppend: 'POST /channels/:name/append',
    channelInfo: 'GET /channels/:name',
    channelEntries: 'GET /channels/:name/events',
    channelStop: 'POST /channels/:name/stop',
    channelDelete: 'DELETE /channels/:name',
    channelConsumers: 'GET /channels/:name/consumers',
    channelPosition: 'GET /channels/:name/consumers/:consumer',
    channelCommit: 'PUT /channels/:name/consumers/:consumer',
    channelConsumerDelete: 'DELETE /channels/:name/consumers/:consumer',
  },
  queues: {
    queueList: 'GET /queues',
    queueConfigure: 'PUT /queues/:name',
    queueInfo: 'GET /queues/:name',
    queuePut: 'POST /queues/:name/put',
    queueGet: 'POST /queues/:name/get',
    queueDelete: 'DELETE /queues/:name',
    queueLeaseAck: 'POST /queues/:name/ack',
    queueLeaseRelease: 'POST /queues/:name/release',
    queueLeaseRenew: 'POST /queues/:name/renew',
  },
  variables: {
    variableSet: 'PUT /variables/:name',
    variableGet: 'GET /variables/:name',
    variableDelete: 'DELETE /variables/:name',
  },
  topics: {
    topicPublish: 'POST /topics/:name/publish',
    topicInfo: 'GET /topics/:name',
    topicSubscribe: 'GET /topics/:name/events',
  },
  flags: {
    flagIsSet: 'GET /flags/:name',
    flagSet: 'POST /flags/:name/set',
    flagClear: 'POST /flags/:name/clear',
  },
  leases: {
    lockInfo: 'GET /locks/:name',
    lockAcquire: 'POST /locks/:name/acquire',
    lockRenew: 'POST /locks/:name/renew',
    lockRelease: 'POST /locks/:name/release',
    semaphoreConfigure: 'PUT /semaphores/:name',
    semaphoreInfo: 'GET /semaphores/:name',
    semaphoreAcquire: 'POST /semaphores/:name/acquire',
    semaphoreRenew: 'POST /semaphores/:name/renew',
    semaphoreRelease: 'POST /semaphores/:name/release',
  },
  workers: {
    workerList: 'GET /workers',
    workerExited: 'POST /workers/exited',
  },
  auth: {
    browserSessionStart: 'POST /auth/session',
    browserSessionEnd: 'DELETE /auth/session',
    whoami: 'GET /auth/whoami',
  },
  dashboard: {
    firehose: 'GET /events',
    dashboard: 'GET /dashboard',
  },
  health: {
    health: 'GET /health',
    metrics: 'GET /metrics',
  },
});

export type Routes = typeof ROUTES;
export type RouteId = keyof Routes;

/** The names of a path's parameters: 'name' | 'consumer' for /channels/:name/consumers/:consumer. */
export type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}` ? Name | PathParams<`/${Rest}`> : P extends `${string}:${infer Name}` ? Name : never;

/** A query parameter's value: sent as its decimal or JSON text; a list, comma-separated. */
export type QueryValue = string | number | boolean | readonly string[];

/**
 * The path and query of a request to a route: each :param replaced by its
 * value, URL-encoded; the query's defined values in their order.
 */
export function pathOf(route: Route, params?: Readonly<Record<string, string>>, query?: Readonly<Record<string, QueryValue | undefined>>): string {
  const parts = partsOf(route.path);
  let path = parts[0];
  for (let i = 1; i < parts.length; i += 2) {
    const value = params?.[parts[i]];
    if (value === undefined) throw new TypeError(`${route.method} ${route.path}: no value for :${parts[i]}`);
    path += encodeURIComponent(value) + parts[i + 1];
  }
  if (!query) return path;
  let separator = '?';
  for (const name in query) {
    const value = query[name];
    if (value === undefined) continue;
    path += `${separator}${name}=${typeof value === 'string' ? encodeURIComponent(value) : Array.isArray(value) ? encodeURIComponent(value.join(',')) : String(value)}`;
    separator = '&';
  }
  return path;
}

/** A path template cut at its parameters: literal, name, literal, name, ..., literal. */
const parts = new Map<string, readonly string[]>();

function partsOf(path: string): readonly string[] {
  let cut = parts.get(path);
  if (!cut) parts.set(path, (cut = path.split(/:(\w+)/)));
  return cut;
}
