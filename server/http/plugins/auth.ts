import cookie from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AuthFailures } from '../auth-failures.ts';
import { allows, Authenticator, type BrowserSession, PresentedToken, type Requirement, type Scope, SESSION_COOKIE, type Tokens } from '../auth.ts';
import { errors } from '../../errors.ts';
import { canonicalOrigin, foreignOrigin, isLoopbackName, ownOrigin, type RequestOrigin } from '../same-origin.ts';
import { BrowserSessionStore } from '../../storage/sqlite/browser-session-store.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs: 'public', 'client' (the default), 'worker' or 'admin'. */
    scope?: Requirement;
  }
  interface FastifyRequest {
    /** What the caller's token (or session cookie) grants; admin when running --insecure. */
    scope?: Scope;
    /**
     * Who is calling, for rate limits, per-caller limits and binding client
     * sessions: a token's fingerprint, a browser session's scope, or the
     * address. Derived from what authenticated, never from what the caller
     * says of itself.
     */
    principal: string;
    /** The browser session the request was authenticated by, if it was by the cookie. */
    browserSession?: BrowserSession;
    /** Why the session cookie the request carries was not taken from where it came (another origin). */
    cookieRefused?: string;
  }
  interface FastifyInstance {
    authenticator: Authenticator | undefined;
    /** Ended browser sessions (undefined when running --insecure). */
    browserSessions: BrowserSessionStore | undefined;
    /** Counts failed authentication per address (undefined when off, or --insecure). */
    authFailures: AuthFailures | undefined;
  }
}

export interface AuthOptions {
  tokens: Tokens;
  /** No authentication (the CLI allows it on loopback only). */
  insecure: boolean;
  /** Origins besides the scheduler's own whose pages may use the session cookie (--cors-origins). */
  corsOrigins: readonly string[];
  /** Failed authentications a minute per address before it gets 429; 0 turns the limit off. */
  authFailuresPerMinute: number;
  /** The host the scheduler listens on (--host): with --insecure, a name requests may be addressed to. */
  listenHost: string;
}

/**
 * Bearer-token authentication with scopes. A token comes in the
 * Authorization header; EventSource, which cannot send headers, uses the
 * session cookie from POST /auth/session, or ?access_token= as a last resort.
 * Routes declare what they need in config.scope. The cookie is taken only
 * from the scheduler's own origin (and --cors-origins), a session ended by
 * DELETE /auth/session stays ended, and an address that keeps presenting
 * wrong credentials is made to wait (AuthFailures).
 */
export default fp<AuthOptions>(
  async (app, options) => {
    await app.register(cookie);
    app.decorateRequest('scope', undefined);
    app.decorateRequest('principal', '');
    app.decorateRequest('browserSession', undefined);
    app.decorateRequest('cookieRefused', undefined);
    const allowedOrigins = new Set(options.corsOrigins.map((o) => canonicalOrigin(o) ?? o));
    if (options.insecure) {
      app.decorate('authenticator', undefined);
      app.decorate('browserSessions', undefined);
      app.decorate('authFailures', undefined);
      // Without authentication, being on this machine is the credential, and
      // a browser here carries it to every page it has open: only the
      // scheduler's own pages (and --cors-origins) are taken, by a loopback name.
      app.addHook('onRequest', async (request) => {
        request.principal = request.ip;
        if (request.method !== 'OPTIONS') {
          if (!isLoopbackName(request.hostname, options.listenHost)) {
            throw errors.insecureForeignHost(request.host);
          }
          const origin = originOf(request);
          const foreign = foreignOrigin(origin, allowedOrigins, false);
          if (foreign) {
            throw errors.insecureForeignOrigin(ownOrigin(origin), foreign);
          }
        }
        request.scope = 'admin';
      });
      return;
    }
    const authenticator = new Authenticator(options.tokens);
    const browserSessions = new BrowserSessionStore(app.store.db, app.store.tx);
    browserSessions.sweep();
    const failures = options.authFailuresPerMinute > 0 ? new AuthFailures({ perMinute: options.authFailuresPerMinute }) : undefined;
    app.decorate('authenticator', authenticator);
    app.decorate('browserSessions', browserSessions);
    app.decorate('authFailures', failures);

    app.addHook('onRequest', async (request, reply) => {
      if (request.method === 'OPTIONS') {
        request.principal = request.ip; // CORS preflights carry no credentials
        return;
      }
      identify(request, reply);
      const need = request.routeOptions.config?.scope ?? (request.url.startsWith('/docs') ? 'public' : 'client');
      if (allows(request.scope, need)) return;
      if (request.scope === undefined) {
        if (request.cookieRefused) throw errors.cookieRefused(request.cookieRefused);
        reply.header('www-authenticate', 'Bearer');
        throw errors.tokenNeeded(need);
      }
      throw errors.scopeTooLow(request.scope, need);
    });
    // The token may ride in the query for EventSource; keep it out of the query the routes validate.
    app.addHook('preValidation', async (request) => {
      const query = request.query as Record<string, unknown> | undefined;
      if (query && 'access_token' in query) delete query.access_token;
    });

    function identify(request: FastifyRequest, reply: FastifyReply): void {
      const header = request.headers.authorization;
      let token: string | undefined;
      if (typeof header === 'string' && header.toLowerCase().startsWith('bearer ')) token = header.slice(7).trim();
      token ??= (request.query as Record<string, string> | undefined)?.access_token;
      if (token) {
        const presented = new PresentedToken(token);
        const fingerprint = presented.fingerprint;
        admitCredential(failures, request, reply, fingerprint);
        request.scope = authenticator.scopeOf(presented);
        settleCredential(failures, request, fingerprint, request.scope !== undefined);
        request.principal = request.scope ? `token:${fingerprint}` : request.ip;
        return;
      }
      request.principal = request.ip;
      const value = request.cookies?.[SESSION_COOKIE];
      if (!value) return;
      const origin = originOf(request);
      const foreign = foreignOrigin(origin, allowedOrigins, true);
      if (foreign) {
        request.cookieRefused = `a session cookie is taken only from this scheduler’s own origin (${ownOrigin(origin)}) or one in --cors-origins; other callers send Authorization: Bearer <token>. But ${foreign}`;
        return;
      }
      const fingerprint = `cookie:${Authenticator.fingerprint(value)}`;
      admitCredential(failures, request, reply, fingerprint);
      const session = authenticator.readSession(value);
      settleCredential(failures, request, fingerprint, session !== undefined);
      // A cookie we signed that expired or was ended is no guess: refused, not counted.
      if (!session || session.expiresAt < Date.now() || browserSessions.isRevoked(session.id)) return;
      request.scope = session.scope;
      request.browserSession = session;
      // Per scope, not per cookie: a token can be traded for any number of cookies, each a budget of its own.
      request.principal = `cookie:${session.scope}`;
    }
  },
  { name: 'sluice-auth', dependencies: ['sluice-store'] },
);

/**
 * Before checking a credential (by its fingerprint): throws 429 with
 * Retry-After if the caller's address has failed too often and this
 * credential has not worked from it before.
 */
export function admitCredential(failures: AuthFailures | undefined, request: FastifyRequest, reply: FastifyReply, fingerprint: string): void {
  const waitMs = failures?.retryAfterMs(request.ip, fingerprint) ?? 0;
  if (!failures || waitMs === 0) return;
  const seconds = Math.ceil(waitMs / 1000);
  reply.header('retry-after', String(seconds));
  throw errors.authFailuresLimited(failures.perMinute, seconds, waitMs);
}

/** After checking a credential: count it against the caller's address if it failed, remember it if it worked. */
export function settleCredential(failures: AuthFailures | undefined, request: FastifyRequest, fingerprint: string, ok: boolean): void {
  if (!failures) return;
  if (ok) failures.succeeded(request.ip, fingerprint);
  else if (failures.failed(request.ip)) request.log.warn({ address: request.ip, limit: failures.perMinute }, 'too many failed authentications from one address: its new credentials wait out the minute');
}

/** Where the request says it was made, and the origin it addressed. */
function originOf(request: FastifyRequest): RequestOrigin {
  const { origin, 'sec-fetch-site': fetchSite } = request.headers;
  return {
    method: request.method,
    origin: Array.isArray(origin) ? origin[0] : origin,
    fetchSite: Array.isArray(fetchSite) ? fetchSite[0] : fetchSite,
    own: `${request.protocol}://${request.host}`,
  };
}
