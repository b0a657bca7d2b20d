/**
 * sluice/schemas: the zod schemas of every request and reply body, SSE event
 * and worker message, the error catalog (ERRORS, ErrorBody) and how keys are
 * derived (pureKey, randomKey), and the dashboard stream's frames; the
 * route table (ROUTES, HTTP_API): each route's method, path, operation id
 * and the schemas of its request and reply. The scheduler validates with
 * these, and its OpenAPI document is generated from them.
 */
export * from './auth.ts';
export * from './channel-consumers.ts';
export * from './channels.ts';
export * from './cluster.ts';
export * from './common.ts';
export * from './constants.ts';
export * from './coordination.ts';
export * from './errors.ts';
export * from './firehose.ts';
export * from './flags.ts';
export * from './http-api.ts';
export * from './keys.ts';
export * from './leases.ts';
export * from './queue-leases.ts';
export * from './queues.ts';
export * from './routes.ts';
export * from './tasks.ts';
export * from './topics.ts';
export * from './variables.ts';
export * from './worker-protocol.ts';
