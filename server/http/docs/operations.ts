import type { SwaggerTransform } from '@fastify/swagger';
import type { FastifySchema, RouteOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CLIENT_HEADER } from '../../../schemas/common.ts';
import { ERRORS, type ErrorCode } from '../../../schemas/errors.ts';
import { type RouteId, ROUTES } from '../../../schemas/routes.ts';
import type { Requirement } from '../auth.ts';
import { errorCodesOf } from './replies.ts';

declare module 'fastify' {
  interface FastifySchema {
    /** For the OpenAPI document: the events of an SSE route (see sseEvents), its 200 reply. */
    events?: z.ZodType;
    /**
     * For the OpenAPI document: the route acts for the client session whose
     * credential is in the sluice-client header when one is sent
     * ('optional'), or needs one ('required').
     */
    clientSession?: 'optional' | 'required';
  }
}

/** What each code means when a hook answers it for every route, beyond its catalog message. */
const HOOK_NOTES: Partial<Record<ErrorCode, string>> = {
  SLUICE_ERR_VALIDATION: 'the message names each failing field (`body.tasks[1].fn: …`), and `details.issues` lists them',
  SLUICE_ERR_UNAUTHORIZED: 'no token, or one this scheduler does not know (a scheduler run `--insecure` asks for none)',
  SLUICE_ERR_FORBIDDEN:
    'the token’s scope does not allow this route, a session cookie sent from another origin, or, on a scheduler run `--insecure`, a request from another site (another Host or Origin)',
  SLUICE_ERR_SESSION_INVALID: `the ${CLIENT_HEADER} header is not a session credential this scheduler issued`,
  SLUICE_ERR_SESSION_ENDED: `the session of the ${CLIENT_HEADER} header ended: start a new one`,
  SLUICE_ERR_SESSION_FOREIGN: `the session of the ${CLIENT_HEADER} header was started with another token`,
  SLUICE_ERR_CLIENT_REQUIRED: `without the ${CLIENT_HEADER} header`,
  SLUICE_ERR_TOO_LARGE: 'the body is over `--body-limit`',
  SLUICE_ERR_URI_TOO_LONG: 'a path segment is over 1024 characters',
  SLUICE_ERR_RATE_LIMITED: 'more requests a minute than `--rate-limit-per-minute` from this caller, or too many failed authentications from its address; `Retry-After` says when to try again',
  SLUICE_ERR_SHUTTING_DOWN: 'retry against its next run',
  SLUICE_ERR_STANDBY: 'several schedulers share the store and this one stands by: `details.leader` is the URL of the one that leads (null while one takes over); send the request there. The clients and workers given several URLs do so by themselves',
  SLUICE_ERR_OVERLOADED: 'its event loop lags, its heap is full, or a limit is reached (pending tasks, waiting calls, open streams, channels, queues...); retry shortly',
  SLUICE_ERR_STORAGE: 'the store cannot take writes (the disk is full or failing): nothing of this request was stored; reads go on, and writes resume by themselves once the store takes them again; retry after `Retry-After`',
};

const RETRY_AFTER = { type: 'integer', description: 'Seconds to wait before trying again.' };

/** Response headers the hooks send with a status. */
const HEADERS: Record<number, Record<string, object>> = {
  401: { 'WWW-Authenticate': { type: 'string', description: '`Bearer`, when the token is missing or unknown.' } },
  429: { 'Retry-After': RETRY_AFTER },
  503: { 'Retry-After': RETRY_AFTER },
  507: { 'Retry-After': RETRY_AFTER },
};

const BODY_METHODS = new Set(['POST', 'PUT', 'DELETE']);
/** Methods the scheduler plugin lets through while the store refuses writes. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** @fastify/sse answers a reader that does not accept text/event-stream itself, outside the error envelope. */
const NOT_ACCEPTABLE = {
  description: 'The Accept header does not allow text/event-stream (answered by @fastify/sse, not in the error envelope).',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
        required: ['statusCode', 'error', 'message'],
      },
    },
  },
};

/** The area of the API a route belongs to: its group in the route table, where every documented route is (plugins/route-table.ts). */
function tagOf(operationId: unknown): string {
  const route = typeof operationId === 'string' && Object.hasOwn(ROUTES, operationId) ? ROUTES[operationId as RouteId] : undefined;
  return route?.tag ?? 'other';
}

/** What the route needs, as the auth plugin reads it (plugins/auth.ts). */
function scopeOf(route: RouteOptions): Requirement {
  return route.config?.scope ?? (route.url.startsWith('/docs') ? 'public' : 'client');
}

/** The error codes the hooks may answer for this route, whatever it does itself, with what each means here. */
function hookErrors(route: RouteOptions, schema: FastifySchema, method: string): Map<ErrorCode, string | undefined> {
  const codes: ErrorCode[] = [];
  const takesBody = BODY_METHODS.has(method);
  const isPublic = scopeOf(route) === 'public';
  if (takesBody || schema.body || schema.querystring || schema.params || schema.headers) codes.push('SLUICE_ERR_VALIDATION');
  if (schema.clientSession === 'required') codes.push('SLUICE_ERR_CLIENT_REQUIRED');
  if (!isPublic) codes.push('SLUICE_ERR_UNAUTHORIZED');
  if (schema.clientSession) codes.push('SLUICE_ERR_SESSION_INVALID', 'SLUICE_ERR_SESSION_ENDED', 'SLUICE_ERR_SESSION_FOREIGN');
  codes.push('SLUICE_ERR_FORBIDDEN');
  if (takesBody) codes.push('SLUICE_ERR_TOO_LARGE');
  if (route.url.includes(':')) codes.push('SLUICE_ERR_URI_TOO_LONG');
  codes.push('SLUICE_ERR_RATE_LIMITED', 'SLUICE_ERR_SHUTTING_DOWN', 'SLUICE_ERR_OVERLOADED', 'SLUICE_ERR_STANDBY');
  // The scheduler plugin refuses every write while the store cannot take them (routes that write nothing say writes: false).
  if (!READ_METHODS.has(method) && route.config?.writes !== false) codes.push('SLUICE_ERR_STORAGE');
  const notes = new Map(codes.map((code) => [code, HOOK_NOTES[code]]));
  if (takesBody) notes.set('SLUICE_ERR_VALIDATION', `${HOOK_NOTES.SLUICE_ERR_VALIDATION}; also a body that is not JSON`);
  // A public route refuses no token: only a scheduler run --insecure refuses other sites.
  if (isPublic) notes.set('SLUICE_ERR_FORBIDDEN', 'on a scheduler run `--insecure`, a request from another site (another Host or Origin)');
  return notes;
}

/** One line per code: the route's own first, then those of the hooks, with what they mean here. */
function describeCodes(own: readonly ErrorCode[], hooks: ReadonlyMap<ErrorCode, string | undefined>): string {
  return [...new Set([...own, ...hooks.keys()])]
    .map((code) => {
      const note = hooks.get(code);
      return `- \`${code}\`: ${ERRORS[code].message}${note ? `: ${note}` : ''}.`;
    })
    .join('\n');
}

function describeSuccess(status: string, schema: unknown): string {
  const own = schema instanceof z.ZodType ? schema.description : undefined;
  if (own) return own;
  if (status === '201') return 'Created, and committed to the store.';
  if (status === '204') return 'Done; no content.';
  return 'The answer.';
}

/**
 * Fastify's route schemas, made into OpenAPI operations (@fastify/swagger's
 * `transform`): fastify-type-provider-zod turns the zod schemas into JSON
 * Schema (naming the registered ones, see components.ts), and this adds what
 * the route schemas do not say:
 *
 * - each reply's description; the error replies in the one envelope (Error),
 *   listing the codes the route answers (errorReplies) and those every route
 *   may get from the hooks: validation (400), authentication (401, 403),
 *   body and path limits (413, 414), rate limits (429), shutdown and load
 *   shedding (503), each where it applies to the route;
 * - an SSE route's events (schema.events), as its text/event-stream reply;
 * - the security requirement, from the scope the route needs (config.scope:
 *   the token scopes nest, admin > worker > client), and the sluice-client
 *   header of the routes that act for a client session;
 * - its tag, the area of the route table it is in (schemas/routes.ts).
 */
export const describeOperation: SwaggerTransform = (input) => {
  const { schema, route } = input;
  if (!schema || schema.hide) return jsonSchemaTransform(input);
  const method = [route.method].flat()[0];
  const { events, clientSession, response = {}, ...rest } = schema;
  const replies: Record<string, unknown> = {};
  const ownErrors = new Map<number, readonly ErrorCode[]>();
  for (const [status, reply] of Object.entries(response as Record<string, unknown>)) {
    const codes = errorCodesOf(reply);
    if (codes) ownErrors.set(Number(status), codes);
    else if (status === '204') replies[status] = reply;
    else replies[status] = { description: describeSuccess(status, reply), content: { [rest.produces?.[0] ?? 'application/json']: { schema: reply } } };
  }
  if (events) replies[200] = { description: events.description, content: { 'text/event-stream': { schema: events } } };

  const transformed = jsonSchemaTransform({ ...input, schema: { ...rest, response: replies } });
  const out = transformed.schema as FastifySchema & { response: Record<string, unknown>; headers?: unknown };

  const hooks = hookErrors(route, schema, method);
  const statuses = new Set([...ownErrors.keys(), ...[...hooks.keys()].map((code) => ERRORS[code].status)]);
  for (const status of [...statuses].sort((a, b) => a - b)) {
    if (out.response[status] !== undefined) continue; // a reply of its own (GET /health's 503)
    const own = ownErrors.get(status) ?? [];
    const others = new Map([...hooks].filter(([code]) => ERRORS[code].status === status));
    out.response[status] = {
      description: describeCodes(own, others),
      ...(HEADERS[status] ? { headers: HEADERS[status] } : {}),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  if (route.sse) out.response[406] = NOT_ACCEPTABLE;

  const scope = scopeOf(route);
  const schemes = ['bearerToken', 'sessionCookie', ...(route.sse ? ['accessToken'] : [])];
  out.security ??= scope === 'public' ? [] : schemes.map((scheme) => ({ [scheme]: [scope] }));
  out.tags ??= [tagOf(schema.operationId)];
  if (clientSession) {
    out.headers = {
      type: 'object',
      properties: {
        [CLIENT_HEADER]: {
          type: 'string',
          description: 'A client session’s credential (POST /clients): the call acts for that session, which holds what it gets. Sent with the token that started the session.',
        },
      },
      ...(clientSession === 'required' ? { required: [CLIENT_HEADER] } : {}),
    };
  }
  return transformed;
};
