import type { FastifyDynamicSwaggerOptions, SwaggerTransformObject } from '@fastify/swagger';
import { jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import stringify from 'safe-stable-stringify';
import { VERSION } from '../../version.ts';

const SCHEMAS = '#/components/schemas/';

/** The document's own parts: what it is, where it is served, its areas and how callers authenticate. */
export const OPENAPI: FastifyDynamicSwaggerOptions['openapi'] = {
  openapi: '3.1.0',
  info: {
    title: 'sluice',
    version: VERSION,
    description:
      'Tasks, futures and durable channels over HTTP. Every error is `{ "error": { "code": "SLUICE_ERR_…", "message", "details"? } }` (the Error schema); each reply lists the codes it may carry.',
    license: { name: 'MIT', identifier: 'MIT' },
  },
  servers: [{ url: '/', description: 'The scheduler that serves this document' }],
  tags: [
    { name: 'tasks', description: 'Submit tasks; see how they progress, by function.' },
    { name: 'futures', description: 'A task’s future: its status, result or error; gather, scatter, cancel, hold and release.' },
    { name: 'clients', description: 'Client sessions: they hold futures and hear about them on one SSE stream.' },
    { name: 'channels', description: 'Named, ordered, durable streams of futures, and their consumers’ positions.' },
    { name: 'queues', description: 'Durable FIFO queues of JSON items and futures, with leases for items that must be acknowledged.' },
    { name: 'variables', description: 'Durable named values, set with or without a fencing token.' },
    { name: 'topics', description: 'Pub/sub: messages to the subscribers connected now (not persisted).' },
    { name: 'flags', description: 'Events, as Dask calls them: durable flags that callers set, clear and wait for.' },
    { name: 'leases', description: 'Locks and semaphores: leases with fencing tokens, renewed or lapsing.' },
    { name: 'workers', description: 'The workers connected, and reports from their supervisors.' },
    { name: 'auth', description: 'Browser sessions: a token traded for a cookie that EventSource sends by itself.' },
    { name: 'dashboard', description: 'The dashboard page and its firehose of events.' },
    { name: 'health', description: 'Liveness and Prometheus metrics.' },
  ],
  components: {
    securitySchemes: {
      bearerToken: {
        type: 'http',
        scheme: 'bearer',
        description:
          'A token given to the scheduler with --client-token, --worker-token or --admin-token (SLUICE_CLIENT_TOKEN, ...). Scopes nest: an admin token may do what a worker token may, and a worker token what a client token may. Each operation names the scope it needs. A scheduler run --insecure (loopback only) asks for no token.',
      },
      sessionCookie: {
        type: 'apiKey',
        in: 'cookie',
        name: 'sluice_session',
        description: 'A browser session (POST /auth/session trades a token for it), with that token’s scope; taken only from the scheduler’s own origin and --cors-origins.',
      },
      accessToken: {
        type: 'apiKey',
        in: 'query',
        name: 'access_token',
        description: 'The token in the query, for an EventSource that cannot send headers and has no session cookie; a last resort, as URLs end up in logs.',
      },
    },
  },
};

/**
 * The finished document (@fastify/swagger's `transformObject`): the named
 * schemas fastify-type-provider-zod adds, less those no operation uses, and
 * with a schema used in requests named as it is in replies. The library names
 * a registered schema `<name>Input` where a request uses it (its input type
 * may differ: defaults make fields optional); that becomes `<name>` where
 * nothing else takes the name, or where it is the same schema.
 */
export const finishDocument: SwaggerTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input) as { paths?: unknown; components: { schemas: Record<string, unknown> } };
  const schemas = document.components.schemas;
  const used = referenced(document.paths, schemas);
  const renames = new Map<string, string>();
  for (const name of used) {
    const base = name.endsWith('Input') ? name.slice(0, -'Input'.length) : undefined;
    if (base !== undefined && !used.has(base)) renames.set(name, base);
  }
  // Inputs the same as their outputs, once the inputs inside them are too: take the greatest such set.
  const same = new Set([...used].filter((name) => name.endsWith('Input') && used.has(name.slice(0, -'Input'.length))));
  for (let changed = true; changed; ) {
    changed = false;
    const mapping = new Map([...renames, ...[...same].map((name) => [name, name.slice(0, -'Input'.length)] as const)]);
    for (const name of same) {
      if (stringify(renamed(schemas[name], mapping)) !== stringify(schemas[name.slice(0, -'Input'.length)])) {
        same.delete(name);
        changed = true;
      }
    }
  }
  for (const name of same) renames.set(name, name.slice(0, -'Input'.length));
  const kept: Record<string, unknown> = {};
  for (const name of [...used].sort()) {
    if (same.has(name)) continue;
    kept[renames.get(name) ?? name] = renamed(schemas[name], renames);
  }
  return { ...document, paths: renamed(document.paths, renames), components: { ...document.components, schemas: kept } } as ReturnType<SwaggerTransformObject>;
};

/** The component schemas the paths use, directly or through other components. */
function referenced(paths: unknown, schemas: Record<string, unknown>): Set<string> {
  const used = new Set<string>();
  const pending = refsIn(paths);
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (used.has(name) || !(name in schemas)) continue;
    used.add(name);
    pending.push(...refsIn(schemas[name]));
  }
  return used;
}

function refsIn(value: unknown): string[] {
  const found: string[] = [];
  JSON.stringify(value, (key, v: unknown) => {
    if (key === '$ref' && typeof v === 'string' && v.startsWith(SCHEMAS)) found.push(v.slice(SCHEMAS.length));
    return v;
  });
  return found;
}

/** A copy of value with its references to schemas renamed. */
function renamed<T>(value: T, renames: ReadonlyMap<string, string>): T {
  if (value === undefined) return value;
  return JSON.parse(JSON.stringify(value), (key, v: unknown) => {
    if (key === '$ref' && typeof v === 'string' && v.startsWith(SCHEMAS)) return SCHEMAS + (renames.get(v.slice(SCHEMAS.length)) ?? v.slice(SCHEMAS.length));
    return v;
  }) as T;
}
