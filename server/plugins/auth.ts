import cookie from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { allows, Authenticator, type Requirement, type Scope, SESSION_COOKIE, type Tokens } from '../auth.ts';
import { SluiceError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs: 'public', 'client' (the default), 'worker' or 'admin'. */
    scope?: Requirement;
  }
  interface FastifyRequest {
    /** What the caller's token (or session cookie) grants; admin when running --insecure. */
    scope?: Scope;
    /** Who is calling, for rate limits and per-caller limits: a token fingerprint, or the address. */
    principal: string;
  }
  interface FastifyInstance {
    authenticator: Authenticator | undefined;
  }
}

export interface AuthOptions {
  tokens: Tokens;
  /** No authentication (the CLI allows it on loopback only). */
  insecure: boolean;
}

/**
 * Bearer-token authentication with scopes. A token comes in the
 * Authorization header; EventSource, which cannot send headers, uses the
 * session cookie from POST /auth/session, or ?access_token= as a last resort.
 * Routes declare what they need in config.scope.
 */
export default fp<AuthOptions>(
  async (app, options) => {
    await app.register(cookie);
    app.decorateRequest('scope', undefined);
    app.decorateRequest('principal', '');
    if (options.insecure) {
      app.decorate('authenticator', undefined);
      app.addHook('onRequest', async (request) => {
        request.scope = 'admin';
        request.principal = request.ip;
      });
      return;
    }
    const authenticator = new Authenticator(options.tokens);
    app.decorate('authenticator', authenticator);
    app.addHook('onRequest', async (request, reply) => {
      identify(authenticator, request);
      if (request.method === 'OPTIONS') return; // CORS preflights carry no credentials
      const need = request.routeOptions.config?.scope ?? (request.url.startsWith('/docs') ? 'public' : 'client');
      if (allows(request.scope, need)) return;
      if (request.scope === undefined) {
        reply.header('www-authenticate', 'Bearer');
        throw new SluiceError('SLUICE_ERR_UNAUTHORIZED', `this needs ${article(need)} ${need} token: send Authorization: Bearer <token>`);
      }
      throw new SluiceError('SLUICE_ERR_FORBIDDEN', `${article(request.scope)} ${request.scope} token does not allow this; it needs ${article(need)} ${need} token`);
    });
    // The token may ride in the query for EventSource; keep it out of the query the routes validate.
    app.addHook('preValidation', async (request) => {
      const query = request.query as Record<string, unknown> | undefined;
      if (query && 'access_token' in query) delete query.access_token;
    });
  },
  { name: 'sluice-auth' },
);

function identify(authenticator: Authenticator, request: FastifyRequest): void {
  const header = request.headers.authorization;
  let token: string | undefined;
  if (typeof header === 'string' && header.toLowerCase().startsWith('bearer ')) token = header.slice(7).trim();
  token ??= (request.query as Record<string, string> | undefined)?.access_token;
  if (token) {
    request.scope = authenticator.scopeOf(token);
    request.principal = request.scope ? `token:${Authenticator.fingerprint(token)}` : request.ip;
    return;
  }
  const session = request.cookies?.[SESSION_COOKIE];
  request.scope = session ? authenticator.verifySession(session) : undefined;
  request.principal = request.scope ? `session:${session?.slice(-12)}` : request.ip;
}

function article(scope: string): string {
  return scope === 'admin' ? 'an' : 'a';
}
