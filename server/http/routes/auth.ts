import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { PresentedToken, SESSION_COOKIE } from '../auth.ts';
import { admitCredential, settleCredential } from '../plugins/auth.ts';
import { errors } from '../../errors.ts';
import { routeOptions } from './route-options.ts';

/** Browser sessions: trade a token for a cookie that EventSource sends by itself. */
const authRoutes: FastifyPluginAsyncZod = async (app) => {
  const ttlMs = app.settings.sessionTtlMs;

  app.route({
    ...routeOptions(HTTP_API.browserSessionStart, {
      summary: 'Start a browser session: the token is checked and traded for an HttpOnly cookie',
      config: { scope: 'public', writes: false, durable: false, notDurableBecause: 'writes nothing: the cookie carries the session' },
      errors: ['SLUICE_ERR_UNAUTHORIZED'],
    }),
    handler: async (request, reply) => {
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
  });

  app.route({
    ...routeOptions(HTTP_API.browserSessionEnd, {
      summary: 'End the browser session: its cookie is refused from then on, after a restart too',
      config: { scope: 'public', durable: false, notDurableBecause: 'commits itself: the revocation is committed before the cookie is cleared' },
      errors: ['SLUICE_ERR_FORBIDDEN'],
    }),
    handler: async (request, reply) => {
      // Another origin cannot log the browser out: its cookie is not taken from there.
      if (request.cookieRefused) throw errors.cookieRefused(request.cookieRefused);
      if (request.browserSession) await app.browserSessions?.revoke(request.browserSession.id, request.browserSession.expiresAt);
      reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https' });
      return reply.code(204).send(null);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.whoami, {
      summary: 'What the caller’s token or session allows (401 without one)',
      config: { scope: 'public' },
      // Public for the auth hook, which lets it through to say why there is no scope; any credential answers.
      security: [{ bearerToken: [] }, { sessionCookie: [] }],
      errors: ['SLUICE_ERR_UNAUTHORIZED'],
    }),
    handler: async (request) => {
      if (!request.scope) throw errors.noCredentials();
      return { scope: request.scope, insecure: app.authenticator === undefined };
    },
  });
};

export default authRoutes;
