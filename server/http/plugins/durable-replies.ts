import type { FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * true: the route answers once what it wrote is committed; the reply
     * waits for the commit point (see below). false, with notDurableBecause,
     * for a writing route (POST, PUT, DELETE) that writes nothing or commits
     * itself. test/inject/durable-routes.test.ts fails on a writing route
     * that says neither.
     */
    durable?: boolean;
    /** Why a route is durable: false (it writes nothing to the store, or settles its commit itself). */
    notDurableBecause?: string;
  }
}

/** Methods that change something: each route with one says whether its reply waits for the commit. */
export const WRITING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Durable replies: a route marked `config: { durable: true }` is answered
 * only once everything written so far, its own writes included, is
 * committed. One onSend hook, added to those routes alone, awaits the
 * storage's commit point (`app.store.committed()`) before the reply leaves,
 * whatever sends it (a returned object, sendJson, a 204). A failed commit
 * rejects it with SLUICE_ERR_STORAGE, and the error handler answers 507 in
 * the reply's place. An error reply does not wait: a route's errors change
 * nothing (and the 507 itself must not wait for a commit that failed).
 * Register it before the routes.
 */
export default fp(
  async (app) => {
    const storage = app.store;
    const awaitCommit = async (_request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
      if (reply.statusCode < 400) await storage.committed();
      return payload;
    };
    app.addHook('onRoute', (options) => {
      if (options.config?.durable !== true) return;
      options.onSend = [...[options.onSend ?? []].flat(), awaitCommit as onSendHookHandler];
    });
  },
  { name: 'sluice-durable-replies', dependencies: ['sluice-store'] },
);
