import { z } from 'zod';

/**
 * The one error catalog. Every error sluice answers has a stable code from this
 * list; codes are a public contract and are never reused for something else.
 * The server builds its error classes from it, the client turns a code back
 * into a typed error.
 */
export const ERRORS = {
  SLUICE_ERR_VALIDATION: { status: 400, message: 'The request is not valid' },
  SLUICE_ERR_CLIENT_REQUIRED: { status: 400, message: 'This call needs a client session' },
  SLUICE_ERR_UNAUTHORIZED: { status: 401, message: 'A token is needed' },
  SLUICE_ERR_SESSION_INVALID: { status: 401, message: 'The sluice-client header is not a session credential this scheduler issued' },
  SLUICE_ERR_SESSION_ENDED: { status: 401, message: 'The client session has ended; start a new one with POST /clients' },
  SLUICE_ERR_FORBIDDEN: { status: 403, message: 'The token does not allow this' },
  SLUICE_ERR_SESSION_FOREIGN: { status: 403, message: 'The client session was started with another token' },
  SLUICE_ERR_NOT_FOUND: { status: 404, message: 'No such route' },
  SLUICE_ERR_UNKNOWN_KEY: { status: 404, message: 'Unknown key' },
  SLUICE_ERR_FORGOTTEN: { status: 404, message: 'The key was forgotten' },
  SLUICE_ERR_UNKNOWN_CHANNEL: { status: 404, message: 'Unknown channel' },
  SLUICE_ERR_UNKNOWN_QUEUE: { status: 404, message: 'Unknown queue' },
  SLUICE_ERR_VARIABLE_UNSET: { status: 404, message: 'The variable is not set' },
  SLUICE_ERR_TIMEOUT: { status: 408, message: 'Timed out waiting' },
  SLUICE_ERR_KEY_CONFLICT: { status: 409, message: 'The key already names another task' },
  SLUICE_ERR_CHANNEL_STOPPED: { status: 409, message: 'The channel is stopped' },
  SLUICE_ERR_LEASE_EXPIRED: { status: 409, message: 'The lease is not held: it expired or was released' },
  SLUICE_ERR_STALE_TOKEN: { status: 409, message: 'The fencing token does not belong to a lease that is held' },
  SLUICE_ERR_MAX_LEASES_CONFLICT: { status: 409, message: 'The semaphore exists with another maxLeases' },
  SLUICE_ERR_TOO_LARGE: { status: 413, message: 'The request is too large' },
  SLUICE_ERR_URI_TOO_LONG: { status: 414, message: 'The URL is too long' },
  SLUICE_ERR_TASK_FAILED: { status: 422, message: 'A task did not finish' },
  SLUICE_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests' },
  SLUICE_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  SLUICE_ERR_INTERNAL: { status: 500, message: 'Internal error' },
  SLUICE_ERR_SHUTTING_DOWN: { status: 503, message: 'The scheduler is shutting down' },
  SLUICE_ERR_OVERLOADED: { status: 503, message: 'The scheduler is overloaded' },
  SLUICE_ERR_STORAGE: { status: 507, message: 'The store cannot take writes now (disk full or failing); nothing was stored' },
  /** Client side only: the scheduler could not be reached. */
  SLUICE_ERR_UNREACHABLE: { status: 0, message: 'The scheduler could not be reached' },
  /** Client side only: the client was closed. */
  SLUICE_ERR_CLOSED: { status: 0, message: 'The client is closed' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
