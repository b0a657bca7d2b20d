import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PresentedToken, SESSION_COOKIE } from '../auth.ts';
import { admitCredential, settleCredential } from '../plugins/auth.ts';
import { errors } from '../errors.ts';
import { errorReplies } from '../docs/replies.ts';

const Whoami = z
  .object({ scope: z.enum(['client', 'worker', 'admin']), insecure: z.boolean().describe('The scheduler runs --insecure: everybody has the admin scope.') })
  .describe('What the caller’s token or session allows.');
const NoContent = z.null().describe('Ended: the cookie is cleared, and refused from now on.');

/** Browser sessions: trade a token for a cookie that EventSource sends by itself. */
const authRoutes: FastifyPluginAsyncZod = async (app) => {
  const ttlMs = app.scheduler.options.sessionTtlMs;

  app.post(
    '/auth/session',
    {
      config: { scope: 'public', writes: false },
      schema: {
        summary: 'Start a browser session: the token is checked and traded for an HttpOnly cookie',
        operationId: 'browserSessionStart',
        body: z.object({ token: z.string().min(1).max(1024) }).strict(),
        response: { 200: Whoami, ...errorReplies('SLUICE_ERR_UNAUTHORIZED') },
      },
    },
    async (request, reply) => {
      const authenticator = app.authenticator;
      if (!authenticator) return { scope: 'admin' as const, insecure: true };
      const presented = new PresentedToken(request.body.token);
      admitCredential(app.authFailures, request, reply, presented.fingerprint);
      const scope = authenticator.scopeOf(presented);
      settleCredential(app.authFailures, request, presented.fingerprint, scope !== undefined);
      if (!scope) throw errors.unknownToken();
      reply.setCookie(SESSION_COOKIE, authenticator.session(scope, Date.now() + ttlMs), {
        httpOnly: true,
        sameSite: 'strict',
        path: '/',
        maxAge: Math.floor(ttlMs / 1000),
        secure: request.protocol === 'https',
      });
      return { scope, insecure: false };
    },
  );

  app.delete(
    '/auth/session',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'End the browser session: its cookie is refused from then on, after a restart too',
        operationId: 'browserSessionEnd',
        response: { 204: NoContent, ...errorReplies('SLUICE_ERR_FORBIDDEN') },
      },
    },
    async (request, reply) => {
      // Another origin cannot log the browser out: its cookie is not taken from there.
      if (request.cookieRefused) throw errors.cookieRefused(request.cookieRefused);
      if (request.browserSession) await app.browserSessions?.revoke(request.browserSession.id, request.browserSession.expiresAt);
      reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https' });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/auth/whoami',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'What the caller’s token or session allows (401 without one)',
        operationId: 'whoami',
        // Public for the auth hook, which lets it through to say why there is no scope; any credential answers.
        security: [{ bearerToken: [] }, { sessionCookie: [] }],
        response: { 200: Whoami, ...errorReplies('SLUICE_ERR_UNAUTHORIZED') },
      },
    },
    async (request) => {
      if (!request.scope) throw errors.noCredentials();
      return { scope: request.scope, insecure: app.authenticator === undefined };
    },
  );
};

export default authRoutes;
