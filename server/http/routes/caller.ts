import type { FastifyRequest } from 'fastify';
import { CLIENT_HEADER } from '../../../schemas/common.ts';
import { errors } from '../../errors.ts';
import type { Caller } from '../../services/holds.ts';

/**
 * Who the request says it acts for: the client session whose credential is
 * in the sluice-client header, checked against the token the session was
 * started with, or nobody. A bad credential is a 401 or 403 that says what is
 * wrong. Acting as a session counts as seeing it: its lease runs from now.
 */
export function callerOf(request: FastifyRequest): Caller {
  const header = request.headers[CLIENT_HEADER];
  if (header === undefined) return {};
  if (typeof header !== 'string') {
    throw errors.severalSessionCredentials();
  }
  return { clientId: request.server.clientSessions.verify(header, identityOf(request)) };
}

/** Like callerOf, for calls that only make sense for a client session. */
export function clientOf(request: FastifyRequest): string {
  const { clientId } = callerOf(request);
  if (!clientId) {
    throw errors.clientRequired();
  }
  return clientId;
}

/**
 * The identity a session is bound to: the token (or browser session) that
 * authenticated the request, as auth derived it; without authentication
 * (--insecure), one constant, so sessions still need their credential.
 */
export function identityOf(request: FastifyRequest): string {
  return request.server.authenticator ? request.principal : 'insecure';
}
