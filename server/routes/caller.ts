import type { FastifyRequest } from 'fastify';
import { CLIENT_HEADER, CLIENT_ID_PATTERN } from '../../schemas/common.ts';
import { SluiceError } from '../errors.ts';
import type { Caller } from '../scheduler.ts';

/** The client session named by the sluice-client header, if any. */
export function callerOf(request: FastifyRequest): Caller {
  const header = request.headers[CLIENT_HEADER];
  if (header === undefined) return {};
  if (typeof header !== 'string' || !CLIENT_ID_PATTERN.test(header)) {
    throw new SluiceError('SLUICE_ERR_VALIDATION', `header ${CLIENT_HEADER}: a client id is 8 to 64 characters from A-Z a-z 0-9 _ -`);
  }
  return { clientId: header };
}

/** Like callerOf, for calls that only make sense for a client session. */
export function clientOf(request: FastifyRequest): string {
  const { clientId } = callerOf(request);
  if (!clientId) {
    throw new SluiceError('SLUICE_ERR_CLIENT_REQUIRED', `this call needs a client session: send the ${CLIENT_HEADER} header`);
  }
  return clientId;
}
