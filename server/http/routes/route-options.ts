import type { FastifyContextConfig, FastifySchema } from 'fastify';
import type { z } from 'zod';
import type { ErrorCode } from '../../../schemas/errors.ts';
import type { HttpRoute } from '../../../schemas/http-api.ts';
import { errorReplies } from '../docs/replies.ts';
import { sseEvents, type SseEventDoc } from '../docs/sse.ts';

type EventsOf<R> = R extends { events: infer E } ? E : never;

/** What a route file says of its route beyond the table's contract: its docs, its own error codes, who may call it. */
export type RouteDocs<R extends HttpRoute> = CommonDocs &
  ([EventsOf<R>] extends [never]
    ? { stream?: never }
    : {
        /** An SSE route: what its stream carries, and, for each event, its id and when it comes. */
        stream: { description: string; events?: { readonly [E in keyof EventsOf<R>]?: Omit<SseEventDoc, 'data'> } };
      });

interface CommonDocs {
  summary: string;
  description?: string;
  /** The error codes the route itself answers (those of the hooks are added by the OpenAPI document). */
  errors?: readonly ErrorCode[];
  /** The route acts for the client session whose credential is in the sluice-client header when one is sent, or needs one. */
  clientSession?: 'optional' | 'required';
  /** The route's config: the scope it needs (plugins/auth.ts), whether its reply waits for the commit (plugins/durable-replies.ts). */
  config?: FastifyContextConfig;
  /** The OpenAPI security requirement, where the scope does not say it. */
  security?: FastifySchema['security'];
  /** The content type of a reply that is not JSON. */
  produces?: readonly string[];
  /** Replies besides the success and the errors (GET /health's 503 while shutting down). */
  replies?: Readonly<Record<number, z.ZodType>>;
}

type Field<R, K extends string> = R extends { [F in K]: infer S } ? S : undefined;
type Status<R> = R extends { status: infer S extends number } ? S : 200;
/** The success reply, by status, which types what the handler returns; the error replies (errorReplies) are in the envelope, thrown rather than returned. */
type Response<R, D> = (R extends { reply: infer S } ? { [C in Status<R>]: S } : Record<never, never>) & (D extends { replies: infer O } ? O : unknown);

/** A route of the table as Fastify registers it; the handler is the route file's. */
export interface TableRouteOptions<R extends HttpRoute, D extends RouteDocs<R> = RouteDocs<R>> {
  method: R['method'];
  url: R['path'];
  config?: FastifyContextConfig;
  sse?: 'only';
  schema: FastifySchema & {
    operationId: R['operationId'];
    params: Field<R, 'params'>;
    querystring: Field<R, 'query'>;
    body: Field<R, 'body'>;
    response: Response<R, D>;
  };
}

/**
 * The options of a route of the table (schemas/http-api.ts): its method,
 * path, operation id and the schemas of its params, query, body and reply
 * come from there; the route file adds its docs and its handler:
 * `app.route({ ...routeOptions(HTTP_API.futureInfo, { summary, errors }), handler })`.
 */
export function routeOptions<R extends HttpRoute, const D extends RouteDocs<R>>(route: R, docs: D): TableRouteOptions<R, D> {
  const { summary, description, errors = [], clientSession, config, security, produces, replies, stream } = docs;
  const contract = route as HttpRoute & { params?: z.ZodType; query?: z.ZodType; body?: z.ZodType; status?: number; reply?: z.ZodType; events?: Record<string, z.ZodType> };
  const schema: Record<string, unknown> = { summary, operationId: route.operationId };
  if (description !== undefined) schema.description = description;
  if (clientSession !== undefined) schema.clientSession = clientSession;
  if (security !== undefined) schema.security = security;
  if (produces !== undefined) schema.produces = produces;
  if (contract.params) schema.params = contract.params;
  if (contract.query) schema.querystring = contract.query;
  if (contract.body) schema.body = contract.body;
  schema.response = { ...(contract.reply ? { [contract.status ?? 200]: contract.reply } : {}), ...replies, ...errorReplies(...errors) };
  if (contract.events && stream) {
    const events = stream.events as Record<string, Omit<SseEventDoc, 'data'>> | undefined;
    schema.events = sseEvents(
      stream.description,
      Object.fromEntries(Object.entries(contract.events).map(([name, data]) => [name, { data, ...events?.[name] }])),
    );
  }
  return {
    method: route.method,
    url: route.path,
    ...(config ? { config } : {}),
    ...(contract.events ? { sse: 'only' as const } : {}),
    schema: schema as unknown as TableRouteOptions<R, D>['schema'],
  };
}
